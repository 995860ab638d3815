"""The search: candidate parameter sets in two rounds, and picking the best score.

The flow's DAG is static, so tuning always runs ROUNDS = 2 rounds, each a `foreach` over a
batch of candidates. Grid and random search know every candidate up front and split them over
the two rounds; Bayesian search (Optuna TPE) asks its second batch after the first batch's
scores are told, so it learns from them. A round with nothing to do gets one `None` item: a
task that returns at once (Metaflow refuses an empty foreach).

No scikit-learn here: the split step makes the candidates and the select step only compares
scores, so neither pays for importing it.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from mlplatform.pipelines.spec import LOWER_IS_BETTER, PipelineSpec, RangeSpec


@dataclass
class CandidateScore:
    params: dict[str, Any]
    score: float  # in the metric's own units (log loss positive)
    std: float
    seconds: float
    metric: str
    round: int = 1
    trial: int | None = None  # the Optuna trial number (bayesian search)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


ROUNDS = 2


@dataclass
class Candidate:
    """One foreach item: parameters to cross-validate, and the Optuna trial they answer."""

    params: dict[str, Any]
    round: int
    trial: int | None = None


@dataclass
class SearchState:
    """What the tuning rounds carry between steps (a Metaflow artifact)."""

    pending: list[Candidate]  # grid/random: the second round's candidates, known up front
    study: Any = None  # bayesian: the pickled Optuna study


def round_sizes(spec: PipelineSpec) -> tuple[int, int]:
    n = spec.tuning.n_candidates if spec.tuning else 1
    if spec.tuning and spec.tuning.strategy != "bayesian":
        n = len(candidates(spec))
    first = (n + 1) // 2
    return first, n - first


def tuning_tasks(spec: PipelineSpec) -> int:
    """Foreach tasks the two rounds run (an idle round still runs one task)."""
    first, second = round_sizes(spec)
    return first + max(second, 1)


def first_round(spec: PipelineSpec) -> tuple[list[Candidate], SearchState]:
    first, _ = round_sizes(spec)
    tuning = spec.tuning
    if tuning is not None and tuning.strategy == "bayesian":
        from mlplatform.pipelines.steps import bayesian

        study = bayesian.new_study(
            seed=spec.split.seed,
            higher_is_better=tuning.metric not in LOWER_IS_BETTER,
            startup_trials=first,
        )
        asked = bayesian.ask_batch(study, tuning.space, first, dict(spec.model.params))
        batch = [Candidate(params, 1, trial) for trial, params in asked]
        return batch, SearchState(pending=[], study=study)
    every = [Candidate(params, 1) for params in candidates(spec)]
    pending = [Candidate(c.params, 2) for c in every[first:]]
    return every[:first], SearchState(pending=pending)


def next_round(
    spec: PipelineSpec, state: SearchState, scores: list[CandidateScore]
) -> tuple[list[Candidate | None], SearchState]:
    """The second round's batch, after telling a Bayesian study the first round's scores."""
    _, second = round_sizes(spec)
    tuning = spec.tuning
    if state.study is not None and tuning is not None and second:
        from mlplatform.pipelines.steps import bayesian

        bayesian.tell_batch(
            state.study, [(s.trial, s.score) for s in scores if s.trial is not None]
        )
        asked = bayesian.ask_batch(state.study, tuning.space, second, dict(spec.model.params))
        batch: list[Candidate | None] = [Candidate(params, 2, trial) for trial, params in asked]
        return batch, state
    return (list(state.pending) or [None]), state


def candidates(spec: PipelineSpec) -> list[dict[str, Any]]:
    """Grid/random parameter sets: model.params overlaid with each point of the space."""
    base = dict(spec.model.params)
    tuning = spec.tuning
    if tuning is None:
        return [base]
    rng = np.random.default_rng(spec.split.seed)
    if tuning.strategy == "grid":
        names = list(tuning.space)
        grid = [
            dict(zip(names, values, strict=True))
            for values in itertools.product(*(tuning.space[n] for n in names))
        ]
        if len(grid) > tuning.n_candidates:
            pick = sorted(rng.choice(len(grid), size=tuning.n_candidates, replace=False))
            grid = [grid[i] for i in pick]
        points = grid
    else:
        points, seen = [], set()
        for _ in range(tuning.n_candidates * 20):
            point = {name: _sample(rng, dom) for name, dom in tuning.space.items()}
            key = json.dumps(point, sort_keys=True, default=str)
            if key not in seen:
                seen.add(key)
                points.append(point)
            if len(points) == tuning.n_candidates:
                break
    return [{**base, **point} for point in points]


def _sample(rng: np.random.Generator, domain: list[Any] | RangeSpec) -> Any:
    if isinstance(domain, list):
        return domain[int(rng.integers(len(domain)))]
    if domain.log:
        value = math.exp(rng.uniform(math.log(domain.low), math.log(domain.high)))
    else:
        value = rng.uniform(domain.low, domain.high)
    return round(value) if domain.integer else float(f"{value:.6g}")


def select_best(scores: list[CandidateScore]) -> CandidateScore:
    lower = scores[0].metric in LOWER_IS_BETTER
    return sorted(scores, key=lambda s: s.score if lower else -s.score)[0]


def scores_of(items: list[CandidateScore | None]) -> list[CandidateScore]:
    """Drop the idle round's placeholder results."""
    return [s for s in items if s is not None]

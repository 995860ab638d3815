"""The search: candidate parameter sets (grid or random) and picking the best score.

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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def candidates(spec: PipelineSpec) -> list[dict[str, Any]]:
    """Parameter sets to score: model.params overlaid with each point of the search space."""
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

"""Bayesian tuning: Optuna's TPE proposes each round's candidates from the rounds before it.

The flow's DAG is static, so tuning runs a fixed number of rounds: a join step asks the study
for a batch, a `foreach` scores the batch, the next join tells the study the scores and asks
again. The study travels between those steps as a pickled Metaflow artifact: an in-memory
`optuna.Study` pickles whole (trials, sampler and its random state), so no database is needed
and a study carried across processes proposes exactly what it would have proposed in one.

No Metaflow here, and no scikit-learn: these functions run in the join steps.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import TPESampler
from optuna.trial import TrialState

from mlplatform.pipelines.spec import RangeSpec

# Optuna logs progress at INFO to its own "optuna" logger (a line per study, per finished trial
# under `optimize`), which in Metaflow task logs buries what matters. Only that logger changes,
# and its warnings still show.
optuna.logging.set_verbosity(optuna.logging.WARNING)

# Optuna stores categorical choices that are plain values; any other choice (a list such as
# `hidden_units: [[64, 32], [128]]`) is proposed by its index and turned back into the value.
_PLAIN = (type(None), bool, int, float, str)


class Proposal(NamedTuple):
    """One candidate of a batch: the trial to tell its score to, and the parameters to score.

    A tuple so it unpacks as `for trial, params in batch`; it pickles as a Metaflow `foreach`
    item. `params` is ready for the estimator: no private keys to strip.
    """

    trial: int
    params: dict[str, Any]


def to_distributions(space: Mapping[str, list[Any] | RangeSpec]) -> dict[str, BaseDistribution]:
    """The spec's search space as Optuna distributions.

    A list becomes a categorical choice (indices when a choice is not a plain value); a range
    becomes an integer or float distribution, on a log scale when asked. An integer range keeps
    only the whole numbers inside its bounds.
    """
    distributions: dict[str, BaseDistribution] = {}
    for name, domain in space.items():
        if isinstance(domain, list):
            choices = domain if _all_plain(domain) else list(range(len(domain)))
            distributions[name] = CategoricalDistribution(choices)
        elif domain.integer:
            low, high = math.ceil(domain.low), math.floor(domain.high)
            if low > high:
                raise ValueError(
                    f"tuning.space.{name}: no whole number lies between {domain.low} and "
                    f"{domain.high}; widen the range or drop `integer`"
                )
            distributions[name] = IntDistribution(low, high, log=domain.log)
        else:
            distributions[name] = FloatDistribution(domain.low, domain.high, log=domain.log)
    return distributions


def new_study(seed: int, higher_is_better: bool, startup_trials: int) -> optuna.Study:
    """An in-memory TPE study, seeded so the same scores give the same proposals.

    The first `startup_trials` finished trials are sampled at random; set it to the size of
    the first round so the second round is the first one TPE models. `constant_liar` makes the
    trials of a batch that are still being scored count as bad results, so one batch spreads
    out instead of proposing the same promising point n times; `multivariate` models the
    parameters jointly (learning rate and tree count trade off against each other).
    """
    if startup_trials < 1:
        raise ValueError("startup_trials must be at least 1: TPE needs scores to model")
    sampler = TPESampler(
        seed=seed, constant_liar=True, n_startup_trials=startup_trials, multivariate=True
    )
    return optuna.create_study(
        direction="maximize" if higher_is_better else "minimize", sampler=sampler
    )


def ask_batch(
    study: optuna.Study,
    space: Mapping[str, list[Any] | RangeSpec],
    n: int,
    base_params: Mapping[str, Any],
) -> list[Proposal]:
    """Ask for `n` trials at once: model.params overlaid with each proposed point.

    Every trial asked must later be told (see `tell_batch`): the study keeps it running, and
    the constant liar treats a running trial as a bad result for as long as it stays open.
    """
    if n < 1:
        raise ValueError("a batch needs at least one candidate")
    distributions = to_distributions(space)
    batch = []
    for _ in range(n):
        trial = study.ask(distributions)
        point = {name: _decode(space[name], value) for name, value in trial.params.items()}
        batch.append(Proposal(trial.number, {**base_params, **point}))
    return batch


def tell_batch(study: optuna.Study, results: Iterable[tuple[int, float | None]]) -> None:
    """Tell the study each trial's score; None (or NaN, inf) marks the trial failed.

    A failed trial is left out of TPE's model rather than scored as the worst value, which
    would distort it. Every running trial must be in `results`: one left open would bias the
    next batches away from its point forever.
    """
    told = dict(results)
    running = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}
    missing = sorted(running - told.keys())
    if missing:
        raise ValueError(f"trials {missing} were asked but have no result: pass None if failed")
    # Trial order, not arrival order: the join's inputs may come in any order.
    for number in sorted(told):
        score = told[number]
        if score is None or not math.isfinite(score):
            study.tell(number, state=TrialState.FAIL)
        else:
            study.tell(number, score)


def _all_plain(choices: list[Any]) -> bool:
    return all(isinstance(choice, _PLAIN) for choice in choices)


def _decode(domain: list[Any] | RangeSpec, value: Any) -> Any:
    if isinstance(domain, list) and not _all_plain(domain):
        return domain[value]
    return value

"""Champion/challenger rules: when a newly registered model takes over from the champion.

Pure: the metrics of the new run, the gate result and the champion's value in, a `Decision`
out. A run that failed the gate is never champion; the first model that passes (or has no
gate) is; after that a challenger must beat the champion on one metric by a fixed margin, so
that noise between two equally good models does not flip the champion back and forth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mlplatform.errors import PlatformError

# Two values that differ by float rounding only (0.3 - 0.2 = 0.09999999999999998) still meet a
# margin of 0.005: the margin is a statement about metrics, not about binary fractions.
_ROUNDING = 1e-12


class RegistryError(PlatformError):
    """A registry action was refused: the run is not registered, failed its gate, ..."""


@dataclass(frozen=True)
class PromotionPolicy:
    """How challengers are judged: `metric` must improve on the champion's by `margin` or more."""

    metric: str
    higher_is_better: bool = True
    margin: float = 0.0

    def __post_init__(self) -> None:
        if not self.metric:
            raise ValueError("PromotionPolicy.metric must name a metric")
        if math.isnan(self.margin) or self.margin < 0:
            raise ValueError(f"PromotionPolicy.margin must be >= 0, got {self.margin}")

    @classmethod
    def for_metric(cls, metric: str, margin: float = 0.0) -> PromotionPolicy:
        """The policy for one of the spec's metrics, with its direction (log_loss: lower)."""
        from mlplatform.pipelines.spec import LOWER_IS_BETTER

        return cls(metric, higher_is_better=metric not in LOWER_IS_BETTER, margin=margin)


@dataclass(frozen=True)
class Decision:
    """The outcome of a registry action on one run.

    `champion` says whether the run is champion afterwards; `reason` is one line for people;
    `previous_champion` is the champion before the action (kept or replaced), None if none.
    """

    champion: bool
    reason: str
    previous_champion: str | None = None


def metric_value(metrics: dict[str, float], policy: PromotionPolicy, whose: str) -> float:
    try:
        return float(metrics[policy.metric])
    except (KeyError, TypeError, ValueError):
        raise RegistryError(
            f"{whose} has no metric '{policy.metric}' (it has: {', '.join(sorted(metrics))})",
            "choose a promotion metric among the spec's evaluation.metrics",
        ) from None


def decide(
    metrics: dict[str, float],
    policy: PromotionPolicy,
    gate_passed: bool | None,
    champion: str | None,
    champion_value: float | None,
) -> Decision:
    """Whether a newly registered run becomes champion.

    `champion` is the current champion's pathspec (None if the pipeline has none yet) and
    `champion_value` its value of the policy's metric (None if it has none to compare with).
    """
    if gate_passed is False:
        return Decision(False, "failed the gate: registered, never champion", champion)
    if champion is None:
        gate = "passed the gate" if gate_passed else "no gate"
        return Decision(True, f"first model of the pipeline ({gate}): champion", None)
    value = metric_value(metrics, policy, "the new run")
    if champion_value is None or math.isnan(champion_value):
        return Decision(
            False,
            f"champion {champion} has no {policy.metric} to compare with: stays challenger"
            " (promote it explicitly)",
            champion,
        )
    gain = value - champion_value if policy.higher_is_better else champion_value - value
    versus = f"{policy.metric} {value:.4f}"
    if gain <= 0:
        return Decision(
            False,
            f"{versus} does not beat champion {champion} ({champion_value:.4f}): stays challenger",
            champion,
        )
    if gain + _ROUNDING < policy.margin:
        return Decision(
            False,
            f"{versus} beats champion {champion} ({champion_value:.4f}) by {gain:.4f}"
            f" < margin {policy.margin:g}: stays challenger",
            champion,
        )
    return Decision(
        True,
        f"{versus} beats champion {champion} ({champion_value:.4f}) by {gain:.4f}"
        f" >= margin {policy.margin:g}",
        champion,
    )

"""Compute-cost estimate of task attempts: on-demand price x duration, or local CPU-seconds.

A Batch task records the EC2 instance it ran on (`ec2-instance-type`); its cost is the
instance's on-demand hourly price x the attempt's duration, as if the task had the instance to
itself (a packed instance is shared, so this is an upper bound, like ignoring Spot and Savings
Plans). A local task records no instance: it costs its CPU-seconds x `cpu_second_price`
(0 by default, and the CPU-seconds are reported either way).

A task that ran remotely but cannot be priced (a type missing from the table, or no type
recorded, as on Fargate) costs 0 here, and `summarize_cost` counts it under `unpriced` so a
report can say the total is short, rather than a silent 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from mlplatform.errors import SettingsError
from mlplatform.monitoring.records import TaskRecord
from mlplatform.settings import MonitoringSettings, Settings, get_settings
from mlplatform.yamlsafe import load_yaml_file, load_yaml_text

BUILTIN_PRICES = "prices.yaml"
NO_INSTANCE_TYPE = "(no instance type recorded)"


@dataclass(frozen=True)
class PriceTable:
    """USD per instance-hour by EC2 instance type; `sources` names the files merged in."""

    usd_per_hour: Mapping[str, float]
    sources: tuple[str, ...] = ()

    @classmethod
    def load(cls, settings: Settings | MonitoringSettings | None = None) -> PriceTable:
        """The built-in us-east-1 table, with `monitoring.prices_file` merged over it."""
        if settings is None:
            settings = get_settings()
        monitoring = settings.monitoring if isinstance(settings, Settings) else settings
        text = resources.files("mlplatform.monitoring").joinpath(BUILTIN_PRICES).read_text()
        builtin = f"mlplatform/monitoring/{BUILTIN_PRICES}"
        prices = _prices(load_yaml_text(text, builtin).data, builtin)
        sources = [builtin]
        if monitoring.prices_file:
            path = Path(monitoring.prices_file).expanduser()
            prices |= _prices(load_yaml_file(path).data, str(path))
            sources.append(str(path))
        return cls(prices, tuple(sources))

    def hourly(self, instance_type: str) -> float | None:
        return self.usd_per_hour.get(instance_type.strip().lower())


def _prices(data: Any, source: str) -> dict[str, float]:
    hint = "write `prices:` as a mapping of instance type to USD per hour, e.g. `m5.large: 0.096`"
    if not isinstance(data, dict) or not isinstance(data.get("prices"), dict):
        raise SettingsError(f"{source}: no `prices:` mapping", hint)
    table: dict[str, float] = {}
    for name, price in data["prices"].items():
        if isinstance(price, bool) or not isinstance(price, int | float) or price < 0:
            raise SettingsError(f"{source}: prices.{name}: {price!r} is not a price", hint)
        table[str(name).strip().lower()] = float(price)
    return table


def task_cost(task: TaskRecord, prices: PriceTable, cpu_second_price: float) -> float:
    """USD of one finished attempt; 0 for an unfinished or unpriced one (see `unpriced_key`)."""
    seconds = task.duration_seconds
    if seconds is None:
        return 0.0
    if task.instance_type is not None:
        hourly = prices.hourly(task.instance_type)
        return 0.0 if hourly is None else max(seconds, 0.0) / 3600 * hourly
    if task.cpu_seconds is not None:
        return task.cpu_seconds * cpu_second_price
    return 0.0


def unpriced_key(task: TaskRecord, prices: PriceTable) -> str | None:
    """Why a finished attempt has no price (its instance type, or that it has none), else None."""
    if task.duration_seconds is None:
        return None  # nothing to price yet: it has not finished
    if task.instance_type is not None:
        return None if prices.hourly(task.instance_type) is not None else task.instance_type
    return None if task.cpu_seconds is not None else NO_INSTANCE_TYPE


@dataclass(frozen=True)
class CostSummary:
    usd: float
    cpu_seconds: float
    unpriced: dict[str, int] = field(default_factory=dict)  # instance type -> attempts

    @property
    def unpriced_tasks(self) -> int:
        return sum(self.unpriced.values())


def summarize_cost(
    tasks: Iterable[TaskRecord], prices: PriceTable, cpu_second_price: float
) -> CostSummary:
    usd = cpu_seconds = 0.0
    unpriced: dict[str, int] = {}  # a plain dict: a Counter per run cost more than the pricing
    for task in tasks:
        usd += task_cost(task, prices, cpu_second_price)
        if task.cpu_seconds is not None and task.instance_type is None:
            cpu_seconds += task.cpu_seconds
        key = unpriced_key(task, prices)
        if key is not None:
            unpriced[key] = unpriced.get(key, 0) + 1
    return CostSummary(usd, cpu_seconds, dict(sorted(unpriced.items())))

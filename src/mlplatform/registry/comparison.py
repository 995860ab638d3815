"""Two model versions side by side: what moved (metrics) and why it may have (params, data,
spec, code). Deltas read `b - a`, so with a = champion and b = challenger a positive delta of a
higher-is-better metric is an improvement."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mlplatform.registry.versions import ModelVersion, get_model


@dataclass
class Comparison:
    a: str
    b: str
    metrics: dict[str, dict[str, float | None]]  # name -> a, b, delta (b - a)
    params: dict[str, dict[str, Any]]  # differing only: name -> a, b
    same_data: bool
    data_fingerprints: dict[str, str | None]
    rows: dict[str, dict[str, Any]]  # every count: name -> a, b
    spec: dict[str, dict[str, Any]] = field(default_factory=dict)  # differing keys only
    code_version: dict[str, dict[str, Any]] = field(default_factory=dict)  # differing only


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{"a": {"b": 1}}` -> `{"a.b": 1}`: nested lineage compares key by key."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat |= flatten(value, f"{name}.")
        else:
            flat[name] = value
    return flat


def _pairs(a: dict[str, Any], b: dict[str, Any], only_different: bool) -> dict[str, dict[str, Any]]:
    fa, fb = flatten(a), flatten(b)
    return {
        key: {"a": fa.get(key), "b": fb.get(key)}
        for key in sorted(fa.keys() | fb.keys())
        if not only_different or fa.get(key) != fb.get(key)
    }


def _metric_deltas(a: ModelVersion, b: ModelVersion) -> dict[str, dict[str, float | None]]:
    deltas: dict[str, dict[str, float | None]] = {}
    for name in sorted(a.metrics.keys() | b.metrics.keys()):
        va, vb = a.metrics.get(name), b.metrics.get(name)
        delta = None if va is None or vb is None else float(vb) - float(va)
        deltas[name] = {"a": va, "b": vb, "delta": delta}
    return deltas


def compare_versions(a: ModelVersion, b: ModelVersion) -> Comparison:
    return Comparison(
        a=a.pathspec,
        b=b.pathspec,
        metrics=_metric_deltas(a, b),
        params=_pairs(a.params, b.params, only_different=True),
        same_data=a.data_fingerprint is not None and a.data_fingerprint == b.data_fingerprint,
        data_fingerprints={"a": a.data_fingerprint, "b": b.data_fingerprint},
        rows=_pairs(a.rows, b.rows, only_different=False),
        spec=_pairs(a.spec, b.spec, only_different=True),
        code_version=_pairs(a.code_version, b.code_version, only_different=True),
    )


def compare(ref_a: str, ref_b: str, flows: Iterable[str] | None = None) -> Comparison:
    """Compare two registered models by ref (`Flow/run_id`, run id, `<pipeline>@champion`)."""
    return compare_versions(get_model(ref_a, flows), get_model(ref_b, flows))

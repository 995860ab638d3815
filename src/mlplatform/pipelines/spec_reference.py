"""The spec reference, generated from the pydantic model (README and docs use this output)."""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from mlplatform.pipelines.spec import PipelineSpec, ScoringSpec, _unwrap


def _type_name(annotation: Any) -> str:
    annotation = _unwrap(annotation)
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " \\| ".join(repr(a).replace("'", "") for a in typing.get_args(annotation))
    if origin is not None:
        args = ", ".join(_type_name(a) for a in typing.get_args(annotation))
        name = getattr(origin, "__name__", str(origin)).replace("UnionType", "union")
        return f"{name}[{args}]" if name not in ("Union", "union") else args.replace(", ", " \\| ")
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation)


def _default(field: Any) -> str:
    if field.default is not PydanticUndefined:
        return f"`{field.default!r}`" if field.default is not None else "`null`"
    if field.default_factory is not None:
        try:
            value = field.default_factory()
        except TypeError:
            return "(derived)"
        if isinstance(value, BaseModel):
            return "(section defaults)"
        return f"`{value!r}`"
    return "**required**"


def _rows(model: type[BaseModel], prefix: str) -> list[tuple[str, str, str, str]]:
    rows = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        rows.append((key, _type_name(field.annotation), _default(field), field.description or ""))
        for sub in _submodels(field.annotation):
            label = ""
            kind = sub.model_fields.get("kind")
            if kind is not None:
                label = f"[kind={typing.get_args(kind.annotation)[0]}]"
            inner = (
                f"{key}{label}."
                if typing.get_origin(_unwrap(field.annotation)) is not dict
                else f"{key}.<column>."
            )
            rows.extend(_rows(sub, inner))
    return rows


def _submodels(annotation: Any) -> list[type[BaseModel]]:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        arg = _unwrap(arg)
        if isinstance(arg, type) and issubclass(arg, BaseModel) and arg.__name__ != "RangeSpec":
            out.append(arg)
    return out


def _table(model: type[BaseModel], skip: frozenset[str] = frozenset()) -> list[str]:
    lines = ["| key | type | default | description |", "|---|---|---|---|"]
    for key, type_name, default, description in _rows(model, ""):
        if key.split(".")[0].split("[")[0] not in skip:
            lines.append(f"| `{key}` | {type_name} | {default} | {description} |")
    return lines


def spec_reference_markdown() -> str:
    """Training specs (classification, regression, nlp) in full; then what a scoring spec
    adds (its version, project, name, data and resources keys are the training ones)."""
    shared = frozenset({"version", "project", "name", "description", "data", "resources"})
    lines = [
        *_table(PipelineSpec),
        "",
        "Scoring specs (`task: scoring`) have `version`, `project`, `name`, `description`, "
        "`data` and `resources` as above, and:",
        "",
        *_table(ScoringSpec, skip=shared),
    ]
    return "\n".join(lines) + "\n"

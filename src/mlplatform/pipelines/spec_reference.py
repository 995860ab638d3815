"""The spec reference, generated from the pydantic model (docs/templates.md holds this output).

It is written in the docs' house style: bullets, tables indented under them, and types and
snake_case names (field names, aliases) in backticks.
"""

from __future__ import annotations

import re
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from mlplatform.pipelines.spec import PipelineSpec, ScoringSpec, _unwrap

# A snake_case word outside code spans: a field name or an alias, which go in backticks.
_SNAKE_CASE = re.compile(r"(?<![\w.`-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w`-])")


def _type_name(annotation: Any) -> str:
    """The type as one code span; a pipe inside a code span does not split a table cell."""
    return f"`{_python_type(annotation)}`"


def _python_type(annotation: Any) -> str:
    annotation = _unwrap(annotation)
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " | ".join(repr(a).replace("'", "") for a in typing.get_args(annotation))
    if origin is not None:
        args = [_python_type(a) for a in typing.get_args(annotation)]
        name = getattr(origin, "__name__", str(origin)).replace("UnionType", "union")
        return " | ".join(args) if name in ("Union", "union") else f"{name}[{', '.join(args)}]"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation)


def _description(text: str) -> str:
    """The field's description with its snake_case names put in backticks."""
    parts = text.split("`")
    for index in range(0, len(parts), 2):  # even parts are outside code spans
        parts[index] = _SNAKE_CASE.sub(lambda match: f"`{match.group(0)}`", parts[index])
    return "`".join(parts)


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
        description = _description(field.description or "")
        rows.append((key, _type_name(field.annotation), _default(field), description))
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
    """A table indented to sit under a bullet."""
    lines = ["  | key | type | default | description |", "  |---|---|---|---|"]
    for key, type_name, default, description in _rows(model, ""):
        if key.split(".")[0].split("[")[0] not in skip:
            lines.append(f"  | `{key}` | {type_name} | {default} | {description} |")
    return lines


def spec_reference_markdown() -> str:
    """Training specs (classification, regression, nlp) in full; then what a scoring spec
    adds (its version, project, name, data and resources keys are the training ones)."""
    shared = frozenset({"version", "project", "name", "description", "data", "resources"})
    lines = [
        "- Training specs (`task: classification`, `regression` or `nlp`):",
        "",
        *_table(PipelineSpec),
        "",
        "- Scoring specs (`task: scoring`) have `version`, `project`, `name`, `description`, "
        "`data` and `resources` as above, and:",
        "",
        *_table(ScoringSpec, skip=shared),
    ]
    return "\n".join(lines) + "\n"

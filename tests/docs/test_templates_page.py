"""docs/templates.md: its spec reference is the generated one, and every template has a worked
example whose spec is the one `mlplatform init` writes."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from mlplatform.cli.init_cmd import Template
from mlplatform.docsite.markdown_blocks import fenced_blocks
from mlplatform.pipelines.spec_reference import spec_reference_markdown
from mlplatform.scaffold import init_project
from tests.conftest import REPO

PAGE = REPO / "docs" / "templates.md"
START, END = "<!-- spec-reference:start -->\n", "<!-- spec-reference:end -->"
INIT = re.compile(r"mlplatform init (?P<directory>\S+) --template (?P<template>\w+)")


def test_spec_reference_on_the_page_is_the_generated_one() -> None:
    text = PAGE.read_text()
    assert text.count(START) == 1 and text.count(END) == 1, f"{PAGE}: one {START.strip()} pair"
    block = text.split(START)[1].split(END)[0]
    assert block == spec_reference_markdown(), (
        "docs/templates.md's spec reference is stale: replace the lines between the "
        "spec-reference markers with the output of `mlplatform spec reference`"
    )


def test_every_template_init_offers_has_a_worked_example() -> None:
    headings = re.findall(r"^### (\w+): ", PAGE.read_text(), flags=re.MULTILINE)
    assert sorted(headings) == sorted(typing.get_args(Template))


def test_each_spec_shown_is_the_one_init_writes(tmp_path: Path) -> None:
    blocks = fenced_blocks(PAGE.read_text())
    shown = {b.body for b in blocks if b.language == "yaml"}
    commands = "\n".join(b.body for b in blocks if b.language == "bash")
    projects = {m["template"]: m["directory"] for m in INIT.finditer(commands)}
    assert sorted(projects) == sorted(typing.get_args(Template)), "one `mlplatform init` each"
    for template, directory in projects.items():
        written = init_project(tmp_path / directory, template, None, None)
        spec = (written.directory / "pipeline.yaml").read_text()
        assert spec in shown, (
            f"the {template} spec on the page is not what `mlplatform init {directory} "
            f"--template {template}` writes; paste its pipeline.yaml into the page"
        )

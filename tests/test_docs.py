"""Docs: the house style (SPEC.md) on every page, and the README's generated spec reference."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlplatform.pipelines.spec_reference import spec_reference_markdown

REPO = Path(__file__).resolve().parents[1]
PAGES = sorted((REPO / "docs").glob("**/*.md"))


def _outside_code(lines: list[str]) -> list[tuple[int, str]]:
    kept, fenced = [], False
    for number, line in enumerate(lines, 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            kept.append((number, line))
    return kept


def style_problems(text: str) -> list[str]:
    problems: list[str] = []
    lines = text.splitlines()
    if not (
        lines
        and lines[0] == "---"
        and "---" in lines[1:]
        and any(ln.startswith("title:") for ln in lines[1 : lines[1:].index("---") + 1])
    ):
        problems.append("no YAML front matter with a title")
        return problems
    body_start = lines[1:].index("---") + 2
    body = lines[body_start:]
    fenced = False
    for number, line in enumerate(body, body_start + 1):
        if line.lstrip().startswith("```"):
            if not fenced and line.strip() == "```":
                problems.append(f"line {number}: code block without a language")
            fenced = not fenced
    visible = _outside_code(body)
    previous = ""
    seen_h2 = False
    h3_in_section = 0
    for index, (number, line) in enumerate(visible):
        number += body_start
        if re.match(r"^\s*\d+[.)]\s", line):
            problems.append(f"line {number}: numbered list")
        if re.match(r"^#+\s+\d", line):
            problems.append(f"line {number}: numbered heading")
        if line.startswith("## "):
            if seen_h2 and previous != "---":
                problems.append(f"line {number}: '##' section not preceded by '---'")
            seen_h2, h3_in_section = True, 0
        if line.startswith("### "):
            if h3_in_section and previous == "---":
                problems.append(f"line {number}: '---' between '###' subsections")
            h3_in_section += 1
            section = []
            for _, later in visible[index + 1 :]:
                if re.match(r"^#{1,3} ", later):
                    break
                section.append(later.strip())
            problems += _details_problems(number, section)
        if line.strip():
            previous = line.strip()
    return problems


def _details_problems(number: int, section: list[str]) -> list[str]:
    if section.count("<details markdown>") != 1 or section.count("</details>") != 1:
        return [f"line {number}: a '###' subsection needs exactly one <details markdown> block"]
    start, end = section.index("<details markdown>"), section.index("</details>")
    inner = [ln for ln in section[start + 1 : end] if ln]
    problems = []
    if not inner or not re.match(r"^<summary>.+</summary>$", inner[0]):
        problems.append(f"line {number}: <details> must open with a specific <summary>")
    elif len(inner) < 3 or inner[1] != "---" or inner[-1] != "---":
        problems.append(f"line {number}: <details> body must start and end with '---'")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_follows_house_style(page: Path) -> None:
    assert style_problems(page.read_text()) == []


def test_style_checker_catches_violations() -> None:
    bad = (
        "---\ntitle: x\n---\n\n## A\n\n1. first\n\n## B\n\n### C\n\nno details\n\n```\ncode\n```\n"
    )
    problems = "\n".join(style_problems(bad))
    for expected in (
        "numbered list",
        "not preceded by '---'",
        "exactly one <details",
        "without a language",
    ):
        assert expected in problems


def test_readme_spec_reference_is_generated() -> None:
    readme = (REPO / "README.md").read_text()
    block = readme.split("<!-- spec-reference:start -->\n")[1].split("<!-- spec-reference:end -->")[
        0
    ]
    assert block == spec_reference_markdown(), "run: mlplatform spec reference, paste into README"

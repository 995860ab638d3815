"""The docs house style (SPEC.md): every page follows it, and each rule catches what it should."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlplatform.docsite.markdown_blocks import (
    FrontMatterError,
    fenced_blocks,
    front_matter,
    parse_info,
)
from mlplatform.docsite.style import Problem, main, style_problems
from tests.conftest import REPO

PAGES = sorted((REPO / "docs").glob("**/*.md"))

GOOD_SECTION = """\
### A subsection

<details markdown>
<summary>What the reader finds inside</summary>

---

- A bullet with `code`.

---

</details>
"""


def page(body: str, intro: str = "- What the page is about.\n") -> str:
    return f"---\ntitle: A page\n---\n\n# A page\n\n{intro}\n---\n\n## A section\n\n{body}"


def messages(text: str) -> str:
    return "\n".join(str(problem) for problem in style_problems(text))


def test_the_test_page_itself_is_good() -> None:
    assert style_problems(page(GOOD_SECTION)) == []


@pytest.mark.parametrize("path", PAGES, ids=[p.name for p in PAGES])
def test_page_follows_house_style(path: Path) -> None:
    problems = [f"{path.name}:{p.line}: {p.message}" for p in style_problems(path.read_text())]
    assert problems == []


def test_problem_reads_as_line_and_message() -> None:
    assert str(Problem(12, "numbered list")) == "line 12: numbered list"


# --- front matter and title ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# A page\n", "no YAML front matter"),
        ("---\nauthor: me\n---\n\n# A page\n", "no 'title'"),
        ("---\ntitle: A page\n\n# A page\n", "never closed"),
        ("---\ntitle: [unclosed\n---\n\n# A page\n", "not valid YAML"),
        ("---\n- a list\n---\n\n# A page\n", "must be a YAML mapping"),
        ("---\ntitle: A page\n---\n\n- no heading\n", "no '# ' title heading"),
        ("---\ntitle: A page\n---\n\n# A page\n\n# Another\n", "one '# ' heading"),
    ],
)
def test_front_matter_with_a_title_then_one_h1(text: str, expected: str) -> None:
    assert expected in messages(text)
    assert style_problems("---\ntitle: A page\n---\n\n# A page\n\n- A bullet.\n") == []


# --- sections and separators -----------------------------------------------------------------


def test_sections_are_separated_by_a_rule() -> None:
    bad = page(GOOD_SECTION + "\n## Next section\n\n" + GOOD_SECTION)
    assert "line 26: a '##' section needs a '---' line before it" in messages(bad)
    assert style_problems(page(GOOD_SECTION + "\n---\n\n## Next section\n\n" + GOOD_SECTION)) == []


def test_no_rule_between_subsections() -> None:
    bad = page(GOOD_SECTION + "\n---\n\n" + GOOD_SECTION.replace("A subsection", "Another"))
    assert "no '---' between '###' subsections" in messages(bad)
    assert style_problems(page(GOOD_SECTION + "\n" + GOOD_SECTION.replace("A sub", "Sub"))) == []


def test_subsubsections_are_separated_by_a_rule() -> None:
    def section(separator: str) -> str:
        return GOOD_SECTION.replace(
            "- A bullet with `code`.\n",
            f"#### First part\n\n- One.\n\n{separator}#### Second part\n\n- Two.\n",
        )

    assert "a '####' subsubsection needs a '---' line" in messages(page(section("")))
    assert style_problems(page(section("---\n\n"))) == []


def test_a_rule_right_under_text_is_reported() -> None:
    bad = page(
        GOOD_SECTION.replace("- A bullet with `code`.\n\n---", "- A bullet with `code`.\n---")
    )
    assert "'---' right under text" in messages(bad)


# --- one <details markdown> per ### ----------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("<details markdown>\n", ""), "exactly one <details markdown> block"),
        (
            (
                "</details>\n",
                "</details>\n\n<details markdown>\n<summary>Second one</summary>\n\n---\n\n- x\n\n---\n\n</details>\n",
            ),
            "exactly one",
        ),
        (("<details markdown>", "<details>"), "write <details markdown>"),
        (("<summary>What the reader finds inside</summary>\n", ""), "must open with a <summary>"),
        (
            ("\n<details markdown>", "\n- Before the block.\n\n<details markdown>"),
            "inside its <details> block",
        ),
        (("</details>\n", "</details>\n\n- After the block.\n"), "content after </details>"),
        (("---\n\n- A bullet", "- A bullet"), "starts and ends with a '---' line"),
        (("`code`.\n\n---\n", "`code`.\n"), "starts and ends with a '---' line"),
    ],
)
def test_each_subsection_holds_one_details_block(change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in GOOD_SECTION
    assert expected in messages(page(GOOD_SECTION.replace(old, new, 1)))


@pytest.mark.parametrize(
    "summary", ["Details", "More", "Show", "Click to expand", "click here...", "", "  "]
)
def test_a_generic_summary_is_reported(summary: str) -> None:
    bad = GOOD_SECTION.replace("What the reader finds inside", summary)
    assert "<summary>" in messages(page(bad))


def test_a_specific_summary_passes() -> None:
    good = GOOD_SECTION.replace(
        "What the reader finds inside", "`mlplatform doctor` prints a table"
    )
    assert style_problems(page(good)) == []


# --- bullets, not numbers or paragraphs ------------------------------------------------------


def test_numbered_lists_and_headings_are_reported() -> None:
    bad = page(GOOD_SECTION.replace("- A bullet with `code`.", "1. First step\n2) Second step"))
    assert "line 20: numbered list" in messages(bad)
    assert "line 21: numbered list" in messages(bad)
    assert "numbered heading" in messages(page(GOOD_SECTION.replace("### A", "### 1. A")))
    assert "numbered heading" in messages(page(GOOD_SECTION.replace("### A", "### Step 2: A")))
    assert "numbered heading" in messages(page(GOOD_SECTION.replace("### A", "### 2.1 A")))
    for heading in ("### Days 1 to 5", "### 35 days in all"):
        assert style_problems(page(GOOD_SECTION.replace("### A subsection", heading))) == []


def test_content_is_bullet_points() -> None:
    bad = page(
        GOOD_SECTION.replace("- A bullet with `code`.", "A paragraph of prose\nover two lines.")
    )
    assert messages(bad) == "line 20: write content as bullet points ('- ...'), not paragraphs"
    continued = (
        "- A bullet\n  over two lines.\n\n  A second paragraph of the same bullet.\n  - Nested."
    )
    assert style_problems(page(GOOD_SECTION.replace("- A bullet with `code`.", continued))) == []


def test_a_bullet_continues_at_its_text_indent() -> None:
    bad = page(GOOD_SECTION.replace("- A bullet with `code`.", "- A bullet\nnot indented."))
    assert "indent this line of the bullet above by 2" in messages(bad)


# --- block elements inside bullets: 2 spaces more than the marker ----------------------------

CODE = "```bash\necho hi\n```\n"


def indented(block: str, spaces: int) -> str:
    return "".join(" " * spaces + line + "\n" if line else "\n" for line in block.splitlines())


def in_bullet(block: str, spaces: int, bullet: str = "- Run it:\n", blank: bool = True) -> str:
    body = bullet + ("\n" if blank else "") + indented(block, spaces)
    return page(GOOD_SECTION.replace("- A bullet with `code`.\n", body))


@pytest.mark.parametrize("blank", [True, False])
def test_a_code_block_in_a_bullet_is_indented_two_spaces(blank: bool) -> None:
    assert style_problems(in_bullet(CODE, 2, blank=blank)) == []
    assert "inside a bullet is indented 2 spaces (2 more than the bullet's '-'), not 0" in messages(
        in_bullet(CODE, 0, blank=blank)
    )
    assert "inside a bullet is indented 2 spaces" in messages(in_bullet(CODE, 4, blank=blank))


def test_nested_bullets_count_from_their_own_marker() -> None:
    nested = "- Causes:\n  - the first one:\n"
    assert style_problems(in_bullet(CODE, 4, bullet=nested)) == []
    # back at the outer bullet's text: still a block of the outer bullet
    assert style_problems(in_bullet(CODE, 2, bullet=nested)) == []
    assert "indented 4 spaces" in messages(in_bullet(CODE, 6, bullet=nested))


def test_tables_and_tilde_and_long_fences_follow_the_same_rule() -> None:
    table = "| a | b |\n|---|---|\n| `1` | `2` |\n"
    tildes = "~~~python\nprint(1)\n~~~\n"
    long_fence = "````text\n```bash\necho nested\n```\n````\n"
    for block in (table, tildes, long_fence):
        assert style_problems(in_bullet(block, 2)) == [], block
        assert "inside a bullet is indented 2 spaces" in messages(in_bullet(block, 0)), block


def test_a_block_outside_bullets_starts_at_column_0() -> None:
    body = GOOD_SECTION.replace("- A bullet with `code`.\n", CODE)
    assert style_problems(page(body)) == []
    assert "outside a bullet starts at column 0, not 2" in messages(
        page(GOOD_SECTION.replace("- A bullet with `code`.\n", indented(CODE, 2)))
    )


# --- code blocks -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ("```\necho hi\n```\n", "code block without a language"),
        ("~~~\necho hi\n~~~\n", "code block without a language"),
        ("```sh\necho hi\n```\n", "shell blocks are ```bash"),
        ("```console\necho hi\n```\n", "not ```console"),
        ("```shell\necho hi\n```\n", "not ```shell"),
        ("```bash\n$ echo hi\n```\n", "no '$ ' prompts"),
        ('```bash skip=""\necho hi\n```\n', "skip needs a reason"),
        ("```bash skip\necho hi\n```\n", "skip needs a reason"),
        ("```bash\necho hi\n", "never closed"),
    ],
)
def test_code_blocks_name_their_language(block: str, expected: str) -> None:
    assert expected in messages(page(GOOD_SECTION.replace("- A bullet with `code`.\n", block)))


@pytest.mark.parametrize(
    "block",
    [
        "```bash\necho hi\n```\n",
        '```bash skip="needs a real AWS account"\naws s3 ls\n```\n',
        "```text\n$ 5\n```\n",
    ],
)
def test_good_code_blocks_pass(block: str) -> None:
    assert style_problems(page(GOOD_SECTION.replace("- A bullet with `code`.\n", block))) == []


# --- technical values in backticks -----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("--dry-run", "CLI flag"),
        ("METAFLOW_USER", "environment variable"),
        ("MLPLATFORM_<SECTION>__<KEY>", "environment variable"),
        ("$HOME", "shell variable"),
        ("/data/maria", "path"),
        ("~/.metaflowconfig", "path"),
        ("deploy/images/README.md", "file name"),
        ("deploy/terraform/envs/", "path"),
        ("s3://bucket/users/maria/", "URI"),
        ("http://127.0.0.1:8081/hub/api", "URI"),
        ("config.json", "file name"),
        ("pipeline.yaml", "file name"),
        ("card_path", "field name"),
        ("resources.memory", "field name"),
        ("mlplatform doctor", "command"),
        ("mlplatform users add", "command"),
        ("aws s3 ls", "command"),
    ],
)
def test_technical_values_belong_in_backticks(value: str, kind: str) -> None:
    bad = page(GOOD_SECTION.replace("A bullet with `code`.", f"Set {value} first."))
    assert messages(bad) == f"line 20: {kind} '{value}' belongs in backticks"
    good = page(GOOD_SECTION.replace("A bullet with `code`.", f"Set `{value}` first."))
    assert style_problems(good) == []


@pytest.mark.parametrize(
    "text",
    [
        "A link to [the runbook](runbook.md#postgres) and <https://example.com/a.md>.",
        "A code span that wraps: `mlplatform run pipeline.yaml\n  --on batch`, then prose.",
        "Double backticks: `` `--flag` `` and a URL in a link [docs](https://x.org/y.yaml).",
        "Plain prose: e.g. uid/gid, Slack/PagerDuty, a 24/7 rota, the mlplatform profile, AWS API V2.",
        "At 9 a.m. UTC, i.e. before mlplatform users are onboarded, and/or later.",
        "A heading-like word — with an em dash — and 10 % of 2 GiB.",
    ],
)
def test_prose_links_and_code_spans_are_not_technical_values(text: str) -> None:
    assert style_problems(page(GOOD_SECTION.replace("A bullet with `code`.", text))) == []


def test_values_in_code_blocks_headings_anchors_and_summaries() -> None:
    block = GOOD_SECTION.replace(
        "- A bullet with `code`.\n", "```text\n--dry-run /data/x config.json\n```\n"
    )
    assert style_problems(page(block)) == []
    assert (
        style_problems(page(GOOD_SECTION.replace("### A subsection", "### A subsection {#a-sub}")))
        == []
    )
    summary = GOOD_SECTION.replace("What the reader finds inside", "Run it with --dry-run")
    assert "CLI flag '--dry-run'" in messages(page(summary))


# --- the parser ------------------------------------------------------------------------------


def test_fenced_blocks_reads_indent_language_options_and_body() -> None:
    text = (
        "- Run it:\n\n"
        '  ```bash skip="needs a real AWS account" timeout=30\n'
        "  aws s3 ls\n"
        "    --recursive\n"
        "  ```\n\n"
        "~~~text\n"
        "```not a fence here\n"
        "~~~\n"
    )
    first, second = fenced_blocks(text)
    assert (first.start_line, first.end_line, first.indent) == (3, 6, 2)
    assert (first.language, first.options) == (
        "bash",
        {"skip": "needs a real AWS account", "timeout": "30"},
    )
    assert first.body == "aws s3 ls\n  --recursive\n"
    assert (first.fence_char, first.fence_length, first.closed) == ("`", 3, True)
    assert (second.start_line, second.end_line, second.language) == (8, 10, "text")
    assert second.body == "```not a fence here\n"
    assert second.fence_char == "~"


def test_a_longer_fence_holds_a_shorter_one() -> None:
    text = "````markdown\n```bash\necho hi\n```\n````\n\n```text\nafter\n```\n"
    outer, after = fenced_blocks(text)
    assert (outer.language, outer.fence_length, outer.end_line) == ("markdown", 4, 5)
    assert outer.body == "```bash\necho hi\n```\n"
    assert (after.start_line, after.body) == (7, "after\n")


def test_an_unclosed_fence_runs_to_the_end_and_inline_backticks_are_not_fences() -> None:
    (block,) = fenced_blocks("Some ```inline``` code.\n\n```python\nx = 1\n")
    assert (block.start_line, block.end_line, block.closed, block.body) == (3, 4, False, "x = 1\n")


def test_parse_info_keeps_a_bare_option_and_single_quotes() -> None:
    assert parse_info("bash skip") == ("bash", {"skip": ""})
    assert parse_info("bash skip='needs the hub' ") == ("bash", {"skip": "needs the hub"})
    assert parse_info("") == ("", {})


def test_front_matter() -> None:
    matter = front_matter("---\ntitle: Runbook — incidents\nsearch: {boost: 2}\n---\n\n# Runbook\n")
    assert matter is not None
    assert matter.data == {"title": "Runbook — incidents", "search": {"boost": 2}}
    assert matter.end_line == 4
    assert front_matter("# No front matter\n") is None
    with pytest.raises(FrontMatterError, match="never closed"):
        front_matter("---\ntitle: x\n")


# --- python -m mlplatform.docsite.style ------------------------------------------------------


def test_cli_prints_each_problem_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = tmp_path / "good.md", tmp_path / "bad.md"
    good.write_text(page(GOOD_SECTION))
    bad.write_text(page(GOOD_SECTION.replace("- A bullet with `code`.", "1. First")))
    assert main([str(good), str(bad)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{bad}:20: numbered list: use '- ' bullets",
        "1 style problem in 1 of 2 pages",
    ]


def test_cli_runs_as_a_module(tmp_path: Path) -> None:
    good = tmp_path / "good.md"
    good.write_text(page(GOOD_SECTION))
    run = [sys.executable, "-m", "mlplatform.docsite.style"]
    done = subprocess.run([*run, str(good)], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        "1 page follows the house style\n",
        "",
    )
    missing = subprocess.run(
        [*run, str(tmp_path / "missing.md")], capture_output=True, text=True, check=False
    )
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: cannot read ")
    assert "Traceback" not in missing.stderr

"""Technical values written as plain prose: the house style puts them in backticks.

A conservative heuristic that should flag only real technical values. It reads text outside
code blocks, code spans, link targets and HTML tags, and looks only for shapes prose never has:
CLI flags (`--dry-run`), environment variables (`METAFLOW_USER`), URIs (`s3://bucket/key`),
paths (`/data/maria`, `~/.metaflowconfig`, `deploy/images/README.md`), file names
(`pipeline.yaml`), field names (`card_path`, `resources.memory`) and commands
(`mlplatform run`, `aws s3 ls`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# The CLI's commands (groups only with a subcommand), so that "the operator's mlplatform
# profile" and "mlplatform users are onboarded" stay prose while "mlplatform users add" is a
# command. A command missing here is only a value the check does not see.
_MLPLATFORM_COMMANDS = (
    r"run|init|doctor|version|(?:runs|models|spec|appsflyer|users|monitor|configure|stack)\s+"
    r"(?:list|show|promote|rollback|compare|check|reference|generate|validate|pull|datalocker|"
    r"receive|sync-user|add|remove|disable|sync|mfa|report|watch|serve|import|up|down|status)"
)
_AWS_SERVICES = (
    "s3|s3api|sts|iam|ec2|ecs|ecr|rds|batch|logs|sns|ssm|secretsmanager|elbv2|efs|cloudwatch|"
    "events|scheduler|stepfunctions|dynamodb|kms"
)
_FILE_EXTENSIONS = (
    "json|jsonl|ya?ml|toml|md|py|ipynb|sh|txt|csv|tsv|parquet|tf|tfvars|tfplan|hcl|cfg|ini|conf|"
    "log|sql|html|env|lock|gz|tgz|zip|pem|crt|key|ldif|j2|xml|db|sqlite"
)
_ABBREVIATIONS = {"e.g", "i.e", "a.m", "p.m"}

_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("URI", re.compile(r"(?<![\w`])[a-z][a-z0-9+.-]*://[^\s)>\]`]+")),
    ("CLI flag", re.compile(r"(?<![\w`-])--[a-z][a-z0-9]*(?:-[a-z0-9]+)*")),
    ("environment variable", re.compile(r"(?<![\w`])\$?[A-Z][A-Z0-9]+_[A-Z0-9_<>*]*")),
    ("shell variable", re.compile(r"(?<![\w`])\$\{?[A-Za-z_][A-Za-z0-9_]*")),
    ("path", re.compile(r"(?<![\w/.~`<>-])(?:~|\.{1,2})?/[\w.<>*@+-]+(?:/[\w.<>*@+=-]*)*")),
    ("path", re.compile(r"(?<![\w/.~`-])[\w.<>-]+(?:/[\w.<>*@+=-]+)*/(?=[\s,;:)]|$)")),
    (
        "file name",
        re.compile(rf"(?<![\w/.`-])[\w<>-]+(?:[./][\w<>-]+)*\.(?:{_FILE_EXTENSIONS})(?![\w/-])"),
    ),
    ("field name", re.compile(r"(?<![\w.`-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w`-])")),
    ("field name", re.compile(r"(?<![\w.`-])[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_-]*)+(?![\w`])")),
    ("command", re.compile(rf"\bmlplatform\s+(?:{_MLPLATFORM_COMMANDS})\b")),
    ("command", re.compile(rf"\baws\s+(?:{_AWS_SERVICES})\s+[a-z][a-z0-9-]*")),
)

_HTML_TAG = re.compile(
    r"</?(?:details|summary|div|span|p|a|img|br|hr|sup|sub|kbd|code|em|strong|b|i|table|tr|td|th)"
    r"\b[^<>]*>"
)
_AUTOLINK = re.compile(r"<[a-z][a-z0-9+.-]*:[^<>\s]*>")
_LINK_TARGET = re.compile(r"\]\([^()\s]*(?:\([^()\s]*\)[^()\s]*)*(?:\s+\"[^\"]*\")?\)")
_ATTR_LIST = re.compile(r"\{[:#.][^{}]*\}")
_REFERENCE_DEFINITION = re.compile(r"^\s*\[[^\]]+\]:\s+\S+.*$", re.MULTILINE)


def unquoted_values(text: str) -> Iterator[tuple[int, str, str]]:
    """(line offset within `text`, kind, value) of each technical value outside backticks."""
    visible = _mask_code_spans(text)
    for pattern in (_REFERENCE_DEFINITION, _LINK_TARGET, _AUTOLINK, _HTML_TAG, _ATTR_LIST):
        visible = pattern.sub(lambda match: _blank(match.group()), visible)
    taken: list[tuple[int, int]] = []
    for kind, pattern in _KINDS:
        for match in pattern.finditer(visible):
            value = match.group().rstrip(".,;:")
            start, end = match.start(), match.start() + len(value)
            if not value or value.lower() in _ABBREVIATIONS or _overlaps(taken, start, end):
                continue
            taken.append((start, end))
            yield visible.count("\n", 0, start), kind, value


def _mask_code_spans(text: str) -> str:
    """The text with every code span (`x`, ``x``, across lines too) replaced by spaces."""
    pieces, position = [], 0
    for opening in re.finditer(r"(?<!`)`+(?!`)", text):
        if opening.start() < position:
            continue
        ticks = opening.group()
        closing = re.compile(rf"(?<!`){ticks}(?!`)").search(text, opening.end())
        if closing is None:
            continue
        pieces += [text[position : opening.start()], _blank(text[opening.start() : closing.end()])]
        position = closing.end()
    return "".join([*pieces, text[position:]])


def _blank(text: str) -> str:
    return re.sub(r"[^\n]", " ", text)


def _overlaps(taken: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(start < other_end and other_start < end for other_start, other_end in taken)

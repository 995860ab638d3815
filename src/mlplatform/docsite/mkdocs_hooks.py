"""MkDocs hooks for this site (`hooks:` in mkdocs.yml).

The house style writes `<summary>` inside `<details markdown>`. md_in_html leaves a summary's
text raw unless the tag itself asks for Markdown, so `mlplatform run` would show its backticks
on the site. Asking for span-level Markdown here keeps the pages' source in the house style.
"""

from __future__ import annotations

import re
from typing import Any

_PLAIN_SUMMARY = re.compile(r"^(\s*)<summary>", re.MULTILINE)


def on_page_markdown(markdown: str, **_: Any) -> str:
    return _PLAIN_SUMMARY.sub(r'\1<summary markdown="span">', markdown)

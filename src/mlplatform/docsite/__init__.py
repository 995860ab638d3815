"""The docs site's own tooling: reading a page's fenced blocks and checking its house style.

`markdown_blocks` finds front matter and fenced code blocks (shared by the style check, the
doc-tests and the Mermaid rendering); `style` checks a page against SPEC.md's docs house style
and runs as `python -m mlplatform.docsite.style FILE...`.
"""

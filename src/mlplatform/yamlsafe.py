"""Safe YAML loading for files users write: specs, profiles, rosters.

`yaml.safe_load` already refuses tags that construct Python objects. This adds what it lacks:
a size cap, strict UTF-8, a cap on alias references (a "billion laughs" document expands
exponentially when constructed), duplicate-key rejection, and a map from a key path to the
line it came from, so validation errors can say `spec.yaml:12`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlplatform.errors import SpecError

MAX_BYTES = 1_000_000
MAX_ALIASES = 100


@dataclass(frozen=True)
class LoadedYaml:
    """A parsed document and the node tree it came from (for line numbers)."""

    data: Any
    source: str
    root: yaml.Node | None

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """1-based line of the deepest node on `loc` that exists in the document."""
        node = self.root
        line = node.start_mark.line + 1 if node is not None else None
        for part in loc:
            found = _child(node, part)
            if found is None:
                break
            line, node = found
        return line

    def where(self, loc: Sequence[str | int]) -> str:
        line = self.line_of(loc)
        return f"{self.source}:{line}" if line else self.source


def _child(node: yaml.Node | None, part: str | int) -> tuple[int, yaml.Node] | None:
    """(line to report, child node): a mapping entry reports its key's line."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.value == part:
                return key_node.start_mark.line + 1, value_node
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        child = node.value[part]
        return child.start_mark.line + 1, child
    return None


class _BoundedSafeLoader(yaml.SafeLoader):
    """SafeLoader that counts alias references and rejects duplicate keys."""

    def __init__(self, stream: str, source: str) -> None:
        super().__init__(stream)
        self._aliases = 0
        self._source = source

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                mark = self.peek_event().start_mark
                raise SpecError(
                    f"{self._source}:{mark.line + 1}: more than {MAX_ALIASES} YAML alias "
                    "references",
                    "write the values out instead of using anchors and aliases",
                )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise SpecError(
                    f"{self._source}:{key_node.start_mark.line + 1}: key '{key}' appears twice",
                    "keep one of them",
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml_text(text: str, source: str = "<string>") -> LoadedYaml:
    if len(text.encode("utf-8", errors="surrogatepass")) > MAX_BYTES:
        raise SpecError(f"{source}: larger than {MAX_BYTES} bytes", "split or shorten the file")
    loader = _BoundedSafeLoader(text, source)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecError(
            f"{source}{line}: {problem}",
            "fix the YAML syntax there (indentation, a missing ':' or quote)",
        ) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{source}: {exc}", "fix the YAML syntax") from None
    finally:
        loader.dispose()
    return LoadedYaml(data=data, source=source, root=root)


def load_yaml_file(path: Path) -> LoadedYaml:
    source = str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise SpecError(f"{source}: no such file", "check the path") from None
    if size > MAX_BYTES:
        raise SpecError(f"{source}: larger than {MAX_BYTES} bytes", "split or shorten the file")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SpecError(
            f"{source}:{line}: not valid UTF-8 (byte {raw[exc.start]:#04x})",
            "save the file as UTF-8",
        ) from None
    return load_yaml_text(text, source)

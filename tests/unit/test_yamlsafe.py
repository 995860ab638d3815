from pathlib import Path

import pytest

from mlplatform.errors import SpecError
from mlplatform.yamlsafe import MAX_ALIASES, load_yaml_file, load_yaml_text


def test_line_of_nested_key() -> None:
    loaded = load_yaml_text("a: 1\nb:\n  c:\n    - x\n    - y\n", "f.yaml")
    assert loaded.line_of(["b", "c", 1]) == 5
    assert loaded.where(["b", "missing"]) == "f.yaml:2"


def test_duplicate_key_is_rejected_with_its_line() -> None:
    with pytest.raises(SpecError, match=r"f.yaml:3: key 'a' appears twice"):
        load_yaml_text("a: 1\nb: 2\na: 3\n", "f.yaml")


def test_python_object_tags_are_refused() -> None:
    with pytest.raises(SpecError, match=r"f\.yaml:1"):
        load_yaml_text("x: !!python/object/apply:os.system ['echo hi']\n", "f.yaml")


def test_alias_expansion_is_bounded() -> None:
    lines = ["a: &a [1, 2]"] + [f"k{i}: *a" for i in range(MAX_ALIASES + 1)]
    with pytest.raises(SpecError, match="alias references"):
        load_yaml_text("\n".join(lines), "bomb.yaml")


def test_non_utf8_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: ok\ndescription: caf\xe9\n".encode("latin-1"))
    with pytest.raises(SpecError, match=r"latin1.yaml:2: not valid UTF-8"):
        load_yaml_file(path)


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("x: " + "a" * 1_100_000)
    with pytest.raises(SpecError, match="larger than"):
        load_yaml_file(path)


def test_syntax_error_names_line() -> None:
    with pytest.raises(SpecError, match=r"s.yaml:2"):
        load_yaml_text("a: 1\n  b: [\n", "s.yaml")

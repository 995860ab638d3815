"""Readers: every format, bad lines kept with their line numbers, clear errors."""

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from mlplatform.data.sources import expand, read_files
from mlplatform.errors import DataSourceError

CSV = "a,b,label\n1,x,0\n2,y\n3,z,1\n"


def test_csv_bad_line_is_quarantined_with_line_number(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(CSV)
    result = read_files([str(path)], "auto", required=["a", "label"])
    assert list(result.frame["a"]) == [1, 3]
    assert list(result.frame["_line"]) == [2, 4]
    assert result.rejected.iloc[0]["line"] == 3
    assert result.rejected.iloc[0]["reason"] == "wrong number of fields"


@pytest.mark.parametrize("fmt", ["csv.gz", "parquet", "jsonl"])
def test_other_formats(tmp_path: Path, fmt: str) -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"], "label": [0, 1]})
    path = tmp_path / f"t.{'csv.gz' if fmt == 'csv.gz' else fmt}"
    if fmt == "csv.gz":
        with gzip.open(path, "wt") as fh:
            frame.to_csv(fh, index=False)
    elif fmt == "parquet":
        frame.to_parquet(path)
    else:
        path.write_text("\n".join(json.dumps(r) for r in frame.to_dict("records")) + "\n")
    result = read_files([str(path)], "auto", required=["a", "label"])
    assert list(result.frame["b"]) == ["x", "y"]
    assert result.rejected.empty


def test_missing_column_names_file_and_column(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(CSV)
    with pytest.raises(DataSourceError, match=r"t.csv: required column 'target' is missing"):
        read_files([str(path)], "auto", required=["target"])


def test_corrupt_gzip_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "t.csv.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00garbage-not-gzip")
    with pytest.raises(DataSourceError, match=r"t.csv.gz: cannot read"):
        read_files([str(path)], "auto")


def test_glob_without_matches(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match=r"data.source.path: no file matches"):
        expand([str(tmp_path / "*.csv")], "data.source.path")


def test_unbalanced_quote_stops_the_read_instead_of_losing_lines(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('a,b,label\n1,x,0\n2,"y,1\n3,z",1\n4,w,0\n')  # lines 3-4 glued by a quote
    with pytest.raises(
        DataSourceError, match=r"t.csv: 4 data lines but 3 rows: an unbalanced quote"
    ):
        read_files([str(path)], "auto", required=["a", "label"])

"""Streaming validation of raw AppsFlyer files: every row valid or quarantined, with reasons."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from mlplatform.data.appsflyer import validate as validation
from mlplatform.data.appsflyer.columns import PULL_API_COLUMNS
from mlplatform.data.appsflyer.validate import DUPLICATE, validate_file
from mlplatform.errors import DataSourceError
from tests.conftest import run_cli

GOOD = {
    "appsflyer_id": "1707053358481-2071216",
    "install_time": "2026-09-01 10:00:00",
    "event_time": "2026-09-01 10:00:00",
    "event_name": "install",
    "app_id": "id1234567890",
    "platform": "ios",
    "media_source": "googleadwords_int",
    "is_retargeting": "false",
    "event_value": "",
    "country_code": "US",
}


def row(**changes: str) -> dict[str, str]:
    return {**GOOD, **changes}


def write_pull_csv(path: Path, rows: list[dict[str, str]], extra: list[str] = ()) -> Path:
    headers = [h for h, _ in PULL_API_COLUMNS] + list(extra)
    snake = [s for _, s in PULL_API_COLUMNS] + list(extra)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(headers)
        for r in rows:
            writer.writerow([r.get(s, "") for s in snake])
    return path


def check(path: Path, tmp_path: Path, report: str | None = None):
    result = validate_file(str(path), report, tmp_path / "q")
    assert result.rows_in == result.rows_valid + result.rows_quarantined
    assert result.quarantine_path is not None
    assert len(pd.read_csv(result.quarantine_path)) == result.rows_quarantined
    return result


def test_bad_values_are_quarantined_with_reasons(tmp_path: Path) -> None:
    path = write_pull_csv(
        tmp_path / "installs.csv",
        [
            row(),
            row(appsflyer_id="1707053358481-1", install_time="2026-13-45 99:00:00"),
            row(appsflyer_id="abc"),
            row(appsflyer_id="1707053358481-2", platform="windows"),
            row(appsflyer_id="1707053358481-3", is_retargeting="yes"),
            row(appsflyer_id="1707053358481-4", event_revenue_usd="N/A", country_code="null"),
        ],
    )
    result = check(path, tmp_path)
    assert result.report == "installs" and result.naming == "pull"
    assert result.rows_valid == 2  # the first row, and the one whose N/A and null are nulls
    assert set(result.reasons) == {
        "install_time: not a UTC timestamp yyyy-mm-dd hh:mm:ss[.sss]",
        "appsflyer_id: not AppsFlyer ID <13-digit ms>-<digits>",
        "platform: not android/ios/windowsphone",
        "is_retargeting: not 'true' or 'false'",
    }
    quarantine = pd.read_csv(result.quarantine_path)
    assert sorted(quarantine["line"]) == [3, 4, 5, 6]


def test_json_event_values_with_doubled_quotes_survive(tmp_path: Path) -> None:
    value = json.dumps({"af_revenue": "4.99", "af_currency": "USD"})
    path = write_pull_csv(
        tmp_path / "events.csv",
        [
            row(event_name="af_purchase", event_value=value, event_revenue_usd="4.99"),
            row(event_name="af_login", event_value="null", appsflyer_id="1707053358481-9"),
            row(event_name="af_login", event_value="{}", appsflyer_id="1707053358481-8"),
            row(
                event_name="af_login", event_value='{"af_level": 3', appsflyer_id="1707053358481-7"
            ),
        ],
    )
    assert '""af_revenue""' in path.read_text()
    result = check(path, tmp_path)
    assert result.report == "in_app_events"
    assert result.reasons == {"event_value: not valid JSON": 1}


def test_duplicates_and_broken_lines_across_batches(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(validation, "BLOCK_BYTES", 4096)
    monkeypatch.setattr(validation, "CHUNK_ROWS", 7)  # many small batches
    rows = [row(appsflyer_id=f"1707053358481-{i}") for i in range(60)] + [
        row(appsflyer_id="1707053358481-5")
    ]
    path = write_pull_csv(tmp_path / "installs.csv.gz", rows)
    with gzip.open(path, "at") as fh:
        fh.write("install,2026-09-01\n")  # a truncated line at the end: line 63
    result = check(path, tmp_path)
    assert result.duplicates == 1 and result.reasons[DUPLICATE] == 1
    assert result.rows_in == 62 and result.rows_quarantined == 2
    quarantine = pd.read_csv(result.quarantine_path).set_index("reason")
    assert quarantine.loc["wrong number of fields", "line"] == 63
    assert quarantine.loc[DUPLICATE, "line"] == 62


def test_extra_fields_are_kept_and_snake_case_files_read(tmp_path: Path) -> None:
    path = write_pull_csv(
        tmp_path / "extra.csv", [row(device_model="iPhone14,5")], extra=["device_model"]
    )
    assert check(path, tmp_path).rows_valid == 1
    snake = tmp_path / "t=installs" / "dt=2026-09-01" / "h=10" / "part-00000.csv"
    snake.parent.mkdir(parents=True)
    pd.DataFrame(
        [row(), row(appsflyer_id="1707053358481-77", event_time="2026-08-20 10:00:00.123")]
    ).to_csv(snake, index=False)
    result = check(snake, tmp_path)
    assert result.naming == "snake" and result.rows_valid == 2
    assert result.late_events == 1  # an event from 2026-08-20 landing in dt=2026-09-01


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_typed_formats(tmp_path: Path, fmt: str) -> None:
    records = [
        row(event_name="af_login", is_retargeting=True, event_value={"a": 1}),
        row(event_name="af_login", appsflyer_id="x", is_retargeting=True),
    ]
    path = tmp_path / f"retarget.{fmt}"
    if fmt == "parquet":
        frame = pd.DataFrame(records)
        frame["event_value"] = frame["event_value"].map(json.dumps)
        frame.to_parquet(path)
    else:
        path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    result = check(path, tmp_path)
    assert result.report == "retargeting_in_app_events"  # booleans arrive as JSON true
    assert result.rows_valid == 1 and result.rows_quarantined == 1


def test_report_type_mismatch_quarantines(tmp_path: Path) -> None:
    path = write_pull_csv(tmp_path / "i.csv", [row(), row(appsflyer_id="1707053358481-3")])
    result = check(path, tmp_path, report="organic_installs")
    assert result.reasons == {"media_source: not 'organic'": 2}


def test_missing_required_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    pd.DataFrame([{"Install Time": "2026-09-01 10:00:00", "AppsFlyer ID": "1"}]).to_csv(
        path, index=False
    )
    with pytest.raises(DataSourceError, match=r"bad.csv: required column 'Event Time' is missing"):
        validate_file(str(path), out_dir=tmp_path)


def test_cli_json_only_on_stdout(tmp_path: Path) -> None:
    path = write_pull_csv(tmp_path / "i.csv", [row(), row(appsflyer_id="bad")])
    result = run_cli(
        "appsflyer", "validate", str(path), "--json", "--out", str(tmp_path / "q"), cwd=tmp_path
    )
    assert result.code == 0  # quarantined rows are not an error
    document = json.loads(result.stdout)
    assert (document["rows_in"], document["rows_valid"], document["rows_quarantined"]) == (2, 1, 1)
    assert Path(document["quarantine_path"]).is_file()
    unreadable = run_cli("appsflyer", "validate", str(tmp_path / "none.csv"), cwd=tmp_path)
    assert unreadable.code == 2 and unreadable.stderr.startswith("error: ")


def test_unknown_report_suggests(tmp_path: Path) -> None:
    path = write_pull_csv(tmp_path / "i.csv", [row()])
    result = run_cli("appsflyer", "validate", str(path), "--report", "instals", cwd=tmp_path)
    assert result.code == 2 and "did you mean 'installs'?" in result.stderr


def test_broken_jsonl_line_is_quarantined_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "push.jsonl"
    path.write_text(
        json.dumps(row()) + "\n{not json\n" + json.dumps(row(appsflyer_id="1707053358481-5")) + "\n"
    )
    result = check(path, tmp_path)
    assert result.reasons == {"not a JSON object": 1}
    assert pd.read_csv(result.quarantine_path)["line"].tolist() == [2]


def _lines_with_broken_quote(tmp_path: Path, close_later: bool) -> Path:
    rows = [row(appsflyer_id=f"1707053358481-{i}", event_name="af_login") for i in range(6)]
    path = write_pull_csv(tmp_path / "q.csv", rows)
    lines = path.read_text().splitlines()
    fields = lines[2].split(",")  # line 3, the second row
    fields[5] = '"{broken'  # Event Value opens a quote and never closes it on this line
    lines[2] = ",".join(fields)
    if close_later:  # a later quote closes it: the parser glues lines 3-4 into one row
        fields = lines[3].split(",")
        fields[5] = 'x"'
        lines[3] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("close_later", [False, True])
def test_unbalanced_quote_never_hides_lines(tmp_path: Path, close_later: bool) -> None:
    path = _lines_with_broken_quote(tmp_path, close_later)
    result = check(path, tmp_path)
    data_lines = len(path.read_text().splitlines()) - 1
    assert result.rows_in == data_lines == 6  # every physical line is counted
    quarantine = pd.read_csv(result.quarantine_path)
    assert 3 in set(quarantine["line"]) and 4 in set(quarantine["line"])
    assert set(quarantine["reason"]) <= {validation.UNBALANCED, "wrong number of fields"}
    # Closed later: only the two glued lines are lost to it; never closed: all that follows.
    assert result.rows_valid == (4 if close_later else 1)

"""Every fault the generator can inject, in every layout, is found by the validator.

The generator counts what it broke (`faults_in[<report or topic>][<fault>]`) and where it
broke whole lines (`fault_lines`); the validator must account for each, and lose no line.
"""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from mlplatform.data.appsflyer.synthetic import FAULTS, generate
from mlplatform.data.appsflyer.validate import DUPLICATE, UNBALANCED, validate_file

# The report (or topic) each layout's test validates: small, so the test stays quick.
TARGET = {"pull": "installs_report", "datalocker": "installs", "push": "push_api"}
CASES = [
    (layout, fault)
    for layout in TARGET
    for fault in FAULTS
    if (layout, fault) != ("push", "late_rows")  # postbacks arrive in real time
]


def physical_rows(path: Path) -> int:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        lines = [line for line in fh.read().split("\n") if line]
    return len(lines) - (0 if path.suffix == ".jsonl" else 1)  # CSVs have a header


@pytest.mark.parametrize(("layout", "fault"), CASES)
def test_each_fault_is_found(tmp_path: Path, layout: str, fault: str) -> None:
    installs = 120 if layout == "datalocker" else 300  # hourly files: many, so fewer rows
    data = generate(
        tmp_path / "raw", installs=installs, seed=11, days=2, layout=layout, faults={fault: 0.04}
    )  # type: ignore[arg-type]
    target = TARGET[layout]
    injected = data.faults_in[target][fault]
    assert injected > 0 and set(data.faults) == {fault}
    files = data.files[target]
    results = [validate_file(str(f), None, tmp_path / "q" / str(n)) for n, f in enumerate(files)]
    for path, result in zip(files, results, strict=True):
        assert result.rows_in == result.rows_valid + result.rows_quarantined
        assert result.rows_in == physical_rows(path)  # no line lost, whatever broke
    reasons: Counter[str] = Counter()
    for result in results:
        reasons.update(result.reasons)
    quarantined = sum(r.rows_quarantined for r in results)
    quarantine = pd.concat(pd.read_csv(r.quarantine_path) for r in results)
    broken_lines = {(str(p), n) for p, n in data.fault_lines.get(fault, []) if p in files}
    found = {
        (str(s), int(line), reason)
        for s, line, reason in quarantine[["source", "line", "reason"]].itertuples(index=False)
    }

    if fault == "wrong_types":
        assert quarantined == injected
        assert all(": not " in reason for reason in reasons)
    elif fault == "duplicates":
        assert quarantined == injected == sum(r.duplicates for r in results)
        assert set(reasons) == {DUPLICATE}
    elif fault == "late_rows":
        assert quarantined == 0 and sum(r.late_events for r in results) == injected
    elif fault == "missing_columns":
        expected = "appsflyer_id: empty value" if layout == "push" else "wrong number of fields"
        assert reasons == {expected: injected}
        assert broken_lines == {(s, line) for s, line, reason in found if reason == expected}
    else:  # bad_quoting: the broken line, and whatever lines the open quote swallowed
        # The quote closes at the next quote char, if any: on a later line (the rows between
        # become one, "unbalanced quote") or on the same line ("wrong number of fields").
        expected = (
            {"not a JSON object"} if layout == "push" else {UNBALANCED, "wrong number of fields"}
        )
        for source, line in broken_lines:
            assert {r for s, n, r in found if (s, n) == (source, line)} & expected
        if layout == "push":
            assert quarantined == injected

"""The generator writes exact Pull API files; the builder accounts for every raw row."""

from pathlib import Path

import pandas as pd
import pytest

from mlplatform.data.appsflyer.columns import PULL_API_HEADERS
from mlplatform.data.appsflyer.synthetic import generate
from mlplatform.pipelines.spec import PipelineSpec
from mlplatform.pipelines.steps.ingest import ingest
from tests.conftest import small_spec


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory):
    return generate(tmp_path_factory.mktemp("af"), installs=3000, seed=3, malformed_fraction=0.01)


def test_header_is_the_exact_pull_api_header(generated) -> None:
    first = generated.files["installs_report"][0]
    assert first.read_text().splitlines()[0] == ",".join(PULL_API_HEADERS)
    assert len(PULL_API_HEADERS) == 81
    assert "/dt=2026-09-01/part-00000.csv" in str(first).replace("\\", "/")


def test_same_seed_same_bytes(tmp_path: Path, generated) -> None:
    again = generate(tmp_path, installs=3000, seed=3, malformed_fraction=0.01)
    a = generated.files["in_app_events_report"][3].read_bytes()
    b = again.files["in_app_events_report"][3].read_bytes()
    assert a == b


def test_purchase_json_survives_csv_quoting(generated) -> None:
    frame = pd.concat(
        pd.read_csv(p, dtype=str, keep_default_na=False)
        for p in generated.files["in_app_events_report"][:10]
    )
    buys = frame[frame["Event Name"] == "af_purchase"]
    assert len(buys) > 0
    assert buys["Event Value"].str.startswith('{"af_revenue":').mean() > 0.9


def test_every_raw_row_is_used_or_quarantined() -> None:
    spec = PipelineSpec.model_validate(small_spec(**{"data.source.malformed_fraction": 0.02}))
    result = ingest(spec)
    counts = result.rejected.groupby("table").size()
    assert result.rows_in["installs"] == len(result.table) + counts["installs"]
    reasons = set(result.rejected["reason"])
    assert {
        "wrong number of fields",
        "install_time: not a UTC timestamp yyyy-mm-dd hh:mm:ss[.sss]",
        "event_value: not valid JSON",
    } <= reasons
    truncated = result.rejected[result.rejected["reason"] == "wrong number of fields"]
    assert (truncated["line"] > 1).all() and truncated["source"].str.endswith(".csv").all()


def test_label_is_learnable_signal() -> None:
    spec = PipelineSpec.model_validate(small_spec(**{"data.source.installs": 8000}))
    table = ingest(spec).table
    rate = table["purchased_d7"].mean()
    assert 0.05 < rate < 0.3
    engaged = table[table["d0_events"] >= 3]["purchased_d7"].mean()
    idle = table[table["d0_events"] == 0]["purchased_d7"].mean()
    assert engaged > 2 * idle  # the planted relation: day-0 engagement predicts purchase

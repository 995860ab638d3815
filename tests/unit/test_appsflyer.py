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


def _raw(rows: list[dict[str, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame["_source"], frame["_line"] = "t.csv", range(2, len(frame) + 2)
    return frame


def test_features_are_point_in_time_and_labels_configurable() -> None:
    from mlplatform.data.appsflyer.features import build_install_table

    install = {
        "appsflyer_id": "1707053358481-1",
        "app_id": "id1",
        "platform": "ios",
        "install_time": "2026-09-01 00:00:00",
        "event_time": "2026-09-01 00:00:00",
        "event_name": "install",
        "media_source": "organic",
    }
    late_install = install | {
        "appsflyer_id": "1707053358481-2",
        "install_time": "2026-09-20 00:00:00",
        "event_time": "2026-09-20 00:00:00",
    }

    def event(when: str, name: str = "af_login", revenue: str = "") -> dict[str, str]:
        return {
            "appsflyer_id": "1707053358481-1",
            "app_id": "id1",
            "platform": "ios",
            "install_time": "2026-09-01 00:00:00",
            "event_time": when,
            "event_name": name,
            "event_value": "",
            "event_revenue_usd": revenue,
        }

    events = [
        event("2026-09-01 23:59:59"),  # day 0
        event("2026-09-02 00:00:00"),  # day 1: 24 h after install
        event("2026-09-03 00:00:01", "af_purchase", "9.99"),  # after 48 h: no feature sees it
        event("2026-09-09 00:00:00", "af_purchase", "4.99"),  # day 8: outside 7, inside 14
        event("2026-10-02 00:00:00"),  # the newest data: 31 days after the first install
    ]
    built = build_install_table(
        _raw([install, late_install]), _raw(events), purchase_days=(7, 14), revenue_days=(30,)
    )
    row = built.table.iloc[0]
    assert (row["d0_events"], row["d1_events"], row["d0_af_login"], row["d1_af_login"]) == (
        1,
        1,
        1,
        1,
    )
    assert row["d0_purchases"] == row["d1_purchases"] == 0 and row["d1_revenue_usd"] == 0
    assert (row["purchased_d7"], row["purchased_d14"], row["revenue_d30_usd"]) == (1, 1, 14.98)
    assert len(built.table) == 1  # the install of 09-20 has no 30 days of data yet
    assert set(built.rejected["reason"]) == {"label window incomplete (< 30 days of data)"}


def test_spec_knows_configured_label_names(tmp_path: Path) -> None:
    from mlplatform.errors import SpecError
    from mlplatform.pipelines.spec import load_spec
    from tests.conftest import write_spec

    spec = small_spec(
        **{"target.column": "purchased_d14", "data.source.purchase_label_days": [7, 14]}
    )
    spec["data"]["schema"].pop("purchased_d7")
    assert load_spec(write_spec(tmp_path / "s.yaml", spec)).target.column == "purchased_d14"
    spec["data"]["source"]["purchase_label_days"] = [7]
    with pytest.raises(
        SpecError, match="column 'purchased_d14' is not in the AppsFlyer install table"
    ):
        load_spec(write_spec(tmp_path / "s.yaml", spec))

"""A seeded generator of AppsFlyer raw data: every report type, in all three layouts.

- `pull` (default): the Pull API CSVs with the exact 81-column header, in the raw-zone layout
  `<root>/<app_id>/<report path>/dt=YYYY-MM-DD/part-00000.csv`, for all eight reports.
- `datalocker`: snake_case CSV.gz files in AppsFlyer's bucket layout
  `<root>/data-locker-hourly/t=<topic>/dt=YYYY-MM-DD/h=<0..23|late>/part-00000.gz`, each hour
  closed by a `_SUCCESS` object.
- `push`: Push API postbacks, one JSON object per line (`<root>/push_api/<app_id>/
  postbacks-YYYY-MM-DD.jsonl`): `.sss` timestamps, empty fields left out, booleans as JSON
  `true` or as the string "true" (AppsFlyer sends both).

The distributions are synthetic (the reference gives none) but the relation is planted and
learnable: an install's media source, country, platform, install hour and a latent engagement
level — visible through its day-0 events — drive whether it purchases within 7 days.

Faults are injected on request, by name and share of rows (`faults={"duplicates": 0.01}`), and
counted in `GeneratedData.faults` so tests can check the validator finds each one:
`wrong_types` (impossible dates, bad IDs, revenue, platform, JSON), `missing_columns` (rows cut
short; a postback without `appsflyer_id`), `bad_quoting` (a quote that never closes; a postback
that is not JSON), `duplicates` (a row delivered twice) and `late_rows` (rows landing in a
partition days after their event). `malformed_fraction` is the older shorthand for wrong types
plus a few short rows.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mlplatform.data.appsflyer.columns import (
    PULL_API_COLUMNS,
    SNAKE_TO_HEADER,
    datalocker_name,
)
from mlplatform.data.appsflyer.layouts import FAULTS, Layout
from mlplatform.data.appsflyer.reports import REPORTS, Report
from mlplatform.errors import PlatformError

# Bump when the same arguments would write different bytes: cached datasets are keyed by it.
GENERATOR_VERSION = 2
START = np.datetime64("2026-09-01T00:00:00")

# (media source, share, effect on purchase log-odds, campaigns)
MEDIA_SOURCES: tuple[tuple[str, float, float, int], ...] = (
    ("organic", 0.30, 0.10, 0),
    ("googleadwords_int", 0.18, 0.25, 6),
    ("Facebook Ads", 0.16, 0.15, 8),
    ("tiktokglobal_int", 0.10, -0.35, 5),
    ("applovin_int", 0.07, -0.55, 4),
    ("unityads_int", 0.05, -0.65, 3),
    ("Apple Search Ads", 0.06, 0.55, 3),
    ("snapchat_int", 0.04, -0.20, 3),
    ("restricted", 0.04, 0.00, 0),
)
# (country, share, effect, region, language)
COUNTRIES: tuple[tuple[str, float, float, str, str], ...] = (
    ("US", 0.30, 0.60, "NA", "en-US"),
    ("GB", 0.08, 0.45, "EU", "en-GB"),
    ("DE", 0.08, 0.40, "EU", "de-DE"),
    ("FR", 0.06, 0.30, "EU", "fr-FR"),
    ("JP", 0.06, 0.55, "AS", "ja-JP"),
    ("KR", 0.04, 0.45, "AS", "ko-KR"),
    ("CA", 0.05, 0.45, "NA", "en-CA"),
    ("AU", 0.04, 0.45, "OC", "en-AU"),
    ("BR", 0.10, -0.45, "SA", "pt-BR"),
    ("MX", 0.06, -0.40, "NA", "es-MX"),
    ("IN", 0.09, -0.90, "AS", "en-IN"),
    ("ID", 0.04, -0.80, "AS", "id-ID"),
)
ENGAGEMENT_EVENTS = (
    ("af_login", 0.30),
    ("af_content_view", 0.30),
    ("af_level_achieved", 0.15),
    ("af_tutorial_completion", 0.10),
    ("af_add_to_cart", 0.10),
    ("af_complete_registration", 0.05),
)
PRICES = np.array([0.99, 1.99, 4.99, 9.99, 19.99, 49.99])
PRICE_SHARE = np.array([0.25, 0.25, 0.25, 0.13, 0.08, 0.04])
EUR_PER_USD = 0.92

# Retargeting networks re-engage lapsed users; their conversions are separate reports.
RETARGETING_SOURCES = ("criteonew_int", "remerge_int", "googleadwords_int")
# Data Locker topics for the report ids (organic rows live in the same topics there).
DATALOCKER_TOPICS = {
    "installs": "installs",
    "in_app_events": "inapps",
    "uninstalls": "uninstalls",
    "retargeting_installs": "conversions_retargeting",
    "retargeting_in_app_events": "inapps_retargeting",
}


@dataclass
class GeneratedData:
    """Where the generator wrote each report, and what it planted."""

    root: Path
    files: dict[str, list[Path]] = field(default_factory=dict)
    installs: int = 0
    events: int = 0
    malformed_rows: int = 0
    faults: dict[str, int] = field(default_factory=dict)  # fault -> rows injected
    # report path / topic / "push_api" -> fault -> rows injected there
    faults_in: dict[str, dict[str, int]] = field(default_factory=dict)
    fault_lines: dict[str, list[tuple[Path, int]]] = field(default_factory=dict)

    def globs(self, report: str) -> list[str]:
        return [str(p) for p in self.files.get(report, [])]


def generate(
    root: Path,
    installs: int = 50_000,
    seed: int = 7,
    days: int = 30,
    app_id: str = "id1234567890",
    malformed_fraction: float = 0.0,
    layout: Layout = "pull",
    faults: Mapping[str, float] | None = None,
) -> GeneratedData:
    """Write every report under `root` in `layout`; same arguments, same bytes."""
    unknown = sorted(set(faults or {}) - set(FAULTS))
    if unknown:
        raise PlatformError(f"unknown fault '{unknown[0]}'", f"use one of: {', '.join(FAULTS)}")
    if layout == "push" and (faults or {}).get("late_rows"):
        raise PlatformError(
            "fault 'late_rows' does not apply to the push layout",
            "postbacks arrive in real time; use it with the pull or datalocker layout",
        )
    wanted = dict(faults or {})
    if malformed_fraction > 0:
        wanted["wrong_types"] = wanted.get("wrong_types", 0.0) + malformed_fraction
        wanted["missing_columns"] = wanted.get("missing_columns", 0.0) + malformed_fraction / 20
    rng = np.random.default_rng(seed)
    install_rows, engagement = _installs(rng, installs, days, app_id)
    event_rows = _events(rng, install_rows, engagement)
    # The other reports draw from their own stream: adding them left these bytes unchanged.
    more = np.random.default_rng([seed, 1])
    reports = {
        "installs": install_rows,
        "in_app_events": event_rows,
        **_lifecycle(more, install_rows, event_rows),
    }
    reports = {
        k: v.drop(columns=["_buyer", "_install_ts"], errors="ignore") for k, v in reports.items()
    }
    out = GeneratedData(root=root, installs=len(install_rows), events=len(event_rows))
    injector = _Faults(np.random.default_rng([seed, 2]), wanted, out)
    if layout == "pull":
        for report_id, rows in _pull_reports(reports).items():
            _write_pull(root, app_id, report_id, rows, injector, out)
    elif layout == "datalocker":
        for report_id, topic in DATALOCKER_TOPICS.items():
            _write_datalocker(root, topic, report_id, reports[report_id], injector, out)
    else:
        _write_push(root, app_id, reports, injector, out)
    out.malformed_rows = sum(out.faults.values())
    return out


def _choice(rng: np.random.Generator, table: tuple[tuple, ...], n: int) -> np.ndarray:
    shares = np.array([row[1] for row in table], dtype=float)
    return rng.choice(len(table), size=n, p=shares / shares.sum())


def _installs(
    rng: np.random.Generator, n: int, days: int, app_id: str
) -> tuple[pd.DataFrame, np.ndarray]:
    ms_idx = _choice(rng, MEDIA_SOURCES, n)
    co_idx = _choice(rng, COUNTRIES, n)
    is_ios = rng.random(n) < 0.42
    # Apple Search Ads only exists on iOS: move its Android installs to Google.
    asa = np.array([m[0] for m in MEDIA_SOURCES]).tolist().index("Apple Search Ads")
    ms_idx = np.where((ms_idx == asa) & ~is_ios, 1, ms_idx)
    # Diurnal install times: more installs in the evening.
    hour_weights = 1.0 + 0.8 * np.sin((np.arange(24) - 9) / 24 * 2 * np.pi)
    hours = rng.choice(24, size=n, p=hour_weights / hour_weights.sum())
    day = rng.integers(0, days, size=n)
    seconds = day * 86_400 + hours * 3600 + rng.integers(0, 3600, size=n)
    install_time = START + seconds.astype("timedelta64[s]")

    media = np.array([m[0] for m in MEDIA_SOURCES])[ms_idx]
    organic = media == "organic"
    restricted = media == "restricted"
    n_campaigns = np.array([m[3] for m in MEDIA_SOURCES])[ms_idx]
    campaign_no = (rng.random(n) * np.maximum(n_campaigns, 1)).astype(int)
    campaign = np.char.add(
        np.char.add(np.char.replace(np.char.lower(media.astype(str)), " ", "_"), "_ua_"),
        campaign_no.astype(str),
    )
    campaign = np.where(organic | restricted, "", campaign)

    engagement = rng.normal(0.0, 1.0, size=n)
    epoch_ms = (install_time.astype("datetime64[ms]").astype(np.int64)).astype(str)
    suffix = np.where(
        is_ios,
        rng.integers(1_000_000, 9_999_999, size=n).astype(str),
        np.char.add(
            rng.integers(10**8, 10**9 - 1, size=n).astype(str),
            rng.integers(10**8, 10**9 - 1, size=n).astype(str),
        ),
    )
    appsflyer_id = np.char.add(np.char.add(epoch_ms, "-"), suffix)
    touch = np.where(rng.random(n) < 0.8, "click", "impression")
    touch = np.where(organic, "", touch)
    touch_time = install_time - rng.integers(60, 86_400, size=n).astype("timedelta64[s]")
    countries = np.array([c[0] for c in COUNTRIES])[co_idx]

    frame = pd.DataFrame(
        {
            "attributed_touch_type": touch,
            "attributed_touch_time": np.where(organic, "", _fmt(touch_time)),
            "install_time": _fmt(install_time),
            "event_time": _fmt(install_time),
            "event_name": "install",
            "event_value": "",
            "event_source": "SDK",
            "media_source": media,
            "af_channel": np.where(media == "Facebook Ads", "Facebook", ""),
            "campaign": campaign,
            "af_c_id": np.where(campaign == "", "", (campaign_no + 1000).astype(str)),
            "af_adset": np.where(campaign == "", "", np.char.add(campaign, "_adset_a")),
            "af_siteid": np.where(
                organic | restricted, "", np.char.add("site_", (hours % 5).astype(str))
            ),
            "af_cost_model": np.where(organic | restricted, "", "CPI"),
            "af_cost_value": np.where(organic | restricted, "", "1.2500"),
            "af_cost_currency": np.where(organic | restricted, "", "USD"),
            "region": np.array([c[3] for c in COUNTRIES])[co_idx],
            "country_code": countries,
            "wifi": np.where(rng.random(n) < 0.6, "true", "false"),
            "language": np.array([c[4] for c in COUNTRIES])[co_idx],
            "appsflyer_id": appsflyer_id,
            "platform": np.where(is_ios, "ios", "android"),
            "device_type": np.where(is_ios, "iPhone14,5", "samsung::SM-G991B"),
            "os_version": np.where(is_ios, "17.4", "14"),
            "app_version": "3.2.1",
            "sdk_version": "v6.14.3",
            "app_id": app_id,
            "app_name": "Synthetic Puzzle Quest",
            "bundle_id": "com.example.puzzlequest",
            "is_retargeting": "false",
            "af_attribution_lookback": np.where(organic, "", "7d"),
            "is_primary_attribution": "true",
            "dma": np.where(countries == "US", "501", "None"),
        }
    )
    logit = (
        -2.9
        + 1.1 * engagement
        + np.array([m[2] for m in MEDIA_SOURCES])[ms_idx]
        + np.array([c[2] for c in COUNTRIES])[co_idx]
        + 0.35 * is_ios
        + 0.25 * ((hours >= 18) & (hours <= 23))
    )
    frame["_buyer"] = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    frame["_install_ts"] = install_time
    return frame, engagement


def _events(
    rng: np.random.Generator, installs: pd.DataFrame, engagement: np.ndarray
) -> pd.DataFrame:
    n = len(installs)
    install_ts = installs["_install_ts"].to_numpy()
    buyer = installs["_buyer"].to_numpy()
    # Day-0 engagement: its volume reveals the latent engagement the label depends on.
    d0_count = rng.poisson(np.exp(0.3 + 0.55 * engagement))
    eng_owner = np.repeat(np.arange(n), d0_count)
    eng_offset = rng.integers(60, 86_400, size=len(eng_owner))
    names = np.array([e[0] for e in ENGAGEMENT_EVENTS])
    shares = np.array([e[1] for e in ENGAGEMENT_EVENTS])
    eng_names = names[rng.choice(len(names), size=len(eng_owner), p=shares)]
    # Later engagement (days 1-14) is noise for a day-0 model.
    late_count = rng.poisson(0.8, size=n)
    late_owner = np.repeat(np.arange(n), late_count)
    late_offset = rng.integers(86_400, 14 * 86_400, size=len(late_owner))
    late_names = names[rng.choice(len(names), size=len(late_owner), p=shares)]
    # Purchases: 30 % of 7-day buyers buy on day 0; 8 % of others buy after day 7.
    first_day0 = buyer & (rng.random(n) < 0.30)
    first_offset = np.where(
        first_day0,
        rng.integers(300, 86_400, size=n),
        rng.integers(86_400, 7 * 86_400, size=n),
    )
    later_buyer = ~buyer & (rng.random(n) < 0.08)
    buy_owner = np.concatenate([np.flatnonzero(buyer), np.flatnonzero(later_buyer)])
    buy_offset = np.concatenate(
        [
            first_offset[buyer],
            rng.integers(7 * 86_400 + 3600, 30 * 86_400, size=int(later_buyer.sum())),
        ]
    )
    repeat = rng.poisson(0.6, size=len(buy_owner))
    rep_owner = np.repeat(buy_owner, repeat)
    rep_offset = np.repeat(buy_offset, repeat) + rng.integers(3600, 20 * 86_400, len(rep_owner))
    owner = np.concatenate([eng_owner, late_owner, buy_owner, rep_owner])
    offset = np.concatenate([eng_offset, late_offset, buy_offset, rep_offset])
    n_eng = len(eng_owner) + len(late_owner)
    event_name = np.concatenate(
        [eng_names, late_names, np.full(len(buy_owner) + len(rep_owner), "af_purchase")]
    )
    is_purchase = np.arange(len(owner)) >= n_eng

    events = installs.iloc[owner].reset_index(drop=True)
    event_ts = install_ts[owner] + offset.astype("timedelta64[s]")
    price = rng.choice(PRICES, size=len(owner), p=PRICE_SHARE)
    eur = rng.random(len(owner)) < 0.15
    revenue = np.where(eur, np.round(price * EUR_PER_USD, 2), price)
    currency = np.where(eur, "EUR", "USD")
    events["event_time"] = _fmt(event_ts)
    events["event_name"] = event_name
    events["event_source"] = np.where(rng.random(len(owner)) < 0.9, "SDK", "S2S")
    events["event_revenue"] = np.where(is_purchase, revenue.astype(str), "")
    events["event_revenue_currency"] = np.where(is_purchase, currency, "USD")
    events["event_revenue_usd"] = np.where(is_purchase, price.astype(str), "")
    events["is_receipt_validated"] = np.where(is_purchase, "true", "")
    events["event_value"] = _event_values(rng, event_name, revenue, currency)
    events = events.iloc[np.argsort(event_ts, kind="stable")].reset_index(drop=True)
    # Two same-named events of one user in the same second would read as a re-delivery.
    return events.drop_duplicates(["appsflyer_id", "event_time", "event_name"], ignore_index=True)


def _event_values(
    rng: np.random.Generator, names: np.ndarray, revenue: np.ndarray, currency: np.ndarray
) -> np.ndarray:
    out = np.where(rng.random(len(names)) < 0.5, "null", "{}").astype(object)
    buy = np.flatnonzero(names == "af_purchase")
    sku = rng.integers(100, 999, size=len(buy))
    out[buy] = [
        json.dumps(
            {"af_revenue": f"{r}", "af_currency": c, "af_content_id": f"sku_{s}"},
            separators=(",", ":"),
        )
        for r, c, s in zip(revenue[buy], currency[buy], sku, strict=True)
    ]
    lvl = np.flatnonzero(names == "af_level_achieved")
    levels = rng.integers(1, 40, size=len(lvl))
    out[lvl] = [f'{{"af_level":"{v}","af_score":"{v * 100}"}}' for v in levels]
    return out


def _fmt(ts: np.ndarray) -> np.ndarray:
    """`yyyy-mm-dd hh:mm:ss`, the Pull API timestamp format (UTC)."""
    return np.char.replace(np.datetime_as_string(ts.astype("datetime64[s]"), unit="s"), "T", " ")


def _lifecycle(
    rng: np.random.Generator, installs: pd.DataFrame, events: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """Uninstalls, reinstalls and retargeting conversions and events, from the same users."""
    n = len(installs)
    install_ts = installs["_install_ts"].to_numpy()
    gone = np.flatnonzero(rng.random(n) < 0.25)
    uninstall_ts = install_ts[gone] + rng.integers(3600, 20 * 86_400, len(gone)).astype(
        "timedelta64[s]"
    )
    uninstalls = installs.iloc[gone].reset_index(drop=True)
    uninstalls["event_name"] = "uninstall"
    uninstalls["event_time"] = _fmt(uninstall_ts)
    back = rng.random(len(gone)) < 0.2
    back &= uninstalls["media_source"].to_numpy() != "organic"  # the report is attributed only
    reinstalls = uninstalls[back].reset_index(drop=True)
    reinstalls["event_name"] = "reinstall"
    reinstalls["event_time"] = _fmt(
        uninstall_ts[back]
        + rng.integers(3600, 5 * 86_400, int(back.sum())).astype("timedelta64[s]")
    )
    picked = np.flatnonzero(rng.random(n) < 0.08)
    engage_ts = install_ts[picked] + rng.integers(2 * 86_400, 14 * 86_400, len(picked)).astype(
        "timedelta64[s]"
    )
    conversions = installs.iloc[picked].reset_index(drop=True)
    kind = np.where(rng.random(len(picked)) < 0.7, "re-engagement", "re-attribution")
    source = np.array(RETARGETING_SOURCES)[rng.integers(0, len(RETARGETING_SOURCES), len(picked))]
    conversions = conversions.assign(
        event_name=kind,
        event_time=_fmt(engage_ts),
        is_retargeting="true",
        retargeting_conversion_type=kind,
        media_source=source,
        campaign=np.char.add(source.astype(str), "_rt_lapsed"),
        af_reengagement_window="30d",
        attributed_touch_type="click",
        attributed_touch_time=_fmt(engage_ts - np.timedelta64(600, "s")),
    )
    # In-app events after a re-engagement are attributed to it, too.
    engaged_at = dict(zip(conversions["appsflyer_id"], engage_ts, strict=True))
    owner_engaged = events["appsflyer_id"].map(engaged_at)
    after = owner_engaged.notna() & (
        pd.to_datetime(events["event_time"]) > pd.to_datetime(owner_engaged)
    )
    by_user = conversions.set_index("appsflyer_id")
    retargeted = events[after.to_numpy()].reset_index(drop=True)
    retargeted = retargeted.assign(
        is_retargeting="true",
        retargeting_conversion_type=by_user.loc[
            retargeted["appsflyer_id"], "event_name"
        ].to_numpy(),
        media_source=by_user.loc[retargeted["appsflyer_id"], "media_source"].to_numpy(),
        campaign=by_user.loc[retargeted["appsflyer_id"], "campaign"].to_numpy(),
    )
    return {
        "uninstalls": uninstalls,
        "reinstalls": reinstalls,
        "retargeting_installs": conversions,
        "retargeting_in_app_events": retargeted,
    }


def _pull_reports(reports: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The Pull API splits installs and events into attributed and organic reports."""
    out = dict(reports)
    for both, organic_id in (
        ("installs", "organic_installs"),
        ("in_app_events", "organic_in_app_events"),
    ):
        rows = reports[both]
        organic = (rows["media_source"] == "organic").to_numpy()
        out[both], out[organic_id] = rows[~organic], rows[organic]
    return {report_id: out[report_id] for report_id in REPORTS}


WRONG_TYPES = (
    ("install_time", "2026-13-45 99:00:00"),
    ("appsflyer_id", "not-an-id"),
    ("platform", "windows"),
    ("event_revenue_usd", "twelve"),
    ("event_value", '{"af_revenue": "4.99"'),
)


class _Faults:
    """Breaks rows on purpose, by fault name and share, and counts what it broke."""

    def __init__(self, rng: np.random.Generator, shares: dict[str, float], out: GeneratedData):
        self.rng = rng
        self.shares = shares
        self.out = out
        self.target = ""  # the report (path, topic) being written: counts are kept per target

    def pick(self, fault: str, n: int) -> np.ndarray:
        share = self.shares.get(fault, 0.0)
        return np.flatnonzero(self.rng.random(n) < share) if share > 0 and n else np.array([], int)

    def count(self, fault: str, rows: int) -> None:
        if rows:
            self.out.faults[fault] = self.out.faults.get(fault, 0) + rows
            here = self.out.faults_in.setdefault(self.target, {})
            here[fault] = here.get(fault, 0) + rows

    def values(self, rows: pd.DataFrame, in_app: bool) -> pd.DataFrame:
        """wrong_types: values no schema accepts; duplicates: rows delivered twice."""
        picked = self.pick("wrong_types", len(rows))
        if len(picked):
            rows = rows.copy()
            usable = [w for w in WRONG_TYPES if in_app or not w[0].startswith("event_")]
            kinds = self.rng.integers(0, len(usable), size=len(picked))
            for kind, (column, value) in enumerate(usable):
                rows.iloc[picked[kinds == kind], rows.columns.get_loc(column)] = value  # type: ignore[index]
            self.count("wrong_types", len(picked))
        again = self.pick("duplicates", len(rows))
        if len(again):
            rows = pd.concat([rows, rows.iloc[again]]).sort_index(kind="stable")
            rows = rows.reset_index(drop=True)
            self.count("duplicates", len(again))
        return rows

    def late(self, rows: pd.DataFrame) -> np.ndarray:
        """late_rows: which rows land days after their event."""
        mask = np.zeros(len(rows), dtype=bool)
        mask[self.pick("late_rows", len(rows))] = True
        self.count("late_rows", int(mask.sum()))
        return mask

    def lines(self, text: str, path: Path, header_lines: int = 1) -> str:
        """missing_columns: rows cut short; bad_quoting: a field opens a quote, never closes it."""
        lines = text.split("\n")
        body = len(lines) - header_lines - (1 if lines[-1] == "" else 0)
        cut = set(self.pick("missing_columns", body).tolist())
        unquote = set(self.pick("bad_quoting", body).tolist()) - cut
        for i in sorted(cut | unquote):
            line = header_lines + i
            fields = next(csv.reader([lines[line]]))
            if i in cut:
                lines[line] = _csv_line(fields[:5])
                self._record("missing_columns", path, line + 1)
            else:
                campaign = 15  # the Campaign column: plain text, so the quote is the only one
                fields[campaign] = "\x00"
                lines[line] = _csv_line(fields).replace("\x00", '"' + "lapsed users")
                self._record("bad_quoting", path, line + 1)
        return "\n".join(lines)

    def _record(self, fault: str, path: Path, line: int) -> None:
        self.count(fault, 1)
        self.out.fault_lines.setdefault(fault, []).append((path, line))


def _csv_line(fields: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(fields)
    return buffer.getvalue()


def _laid_out(
    rows: pd.DataFrame, report: Report, faults: _Faults, target: str, name_of: Callable[[str], str]
) -> pd.DataFrame:
    """The report's rows with faults applied, in every column of the layout (named by
    `name_of`, in the Pull API's order)."""
    faults.target = target
    rows = faults.values(rows, report.in_app)
    full = pd.DataFrame({name_of(s): "" for _, s in PULL_API_COLUMNS}, index=rows.index)
    for column in rows.columns:
        full[name_of(column)] = rows[column].to_numpy()
    return full


def _write_pull(
    root: Path,
    app_id: str,
    report_id: str,
    rows: pd.DataFrame,
    faults: _Faults,
    out: GeneratedData,
) -> None:
    report = REPORTS[report_id]
    full = _laid_out(rows, report, faults, report.pull_path, SNAKE_TO_HEADER.__getitem__)
    # Pull API files are per day of the event (install time for installs reports).
    time_column = "Install Time" if report_id in ("installs", "organic_installs") else "Event Time"
    dates = pd.to_datetime(full[time_column].str.slice(0, 10), errors="coerce")
    dates = dates.fillna(pd.to_datetime(full["Event Time"].str.slice(0, 10)))
    dates = dates.where(~faults.late(full), dates + pd.Timedelta(days=3))
    for dt, part in full.groupby(dates.dt.strftime("%Y-%m-%d"), sort=True):
        path = root / app_id / report.pull_path / f"dt={dt}" / "part-00000.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        # Python's csv quotes only where needed and doubles inner quotes, as AppsFlyer does.
        text = part.to_csv(index=False, lineterminator="\n")
        path.write_text(faults.lines(text, path), encoding="utf-8")
        out.files.setdefault(report.pull_path, []).append(path)


def _write_datalocker(
    root: Path,
    topic: str,
    report_id: str,
    rows: pd.DataFrame,
    faults: _Faults,
    out: GeneratedData,
) -> None:
    full = _laid_out(rows, REPORTS[report_id], faults, topic, datalocker_name)
    # Hour folders follow arrival: a row lands within the hour after its event, a late one in
    # its day's `h=late` folder.
    arrival = pd.to_datetime(full["event_time"], errors="coerce").fillna(pd.Timestamp("2026-09-01"))
    hour = arrival.dt.hour.astype(str).where(~faults.late(full), "late")
    keys = arrival.dt.strftime("%Y-%m-%d") + "/" + hour
    for key, part in full.groupby(keys, sort=True):
        day, h = str(key).split("/")
        folder = root / "data-locker-hourly" / f"t={topic}" / f"dt={day}" / f"h={h}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "part-00000.gz"
        text = faults.lines(part.to_csv(index=False, lineterminator="\n"), path)
        # mtime=0: the same rows give the same bytes.
        with gzip.GzipFile(path, "wb", mtime=0) as fh:
            fh.write(text.encode("utf-8"))
        (folder / "_SUCCESS").write_bytes(b"")  # written last, as AppsFlyer does
        out.files.setdefault(topic, []).append(path)


def _write_push(
    root: Path,
    app_id: str,
    reports: dict[str, pd.DataFrame],
    faults: _Faults,
    out: GeneratedData,
) -> None:
    """Postbacks as AppsFlyer sends them: installs, reinstalls, retargeting conversions and
    in-app events (uninstalls have no postback), one JSON object per line, per day."""
    faults.target = "push_api"
    kinds = (
        "installs",
        "reinstalls",
        "retargeting_installs",
        "in_app_events",
        "retargeting_in_app_events",
    )
    rows = pd.concat(
        [faults.values(reports[k], REPORTS[k].in_app) for k in kinds], ignore_index=True
    )
    rows = rows.iloc[np.argsort(rows["event_time"].to_numpy(), kind="stable")]
    as_bool = faults.rng.random(len(rows)) < 0.5  # JSON true/false instead of "true"/"false"
    cut = set(faults.pick("missing_columns", len(rows)).tolist())
    broken = set(faults.pick("bad_quoting", len(rows)).tolist()) - cut
    lines_by_day: dict[str, list[str]] = {}
    for i, record in enumerate(rows.to_dict("records")):
        postback: dict[str, object] = {"api_version": "2.0"}
        for column, value in record.items():
            name = str(column)
            if value in ("", None):
                continue  # Push API leaves empty fields out
            if name.endswith("_time") and len(str(value)) == 19:
                value = f"{value}.000"  # Push API timestamps carry milliseconds
            if value in ("true", "false") and as_bool[i]:
                value = value == "true"
            postback[datalocker_name(name)] = value
        day = str(record["event_time"])[:10]
        if i in cut:
            postback.pop("appsflyer_id", None)
            text = json.dumps(postback)
        elif i in broken:
            text = json.dumps(postback)[:-20]  # cut off mid-object: not JSON
        else:
            text = json.dumps(postback)
        lines_by_day.setdefault(day, []).append(text)
        if i in cut or i in broken:
            path = root / "push_api" / app_id / f"postbacks-{day}.jsonl"
            fault = "missing_columns" if i in cut else "bad_quoting"
            faults._record(fault, path, len(lines_by_day[day]))
    for day, lines in sorted(lines_by_day.items()):
        path = root / "push_api" / app_id / f"postbacks-{day}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        out.files.setdefault("push_api", []).append(path)

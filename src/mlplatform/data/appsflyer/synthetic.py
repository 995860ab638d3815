"""A seeded generator of AppsFlyer Pull API raw data.

Writes the installs, organic installs, in-app events and organic in-app events reports with the
exact 81-column Pull API header, in the raw-zone layout
`<root>/<app_id>/<report>/dt=YYYY-MM-DD/part-00000.csv`. The distributions are synthetic (the
reference gives none) but the relation is planted and learnable: an install's media source,
country, platform, install hour and a latent engagement level — visible through its day-0
events — drive whether it purchases within 7 days. `malformed_fraction` breaks some rows on
purpose (bad timestamps, IDs, JSON, revenue, platform, wrong column counts) so quarantine shows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mlplatform.data.appsflyer.columns import PULL_API_HEADERS, SNAKE_TO_HEADER

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

INSTALL_REPORTS = {"installs_report": False, "organic_installs_report": True}
EVENT_REPORTS = {"in_app_events_report": False, "organic_in_app_events_report": True}


@dataclass
class GeneratedData:
    """Where the generator wrote each report, and what it planted."""

    root: Path
    files: dict[str, list[Path]] = field(default_factory=dict)
    installs: int = 0
    events: int = 0
    malformed_rows: int = 0

    def globs(self, report: str) -> list[str]:
        return [str(p) for p in self.files.get(report, [])]


def generate(
    root: Path,
    installs: int = 50_000,
    seed: int = 7,
    days: int = 30,
    app_id: str = "id1234567890",
    malformed_fraction: float = 0.0,
) -> GeneratedData:
    """Write the four reports under `root/<app_id>/`; same arguments, same bytes."""
    rng = np.random.default_rng(seed)
    install_rows, engagement = _installs(rng, installs, days, app_id)
    event_rows = _events(rng, install_rows, engagement)
    out = GeneratedData(root=root, installs=len(install_rows), events=len(event_rows))
    organic_installs = install_rows["media_source"].to_numpy() == "organic"
    organic_events = event_rows["media_source"].to_numpy() == "organic"
    for report, organic in INSTALL_REPORTS.items():
        part = install_rows[organic_installs == organic]
        out.malformed_rows += _write_report(
            rng, root, app_id, report, part, malformed_fraction, out
        )
    for report, organic in EVENT_REPORTS.items():
        part = event_rows[organic_events == organic]
        out.malformed_rows += _write_report(
            rng, root, app_id, report, part, malformed_fraction, out
        )
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
    return events


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


MALFORMATIONS = (
    ("install_time", "2026-13-45 99:00:00"),
    ("appsflyer_id", "not-an-id"),
    ("platform", "windows"),
    ("event_revenue_usd", "twelve"),
    ("event_value", '{"af_revenue": "4.99"'),
)


def _write_report(
    rng: np.random.Generator,
    root: Path,
    app_id: str,
    report: str,
    rows: pd.DataFrame,
    malformed_fraction: float,
    out: GeneratedData,
) -> int:
    rows = rows.drop(columns=["_buyer", "_install_ts"])
    broken = 0
    is_event_report = report in EVENT_REPORTS
    if malformed_fraction > 0 and len(rows):
        rows = rows.copy()
        pick = np.flatnonzero(rng.random(len(rows)) < malformed_fraction)
        usable = [m for m in MALFORMATIONS if is_event_report or not m[0].startswith("event_")]
        kinds = rng.integers(0, len(usable), size=len(pick))
        for kind, (column, value) in enumerate(usable):
            rows.iloc[pick[kinds == kind], rows.columns.get_loc(column)] = value  # type: ignore[index]
        broken = len(pick)
    full = pd.DataFrame({h: "" for h in PULL_API_HEADERS}, index=rows.index)
    for column in rows.columns:
        full[SNAKE_TO_HEADER[column]] = rows[column].to_numpy()
    dates = full["Event Time" if is_event_report else "Install Time"].str.slice(0, 10)
    for n, (dt, part) in enumerate(full.groupby(dates, sort=True)):
        folder = root / app_id / report / f"dt={dt}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "part-00000.csv"
        # Python's csv quotes only where needed and doubles inner quotes, as AppsFlyer does.
        part.to_csv(path, index=False, lineterminator="\n")
        if malformed_fraction > 0 and n == 0:
            # A truncated line (too few fields), as a broken export or manual edit leaves.
            with path.open("a", encoding="utf-8") as fh:
                fh.write(",".join(part.iloc[0].astype(str).tolist()[:40]) + "\n")
            broken += 1
        out.files.setdefault(report, []).append(path)
    return broken

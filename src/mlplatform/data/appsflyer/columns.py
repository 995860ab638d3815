"""The Pull API raw-data CSV layout (installs and in-app events reports share it).

Source: shared reference `appsflyer.md` §1.4 — 81 default columns in this exact order; extra
`additional_fields` columns follow `Original URL`. Loaders key columns by header name, never by
position, and use the snake_case (Data Locker / Push API) names internally.
"""

from __future__ import annotations

import re

PULL_API_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Attributed Touch Type", "attributed_touch_type"),
    ("Attributed Touch Time", "attributed_touch_time"),
    ("Install Time", "install_time"),
    ("Event Time", "event_time"),
    ("Event Name", "event_name"),
    ("Event Value", "event_value"),
    ("Event Revenue", "event_revenue"),
    ("Event Revenue Currency", "event_revenue_currency"),
    ("Event Revenue USD", "event_revenue_usd"),
    ("Event Source", "event_source"),
    ("Is Receipt Validated", "is_receipt_validated"),
    ("Partner", "af_prt"),
    ("Media Source", "media_source"),
    ("Channel", "af_channel"),
    ("Keywords", "af_keywords"),
    ("Campaign", "campaign"),
    ("Campaign ID", "af_c_id"),
    ("Adset", "af_adset"),
    ("Adset ID", "af_adset_id"),
    ("Ad", "af_ad"),
    ("Ad ID", "af_ad_id"),
    ("Ad Type", "af_ad_type"),
    ("Site ID", "af_siteid"),
    ("Sub Site ID", "af_sub_siteid"),
    ("Sub Param 1", "af_sub1"),
    ("Sub Param 2", "af_sub2"),
    ("Sub Param 3", "af_sub3"),
    ("Sub Param 4", "af_sub4"),
    ("Sub Param 5", "af_sub5"),
    ("Cost Model", "af_cost_model"),
    ("Cost Value", "af_cost_value"),
    ("Cost Currency", "af_cost_currency"),
    ("Contributor 1 Partner", "contributor1_af_prt"),
    ("Contributor 1 Media Source", "contributor1_media_source"),
    ("Contributor 1 Campaign", "contributor1_campaign"),
    ("Contributor 1 Touch Type", "contributor1_touch_type"),
    ("Contributor 1 Touch Time", "contributor1_touch_time"),
    ("Contributor 2 Partner", "contributor2_af_prt"),
    ("Contributor 2 Media Source", "contributor2_media_source"),
    ("Contributor 2 Campaign", "contributor2_campaign"),
    ("Contributor 2 Touch Type", "contributor2_touch_type"),
    ("Contributor 2 Touch Time", "contributor2_touch_time"),
    ("Contributor 3 Partner", "contributor3_af_prt"),
    ("Contributor 3 Media Source", "contributor3_media_source"),
    ("Contributor 3 Campaign", "contributor3_campaign"),
    ("Contributor 3 Touch Type", "contributor3_touch_type"),
    ("Contributor 3 Touch Time", "contributor3_touch_time"),
    ("Region", "region"),
    ("Country Code", "country_code"),
    ("State", "state"),
    ("City", "city"),
    ("Postal Code", "postal_code"),
    ("DMA", "dma"),
    ("IP", "ip"),
    ("WIFI", "wifi"),
    ("Operator", "operator"),
    ("Carrier", "carrier"),
    ("Language", "language"),
    ("AppsFlyer ID", "appsflyer_id"),
    ("Advertising ID", "advertising_id"),
    ("IDFA", "idfa"),
    ("Android ID", "android_id"),
    ("Customer User ID", "customer_user_id"),
    ("IMEI", "imei"),
    ("IDFV", "idfv"),
    ("Platform", "platform"),
    ("Device Type", "device_type"),
    ("OS Version", "os_version"),
    ("App Version", "app_version"),
    ("SDK Version", "sdk_version"),
    ("App ID", "app_id"),
    ("App Name", "app_name"),
    ("Bundle ID", "bundle_id"),
    ("Is Retargeting", "is_retargeting"),
    ("Retargeting Conversion Type", "retargeting_conversion_type"),
    ("Attribution Lookback", "af_attribution_lookback"),
    ("Reengagement Window", "af_reengagement_window"),
    ("Is Primary Attribution", "is_primary_attribution"),
    ("User Agent", "user_agent"),
    ("HTTP Referrer", "http_referrer"),
    ("Original URL", "original_url"),
)

PULL_API_HEADERS: tuple[str, ...] = tuple(header for header, _ in PULL_API_COLUMNS)
HEADER_TO_SNAKE: dict[str, str] = dict(PULL_API_COLUMNS)
SNAKE_TO_HEADER: dict[str, str] = {snake: header for header, snake in PULL_API_COLUMNS}

# AppsFlyer writes "no value" in several ways; all of them mean null.
NULL_MARKERS: frozenset[str] = frozenset({"", "null", "None", "N/A", "NULL"})

# The raw columns the install-table builder reads (by snake_case name).
# Install attributes the feature table carries (categorical features).
ATTRIBUTION_COLUMNS: tuple[str, ...] = (
    "media_source",
    "af_channel",
    "campaign",
    "af_adset",
    "af_siteid",
    "attributed_touch_type",
    "country_code",
    "region",
    "platform",
    "device_type",
    "os_version",
)
INSTALL_COLUMNS: tuple[str, ...] = (
    "appsflyer_id",
    "app_id",
    "install_time",
    "event_time",
    "event_name",
    "is_retargeting",
    *(name for name in ATTRIBUTION_COLUMNS),
)
EVENT_COLUMNS: tuple[str, ...] = (
    "appsflyer_id",
    "app_id",
    "install_time",
    "event_time",
    "event_name",
    "platform",
    "event_value",
    "event_revenue_usd",
)

# The install-level table the builder makes (features.py). Kept here, free of pandas, so the
# spec model can check column names without importing the data stack.
TRACKED_EVENTS = (
    "af_login",
    "af_content_view",
    "af_level_achieved",
    "af_tutorial_completion",
    "af_add_to_cart",
    "af_complete_registration",
)
# Behaviour windows, in hours after install: day 0 and day 1. A model scoring at hour 48 may
# use both; every feature counts only events inside its window (point-in-time correct).
WINDOWS: dict[str, tuple[int, int]] = {"d0": (0, 24), "d1": (24, 48)}
FEATURE_TABLE_COLUMNS: dict[str, str] = {
    "appsflyer_id": "string",
    "app_id": "string",
    "install_time": "datetime",
    **{name: "string" for name in ATTRIBUTION_COLUMNS},
    "is_organic": "int",
    "install_hour": "int",
    "install_weekday": "int",
    **{
        f"{window}_{what}": kind
        for window in WINDOWS
        for what, kind in (
            ("events", "int"),
            ("distinct_events", "int"),
            ("purchases", "int"),
            ("revenue_usd", "float"),
            *((name, "int") for name in TRACKED_EVENTS),
        )
    },
}


def label_columns(
    purchase_days: tuple[int, ...] = (7,), revenue_days: tuple[int, ...] = (30,)
) -> dict[str, str]:
    """Label names for the chosen horizons: `purchased_d7`, `revenue_d30_usd`, ..."""
    return {f"purchased_d{n}": "int" for n in purchase_days} | {
        f"revenue_d{n}_usd": "float" for n in revenue_days
    }


LABEL_COLUMNS: dict[str, str] = label_columns()
# Few distinct values: stored as pandas categories, which keeps run artifacts small.
CATEGORICAL_FEATURES: tuple[str, ...] = ("app_id", *ATTRIBUTION_COLUMNS)


def datalocker_name(name: str) -> str:
    """Data Locker and Push API spell contributor columns `contributor_1_touch_time`; the Pull
    API mapping (and this code, internally) says `contributor1_touch_time`."""
    return re.sub(r"^contributor(\d)_", r"contributor_\1_", name)


def internal_name(name: str) -> str:
    """The internal snake_case name for a Data Locker / Push API column name."""
    return re.sub(r"^contributor_(\d)_", r"contributor\1_", name)

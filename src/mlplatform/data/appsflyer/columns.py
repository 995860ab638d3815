"""The Pull API raw-data CSV layout (installs and in-app events reports share it).

Source: shared reference `appsflyer.md` §1.4 — 81 default columns in this exact order; extra
`additional_fields` columns follow `Original URL`. Loaders key columns by header name, never by
position, and use the snake_case (Data Locker / Push API) names internally.
"""

from __future__ import annotations

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
INSTALL_COLUMNS: tuple[str, ...] = (
    "appsflyer_id",
    "app_id",
    "install_time",
    "event_time",
    "event_name",
    "platform",
    "media_source",
    "campaign",
    "country_code",
    "attributed_touch_type",
    "is_retargeting",
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
FEATURE_TABLE_COLUMNS: dict[str, str] = {
    "appsflyer_id": "string",
    "app_id": "string",
    "install_time": "datetime",
    "media_source": "string",
    "campaign": "string",
    "country_code": "string",
    "platform": "string",
    "attributed_touch_type": "string",
    "is_organic": "int",
    "install_hour": "int",
    "install_weekday": "int",
    "d0_events": "int",
    "d0_distinct_events": "int",
    "d0_purchases": "int",
    "d0_revenue_usd": "float",
    **{f"d0_{name}": "int" for name in TRACKED_EVENTS},
}
LABEL_COLUMNS: dict[str, str] = {"purchased_d7": "int", "revenue_d30_usd": "float"}
# Few distinct values: stored as pandas categories, which keeps run artifacts small.
CATEGORICAL_FEATURES: tuple[str, ...] = (
    "app_id",
    "media_source",
    "campaign",
    "country_code",
    "platform",
    "attributed_touch_type",
)

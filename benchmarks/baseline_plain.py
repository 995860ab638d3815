"""The baseline: one plain pandas + scikit-learn script doing a training template's work.

Reads the same AppsFlyer CSVs, drops rows that fail the same basic checks, builds the same
install-level features and labels, scores the same candidate parameter sets with the same CV,
trains the best on all training rows and evaluates on the same holdout. Single process, library
defaults for threads: what a data scientist would write without a platform.

    python baseline_plain.py <raw root> <candidates.json> <max_tuning_rows> [regression]

`classification` (default) predicts `purchased_d7`; `regression` predicts `revenue_d30_usd`
through log1p, with the boosted trees' early stopping (20 rounds, 10 % held out), like the
regression example spec. `load_table` is shared with the scoring baseline.
"""

from __future__ import annotations

import glob
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    log_loss,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OrdinalEncoder, StandardScaler

NUM = [
    "install_hour",
    "install_weekday",
    "is_organic",
    "d0_events",
    "d0_distinct_events",
    "d0_purchases",
    "d0_revenue_usd",
    "d0_af_login",
    "d0_af_content_view",
    "d0_af_level_achieved",
    "d0_af_tutorial_completion",
    "d0_af_add_to_cart",
]
CAT = ["media_source", "campaign", "country_code", "platform", "attributed_touch_type"]
INSTALL_COLS = {
    "AppsFlyer ID": "appsflyer_id",
    "Install Time": "install_time",
    "Media Source": "media_source",
    "Campaign": "campaign",
    "Country Code": "country_code",
    "Platform": "platform",
    "Attributed Touch Type": "attributed_touch_type",
}
EVENT_COLS = {
    "AppsFlyer ID": "appsflyer_id",
    "Event Time": "event_time",
    "Event Name": "event_name",
    "Event Revenue USD": "event_revenue_usd",
}


def read(pattern: str, cols: dict[str, str]) -> pd.DataFrame:
    frames = [
        pd.read_csv(
            p, usecols=list(cols), dtype=str, keep_default_na=False, on_bad_lines="skip", engine="c"
        )
        for p in sorted(glob.glob(pattern))
    ]
    return pd.concat(frames, ignore_index=True).rename(columns=cols)


def load_table(root: str) -> pd.DataFrame:
    inst = read(f"{root}/*/*installs_report/dt=*/*.csv", INSTALL_COLS)
    ev = read(f"{root}/*/*in_app_events_report/dt=*/*.csv", EVENT_COLS)
    inst["install_time"] = pd.to_datetime(inst["install_time"], errors="coerce")
    inst = inst[
        inst["appsflyer_id"].str.match(r"^\d{13}-\d+$")
        & inst["install_time"].notna()
        & inst["platform"].isin(["android", "ios"])
    ].drop_duplicates("appsflyer_id")
    ev["event_time"] = pd.to_datetime(ev["event_time"], errors="coerce")
    ev["event_revenue_usd"] = pd.to_numeric(
        ev["event_revenue_usd"].replace("", "0"), errors="coerce"
    )
    ev = ev.dropna(subset=["event_time", "event_revenue_usd"])
    ev = ev.merge(inst[["appsflyer_id", "install_time"]], on="appsflyer_id")
    ev["age_h"] = (ev["event_time"] - ev["install_time"]).dt.total_seconds() / 3600
    ev = ev[ev["age_h"] >= 0]
    d0 = ev[ev["age_h"] < 24]
    feats = pd.DataFrame({"appsflyer_id": inst["appsflyer_id"]}).set_index("appsflyer_id")
    feats["d0_events"] = d0.groupby("appsflyer_id").size()
    feats["d0_distinct_events"] = d0.groupby("appsflyer_id")["event_name"].nunique()
    buys = d0[d0["event_name"] == "af_purchase"]
    feats["d0_purchases"] = buys.groupby("appsflyer_id").size()
    feats["d0_revenue_usd"] = buys.groupby("appsflyer_id")["event_revenue_usd"].sum()
    for name in [
        "af_login",
        "af_content_view",
        "af_level_achieved",
        "af_tutorial_completion",
        "af_add_to_cart",
    ]:
        feats[f"d0_{name}"] = d0[d0["event_name"] == name].groupby("appsflyer_id").size()
    wk = ev[(ev["event_name"] == "af_purchase") & (ev["age_h"] <= 168)]
    feats["purchased_d7"] = wk.groupby("appsflyer_id").size().gt(0).astype(int)
    month = ev[(ev["event_name"] == "af_purchase") & (ev["age_h"] <= 720)]
    feats["revenue_d30_usd"] = month.groupby("appsflyer_id")["event_revenue_usd"].sum()
    feats = feats.fillna(0).reset_index()
    table = inst.merge(feats, on="appsflyer_id")
    table["install_hour"] = table["install_time"].dt.hour
    table["install_weekday"] = table["install_time"].dt.day_of_week
    table["is_organic"] = (table["media_source"] == "organic").astype(int)
    for c in CAT:
        table[c] = table[c].replace("", "(none)")
    return table


def preprocess() -> ColumnTransformer:
    return ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), NUM),
            (
                "cat",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value",
                    unknown_value=np.nan,
                    encoded_missing_value=np.nan,
                ),
                CAT,
            ),
        ]
    )


CAT_IDX = list(range(len(NUM), len(NUM) + len(CAT)))


def regression(table: pd.DataFrame, candidates: list[dict], max_rows: int) -> dict:
    X, y = table[NUM + CAT], table["revenue_d30_usd"].to_numpy()
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=42)

    def model(params: dict) -> Pipeline:
        booster = HistGradientBoostingRegressor(
            categorical_features=CAT_IDX,
            early_stopping=True,
            n_iter_no_change=20,
            validation_fraction=0.1,
            **params,
        )
        target = TransformedTargetRegressor(booster, func=np.log1p, inverse_func=np.expm1)
        return Pipeline([("pre", preprocess()), ("m", target)])

    Xcv, ycv = Xtr, ytr
    if len(ytr) > max_rows:
        Xcv, _, ycv, _ = train_test_split(Xtr, ytr, train_size=max_rows, random_state=42)
    cv = KFold(n_splits=3, shuffle=True, random_state=42)
    scoring = "neg_root_mean_squared_error"
    scores = [
        cross_val_score(model(p), Xcv, ycv, cv=cv, scoring=scoring).mean() for p in candidates
    ]
    best = candidates[int(np.argmax(scores))]
    pred = model(best).fit(Xtr, ytr).predict(Xte)
    return {
        "rmse": root_mean_squared_error(yte, pred),
        "mae": mean_absolute_error(yte, pred),
        "r2": r2_score(yte, pred),
        "rows": len(table),
    }


def main() -> None:
    root, candidates_file, max_rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
    candidates = json.loads(Path(candidates_file).read_text())
    table = load_table(root)
    if sys.argv[4:] == ["regression"]:
        print(json.dumps(regression(table, candidates, max_rows)))
        return
    X, y = table[NUM + CAT], table["purchased_d7"].to_numpy()
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=42, stratify=y)

    def model(params: dict) -> Pipeline:
        return Pipeline(
            [
                ("pre", preprocess()),
                ("m", HistGradientBoostingClassifier(categorical_features=CAT_IDX, **params)),
            ]
        )

    Xcv, ycv = Xtr, ytr
    if len(ytr) > max_rows:
        Xcv, _, ycv, _ = train_test_split(
            Xtr, ytr, train_size=max_rows, random_state=42, stratify=ytr
        )
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=42)
    scores = [
        cross_val_score(model(p), Xcv, ycv, cv=cv, scoring="roc_auc").mean() for p in candidates
    ]
    best = candidates[int(np.argmax(scores))]
    final = model(best).fit(Xtr, ytr)
    proba = final.predict_proba(Xte)[:, 1]
    print(
        json.dumps(
            {
                "roc_auc": roc_auc_score(yte, proba),
                "pr_auc": average_precision_score(yte, proba),
                "log_loss": log_loss(yte, proba),
                "accuracy": accuracy_score(yte, proba >= 0.5),
                "rows": len(table),
            }
        )
    )


if __name__ == "__main__":
    main()

"""The scoring baseline: load a fitted model, build the same features, predict, write Parquet.

What a data scientist would write to score new installs without a platform: the same
AppsFlyer CSVs and basic checks as `baseline_plain.py`, the model file the training run wrote,
one Parquet file of predictions with the model version and a timestamp.

    python baseline_scoring.py <raw root> <model.joblib> <predictions.parquet>
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import joblib
import pandas as pd

from baseline_plain import CAT, NUM, load_table


def main() -> None:
    root, model_file, target = sys.argv[1], sys.argv[2], sys.argv[3]
    table = load_table(root)
    model = joblib.load(model_file)
    predictions = pd.DataFrame(
        {
            "appsflyer_id": table["appsflyer_id"].to_numpy(),
            "prediction": model.predict(table[NUM + CAT]),
            "model_version": model_file,
            "scored_at": pd.Timestamp(datetime.now(UTC)),
        }
    )
    predictions.to_parquet(target, index=False)
    print(json.dumps({"rows_scored": len(predictions)}))


if __name__ == "__main__":
    main()

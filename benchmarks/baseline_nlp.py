"""The NLP baseline: TF-IDF + logistic regression on a text table, in one plain script.

Reads the same CSV the NLP template reads, drops rows without text or label, makes the same
stratified 20 % holdout, scores the same candidate parameter sets with 3-fold stratified CV on
a tuning sample of at most `max_rows`, trains the best on all training rows and reports macro
F1 on the holdout. Library defaults for threads.

    python baseline_nlp.py <texts.csv> <candidates.json> <max_tuning_rows>
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import Pipeline


def main() -> None:
    source, candidates_file, max_rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
    candidates = json.loads(Path(candidates_file).read_text())
    table = pd.read_csv(source, usecols=["text", "label"], dtype=str).dropna()
    X, y = table["text"], table["label"].to_numpy()
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=42, stratify=y)

    def model(params: dict) -> Pipeline:
        tfidf = TfidfVectorizer(
            ngram_range=(1, 2), min_df=2, max_features=20_000, sublinear_tf=True, dtype=np.float32
        )
        return Pipeline([("tfidf", tfidf), ("m", LogisticRegression(**params))])

    Xcv, ycv = Xtr, ytr
    if len(ytr) > max_rows:
        Xcv, _, ycv, _ = train_test_split(
            Xtr, ytr, train_size=max_rows, random_state=42, stratify=ytr
        )
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=42)
    scores = [
        cross_val_score(model(p), Xcv, ycv, cv=cv, scoring="f1_macro").mean() for p in candidates
    ]
    best = candidates[int(np.argmax(scores))]
    pred = model(best).fit(Xtr, ytr).predict(Xte)
    print(
        json.dumps(
            {
                "f1_macro": f1_score(yte, pred, average="macro"),
                "accuracy": accuracy_score(yte, pred),
                "rows": len(table),
            }
        )
    )


if __name__ == "__main__":
    main()

"""The text generator: reproducible, well-formed, and hard enough to be worth a model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from mlplatform.data import text_synthetic
from mlplatform.data.text_synthetic import LABELS, generate_texts, write_texts
from mlplatform.errors import PlatformError


@pytest.fixture(scope="module")
def texts() -> pd.DataFrame:
    return generate_texts(5000, seed=11)


def _tfidf_accuracy(frame: pd.DataFrame, train: int = 4000) -> float:
    model = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000))
    model.fit(frame["text"][:train], frame["label"][:train])
    return float(model.score(frame["text"][train:], frame["label"][train:]))


def test_same_seed_same_frame_other_seed_other_texts(texts: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(texts, generate_texts(5000, seed=11))
    assert not texts["text"].equals(generate_texts(5000, seed=12)["text"])


def test_columns_and_dtypes(texts: pd.DataFrame) -> None:
    assert list(texts.columns) == [
        "message_id",
        "text",
        "label",
        "rating",
        "created_at",
        "platform",
    ]
    for column in ("message_id", "text", "label", "platform"):
        assert pd.api.types.is_string_dtype(texts[column]), column
    assert pd.api.types.is_integer_dtype(texts["rating"])
    assert pd.api.types.is_datetime64_any_dtype(texts["created_at"])
    assert texts["message_id"].is_unique
    assert set(texts["platform"]) == {"ios", "android"}
    assert texts["rating"].between(1, 5).all()
    assert texts.notna().all().all()


def test_texts_are_short_varied_messages(texts: pd.DataFrame) -> None:
    words = texts["text"].str.split().str.len()
    assert words.min() >= 3 and words.max() <= 40
    assert words.quantile(0.9) >= 15  # long messages exist, not only one-liners
    assert texts["text"].nunique() > 0.8 * len(texts)
    assert texts["text"].str.contains("teh|pls|cant|doesnt", regex=True).mean() > 0.02
    assert texts["text"].str.contains("😡|🐛|❤️|🙏|💸", regex=True).mean() > 0.05


def test_created_at_spans_thirty_days_in_id_order(texts: pd.DataFrame) -> None:
    span = texts["created_at"].max() - texts["created_at"].min()
    assert pd.Timedelta(days=28) < span <= pd.Timedelta(days=30)
    assert texts["created_at"].is_monotonic_increasing


def test_every_label_present_and_balanced(texts: pd.DataFrame) -> None:
    shares = texts["label"].value_counts(normalize=True)
    assert set(shares.index) == set(LABELS)
    assert shares.min() > 0.1 and shares.max() < 0.35


def test_rating_follows_label(texts: pd.DataFrame) -> None:
    mean = texts.groupby("label")["rating"].mean()
    assert mean["praise"] > 4.0
    assert mean["billing"] < 2.2 and mean["bug"] < 2.5
    assert mean["billing"] < mean["feature_request"] < mean["praise"]


def test_learnable_but_not_trivially_separable(texts: pd.DataFrame) -> None:
    accuracy = _tfidf_accuracy(texts)
    assert 0.7 < accuracy < 0.97


def test_noise_costs_accuracy() -> None:
    clean = _tfidf_accuracy(generate_texts(5000, seed=5, noise=0.0))
    noisy = _tfidf_accuracy(generate_texts(5000, seed=5, noise=0.3))
    assert clean > noisy + 0.1


def test_label_subset() -> None:
    frame = generate_texts(500, seed=1, labels=["praise", "bug"])
    assert set(frame["label"]) == {"praise", "bug"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"labels": ["bug", "refund"]}, "no templates for label 'refund'"),
        ({"labels": ["bug"]}, "two or more distinct"),
        ({"labels": ["bug", "bug"]}, "two or more distinct"),
        ({"labels": "bug"}, "not one string"),
        ({"noise": 1.5}, "noise must be a share"),
        ({"rows": -1}, "rows must be 0 or more"),
    ],
)
def test_bad_arguments_say_what_to_do(kwargs: dict, message: str) -> None:
    with pytest.raises(PlatformError, match=message):
        generate_texts(**{"rows": 10, **kwargs})


def test_zero_rows_keeps_the_schema(texts: pd.DataFrame) -> None:
    empty = generate_texts(0)
    assert len(empty) == 0
    assert list(empty.dtypes) == list(texts.dtypes)


def test_over_long_messages_are_cut_to_the_word_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text_synthetic, "MAX_WORDS", 6)
    words = generate_texts(300, seed=2)["text"].str.split().str.len()
    assert words.max() == 6


@pytest.mark.parametrize("name", ["texts.csv", "texts.csv.gz", "texts.parquet"])
def test_write_texts_round_trips(tmp_path: Path, name: str) -> None:
    path = write_texts(tmp_path / "out" / name, rows=200, seed=3)
    assert path == tmp_path / "out" / name
    expected = generate_texts(200, seed=3)
    if name.endswith(".parquet"):
        back = pd.read_parquet(path)
    else:
        back = pd.read_csv(path, parse_dates=["created_at"], keep_default_na=False)
    assert back["text"].tolist() == expected["text"].tolist()
    assert back["label"].tolist() == expected["label"].tolist()
    assert np.array_equal(back["rating"], expected["rating"])
    assert (back["created_at"] == expected["created_at"]).all()


def test_write_texts_refuses_an_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(PlatformError, match="cannot tell the format"):
        write_texts(tmp_path / "texts.json", rows=10)

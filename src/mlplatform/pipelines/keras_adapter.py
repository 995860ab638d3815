"""A Keras network behind scikit-learn's estimator interface, so a spec can name it.

`model.estimator: keras_mlp` trains a small fully connected network on the same preprocessed
matrix every other estimator gets; tuning, cross-validation, evaluation and the registry treat
it like any scikit-learn classifier (fit / predict / predict_proba, `get_params`).

The backend is Keras 3's choice: `KERAS_BACKEND` (TensorFlow in the Batch image); when unset we
pick PyTorch, the CPU build these machines and the tests install. Keras models pickle, so the
fitted network travels as a Metaflow artifact like any other model.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin


def _keras() -> Any:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras
    except ImportError:
        raise ValueError(
            "estimator 'keras_mlp' needs Keras 3 and a backend, which are not installed: "
            "pip install torch==2.13.0 'mlplatform[keras]' (the CPU build of torch)"
        ) from None
    return keras


class KerasMLPClassifier(ClassifierMixin, BaseEstimator):
    """Binary classifier: dense layers with ReLU and dropout, a sigmoid output, Adam, and
    early stopping on a validation share of the training rows."""

    def __init__(
        self,
        hidden_units: tuple[int, ...] = (64, 32),
        dropout: float = 0.1,
        learning_rate: float = 1e-3,
        epochs: int = 20,
        batch_size: int = 256,
        validation_fraction: float = 0.1,
        patience: int = 3,
        random_state: int = 0,
    ) -> None:
        self.hidden_units = hidden_units
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> KerasMLPClassifier:
        keras = _keras()
        keras.utils.set_random_seed(self.random_state)
        features = np.asarray(X, dtype="float32")
        self.classes_, target = np.unique(np.asarray(y), return_inverse=True)
        if len(self.classes_) != 2:
            raise ValueError(f"keras_mlp is a binary classifier; got {len(self.classes_)} classes")
        layers = [keras.layers.Input((features.shape[1],))]
        for units in self.hidden_units:
            layers += [keras.layers.Dense(int(units), activation="relu")]
            if self.dropout:
                layers += [keras.layers.Dropout(self.dropout)]
        layers += [keras.layers.Dense(1, activation="sigmoid")]
        self.model_ = keras.Sequential(layers)
        self.model_.compile(
            optimizer=keras.optimizers.Adam(self.learning_rate), loss="binary_crossentropy"
        )
        stop = keras.callbacks.EarlyStopping(
            patience=self.patience, restore_best_weights=True, monitor="val_loss"
        )
        self.history_ = self.model_.fit(
            features,
            target.astype("float32"),
            epochs=self.epochs,
            batch_size=self.batch_size,
            validation_split=self.validation_fraction,
            callbacks=[stop] if self.validation_fraction else [],
            verbose=0,
        ).history
        self.n_features_in_ = features.shape[1]
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        positive = self.model_.predict(
            np.asarray(X, dtype="float32"), batch_size=4096, verbose=0
        ).reshape(-1)
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]

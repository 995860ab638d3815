"""A Keras network behind scikit-learn's estimator interface, so a spec can name it.

`model.estimator: keras_mlp` trains a small fully connected network on the same preprocessed
matrix every other estimator gets; tuning, cross-validation, evaluation and the registry treat
it like any scikit-learn estimator (fit / predict / predict_proba, `get_params`). The same
network serves binary and multi-class classification and regression.

The backend is Keras 3's choice: `KERAS_BACKEND` (PyTorch in the Batch and notebook
images); when unset we pick PyTorch, the CPU build these machines and the tests install.
Keras models pickle, so the fitted network travels as a Metaflow artifact like any other model.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin


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


class _KerasMLP(BaseEstimator):
    """Dense layers with ReLU and dropout, Adam, and early stopping on a validation share of
    the training rows; the subclasses choose the output layer and the loss."""

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

    def _fit_network(
        self, X: Any, target: np.ndarray, units: int, activation: str, loss: str
    ) -> None:
        keras = _keras()
        keras.utils.set_random_seed(self.random_state)
        features = np.asarray(X, dtype="float32")
        layers = [keras.layers.Input((features.shape[1],))]
        for width in self.hidden_units:
            layers += [keras.layers.Dense(int(width), activation="relu")]
            if self.dropout:
                layers += [keras.layers.Dropout(self.dropout)]
        layers += [keras.layers.Dense(units, activation=activation)]
        self.model_ = keras.Sequential(layers)
        self.model_.compile(optimizer=keras.optimizers.Adam(self.learning_rate), loss=loss)
        stop = keras.callbacks.EarlyStopping(
            patience=self.patience, restore_best_weights=True, monitor="val_loss"
        )
        self.history_ = self.model_.fit(
            features,
            target,
            epochs=self.epochs,
            batch_size=self.batch_size,
            validation_split=self.validation_fraction,
            callbacks=[stop] if self.validation_fraction else [],
            verbose=0,
        ).history
        self.n_features_in_ = features.shape[1]

    def _outputs(self, X: Any) -> np.ndarray:
        return np.asarray(
            self.model_.predict(np.asarray(X, dtype="float32"), batch_size=4096, verbose=0)
        )


class KerasMLPClassifier(ClassifierMixin, _KerasMLP):
    """Binary (sigmoid output) or multi-class (softmax output) classifier."""

    def fit(self, X: Any, y: Any) -> KerasMLPClassifier:
        self.classes_, target = np.unique(np.asarray(y), return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError("keras_mlp needs at least two classes in the training rows")
        if len(self.classes_) == 2:
            self._fit_network(X, target.astype("float32"), 1, "sigmoid", "binary_crossentropy")
        else:
            self._fit_network(
                X, target, len(self.classes_), "softmax", "sparse_categorical_crossentropy"
            )
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        outputs = self._outputs(X)
        if len(self.classes_) == 2:
            positive = outputs.reshape(-1)
            return np.column_stack([1.0 - positive, positive])
        return outputs

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class KerasMLPRegressor(RegressorMixin, _KerasMLP):
    """Regressor: one linear output unit and mean squared error."""

    def fit(self, X: Any, y: Any) -> KerasMLPRegressor:
        self._fit_network(X, np.asarray(y, dtype="float32"), 1, "linear", "mean_squared_error")
        return self

    def predict(self, X: Any) -> np.ndarray:
        return self._outputs(X).reshape(-1)

"""Training and inference plumbing for the Keras models (imports TensorFlow; only used on the deep path).

- determinism: ``keras.utils.set_random_seed`` + TensorFlow op determinism, so the same seed in the
  same environment gives the same predictions;
- early stopping and checkpoint choice on the validation split only (best weights restored);
- a tqdm progress bar with ETA (a widget in notebooks, text in the terminal);
- per-epoch wall-clock timing recorded in the metrics records;
- input pipelines without tf.data autotuning (:func:`training_batches`, :func:`evaluation_batches`).
"""

from __future__ import annotations

import math
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ info logs out of notebooks

import keras
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm
from tqdm.keras import TqdmCallback

from nids.frames import FrameConfig, default_frame_config, to_frames
from nids.models.convlstm import DeepConfig, build_deep_model, make_predict_fn
from nids.training import FitResult, TrainConfig, balanced_class_weights

_CHUNK = 8192  # rows per inference call


def set_determinism(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow, and make TensorFlow ops deterministic."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


class EpochTimer(keras.callbacks.Callback):
    """Records each epoch's wall-clock seconds in ``self.seconds`` (validation pass included) and
    the validation pass's share of them in ``self.validation_seconds``."""

    def on_train_begin(self, logs=None):
        self.seconds: list[float] = []
        self.validation_seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        self._validation = 0.0

    def on_test_begin(self, logs=None):
        self._test_start = time.perf_counter()

    def on_test_end(self, logs=None):
        self._validation += time.perf_counter() - self._test_start

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)
        self.validation_seconds.append(self._validation)


def build_training_state(model: keras.Model, x: np.ndarray, y: np.ndarray) -> None:
    """Create the optimizer, loss and metric variables of a compiled model before ``fit``.

    Keras 3 on TensorFlow (without a distribution strategy) defers them to the first trace of the
    training step, and a ``tf.function`` that creates variables on its first call is traced twice.
    Building them first, as Keras itself does under a strategy, saves one full trace of the
    training step: ~3 s of a ~8 s first epoch for the extension on 2 CPU cores. ``x``/``y``: one
    example batch (only its shapes and dtypes are used).
    """
    model._symbolic_build(data_batch=(x, y, None))  # private: Keras 3.15 has no public equivalent


def _pipeline_options() -> tf.data.Options:
    options = tf.data.Options()
    options.autotune.enabled = False
    options.experimental_optimization.apply_default_optimizations = False
    return options


def training_batches(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    epochs: int,
    seed: int,
    class_weight: dict[int, float] | None = None,
) -> tuple[tf.data.Dataset, int]:
    """Shuffled mini-batches of ``(x, y[, sample weight])`` for ``epochs`` epochs, and the steps per epoch.

    Why not ``model.fit(x, y)`` on the arrays: Keras builds a new autotuned tf.data pipeline for
    every epoch (and for every validation pass), and on a 2-core machine tearing one down stalled
    the process, idle, for ~3 s in about every other epoch (the extension's UNSW-NB15 epochs took
    ~7.2 s or ~10.2 s at random). This pipeline is built once, runs without autotuning, and is
    read through one iterator for the whole fit (``steps_per_epoch``): every epoch then takes the
    ~7.2 s of its compute (``benchmarks/bench_input_pipeline.py``). Each epoch visits every row
    once in a fresh order drawn from ``(seed, epoch)``, so the same seed gives the same batches.

    Args:
        x: Training inputs (frames), one row per flow.
        y: Integer class codes.
        batch_size: Rows per batch (the last batch of an epoch may be smaller).
        epochs: Epochs the dataset covers (pass the fit's maximum; early stopping may end sooner).
        seed: Seed of the per-epoch shuffles.
        class_weight: Class code -> loss weight; adds per-row sample weights when given.

    Returns:
        The dataset and the number of batches per epoch (for ``fit(steps_per_epoch=...)``).
    """
    n = len(x)
    steps = math.ceil(n / batch_size)
    full = (n // batch_size) * batch_size
    data = [tf.constant(x), tf.constant(y)]
    if class_weight is not None:
        data.append(tf.constant(np.array([class_weight.get(int(c), 1.0) for c in y], dtype=np.float32)))

    def order(epoch: tf.Tensor) -> tf.Tensor:
        return tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64), seed=tf.stack([tf.constant(seed, tf.int64), epoch])
        )

    def batches(rows: tf.Tensor) -> tf.data.Dataset:
        out = tf.data.Dataset.from_tensor_slices(tf.reshape(rows[:full], (full // batch_size, batch_size)))
        return out.concatenate(tf.data.Dataset.from_tensors(rows[full:])) if full < n else out

    dataset = (
        tf.data.Dataset.range(epochs)
        .map(order)
        .flat_map(batches)
        .map(lambda rows: tuple(tf.gather(part, rows) for part in data))
        .prefetch(1)
    )
    return dataset.with_options(_pipeline_options()), steps


def evaluation_batches(x: np.ndarray, y: np.ndarray, batch_size: int) -> tf.data.Dataset:
    """``(x, y)`` in order, in batches, without autotuning (see :func:`training_batches`)."""
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)
    return dataset.with_options(_pipeline_options())


def frame_config_for(n_features: int, cfg: TrainConfig) -> FrameConfig:
    return default_frame_config(n_features, timesteps=cfg.timesteps)


def compiled_model(model_name: str, frames: FrameConfig, n_classes: int, cfg: TrainConfig) -> keras.Model:
    """A freshly seeded, built and compiled registered model (Adam, sparse cross-entropy, accuracy)."""
    set_determinism(cfg.seed)
    deep_cfg = DeepConfig(**cfg.deep)
    model = build_deep_model(model_name, frames.shape, n_classes, deep_cfg)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=cfg.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=deep_cfg.jit_compile,
    )
    return model


def fit_deep(
    model_name: str,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    n_classes: int,
    cfg: TrainConfig,
) -> FitResult:
    """Build, compile and fit a registered deep model on preprocessed features.

    Early stopping watches validation loss and restores the best epoch's weights; the test split
    never reaches this function.
    """
    frames = frame_config_for(X_train.shape[1], cfg)
    model = compiled_model(model_name, frames, n_classes, cfg)
    x_train, x_val = to_frames(X_train, frames), to_frames(X_val, frames)
    start = time.perf_counter()
    build_training_state(model, x_train[:1], y_train[:1])
    timer = EpochTimer()
    callbacks: list[keras.callbacks.Callback] = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.patience, restore_best_weights=True),
        timer,
    ]
    if cfg.lr_patience:
        callbacks.insert(
            0, keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=cfg.lr_patience, min_lr=1e-5)
        )
    if cfg.progress:
        callbacks.append(TqdmCallback(verbose=0, tqdm_class=tqdm, desc=model_name))
    weights = balanced_class_weights(y_train, n_classes, power=cfg.class_weight_power) if cfg.class_weight else None
    train_data, steps = training_batches(x_train, y_train, cfg.batch_size, cfg.epochs, cfg.seed, weights)
    history = model.fit(
        train_data,
        steps_per_epoch=steps,
        validation_data=evaluation_batches(x_val, y_val, cfg.batch_size),
        epochs=cfg.epochs,
        shuffle=False,  # training_batches shuffles every epoch
        callbacks=callbacks,
        verbose=0,
    )
    seconds = time.perf_counter() - start
    return FitResult(
        model=model,
        train_seconds=seconds,
        epochs=len(timer.seconds),
        history={k: [float(v) for v in values] for k, values in history.history.items()},
        seconds_per_epoch=float(np.median(timer.seconds)) if timer.seconds else None,
        epoch_seconds=list(timer.seconds),
        validation_seconds=list(timer.validation_seconds),
        frame_config={"n_features": int(X_train.shape[1]), **frames.__dict__},
    )


def make_predictor(model: keras.Model, frame_config: dict):
    """A function from preprocessed features (n, F) to class probabilities, fast for any n.

    Rows are laid out as frames and scored by the compiled inference function of
    :func:`nids.models.convlstm.make_predict_fn` (XLA for small batches, the plain graph for large
    ones), in chunks of at most 8,192 rows to bound memory.
    """
    frames = FrameConfig(frame_config["timesteps"], frame_config["height"], frame_config["width"])
    forward = make_predict_fn(model)

    def predict(X: np.ndarray) -> np.ndarray:
        x = to_frames(np.asarray(X, dtype=np.float32), frames)
        if len(x) == 0:
            return np.zeros((0, model.output_shape[-1]), dtype=np.float32)
        return np.concatenate([forward(x[i : i + _CHUNK]) for i in range(0, len(x), _CHUNK)])

    return predict


def load_keras_model(path) -> keras.Model:
    """Load a ``.keras`` model saved by a detector (built-in layers only: no custom objects needed)."""
    return keras.models.load_model(path, compile=False)


def count_params(model: keras.Model) -> int:
    return int(model.count_params())


def layer_table(model: keras.Model):
    """One row per layer: name, type, output shape, parameters and the layers feeding it."""
    import pandas as pd

    rows = []
    for layer in model.layers:
        inbound = []
        for node in getattr(layer, "_inbound_nodes", []):
            for tensor in node.input_tensors:
                history = getattr(tensor, "_keras_history", None)
                if history is not None:
                    inbound.append(history[0].name)
        shape = getattr(layer, "output", None)
        rows.append(
            {
                "layer": layer.name,
                "type": type(layer).__name__
                + (f"({type(layer.layer).__name__})" if hasattr(layer, "layer") else "")
                + (f"({type(layer.forward_layer).__name__})" if hasattr(layer, "forward_layer") else ""),
                "output_shape": str(tuple(shape.shape)) if shape is not None else "",
                "params": int(layer.count_params()),
                "inputs": ", ".join(inbound),
            }
        )
    return pd.DataFrame(rows)

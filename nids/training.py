"""Fitting: seeds, class weights, early stopping on the validation split, progress and timing.

Only the train and validation splits ever reach this module; the test split is scored later by
:mod:`nids.evaluation`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from nids.errors import NidsError
from nids.models import get_model_spec
from nids.models.forest import ForestConfig, build_random_forest


@dataclass(frozen=True)
class TrainConfig:
    """Training settings shared by all models (each model reads the fields that concern it).

    Attributes:
        seed: seeds Python, NumPy and TensorFlow; with op determinism the same seed in the same
            environment gives the same predictions.
        epochs: maximum epochs (deep models); early stopping may end sooner.
        batch_size: mini-batch size (deep models). 2048 with ``learning_rate`` 4e-3: on the
            UNSW-NB15 dedup split a training step cost 0.90x the time per flow of batch 1024
            (``benchmarks/bench_train_step.py``) at the same accuracy and macro-F1
            (``benchmarks/bench_deep_real.py --train batch_size=...``).
        patience: epochs without validation improvement before stopping (deep models).
        class_weight: up-weight rare classes ("balanced" weights, capped).
        class_weight_power: deep models: raise the balanced weights to this power (1: balanced,
            0.5: their square root, a milder up-weighting that costs less accuracy).
        progress: show a progress bar with ETA.
        timesteps: frames per flow for the ConvLSTM models (H and W follow from the feature count).
        learning_rate: initial Adam learning rate (deep models).
        lr_patience: epochs without validation-loss improvement before the learning rate is
            halved (deep models; 0 disables the schedule). The schedule, like early stopping,
            only reads the validation split.
        deep: overrides of :class:`nids.models.convlstm.DeepConfig` fields (sizes, dropout, ...).
        forest: Random Forest settings.
    """

    seed: int = 0
    epochs: int = 10
    batch_size: int = 2048
    patience: int = 3
    class_weight: bool = False
    class_weight_power: float = 1.0
    progress: bool = True
    timesteps: int = 4
    learning_rate: float = 4e-3
    lr_patience: int = 2
    deep: dict = field(default_factory=dict)
    forest: ForestConfig = field(default_factory=ForestConfig)

    def __post_init__(self) -> None:
        checks = [  # (field, what is expected, whether it holds)
            ("epochs", "epochs >= 1", self.epochs >= 1),
            ("batch_size", "batch_size >= 1", self.batch_size >= 1),
            ("patience", "patience >= 0", self.patience >= 0),
            ("lr_patience", "lr_patience >= 0", self.lr_patience >= 0),
            ("learning_rate", "learning_rate > 0", self.learning_rate > 0),
            ("class_weight_power", "0 < class_weight_power <= 1", 0 < self.class_weight_power <= 1),
        ]
        failed = [(name, rule) for name, rule, ok in checks if not ok]
        if failed:
            expected = " and ".join(rule for _, rule in failed)
            found = ", ".join(f"{name}={getattr(self, name)!r}" for name, _ in failed)
            raise NidsError(f"TrainConfig: expected {expected}; got {found}")


@dataclass
class FitResult:
    """A fitted model and how it was fitted."""

    model: object
    train_seconds: float
    epochs: int | None = None
    history: dict[str, list[float]] | None = None
    seconds_per_epoch: float | None = None
    frame_config: dict | None = None
    epoch_seconds: list[float] | None = None  # each epoch's wall clock, validation pass included
    validation_seconds: list[float] | None = None  # the validation pass's share of each epoch


def balanced_class_weights(y: np.ndarray, n_classes: int, cap: float = 50.0, power: float = 1.0) -> dict[int, float]:
    """``(n / (k * count)) ** power`` per class, capped so a 44-record class does not dominate the loss."""
    counts = np.bincount(y, minlength=n_classes).astype(float)
    weights = np.where(counts > 0, len(y) / (n_classes * np.maximum(counts, 1)), 1.0) ** power
    return {i: float(min(w, cap)) for i, w in enumerate(weights)}


def fit(
    model_name: str,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    n_classes: int,
    cfg: TrainConfig = TrainConfig(),
) -> FitResult:
    """Fit the registered model ``model_name`` on preprocessed features.

    Args:
        model_name: a name from :data:`nids.models.MODELS`.
        X_train, y_train: training features (n, F) and integer class codes.
        X_val, y_val: validation split, used for early stopping and checkpoint choice only.
        n_classes: number of output classes.
        cfg: training settings.
    """
    spec = get_model_spec(model_name)
    if spec.kind == "sklearn":
        forest_cfg = cfg.forest
        if cfg.class_weight and forest_cfg.class_weight is None:
            forest_cfg = ForestConfig(**{**forest_cfg.__dict__, "class_weight": "balanced"})
        model = build_random_forest(forest_cfg, seed=cfg.seed)
        start = time.perf_counter()
        model.fit(X_train, y_train)
        return FitResult(model=model, train_seconds=time.perf_counter() - start)
    from nids.deep import fit_deep  # imports TensorFlow: only on the deep path

    return fit_deep(model_name, X_train, y_train, X_val, y_val, n_classes, cfg)

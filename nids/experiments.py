"""One experiment = dataset x split protocol x task x model x seed -> detector + metric record.

This is the function every notebook and the CLI call, so that a number in any table was produced
the same way: split by a named protocol, preprocessing fitted on the training split only, early
stopping on validation only, and the test split scored once at the end.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nids.datasets.base import Dataset
from nids.detector import Detector
from nids.evaluation import evaluate
from nids.features import FeatureConfig, fit_preprocessor, transform
from nids.models import get_model_spec
from nids.splits import Split, make_split
from nids.training import FitResult, TrainConfig, fit

HEADLINE = ("accuracy", "precision_macro", "recall_macro", "f1_macro", "f1_weighted", "far", "detection_rate", "roc_auc")


@dataclass
class ExperimentResult:
    """What one experiment produced."""

    detector: Detector
    record: dict
    split: Split
    y_test: np.ndarray
    proba_test: np.ndarray
    fit: FitResult
    test_metrics: dict


def _subsample(rows: np.ndarray, labels: np.ndarray, limit: int | None, seed: int) -> np.ndarray:
    """At most ``limit`` rows, stratified, keeping at least a few rows of every class."""
    if limit is None or len(rows) <= limit:
        return rows
    rng = np.random.default_rng(seed)
    keep = []
    for label in np.unique(labels):
        members = rows[labels == label]
        share = max(min(len(members), 5), round(limit * len(members) / len(rows)))
        keep.append(rng.choice(members, size=min(share, len(members)), replace=False))
    return np.sort(np.concatenate(keep))


def run_experiment(
    dataset: Dataset,
    model_name: str,
    task: str = "multiclass",
    protocol: str = "dedup",
    seed: int = 0,
    train_cfg: TrainConfig | None = None,
    feature_cfg: FeatureConfig = FeatureConfig(),
    max_train_rows: int | None = None,
    test_partition: str | None = None,
    variant: str = "",
    drop_features: tuple[str, ...] = (),
) -> ExperimentResult:
    """Train ``model_name`` on ``dataset`` and score it on the protocol's test split.

    Args:
        dataset: the loaded dataset.
        model_name: a registered model name (``"rf"``, ``"bigru_seq2seq_convlstm"``, ...).
        task: ``"binary"`` or ``"multiclass"``.
        protocol: split protocol (``"dedup"``, ``"random"``, ``"official"``).
        seed: seeds the split and the model.
        train_cfg: training settings (its seed is replaced by ``seed``).
        feature_cfg: preprocessing settings.
        max_train_rows: subsample the training split to at most this many rows (quick runs).
        test_partition: for ``official``, which test partition.
        variant: a free-form tag recorded with the result (e.g. ``"no_ttl"``).
        drop_features: feature columns left out (for shortcut ablations).

    Returns:
        The trained detector, its metric record and the test predictions.
    """
    spec = get_model_spec(model_name)
    cfg = TrainConfig(**{**(train_cfg or TrainConfig()).__dict__, "seed": seed})
    if drop_features:
        dataset = Dataset(
            **{**dataset.__dict__, "features": dataset.features.drop(columns=list(drop_features)),
               "categorical": [c for c in dataset.categorical if c not in drop_features]}
        )  # fmt: skip
    split = make_split(dataset, protocol, seed, test_partition=test_partition)
    target = dataset.target(task).to_numpy().astype(str)
    classes = sorted(np.unique(target).tolist())
    codes = np.searchsorted(classes, target)
    train_rows = _subsample(split.train, target[split.train], max_train_rows, seed)
    features = dataset.features

    preprocessor = fit_preprocessor(features.iloc[train_rows], dataset.categorical, feature_cfg)
    X_train = transform(preprocessor, features.iloc[train_rows])
    X_val = transform(preprocessor, features.iloc[split.val])
    X_test = transform(preprocessor, features.iloc[split.test])
    fitted = fit(model_name, X_train, codes[train_rows], X_val, codes[split.val], len(classes), cfg)

    detector = Detector(
        model_name=model_name,
        kind=spec.kind,
        task=task,
        classes=classes,
        normal_class=dataset.normal_class(task),
        features=list(features.columns),
        categorical=list(dataset.categorical),
        preprocessor=preprocessor,
        model=fitted.model,
        frame_config=getattr(fitted, "frame_config", None),
    )
    val_metrics = evaluate(target[split.val], detector.predict_proba_features(X_val), classes, detector.normal_class)
    start = time.perf_counter()
    proba_test = detector.predict_proba_features(X_test)
    predict_seconds = time.perf_counter() - start
    test_metrics = evaluate(target[split.test], proba_test, classes, detector.normal_class)
    record = {
        "dataset": dataset.name,
        "protocol": protocol,
        "task": task,
        "model": model_name,
        "variant": variant,
        "seed": seed,
        **{k: round(test_metrics[k], 6) for k in HEADLINE},
        "train_seconds": round(fitted.train_seconds, 3),
        "predict_seconds": round(predict_seconds, 4),
        "epochs": fitted.epochs,
        "n_params": int(fitted.model.count_params()) if spec.kind == "keras" else None,
        "seconds_per_epoch": None if fitted.seconds_per_epoch is None else round(fitted.seconds_per_epoch, 3),
        "train_pass_seconds_per_epoch": _median_train_pass(fitted),
        "n_train": len(train_rows),
        "n_val": len(split.val),
        "n_test": len(split.test),
        "n_features_in": int(features.shape[1]),
        "n_features_model": int(X_train.shape[1]),
        "test_partition": split.test_partition,
        "split_fingerprint": split.fingerprint(),
        "dataset_sha256": [p.sha256 for p in dataset.provenance],
        "f1_per_class": {c: round(v["f1"], 6) for c, v in test_metrics["per_class"].items()},
        "val_f1_macro": round(val_metrics["f1_macro"], 6),
    }
    detector.metadata = {
        "dataset": dataset.name,
        "provenance": [p.as_dict() for p in dataset.provenance],
        "split": {"protocol": protocol, "seed": seed, "fingerprint": split.fingerprint(), **split.sizes()},
        "dropped_features": list(drop_features),
        "metrics": {"validation": {k: val_metrics[k] for k in HEADLINE}, "test": {k: test_metrics[k] for k in HEADLINE}},
        "record": record,
    }
    return ExperimentResult(detector, record, split, target[split.test], proba_test, fitted, test_metrics)


def _median_train_pass(fitted) -> float | None:
    """Median seconds of an epoch's training pass alone (``seconds_per_epoch`` includes validation)."""
    if not fitted.epoch_seconds or fitted.validation_seconds is None:
        return None
    return round(float(np.median(np.subtract(fitted.epoch_seconds, fitted.validation_seconds))), 3)


def run_grid(
    dataset: Dataset,
    models: list[str],
    tasks: list[str],
    protocols: list[str],
    seeds: list[int],
    train_cfg: TrainConfig | None = None,
    max_train_rows: int | None = None,
    **kwargs,
) -> list[ExperimentResult]:
    """Every combination of models x tasks x protocols x seeds, with a progress bar."""
    from itertools import product

    from tqdm.auto import tqdm

    combos = list(product(protocols, tasks, models, seeds))
    results = []
    for protocol, task, model, seed in tqdm(combos, desc="experiments", unit="run"):
        results.append(run_experiment(dataset, model, task, protocol, seed, train_cfg, max_train_rows=max_train_rows, **kwargs))
    return results


def results_table(results: list[ExperimentResult]) -> pd.DataFrame:
    """The headline numbers of several results, one row each."""

    columns = ["protocol", "task", "model", "variant", "seed", *HEADLINE, "train_seconds", "n_train", "n_test"]
    return pd.DataFrame([{k: r.record[k] for k in columns} for r in results])

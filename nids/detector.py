"""A trained detector: fitted preprocessing + model + label names + input schema + metadata.

A detector directory holds::

    detector.json        model name, task, classes, input schema, versions, provenance, metrics
    preprocessor.joblib  the fitted sklearn pipeline
    model.joblib         the fitted Random Forest   (sklearn models)
    model.keras          the Keras model            (deep models)

Joblib files are pickles: load detectors only from directories you trust (the apps only load
from their own models directory).
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

from nids.errors import NidsError, SchemaError
from nids.features import to_finite_float, transform

FORMAT_VERSION = 1
FAST_MAX_ROWS = 256  # batches up to this size use the compiled numpy preprocessing (nids.fast_features)
PACKAGES = ("nids", "numpy", "pandas", "scikit-learn", "tensorflow-cpu", "tensorflow", "keras")


def package_versions() -> dict[str, str]:
    """Versions of the packages a saved detector depends on (those installed)."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return versions


def _small_forest_proba(model, X: np.ndarray) -> np.ndarray | None:
    """``model.predict_proba(X)`` of a fitted single-output random forest, without joblib and validation overheads.

    The same per-tree probabilities summed in the same order and divided by the number of trees
    as ``ForestClassifier.predict_proba`` with ``n_jobs=1``, so the result is identical; for a
    few rows it takes ~2 ms instead of ~10 ms. ``None`` for any other model.
    """
    from sklearn.ensemble import RandomForestClassifier

    if type(model) is not RandomForestClassifier or getattr(model, "n_outputs_", 1) != 1:
        return None
    X = np.ascontiguousarray(X, dtype=np.float32)
    if X.ndim != 2 or X.shape[1] != model.n_features_in_:
        return None
    proba = np.zeros((len(X), model.n_classes_), dtype=np.float64)
    for tree in model.estimators_:
        proba += tree.predict_proba(X, check_input=False)
    proba /= len(model.estimators_)
    return proba


@dataclass
class Detector:
    """Everything needed to turn a table of flows into verdicts."""

    model_name: str
    kind: str
    task: str
    classes: list[str]
    normal_class: str
    features: list[str]
    categorical: list[str]
    preprocessor: object
    model: object
    metadata: dict = field(default_factory=dict)
    frame_config: dict | None = None
    _predict_fn: object = field(default=None, repr=False)
    _fast: object = field(default=None, repr=False)

    @property
    def numeric(self) -> list[str]:
        return [c for c in self.features if c not in self.categorical]

    # -- input checks -------------------------------------------------------------------------
    def align(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
        """The detector's feature columns of ``frame`` in training order, and the ignored extras.

        Column names are matched after stripping spaces, then case-insensitively.

        Raises:
            SchemaError: required feature columns are missing (the message lists them).
        """
        by_name = {str(c).strip(): c for c in frame.columns}
        by_lower = {k.lower(): v for k, v in by_name.items()}
        chosen, missing = {}, []
        for column in self.features:
            source = by_name.get(column, by_lower.get(column.lower()))
            if source is None:
                missing.append(column)
            else:
                chosen[column] = source
        if missing:
            raise SchemaError(
                f"the input lacks {len(missing)} feature column(s) this detector needs: {', '.join(missing)}. "
                f"Expected columns: {', '.join(self.features)}"
            )
        used = set(chosen.values())
        extras = [str(c) for c in frame.columns if c not in used]
        aligned = frame[[chosen[c] for c in self.features]]
        aligned.columns = self.features
        return aligned, extras

    def row_status(self, aligned: pd.DataFrame, numeric_values: np.ndarray | None = None) -> np.ndarray:
        """Per row: ``"ok"``, or which numeric values were missing / non-numeric and imputed.

        ``numeric_values``: ``to_finite_float(aligned[self.numeric])`` if already computed.
        """
        numeric = self.numeric
        if not numeric or aligned.empty:
            return np.full(len(aligned), "ok", dtype=object)
        bad = np.isnan(to_finite_float(aligned[numeric]) if numeric_values is None else numeric_values)
        status = np.full(len(aligned), "ok", dtype=object)
        for row in np.flatnonzero(bad.any(axis=1)):
            columns = [numeric[j] for j in np.flatnonzero(bad[row])]
            status[row] = "imputed: " + ", ".join(columns)
        return status

    # -- prediction ---------------------------------------------------------------------------
    def predict_proba_features(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities for preprocessed features, columns in the order of ``classes``."""
        if self.kind == "sklearn":
            if hasattr(self.model, "n_jobs"):  # threads cost more than they save on a few rows
                self.model.n_jobs = 1 if len(X) < 1024 else -1
            proba = _small_forest_proba(self.model, X) if len(X) <= FAST_MAX_ROWS else None
            if proba is None:
                proba = self.model.predict_proba(X)
            full = np.zeros((len(X), len(self.classes)), dtype=np.float64)
            full[:, self.model.classes_.astype(int)] = proba
            return full
        if self._predict_fn is None:
            from nids.deep import make_predictor

            self._predict_fn = make_predictor(self.model, self.frame_config)
        return np.asarray(self._predict_fn(X), dtype=np.float64)

    def fast_preprocessor(self):
        """The compiled numpy copy of the fitted pipeline (``None`` if it cannot be compiled)."""
        if self._fast is None:
            from nids.fast_features import compile_preprocessor

            self._fast = compile_preprocessor(self.preprocessor) or False
        return self._fast or None

    def transform(self, aligned: pd.DataFrame, numeric_values: np.ndarray | None = None) -> np.ndarray:
        """Preprocessed features of aligned rows: the compiled copy for small batches, sklearn otherwise."""
        fast = self.fast_preprocessor() if len(aligned) <= FAST_MAX_ROWS else None
        if fast is not None and list(fast.numeric) == self.numeric:
            return fast.transform(aligned, numeric_values)
        return transform(self.preprocessor, aligned)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Class probabilities for a table of flows (one row per flow)."""
        aligned, _ = self.align(frame)
        if aligned.empty:
            return np.zeros((0, len(self.classes)))
        return self.predict_proba_features(self.transform(aligned))

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Verdicts: one output row per input row, same order and index.

        Columns: ``predicted`` (class name), ``confidence`` (its probability), ``is_attack``, and
        ``status`` (``ok`` or the values that had to be imputed).
        """
        aligned, _ = self.align(frame)
        numeric_values = to_finite_float(aligned[self.numeric]) if self.numeric and len(aligned) else None
        status = self.row_status(aligned, numeric_values)
        if len(aligned):
            proba = self.predict_proba_features(self.transform(aligned, numeric_values))
        else:
            proba = np.zeros((0, len(self.classes)))
        best = np.argmax(proba, axis=1) if len(proba) else np.zeros(0, dtype=int)
        predicted = np.asarray(self.classes, dtype=object)[best]
        return pd.DataFrame(
            {
                "predicted": predicted,
                "confidence": proba[np.arange(len(best)), best] if len(best) else np.zeros(0),
                "is_attack": predicted != self.normal_class,
                "status": status,
            },
            index=frame.index,
        )

    # -- persistence --------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write the detector directory (created if needed) and return its path."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        joblib.dump(self.preprocessor, directory / "preprocessor.joblib")
        if self.kind == "sklearn":
            joblib.dump(self.model, directory / "model.joblib", compress=3)
        else:
            self.model.save(directory / "model.keras")
        info = {
            "format_version": FORMAT_VERSION,
            "model_name": self.model_name,
            "kind": self.kind,
            "task": self.task,
            "classes": list(self.classes),
            "normal_class": self.normal_class,
            "input_schema": {"features": list(self.features), "categorical": list(self.categorical)},
            "frame_config": self.frame_config,
            "versions": package_versions(),
            **self.metadata,
        }
        (directory / "detector.json").write_text(json.dumps(info, indent=2, default=str))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> Detector:
        """Load a detector directory written by :meth:`save`.

        Raises:
            NidsError: the directory is not a detector directory.
        """
        directory = Path(directory)
        info_path = directory / "detector.json"
        if not info_path.is_file():
            raise NidsError(f"{directory} is not a detector directory: expected {info_path.name} in it")
        info = json.loads(info_path.read_text())
        if info.get("format_version") != FORMAT_VERSION:
            raise NidsError(f"{directory}: detector format {info.get('format_version')}, expected {FORMAT_VERSION}")
        preprocessor = joblib.load(directory / "preprocessor.joblib")
        if info["kind"] == "sklearn":
            model = joblib.load(directory / "model.joblib")
        else:
            from nids.deep import load_keras_model

            model = load_keras_model(directory / "model.keras")
        keys = ("format_version", "model_name", "kind", "task", "classes", "normal_class", "input_schema", "frame_config")
        return cls(
            model_name=info["model_name"],
            kind=info["kind"],
            task=info["task"],
            classes=info["classes"],
            normal_class=info["normal_class"],
            features=info["input_schema"]["features"],
            categorical=info["input_schema"]["categorical"],
            preprocessor=preprocessor,
            model=model,
            metadata={k: v for k, v in info.items() if k not in keys},
            frame_config=info.get("frame_config"),
        )

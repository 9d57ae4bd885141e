"""Preprocessing: one sklearn pipeline, fitted on the training split only and saved with every model.

- numeric columns: text, ``Infinity`` and other non-finite values become missing, missing values are
  imputed with the training median, then a signed ``log1p`` tames heavy-tailed counts (bytes,
  packets, rates span 8+ orders of magnitude) before standard scaling;
- categorical columns: one-hot encoding in which categories rarer than ``min_frequency`` in the
  training split share one "infrequent" column, and categories never seen at fit time map to it
  (or to all zeros), so a new protocol or service is handled, not fatal.

The output has the same columns in the same order whatever categories a new file holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from nids.errors import NidsError


@dataclass(frozen=True)
class FeatureConfig:
    """Preprocessing settings.

    Attributes:
        min_frequency: categories seen fewer times than this in training share one column.
        max_categories: at most this many one-hot columns per categorical feature.
        log_transform: apply signed log1p to numeric columns before scaling.
    """

    min_frequency: int = 20
    max_categories: int = 24
    log_transform: bool = True

    def __post_init__(self) -> None:
        if self.min_frequency < 1 or self.max_categories < 2:
            raise NidsError(f"FeatureConfig: expected min_frequency >= 1 and max_categories >= 2, got {self}")


def to_finite_float(frame: pd.DataFrame) -> np.ndarray:
    """Numeric view of ``frame``: unparseable text, +/-inf and empty cells become NaN.

    Columns that are already numeric are converted in one vectorised step (the single-flow
    latency path); only text columns are parsed value by value.
    """
    numeric = [pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype) for dtype in frame.dtypes]
    if all(numeric):
        out = frame.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    else:
        out = np.empty(frame.shape, dtype=np.float64)
        for j, is_numeric in enumerate(numeric):
            column = frame.iloc[:, j]
            if not is_numeric:
                column = pd.to_numeric(column.astype(str).str.strip(), errors="coerce")
            out[:, j] = column.to_numpy(dtype=np.float64, na_value=np.nan)
    out[~np.isfinite(out)] = np.nan
    return out


def signed_log1p(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


def as_text(frame: pd.DataFrame) -> np.ndarray:
    """Categorical values as stripped lower-case strings; missing becomes ``"<missing>"``."""
    return (
        frame.astype(object).where(frame.notna(), "<missing>").astype(str).apply(lambda c: c.str.strip().str.lower()).to_numpy()
    )


def build_preprocessor(categorical: list[str], numeric: list[str], cfg: FeatureConfig = FeatureConfig()) -> ColumnTransformer:
    """The unfitted preprocessing pipeline for these columns."""
    numeric_steps = [
        ("to_float", FunctionTransformer(to_finite_float, feature_names_out="one-to-one")),
        ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
    ]
    if cfg.log_transform:
        numeric_steps.append(("log1p", FunctionTransformer(signed_log1p, feature_names_out="one-to-one")))
    numeric_steps.append(("scale", StandardScaler()))
    categorical_steps = [
        ("to_text", FunctionTransformer(as_text, feature_names_out="one-to-one")),
        (
            "onehot",
            OneHotEncoder(
                handle_unknown="infrequent_if_exist",
                min_frequency=cfg.min_frequency,
                max_categories=cfg.max_categories,
                sparse_output=False,
                dtype=np.float32,
            ),
        ),
    ]
    parts = [("num", Pipeline(numeric_steps), list(numeric)), ("cat", Pipeline(categorical_steps), list(categorical))]
    return ColumnTransformer(
        [part for part in parts if part[2]],
        remainder="drop",
        verbose_feature_names_out=True,
    )


def fit_preprocessor(train: pd.DataFrame, categorical: list[str], cfg: FeatureConfig = FeatureConfig()) -> ColumnTransformer:
    """Fit the preprocessing pipeline on the training rows only."""
    numeric = [c for c in train.columns if c not in categorical]
    return build_preprocessor(categorical, numeric, cfg).fit(train)


def transform(preprocessor: ColumnTransformer, frame: pd.DataFrame) -> np.ndarray:
    """Apply a fitted pipeline; the result is float32 and always finite."""
    return np.asarray(preprocessor.transform(frame), dtype=np.float32)


def output_features(preprocessor: ColumnTransformer) -> list[str]:
    """Names of the pipeline's output columns (``num__dur``, ``cat__proto_tcp``, ...)."""
    return list(preprocessor.get_feature_names_out())


def original_feature(preprocessor: ColumnTransformer) -> list[str]:
    """For each output column, the input column it came from (one-hot columns map back to ``proto``...)."""
    origin: list[str] = []
    for name, _, columns in preprocessor.transformers_:
        if name == "num":
            origin += list(columns)
        elif name == "cat":
            encoder = preprocessor.named_transformers_["cat"].named_steps["onehot"]
            names = encoder.get_feature_names_out(list(columns))
            for column in columns:
                origin += [column] * sum(1 for n in names if n.startswith(f"{column}_"))
    return origin


def missing_counts(frame: pd.DataFrame, numeric: list[str]) -> dict[str, int]:
    """Per numeric column, how many values are missing, non-finite or unparseable (to be imputed)."""
    values = to_finite_float(frame[numeric]) if numeric else np.empty((len(frame), 0))
    counts = np.isnan(values).sum(axis=0)
    return {column: int(n) for column, n in zip(numeric, counts, strict=True) if n}


def heavy_tailed_columns(frame: pd.DataFrame, numeric: list[str], k: int = 4) -> list[str]:
    """The ``k`` numeric columns whose largest values sit most orders of magnitude above the median."""
    values = np.abs(to_finite_float(frame[numeric])) if numeric else np.empty((len(frame), 0))
    with np.errstate(all="ignore"):
        spread = np.log10(np.nanmax(values, axis=0) + 1) - np.log10(np.nanmedian(values, axis=0) + 1)
    order = np.argsort(-np.nan_to_num(spread, nan=-1))
    return [numeric[i] for i in order[:k]]

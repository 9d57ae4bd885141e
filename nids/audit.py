"""Data audit: what a dataset lets a model learn honestly.

- exact duplicates: rows whose feature values repeat an earlier row;
- label conflicts: groups of identical feature vectors that carry different labels;
- the achievable-accuracy ceiling: the accuracy of a lookup table that memorised every row
  (majority label per identical feature vector) — no model can beat it on the same records;
- single-feature shortcuts: how well one column alone predicts the label.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from nids.datasets.base import Dataset
from nids.errors import BadInputError


def feature_groups(features: pd.DataFrame) -> np.ndarray:
    """Group id per row: rows with identical feature values share an id (0..n_groups-1)."""
    try:
        hashes = pd.util.hash_pandas_object(features, index=False).to_numpy()
    except TypeError:  # unhashable cells (lists or arrays in a Parquet column): compare their text
        hashes = pd.util.hash_pandas_object(features.astype(str), index=False).to_numpy()
    codes, _ = pd.factorize(hashes)
    return codes


def _majority_hits(keys: np.ndarray, labels: pd.Series) -> tuple[int, int]:
    """(rows a majority-label lookup on ``keys`` gets right, number of keys with conflicting labels)."""
    table = pd.crosstab(keys, labels.to_numpy())
    return int(table.max(axis=1).sum()), int(((table > 0).sum(axis=1) > 1).sum())


def lookup_accuracy(column: pd.Series, labels: pd.Series, max_levels: int = 256, bins: int = 32) -> float:
    """Accuracy of predicting ``labels`` from one column by majority label per value.

    Columns with more than ``max_levels`` distinct values are cut into ``bins`` quantile bins first,
    so that a continuous column is not credited for memorising each row.
    """
    values = column
    if column.nunique(dropna=False) > max_levels and pd.api.types.is_numeric_dtype(column):
        # Bin on the values themselves: ranking ties by row order would leak the file's label order.
        values = pd.qcut(column.replace([np.inf, -np.inf], np.nan), q=bins, labels=False, duplicates="drop")
    keys = pd.factorize(values.astype(str) if values.dtype == object else values)[0]
    hits, _ = _majority_hits(keys, labels)
    return hits / len(labels)


@dataclass
class AuditReport:
    """The audit of one dataset for one label set."""

    dataset: str
    records: int
    features: int
    duplicate_rows: int
    distinct_vectors: int
    conflicting_groups: int
    conflicting_groups_binary: int
    ceiling_accuracy: float
    ceiling_accuracy_binary: float
    majority_class_accuracy: float
    shortcuts: list[dict]

    def as_dict(self) -> dict:
        return asdict(self)

    def summary_lines(self) -> list[str]:
        top = ", ".join(f"{s['feature']} {s['binary_accuracy']:.3f}" for s in self.shortcuts[:5])
        return [
            f"records: {self.records:,}  features: {self.features}",
            f"duplicate rows (repeat an earlier row's features): {self.duplicate_rows:,} "
            f"({self.duplicate_rows / self.records:.1%}); distinct feature vectors: {self.distinct_vectors:,}",
            f"groups of identical features with conflicting labels: {self.conflicting_groups:,} "
            f"(binary label: {self.conflicting_groups_binary:,})",
            f"achievable-accuracy ceiling: multiclass {self.ceiling_accuracy:.4f}, binary {self.ceiling_accuracy_binary:.4f}",
            f"majority-class accuracy: {self.majority_class_accuracy:.4f}",
            f"strongest single-feature shortcuts (binary lookup accuracy): {top}",
        ]


def audit(dataset: Dataset, shortcut_columns: list[str] | None = None) -> AuditReport:
    """Audit ``dataset``: duplicates, label conflicts, the accuracy ceiling and shortcuts."""
    features = dataset.features
    if len(features) == 0:
        raise BadInputError(f"{dataset.name}: the table holds no records (header only?); nothing to audit")
    multi, binary = dataset.target("multiclass"), dataset.target("binary")
    groups = feature_groups(features)
    hits_multi, conflicts_multi = _majority_hits(groups, multi)
    hits_binary, conflicts_binary = _majority_hits(groups, binary)
    columns = shortcut_columns if shortcut_columns is not None else list(features.columns)
    shortcuts = [
        {
            "feature": column,
            "distinct_values": int(features[column].nunique(dropna=False)),
            "binary_accuracy": round(lookup_accuracy(features[column], binary), 4),
            "multiclass_accuracy": round(lookup_accuracy(features[column], multi), 4),
        }
        for column in columns
    ]
    shortcuts.sort(key=lambda s: s["binary_accuracy"], reverse=True)
    n = len(features)
    return AuditReport(
        dataset=dataset.name,
        records=n,
        features=features.shape[1],
        duplicate_rows=int(n - groups.max() - 1) if n else 0,
        distinct_vectors=int(groups.max() + 1) if n else 0,
        conflicting_groups=conflicts_multi,
        conflicting_groups_binary=conflicts_binary,
        ceiling_accuracy=hits_multi / n,
        ceiling_accuracy_binary=hits_binary / n,
        majority_class_accuracy=float(multi.value_counts(normalize=True).iloc[0]),
        shortcuts=shortcuts,
    )

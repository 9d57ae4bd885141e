"""The typed dataset every loader returns: a feature frame, its targets and where it came from."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from nids.errors import unknown_name

TASKS = ("binary", "multiclass")
BINARY_LABELS = ("normal", "attack")


@dataclass(frozen=True)
class Provenance:
    """Where a block of records came from.

    Attributes:
        file: path of the file that was read.
        sha256: SHA-256 of that file's bytes.
        records: number of records read from it.
        partition: what the file is, identified by record count / checksum, never by file name
            (e.g. ``"official-train"``, ``"official-test"``, ``"KDDTest+"``).
    """

    file: str
    sha256: str
    records: int
    partition: str

    def as_dict(self) -> dict:
        return {"file": self.file, "sha256": self.sha256, "records": self.records, "partition": self.partition}


@dataclass
class Dataset:
    """A loaded intrusion dataset.

    Attributes:
        name: registry name (``"unsw-nb15"``, ``"nsl-kdd"``, ``"csv:..."``).
        features: one row per record, feature columns only (no ids, labels or difficulty scores).
        labels: the multi-class label of each record (a string such as ``"Exploits"``).
        normal_label: the value of ``labels`` that means benign traffic.
        categorical: the categorical feature columns; every other feature column is numeric.
        partition: the partition each record came from (aligned with ``features``).
        provenance: one entry per file read.
        notes: human-readable remarks made while loading (renamed columns, dropped ids, ...).
    """

    name: str
    features: pd.DataFrame
    labels: pd.Series
    normal_label: str
    categorical: list[str]
    partition: pd.Series
    provenance: list[Provenance]
    notes: list[str] = field(default_factory=list)

    @property
    def numeric(self) -> list[str]:
        return [c for c in self.features.columns if c not in self.categorical]

    def __len__(self) -> int:
        return len(self.features)

    def target(self, task: str) -> pd.Series:
        """The target for ``task``: ``"binary"`` gives normal/attack, ``"multiclass"`` the labels."""
        if task == "multiclass":
            return self.labels
        if task == "binary":
            is_normal = self.labels == self.normal_label
            return pd.Series(np.where(is_normal, BINARY_LABELS[0], BINARY_LABELS[1]), index=self.labels.index)
        raise unknown_name("task", task, TASKS)

    def normal_class(self, task: str) -> str:
        """The class name that means benign traffic for ``task``."""
        return BINARY_LABELS[0] if task == "binary" else self.normal_label

    def subset(self, mask: np.ndarray | pd.Series) -> Dataset:
        """The records selected by a boolean mask, with a fresh 0..n-1 index."""
        mask = np.asarray(mask, dtype=bool)
        return Dataset(
            name=self.name,
            features=self.features[mask].reset_index(drop=True),
            labels=self.labels[mask].reset_index(drop=True),
            normal_label=self.normal_label,
            categorical=list(self.categorical),
            partition=self.partition[mask].reset_index(drop=True),
            provenance=list(self.provenance),
            notes=list(self.notes),
        )

    def describe(self) -> dict:
        """A JSON-ready summary: name, size, feature kinds, class counts and provenance."""
        return {
            "dataset": self.name,
            "records": len(self),
            "features": len(self.features.columns),
            "categorical": list(self.categorical),
            "classes": {str(k): int(v) for k, v in self.labels.value_counts().items()},
            "partitions": {str(k): int(v) for k, v in self.partition.value_counts().items()},
            "provenance": [p.as_dict() for p in self.provenance],
            "notes": list(self.notes),
        }

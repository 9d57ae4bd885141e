"""Named, deterministic split protocols. A protocol name and a seed always mean the same rows.

- ``dedup`` (default): stratified train / validation / test in which identical feature vectors
  never fall on two sides, so a test score cannot come from memorised duplicates.
- ``random``: stratified row split; kept only to show how much duplicates inflate scores.
- ``official``: the dataset's own train partition -> its test partition (validation carved from
  the train partition with the dedup rule). Needs both partitions.

The test split is never used for model selection, early stopping or threshold choice: training
code receives only ``train`` and ``val``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from nids.audit import feature_groups
from nids.datasets.base import Dataset
from nids.errors import NidsError, unknown_name

PROTOCOLS = ("dedup", "random", "official")
DEFAULT_PROTOCOL = "dedup"
# Partitions that are subsets of another partition and so are never pooled into one split.
SUBSET_PARTITIONS = {"KDDTest-21"}
OFFICIAL = {
    "unsw-nb15": ("official-train", ("official-test",)),
    "nsl-kdd": (("KDDTrain+", "KDDTrain+_20Percent"), ("KDDTest+", "KDDTest-21")),
}


@dataclass(frozen=True)
class Split:
    """Row indices (into the dataset) of each side of a split."""

    protocol: str
    seed: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    test_partition: str | None = None

    def fingerprint(self) -> str:
        """Short hash of the exact rows on each side: equal fingerprints mean equal splits."""
        digest = hashlib.sha256()
        for part in (self.train, self.val, self.test):
            digest.update(np.sort(part).astype(np.int64).tobytes())
            digest.update(b"|")
        return digest.hexdigest()[:12]

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def _split(items: np.ndarray, size: float, seed: int, stratify: np.ndarray | None):
    try:
        return train_test_split(items, test_size=size, random_state=seed, stratify=stratify)
    except ValueError as exc:  # too few records for the requested sides
        raise NidsError(f"cannot split {len(items)} records (or groups) into {1 - size:.0%} / {size:.0%}: {exc}") from exc


def _stratify_ok(labels: np.ndarray, n_parts: int) -> np.ndarray | None:
    """Labels usable for stratification, or None when a class is too rare to stratify."""
    counts = pd.Series(labels).value_counts()
    return labels if counts.min() >= n_parts else None


def _grouped_split(index: np.ndarray, groups: np.ndarray, labels: np.ndarray, size: float, seed: int):
    """Split ``index`` so that no group is on both sides, stratified by each group's majority label."""
    frame = pd.DataFrame({"row": index, "group": groups, "label": labels})
    counts = frame.groupby(["group", "label"]).size().reset_index(name="n")
    majority = counts.sort_values(["group", "n", "label"], ascending=[True, False, True]).drop_duplicates("group")
    unique_groups = majority["group"].to_numpy()
    strat = _stratify_ok(majority["label"].to_numpy(), 2)
    _g_keep, g_out = _split(unique_groups, size, seed, strat)
    in_out = frame["group"].isin(set(g_out)).to_numpy()
    return index[~in_out], index[in_out]


def _random_split(index: np.ndarray, labels: np.ndarray, size: float, seed: int):
    return _split(index, size, seed, _stratify_ok(labels, 2))


def make_split(
    dataset: Dataset,
    protocol: str = DEFAULT_PROTOCOL,
    seed: int = 0,
    test_size: float = 0.2,
    val_size: float = 0.1,
    test_partition: str | None = None,
) -> Split:
    """Split ``dataset`` by a named protocol.

    Args:
        dataset: the loaded dataset.
        protocol: ``"dedup"``, ``"random"`` or ``"official"``.
        seed: random seed; the same seed gives the same rows.
        test_size: fraction of records for test (``dedup``/``random``).
        val_size: fraction of records for validation (of all records; of the train partition for
            ``official``).
        test_partition: for ``official``, which test partition (e.g. ``"KDDTest-21"``).

    Raises:
        UnknownNameError: unknown protocol.
        NidsError: ``official`` without both partitions.
    """
    if protocol not in PROTOCOLS:
        raise unknown_name("split protocol", protocol, PROTOCOLS)
    labels = dataset.labels.to_numpy()
    partition = dataset.partition.to_numpy()
    if protocol == "official":
        return _official_split(dataset, seed, val_size, test_partition)
    pool = np.flatnonzero(~np.isin(partition, list(SUBSET_PARTITIONS)))
    if protocol == "random":
        rest, test = _random_split(pool, labels[pool], test_size, seed)
        train, val = _random_split(rest, labels[rest], val_size / (1 - test_size), seed)
    else:
        groups = feature_groups(dataset.features)
        rest, test = _grouped_split(pool, groups[pool], labels[pool], test_size, seed)
        train, val = _grouped_split(rest, groups[rest], labels[rest], val_size / (1 - test_size), seed)
    return Split(protocol, seed, np.sort(train), np.sort(val), np.sort(test))


def _official_split(dataset: Dataset, seed: int, val_size: float, test_partition: str | None) -> Split:
    if dataset.name not in OFFICIAL:
        raise NidsError(f"dataset {dataset.name!r} has no official partitions; use protocol 'dedup' or 'random'")
    train_names, test_names = OFFICIAL[dataset.name]
    train_names = (train_names,) if isinstance(train_names, str) else train_names
    partition = dataset.partition.to_numpy()
    present = sorted(set(partition))
    train_name = next((n for n in train_names if n in present), None)
    test_name = test_partition or next((n for n in test_names if n in present), None)
    if train_name is None or test_name not in present:
        raise NidsError(
            f"protocol 'official' needs a train partition ({' or '.join(train_names)}) and a test partition "
            f"({test_partition or ' or '.join(test_names)}); found only: {', '.join(present)}. "
            "Use protocol 'dedup' (the default) or add the missing partition file."
        )
    train_rows = np.flatnonzero(partition == train_name)
    test_rows = np.flatnonzero(partition == test_name)
    groups = feature_groups(dataset.features)
    labels = dataset.labels.to_numpy()
    train, val = _grouped_split(train_rows, groups[train_rows], labels[train_rows], val_size, seed)
    return Split("official", seed, np.sort(train), np.sort(val), np.sort(test_rows), test_partition=test_name)


def leakage(dataset: Dataset, split: Split) -> dict[str, float]:
    """How many validation / test rows have an exact feature-vector twin in the training split."""
    groups = feature_groups(dataset.features)
    train_groups = set(groups[split.train].tolist())
    out = {}
    for side in ("val", "test"):
        rows = getattr(split, side)
        twins = int(np.isin(groups[rows], list(train_groups)).sum())
        out[f"{side}_rows_with_train_twin"] = twins
        out[f"{side}_share_with_train_twin"] = round(twins / max(len(rows), 1), 4)
    return out

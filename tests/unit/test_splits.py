"""Split protocols: dedup keeps identical vectors on one side, seeds are deterministic, official
needs both partitions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nids.audit import feature_groups
from nids.datasets import unsw
from nids.datasets.base import Dataset
from nids.errors import NidsError, UnknownNameError
from nids.splits import PROTOCOLS, leakage, make_split


def _sides(split):
    return {"train": split.train, "val": split.val, "test": split.test}


def _assert_partition_of_rows(split, n: int, expected: np.ndarray | None = None):
    everything = np.concatenate([split.train, split.val, split.test])
    assert len(everything) == len(set(everything.tolist())), "a row is on two sides"
    assert sorted(everything.tolist()) == (sorted(expected.tolist()) if expected is not None else list(range(n)))


@pytest.fixture
def heavy_duplicates(make_unsw) -> Dataset:
    """Every feature vector three times (like a file that is one-third duplicates, only more so)."""
    base = make_unsw({"Normal": 30, "Exploits": 20, "DoS": 10}, duplicates=False)
    frame = pd.concat([base, base, base], ignore_index=True)
    return unsw.frame_to_dataset(frame, [], np.full(len(frame), "unknown", dtype=object))


def test_dedup_puts_no_vector_on_two_sides(unsw_dataset):
    split = make_split(unsw_dataset, "dedup", seed=0)
    _assert_partition_of_rows(split, len(unsw_dataset))
    groups = feature_groups(unsw_dataset.features)
    sides = {name: set(groups[rows].tolist()) for name, rows in _sides(split).items()}
    assert not sides["train"] & sides["val"]
    assert not sides["train"] & sides["test"]
    assert not sides["val"] & sides["test"]
    assert leakage(unsw_dataset, split) == {
        "val_rows_with_train_twin": 0,
        "val_share_with_train_twin": 0.0,
        "test_rows_with_train_twin": 0,
        "test_share_with_train_twin": 0.0,
    }
    # every class is on every side (stratified by the group's majority label)
    for rows in _sides(split).values():
        assert set(unsw_dataset.labels.iloc[rows]) == {"Normal", "Exploits", "Generic", "DoS"}


def test_random_split_leaks_duplicates_and_dedup_does_not(heavy_duplicates):
    random = make_split(heavy_duplicates, "random", seed=0)
    dedup = make_split(heavy_duplicates, "dedup", seed=0)
    leak = leakage(heavy_duplicates, random)
    assert leak["test_rows_with_train_twin"] > 0
    assert 0 < leak["test_share_with_train_twin"] <= 1
    assert leakage(heavy_duplicates, dedup)["test_rows_with_train_twin"] == 0
    assert leakage(heavy_duplicates, dedup)["val_rows_with_train_twin"] == 0


def test_random_split_sizes(unsw_dataset):
    split = make_split(unsw_dataset, "random", seed=0, test_size=0.2, val_size=0.1)
    n = len(unsw_dataset)  # 72: test ceil(0.2 * 72) = 15, val ceil(0.125 * 57) = 8
    assert split.sizes() == {"train": 49, "val": 8, "test": 15}
    _assert_partition_of_rows(split, n)
    assert split.protocol == "random" and split.seed == 0 and split.test_partition is None
    for rows in _sides(split).values():
        assert np.all(np.diff(rows) > 0), "row indices are sorted"


def test_dedup_sizes_are_close_to_the_fractions(heavy_duplicates):
    split = make_split(heavy_duplicates, "dedup", seed=0, test_size=0.2, val_size=0.1)
    sizes = split.sizes()
    n = len(heavy_duplicates)
    assert sum(sizes.values()) == n
    # whole groups of three move together: 60 groups -> 12 test groups, 6 val groups
    assert sizes == {"train": 126, "val": 18, "test": 36}


@pytest.mark.parametrize("protocol", ["dedup", "random"])
def test_same_seed_same_rows_other_seed_other_rows(unsw_dataset, protocol):
    a = make_split(unsw_dataset, protocol, seed=0)
    b = make_split(unsw_dataset, protocol, seed=0)
    c = make_split(unsw_dataset, protocol, seed=1)
    assert a.fingerprint() == b.fingerprint()
    for side in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(a, side), getattr(b, side))
    assert a.fingerprint() != c.fingerprint()
    assert len(a.fingerprint()) == 12 and int(a.fingerprint(), 16) >= 0


def test_protocols_have_different_fingerprints(unsw_dataset):
    assert make_split(unsw_dataset, "dedup", 0).fingerprint() != make_split(unsw_dataset, "random", 0).fingerprint()


def test_unknown_protocol(unsw_dataset):
    with pytest.raises(UnknownNameError, match="unknown split protocol 'kfold'; expected one of: dedup, official, random"):
        make_split(unsw_dataset, "kfold")
    assert set(PROTOCOLS) == {"dedup", "random", "official"}


def test_official_needs_both_partitions(unsw_dataset):
    with pytest.raises(NidsError, match=r"protocol 'official' needs a train partition .*found only: unknown"):
        make_split(unsw_dataset, "official")


def test_official_with_one_partition_only(unsw_frame):
    ds = unsw.frame_to_dataset(unsw_frame, [], np.full(len(unsw_frame), "official-test", dtype=object))
    with pytest.raises(NidsError, match=r"official-train.*found only: official-test"):
        make_split(ds, "official")


def test_official_for_a_dataset_without_partitions(unsw_dataset):
    other = Dataset(**{**unsw_dataset.__dict__, "name": "csv:flows"})
    with pytest.raises(NidsError, match="has no official partitions"):
        make_split(other, "official")


def test_official_with_two_partitions(make_unsw):
    train = make_unsw({"Normal": 40, "Exploits": 20, "DoS": 12}, seed=1)
    test = make_unsw({"Normal": 15, "Exploits": 8, "DoS": 5}, seed=2, duplicates=False)
    frame = pd.concat([train, test], ignore_index=True)
    partition = np.array(["official-train"] * len(train) + ["official-test"] * len(test), dtype=object)
    ds = unsw.frame_to_dataset(frame, [], partition)
    split = make_split(ds, "official", seed=0, val_size=0.1)
    train_rows = np.flatnonzero(partition == "official-train")
    test_rows = np.flatnonzero(partition == "official-test")
    np.testing.assert_array_equal(split.test, test_rows)
    assert sorted(np.concatenate([split.train, split.val]).tolist()) == train_rows.tolist()
    assert split.test_partition == "official-test"
    assert split.protocol == "official"
    groups = feature_groups(ds.features)
    assert not set(groups[split.train].tolist()) & set(groups[split.val].tolist())
    assert make_split(ds, "official", seed=0).fingerprint() == split.fingerprint()


def _kdd_like(n_train: int, n_test: int, n_hard: int, rng_seed: int = 0) -> Dataset:
    rng = np.random.default_rng(rng_seed)
    n = n_train + n_test + n_hard
    features = pd.DataFrame({"x": rng.normal(size=n), "y": rng.integers(0, 1000, n), "flag": rng.choice(["sf", "s0"], n)})
    labels = pd.Series(rng.choice(["normal", "DoS", "Probe"], n, p=[0.5, 0.3, 0.2]))
    partition = pd.Series(["KDDTrain+_20Percent"] * n_train + ["KDDTest+"] * n_test + ["KDDTest-21"] * n_hard)
    return Dataset("nsl-kdd", features, labels, "normal", ["flag"], partition, [])


@pytest.mark.parametrize("protocol", ["dedup", "random"])
def test_subset_partition_is_never_pooled(protocol):
    ds = _kdd_like(60, 40, 20)
    split = make_split(ds, protocol, seed=0)
    _assert_partition_of_rows(split, len(ds), expected=np.arange(100))


def test_official_nslkdd_default_and_named_test_partition():
    ds = _kdd_like(60, 40, 20)
    default = make_split(ds, "official", seed=0)
    assert default.test_partition == "KDDTest+"
    np.testing.assert_array_equal(default.test, np.arange(60, 100))
    hard = make_split(ds, "official", seed=0, test_partition="KDDTest-21")
    assert hard.test_partition == "KDDTest-21"
    np.testing.assert_array_equal(hard.test, np.arange(100, 120))
    assert sorted(np.concatenate([hard.train, hard.val]).tolist()) == list(range(60))
    with pytest.raises(NidsError, match="KDDTest-42"):
        make_split(ds, "official", test_partition="KDDTest-42")

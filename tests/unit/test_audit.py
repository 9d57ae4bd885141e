"""Audit: duplicates, label conflicts, the achievable-accuracy ceiling and one-feature shortcuts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from nids.audit import audit, feature_groups, lookup_accuracy
from nids.datasets.base import Dataset


@pytest.fixture
def tiny() -> Dataset:
    """8 records whose audit is computed by hand in the tests below.

    group  rows   labels                 majority hits (multi / binary)
    G1     1-3    Normal Normal Exploits  2 / 2   conflicting in both label sets
    G2     4-5    DoS Exploits            1 / 2   conflicting in multiclass only
    G3     6      Normal                  1 / 1
    G4     7-8    Generic Generic         2 / 2
    """
    features = pd.DataFrame({"a": [1, 1, 1, 2, 2, 3, 4, 4], "b": ["x", "x", "x", "y", "y", "x", "z", "z"]})
    labels = pd.Series(["Normal", "Normal", "Exploits", "DoS", "Exploits", "Normal", "Generic", "Generic"])
    return Dataset("tiny", features, labels, "Normal", ["b"], pd.Series(["p"] * 8), [])


def test_feature_groups(tiny):
    groups = feature_groups(tiny.features)
    assert groups.tolist() == [0, 0, 0, 1, 1, 2, 3, 3]


def test_hand_computed_audit(tiny):
    report = audit(tiny)
    assert report.records == 8
    assert report.features == 2
    assert report.distinct_vectors == 4
    assert report.duplicate_rows == 4
    assert report.conflicting_groups == 2
    assert report.conflicting_groups_binary == 1
    assert report.ceiling_accuracy == pytest.approx(6 / 8)
    assert report.ceiling_accuracy_binary == pytest.approx(7 / 8)
    assert report.majority_class_accuracy == pytest.approx(3 / 8)
    by_feature = {s["feature"]: s for s in report.shortcuts}
    assert by_feature["a"] == {"feature": "a", "distinct_values": 4, "binary_accuracy": 0.875, "multiclass_accuracy": 0.75}
    assert by_feature["b"] == {"feature": "b", "distinct_values": 3, "binary_accuracy": 0.875, "multiclass_accuracy": 0.75}


def test_report_is_json_ready_and_readable(tiny):
    report = audit(tiny)
    payload = json.loads(json.dumps(report.as_dict()))
    assert payload["duplicate_rows"] == 4
    text = "\n".join(report.summary_lines())
    assert "duplicate rows (repeat an earlier row's features): 4 (50.0%)" in text
    assert "conflicting labels: 2 (binary label: 1)" in text
    assert "multiclass 0.7500, binary 0.8750" in text


def test_synthetic_unsw_audit(unsw_dataset, synth_facts):
    report = audit(unsw_dataset, shortcut_columns=["sttl", "proto"])
    assert report.records == synth_facts.rows
    assert report.features == 42
    assert report.duplicate_rows == synth_facts.exact_duplicates
    assert report.distinct_vectors == synth_facts.distinct
    assert report.conflicting_groups == synth_facts.conflicting_groups
    assert report.conflicting_groups_binary == synth_facts.conflicting_groups_binary
    # one conflicting pair (Normal vs Exploits) costs exactly one row in both label sets
    assert report.ceiling_accuracy == pytest.approx((synth_facts.rows - 1) / synth_facts.rows)
    assert report.ceiling_accuracy_binary == pytest.approx((synth_facts.rows - 1) / synth_facts.rows)
    assert sorted(s["feature"] for s in report.shortcuts) == ["proto", "sttl"]
    sttl = next(s for s in report.shortcuts if s["feature"] == "sttl")
    # sttl is one value per class by construction; only the relabelled Normal copy is missed
    assert sttl["binary_accuracy"] == round(71 / 72, 4)
    assert sttl["distinct_values"] == 3


def test_shortcuts_sorted_by_binary_accuracy(unsw_dataset):
    report = audit(unsw_dataset)
    assert len(report.shortcuts) == 42
    scores = [s["binary_accuracy"] for s in report.shortcuts]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s["binary_accuracy"] <= 1 and 0 <= s["multiclass_accuracy"] <= 1 for s in report.shortcuts)


def test_lookup_accuracy_on_categories():
    column = pd.Series(["a", "a", "a", "b", "b", "c"])
    labels = pd.Series(["x", "x", "y", "y", "y", "x"])
    assert lookup_accuracy(column, labels) == pytest.approx(5 / 6)


def test_lookup_accuracy_bins_a_continuous_column():
    rng = np.random.default_rng(0)
    values = pd.Series(rng.uniform(0, 1, 1000))
    # a threshold at the median is a bin edge of the 32 quantile bins: the lookup is perfect
    labels = pd.Series(np.where(values > values.median(), "attack", "normal"))
    assert lookup_accuracy(values, labels) == pytest.approx(1.0)
    # a unique value per row with random labels must not be credited for memorising each row
    noise = pd.Series(rng.choice(["attack", "normal"], 1000))
    assert lookup_accuracy(pd.Series(np.arange(1000.0)), noise) < 0.7


def test_lookup_accuracy_counts_missing_as_a_value():
    column = pd.Series([1.0, np.nan, np.nan, 2.0])
    labels = pd.Series(["x", "y", "y", "x"])
    assert lookup_accuracy(column, labels) == pytest.approx(1.0)


def test_feature_groups_of_unhashable_cells():
    frame = pd.DataFrame({"a": [[1, 2], [1, 2], [3]], "b": [1, 1, 1]})  # list cells, as a Parquet list column reads
    assert list(feature_groups(frame)) == [0, 0, 1]

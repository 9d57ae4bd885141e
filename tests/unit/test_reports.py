"""Metric records: keyed upsert into reports/metrics.json, required fields, summary.md."""

from __future__ import annotations

import json

import pytest

from nids import config
from nids.reports import (
    REQUIRED,
    load_records,
    metrics_path,
    summary_frame,
    upsert_records,
    write_json_report,
    write_summary,
)


def _record(**overrides) -> dict:
    record = {
        "dataset": "unsw-nb15",
        "protocol": "dedup",
        "task": "binary",
        "model": "rf",
        "variant": "",
        "seed": 0,
        "accuracy": 0.9,
        "precision_macro": 0.8,
        "recall_macro": 0.7,
        "f1_macro": 0.75,
        "f1_weighted": 0.88,
        "far": 0.05,
        "detection_rate": 0.93,
        "roc_auc": 0.97,
        "train_seconds": 1.5,
        "n_train": 100,
        "n_test": 40,
        "test_partition": None,
    }
    record.update(overrides)
    return record


def test_paths_follow_the_environment(_outputs_in_tmp):
    assert metrics_path() == (_outputs_in_tmp / "reports" / "metrics.json").resolve()
    assert config.reports_dir() == (_outputs_in_tmp / "reports").resolve()
    assert load_records() == []


def test_upsert_replaces_a_record_with_the_same_key():
    upsert_records([_record(accuracy=0.5)])
    upsert_records([_record(accuracy=0.6)])
    records = load_records()
    assert len(records) == 1
    assert records[0]["accuracy"] == 0.6
    # None and "" are the same variant / test partition
    merged = upsert_records([_record(variant=None, test_partition="", accuracy=0.7)])
    assert [r["accuracy"] for r in merged] == [0.7]


def test_upsert_keeps_records_with_other_keys():
    upsert_records([_record(seed=0), _record(seed=1)])
    upsert_records([_record(task="multiclass"), _record(variant="no_ttl"), _record(protocol="random")])
    upsert_records([_record(test_partition="KDDTest-21", dataset="nsl-kdd", protocol="official")])
    records = load_records()
    assert len(records) == 6
    assert json.loads(metrics_path().read_text()) == records
    # written in a stable order
    keys = [(r["dataset"], r["protocol"], r["task"]) for r in records]
    assert keys == sorted(keys)


@pytest.mark.parametrize("field", ["accuracy", "seed", "roc_auc", "n_test"])
def test_required_fields_are_enforced(field):
    record = _record()
    del record[field]
    with pytest.raises(ValueError, match=rf"lacks required fields \['{field}'\]"):
        upsert_records([_record(seed=5), record])
    assert not metrics_path().exists(), "nothing is written when one record is invalid"


def test_required_fields_list():
    assert {"dataset", "protocol", "task", "model", "seed", "accuracy", "f1_macro", "far", "roc_auc"} <= set(REQUIRED)


def test_summary_frame_averages_over_seeds():
    frame = summary_frame([_record(seed=0, accuracy=0.8), _record(seed=1, accuracy=0.9), _record(model="other")])
    rf = frame[frame["model"] == "rf"].iloc[0]
    assert rf["seeds"] == 2
    assert rf["accuracy"] == pytest.approx(0.85)
    assert len(frame) == 2
    assert summary_frame([]).empty


def test_write_summary(_outputs_in_tmp):
    records = upsert_records([_record(), _record(task="multiclass", f1_macro=0.5), _record(model="other", f1_macro=0.9)])
    path = write_summary(records)
    assert path == (_outputs_in_tmp / "reports" / "summary.md").resolve()
    text = path.read_text()
    assert text.startswith("# Results summary")
    assert "## unsw-nb15 / dedup / binary" in text
    assert "## unsw-nb15 / dedup / multiclass" in text
    binary = text.split("## unsw-nb15 / dedup / binary")[1].split("##")[0]
    # best macro-F1 first
    assert binary.index("| other") < binary.index("| rf")
    assert write_summary() == path  # reads metrics.json when no records are given


def test_summary_names_the_test_partition():
    text = write_summary([_record(dataset="nsl-kdd", protocol="official", test_partition="KDDTest-21")]).read_text()
    assert "## nsl-kdd / official -> KDDTest-21 / binary" in text


def test_summary_includes_records_with_only_the_required_fields():
    # A record holding exactly REQUIRED is accepted by upsert_records; it must also appear in the summary.
    minimal = {k: _record()[k] for k in REQUIRED}
    upsert_records([minimal])
    text = write_summary().read_text()
    assert "## unsw-nb15 / dedup / binary" in text


def test_write_json_report(_outputs_in_tmp):
    path = write_json_report("audit_unsw-nb15", {"records": 3, "nested": {"a": [1, 2]}})
    assert path == (_outputs_in_tmp / "reports" / "audit_unsw-nb15.json").resolve()
    assert json.loads(path.read_text()) == {"records": 3, "nested": {"a": [1, 2]}}
    assert not list(path.parent.glob("*.tmp"))

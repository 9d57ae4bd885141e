"""A trained Random Forest detector: experiment record, save/load, predict on messy tables."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from nids.datasets import unsw
from nids.detector import FAST_MAX_ROWS, FORMAT_VERSION, Detector
from nids.errors import NidsError, SchemaError, UnknownNameError
from nids.experiments import HEADLINE, results_table, run_experiment
from nids.features import FeatureConfig, output_features
from nids.models.forest import ForestConfig
from nids.reports import REQUIRED
from nids.training import TrainConfig

CFG = TrainConfig(forest=ForestConfig(n_estimators=15, n_jobs=1))


@pytest.fixture(scope="module")
def frame(make_unsw) -> pd.DataFrame:
    return make_unsw({"Normal": 80, "Exploits": 45, "Generic": 35, "DoS": 20}, seed=1)


@pytest.fixture(scope="module")
def dataset(frame):
    return unsw.frame_to_dataset(frame, [], np.full(len(frame), "unknown", dtype=object))


@pytest.fixture(scope="module")
def multiclass(dataset):
    return run_experiment(dataset, "rf", "multiclass", "dedup", seed=0, train_cfg=CFG)


@pytest.fixture(scope="module")
def binary(dataset):
    return run_experiment(dataset, "rf", "binary", "dedup", seed=0, train_cfg=CFG)


def test_experiment_record(multiclass, dataset):
    record = multiclass.record
    assert set(REQUIRED) <= set(record)
    assert (record["dataset"], record["protocol"], record["task"], record["model"], record["seed"]) == (
        "unsw-nb15",
        "dedup",
        "multiclass",
        "rf",
        0,
    )
    for key in HEADLINE:
        assert 0.0 <= record[key] <= 1.0, key
    split = multiclass.split
    assert record["n_train"] == len(split.train)
    assert record["n_val"] == len(split.val)
    assert record["n_test"] == len(split.test) == len(multiclass.y_test) == len(multiclass.proba_test)
    assert record["n_train"] + record["n_val"] + record["n_test"] == len(dataset)
    assert record["n_features_in"] == 42
    assert record["n_features_model"] == len(output_features(multiclass.detector.preprocessor)) > 42
    assert record["split_fingerprint"] == split.fingerprint()
    assert set(record["f1_per_class"]) == {"DoS", "Exploits", "Generic", "Normal"}
    assert record["accuracy"] > 0.5  # the classes are separable by construction (sttl, bytes)
    np.testing.assert_allclose(multiclass.proba_test.sum(axis=1), 1.0)
    table = results_table([multiclass])
    assert table.shape[0] == 1 and table.loc[0, "task"] == "multiclass"


def test_detector_fields(multiclass, binary):
    det = multiclass.detector
    assert det.classes == ["DoS", "Exploits", "Generic", "Normal"]
    assert det.normal_class == "Normal"
    assert det.features == unsw.FEATURES
    assert det.categorical == ["proto", "service", "state"]
    assert det.kind == "sklearn" and det.model_name == "rf" and det.task == "multiclass"
    assert det.metadata["split"]["protocol"] == "dedup"
    assert binary.detector.classes == ["attack", "normal"]
    assert binary.detector.normal_class == "normal"


def test_save_load_roundtrip(multiclass, frame, tmp_path):
    det = multiclass.detector
    directory = det.save(tmp_path / "det")
    assert sorted(p.name for p in directory.iterdir()) == ["detector.json", "model.joblib", "preprocessor.joblib"]
    info = json.loads((directory / "detector.json").read_text())
    assert info["format_version"] == FORMAT_VERSION
    assert info["classes"] == det.classes
    assert info["input_schema"] == {"features": unsw.FEATURES, "categorical": ["proto", "service", "state"]}
    assert {"python", "numpy", "pandas", "scikit-learn"} <= set(info["versions"])
    assert info["record"]["split_fingerprint"] == multiclass.record["split_fingerprint"]
    loaded = Detector.load(directory)
    assert (loaded.model_name, loaded.kind, loaded.task, loaded.classes, loaded.normal_class) == (
        det.model_name,
        det.kind,
        det.task,
        det.classes,
        det.normal_class,
    )
    assert loaded.features == det.features and loaded.categorical == det.categorical
    np.testing.assert_array_equal(loaded.predict_proba(frame), det.predict_proba(frame))
    pd.testing.assert_frame_equal(loaded.predict(frame), det.predict(frame))
    assert loaded.metadata["dataset"] == "unsw-nb15"


def test_predict_keeps_rows_and_index(multiclass, frame):
    det = multiclass.detector
    shuffled = frame.sample(frac=1.0, random_state=3)
    shuffled.index = shuffled.index + 1000
    out = det.predict(shuffled)
    assert list(out.columns) == ["predicted", "confidence", "is_attack", "status"]
    assert len(out) == len(shuffled)
    assert out.index.equals(shuffled.index)
    proba = det.predict_proba(shuffled)
    assert proba.shape == (len(shuffled), 4)
    np.testing.assert_allclose(out["confidence"].to_numpy(), proba.max(axis=1))
    assert out["predicted"].tolist() == np.asarray(det.classes)[proba.argmax(axis=1)].tolist()
    assert (out["is_attack"] == (out["predicted"] != "Normal")).all()
    assert set(out["status"]) == {"ok"}
    # a row's verdict does not depend on its neighbours
    single = det.predict(shuffled.iloc[[5]])
    assert single["predicted"].iloc[0] == out["predicted"].iloc[5]


def test_binary_verdicts(binary, frame):
    out = binary.detector.predict(frame)
    assert set(out["predicted"]) <= {"attack", "normal"}
    assert (out["is_attack"] == (out["predicted"] == "attack")).all()


def test_missing_columns_are_listed(multiclass, frame):
    with pytest.raises(SchemaError, match=r"lacks 2 feature column\(s\) this detector needs: service, sttl\."):
        multiclass.detector.predict(frame.drop(columns=["sttl", "service"]))
    with pytest.raises(SchemaError, match="Expected columns: dur, proto"):
        multiclass.detector.predict_proba(frame.drop(columns=["dur"]))


def test_extra_columns_are_ignored_and_names_are_forgiving(multiclass, frame):
    det = multiclass.detector
    reference = det.predict(frame[unsw.FEATURES])
    messy = frame.copy()
    messy["comment"] = "x"
    messy = messy[list(reversed(messy.columns))]
    messy = messy.rename(columns={"sttl": "STTL", "proto": " proto "})
    aligned, extras = det.align(messy)
    assert list(aligned.columns) == unsw.FEATURES
    assert sorted(extras) == ["attack_cat", "comment", "id", "label"]
    pd.testing.assert_frame_equal(det.predict(messy), reference)


def test_row_status_names_imputed_values(multiclass, frame):
    det = multiclass.detector
    dirty = frame.head(5).copy().astype({"sbytes": object, "dur": object, "rate": object})
    dirty.loc[1, "sbytes"] = "Infinity"
    dirty.loc[3, "dur"] = "n/a"
    dirty.loc[3, "rate"] = None
    out = det.predict(dirty)
    assert out["status"].tolist() == ["ok", "imputed: sbytes", "ok", "imputed: dur, rate", "ok"]
    assert np.isfinite(out["confidence"]).all()
    assert len(out) == 5


def test_empty_input(multiclass, frame):
    out = multiclass.detector.predict(frame.head(0))
    assert len(out) == 0
    assert list(out.columns) == ["predicted", "confidence", "is_attack", "status"]
    assert multiclass.detector.predict_proba(frame.head(0)).shape == (0, 4)


def test_load_rejects_other_directories(tmp_path, multiclass):
    with pytest.raises(NidsError, match=r"is not a detector directory: expected detector\.json"):
        Detector.load(tmp_path)
    directory = multiclass.detector.save(tmp_path / "det")
    info = json.loads((directory / "detector.json").read_text())
    info["format_version"] = 99
    (directory / "detector.json").write_text(json.dumps(info))
    with pytest.raises(NidsError, match="detector format 99, expected 1"):
        Detector.load(directory)


def test_a_class_missing_from_the_training_rows_gets_a_zero_column(multiclass):
    from sklearn.ensemble import RandomForestClassifier

    det = dataclasses.replace(multiclass.detector)  # a copy: the module's detector keeps its forest
    n = det.model.n_features_in_
    rng = np.random.default_rng(0)
    # a forest that never saw class 1 ("Exploits") of the detector's four classes
    det.model = RandomForestClassifier(n_estimators=5, random_state=0).fit(rng.normal(size=(60, n)), np.repeat([0, 2, 3], 20))
    X = rng.normal(size=(FAST_MAX_ROWS + 1, n)).astype(np.float32)  # over the small-batch path's size
    full = det.predict_proba_features(X)
    assert full.shape == (len(X), 4) and (full[:, 1] == 0).all()
    np.testing.assert_allclose(full[:, [0, 2, 3]], det.model.predict_proba(X))
    np.testing.assert_allclose(det.predict_proba_features(X[:3]), full[:3])  # the small-batch path agrees


def test_random_protocol_and_dropped_features(dataset):
    result = run_experiment(
        dataset, "rf", "binary", "random", seed=1, train_cfg=CFG, feature_cfg=FeatureConfig(min_frequency=1),
        variant="no_ttl", drop_features=("sttl", "ct_state_ttl", "proto"),
    )  # fmt: skip
    det = result.detector
    assert "sttl" not in det.features and "proto" not in det.features
    assert det.categorical == ["service", "state"]
    assert result.record["variant"] == "no_ttl"
    assert result.record["n_features_in"] == 39
    assert det.metadata["dropped_features"] == ["sttl", "ct_state_ttl", "proto"]
    # the dataset itself is not modified
    assert "sttl" in dataset.features.columns and "proto" in dataset.categorical


def test_max_train_rows_subsamples_every_class(dataset):
    result = run_experiment(dataset, "rf", "multiclass", "dedup", seed=0, train_cfg=CFG, max_train_rows=40)
    assert result.record["n_train"] <= 45
    assert result.record["n_test"] == len(result.split.test)


def test_same_seed_same_model(dataset, multiclass, frame):
    again = run_experiment(dataset, "rf", "multiclass", "dedup", seed=0, train_cfg=CFG)
    np.testing.assert_array_equal(again.detector.predict_proba(frame), multiclass.detector.predict_proba(frame))
    assert again.record["split_fingerprint"] == multiclass.record["split_fingerprint"]


def test_unknown_model_and_task(dataset):
    with pytest.raises(UnknownNameError, match=r"unknown model 'xgboost'; expected one of: .*rf"):
        run_experiment(dataset, "xgboost")
    with pytest.raises(UnknownNameError, match="unknown task"):
        run_experiment(dataset, "rf", task="regression", train_cfg=CFG)

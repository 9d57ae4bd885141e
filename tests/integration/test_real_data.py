"""The real dataset files from NIDS_DATA_DIR: provenance, the audit's published facts, split
hygiene, a small Random Forest and the CLI end to end. Values are checked against
/work/shared/data/README.md (the data directory's README) with tolerances where they are measured."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest

from nids.audit import audit, feature_groups
from nids.datasets import load_dataset, load_file, nslkdd, unsw
from nids.datasets.io import read_table
from nids.datasets.sources import files_for
from nids.experiments import run_experiment
from nids.features import fit_preprocessor, output_features, transform
from nids.models.forest import ForestConfig
from nids.splits import leakage, make_split
from nids.training import TrainConfig

pytestmark = [pytest.mark.integration, pytest.mark.slow]

UNSW_ZIP_SHA = "f623e048a697d64a41a351bf43109795e6291bbdb654b46b55d0d5fe60a848b8"
UNSW_CSV_SHA = "734fe6642edf758f7c94d7d9149426b49d202fe8e7bf0bef47392489c3c0a559"
UNSW_CLASSES = {
    "Normal": 37_000, "Generic": 18_871, "Exploits": 11_132, "Fuzzers": 6_062, "DoS": 4_089,
    "Reconnaissance": 3_496, "Analysis": 677, "Backdoor": 583, "Shellcode": 378, "Worms": 44,
}  # fmt: skip
NSL_FILES = {
    "KDDTrain+_20Percent": (25_192, "1a1559ff163a1dfa7ad1fba6b00ac6a408cc16741588831b66f043b918881e53"),
    "KDDTest+": (22_544, "86b5ec03d20c040bdbeeb7eb68ae7df37e27a16c5b66a6ba2b62b8fed0e5cdfa"),
    "KDDTest-21": (11_850, "746993ac9e25868827cacf09eab450050a2a1056e1ce48a1ad39f5dc801d531d"),
}


@pytest.fixture(scope="module")
def unsw_real(real_data_dir):
    return load_dataset("unsw-nb15", real_data_dir)


@pytest.fixture(scope="module")
def nsl_real(real_data_dir):
    return load_dataset("nsl-kdd", real_data_dir)


@pytest.fixture(scope="module")
def unsw_zip(real_data_dir):
    return next(f.path(real_data_dir) for f in files_for("unsw-nb15"))


# -- UNSW-NB15 ------------------------------------------------------------------------------------


def test_unsw_partition_identified_by_count_and_hash(unsw_real, unsw_zip):
    assert len(unsw_real) == 82_332
    assert len(unsw_real.provenance) == 1
    prov = unsw_real.provenance[0]
    assert prov.sha256 == UNSW_ZIP_SHA
    assert prov.records == 82_332
    assert prov.partition == "official-test"
    assert set(unsw_real.partition) == {"official-test"}
    # the file is called "training-set" but holds the testing partition: the loader says so
    assert any("official-test partition" in note and "swap" in note for note in unsw_real.notes)
    with zipfile.ZipFile(unsw_zip) as archive:
        (member,) = archive.namelist()
        data = archive.read(member)
    assert member == "UNSW_NB15_training-set.csv"
    assert hashlib.sha256(data).hexdigest() == UNSW_CSV_SHA
    assert data[:3] == b"\xef\xbb\xbf"


def test_unsw_columns_and_classes(unsw_real, unsw_zip):
    assert list(unsw_real.features.columns) == unsw.FEATURES
    assert unsw_real.labels.value_counts().to_dict() == UNSW_CLASSES
    raw, _ = read_table(unsw_zip)
    assert raw.shape == (82_332, 45)
    assert raw.columns[0] == "id"  # BOM stripped
    assert (unsw_real.target("binary") == "attack").sum() == int(raw["label"].sum())
    # "-" is a real service category, in about 57% of rows
    assert (unsw_real.features["service"] == "-").mean() == pytest.approx(0.57, abs=0.01)
    assert set(unsw_real.features["is_ftp_login"].unique()) >= {0, 1, 2}


def test_unsw_audit_matches_the_published_facts(unsw_real):
    report = audit(unsw_real, shortcut_columns=["sttl", "ct_state_ttl"])
    assert report.records == 82_332
    assert report.duplicate_rows == 28_386
    assert report.duplicate_rows / report.records == pytest.approx(0.345, abs=0.0005)
    assert report.conflicting_groups == 575
    assert report.conflicting_groups_binary == 6
    assert report.ceiling_accuracy == pytest.approx(0.936, abs=0.0005)
    assert report.ceiling_accuracy_binary == pytest.approx(0.9999, abs=0.00005)
    assert report.majority_class_accuracy == pytest.approx(37_000 / 82_332)
    sttl = next(s for s in report.shortcuts if s["feature"] == "sttl")
    assert sttl["binary_accuracy"] == pytest.approx(0.766, abs=0.001)


def test_unsw_dedup_split_has_no_cross_side_twins(unsw_real):
    split = make_split(unsw_real, "dedup", seed=0)
    assert sum(split.sizes().values()) == 82_332
    groups = feature_groups(unsw_real.features)
    train, val, test = (set(groups[rows].tolist()) for rows in (split.train, split.val, split.test))
    assert not train & val and not train & test and not val & test
    assert leakage(unsw_real, split)["test_rows_with_train_twin"] == 0
    assert split.sizes()["test"] / 82_332 == pytest.approx(0.2, abs=0.02)
    assert make_split(unsw_real, "dedup", seed=0).fingerprint() == split.fingerprint()
    # the random split of the same file does put copies of training rows in its test split
    random_leak = leakage(unsw_real, make_split(unsw_real, "random", seed=0))
    assert random_leak["test_share_with_train_twin"] > 0.1


def test_unsw_official_split_needs_the_training_partition(unsw_real):
    from nids.errors import NidsError

    with pytest.raises(NidsError, match="found only: official-test"):
        make_split(unsw_real, "official")


# accuracy range per task: sane lower bounds, and the audit's ceiling (0.936 multiclass) as an upper one
@pytest.mark.parametrize(("task", "minimum", "maximum"), [("multiclass", 0.80, 0.95), ("binary", 0.93, 0.9999)])
def test_random_forest_on_a_subsample(unsw_real, task, minimum, maximum):
    cfg = TrainConfig(forest=ForestConfig(n_estimators=30))
    result = run_experiment(unsw_real, "rf", task, "dedup", seed=0, train_cfg=cfg, max_train_rows=10_000)
    record = result.record
    assert 9_000 <= record["n_train"] <= 10_100
    assert record["n_test"] == len(result.split.test) > 15_000
    assert minimum < record["accuracy"] < maximum
    assert 0 <= record["far"] < 0.15
    assert record["roc_auc"] > 0.85
    if task == "multiclass":
        assert len(result.detector.classes) == 10
        assert 0.3 < record["f1_macro"] < 0.8
    else:
        assert result.detector.classes == ["attack", "normal"]
        assert record["detection_rate"] > 0.9


# -- NSL-KDD --------------------------------------------------------------------------------------


def test_nslkdd_files_and_partitions(nsl_real, real_data_dir):
    assert nsl_real.partition.value_counts().to_dict() == {name: n for name, (n, _) in NSL_FILES.items()}
    assert {p.partition: (p.records, p.sha256) for p in nsl_real.provenance} == NSL_FILES
    assert list(nsl_real.features.columns) == nslkdd.FEATURES
    assert "difficulty" not in nsl_real.features.columns
    assert set(nsl_real.labels) == {"normal", "DoS", "Probe", "R2L", "U2R"}
    # label names (normal + attacks): 22 in the training file, 38 in the test file
    names = {}
    for name in ("KDDTrain+_20Percent", "KDDTest+"):
        raw, _ = read_table(real_data_dir / "nsl-kdd" / f"{name}.txt", header=False, names=nslkdd.COLUMNS)
        names[name] = set(raw["attack"])
    assert len(names["KDDTrain+_20Percent"]) == 22
    assert len(names["KDDTest+"]) == 38
    assert len(names["KDDTest+"] - names["KDDTrain+_20Percent"]) >= 15  # attacks never seen in training


def test_nslkdd_single_file_is_recognised_by_content(real_data_dir):
    ds = load_file(real_data_dir / "nsl-kdd" / "KDDTest-21.txt")
    assert ds.name == "nsl-kdd"
    assert len(ds) == 11_850
    assert ds.provenance[0].partition == "KDDTest-21"


def test_nslkdd_train_test_alignment(nsl_real):
    train = nsl_real.features[nsl_real.partition == "KDDTrain+_20Percent"]
    test = nsl_real.features[nsl_real.partition == "KDDTest+"]
    unseen = set(test["service"]) - set(train["service"])
    assert unseen, "KDDTest+ has services that the training file never shows"
    pre = fit_preprocessor(train, nsl_real.categorical)
    X_train, X_test = transform(pre, train), transform(pre, test)
    assert X_train.shape[1] == X_test.shape[1] == len(output_features(pre))
    assert X_test.shape[0] == 22_544
    assert np.isfinite(X_test).all()
    rows = test["service"].isin(unseen).to_numpy()
    service_columns = [i for i, n in enumerate(output_features(pre)) if n.startswith("cat__service_")]
    # an unseen service lands in the shared "infrequent" column (or none), never in a known service's column
    known = [i for i in service_columns if not output_features(pre)[i].endswith("infrequent_sklearn")]
    assert (X_test[np.ix_(rows, known)] == 0).all()


def test_nslkdd_official_split(nsl_real):
    split = make_split(nsl_real, "official", seed=0)
    assert split.test_partition == "KDDTest+"
    assert len(split.test) == 22_544
    assert len(split.train) + len(split.val) == 25_192


# -- the CLI end to end ---------------------------------------------------------------------------


def _nids(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nids.cli", *args], capture_output=True, text=True, timeout=600)


def test_cli_train_then_predict(real_data_dir, unsw_zip, tmp_path):
    model = tmp_path / "rf"
    done = _nids("train", "--model", "rf", "--data-dir", str(real_data_dir), "--max-train-rows", "8000", "--trees", "20",
                 "--out", str(model))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "rf multiclass on unsw-nb15 (dedup split, seed 0)" in done.stdout
    assert (model / "detector.json").is_file()

    frame, _ = read_table(unsw_zip)
    sample = frame.sample(500, random_state=0).sort_index()  # label-sorted file: sample across it
    source = tmp_path / "slice.csv"
    sample.to_csv(source, index=False)
    output = tmp_path / "verdicts.csv"
    done = _nids("predict", "--model", str(model), "--input", str(source), "--output", str(output))
    assert done.returncode == 0, done.stderr
    verdicts = pd.read_csv(output)
    assert len(verdicts) == 500
    assert verdicts["row"].tolist() == list(range(1, 501))
    assert set(verdicts["predicted"]) <= set(UNSW_CLASSES)
    assert set(verdicts["status"]) == {"ok"}
    assert (verdicts["is_attack"] == (verdicts["predicted"] != "Normal")).all()
    agreement = (verdicts["predicted"].to_numpy() == sample["attack_cat"].to_numpy()).mean()
    assert agreement > 0.7
    assert "500 rows scored" in done.stdout


def test_cli_data_check_on_the_real_zip(unsw_zip):
    done = _nids("data", "check", str(unsw_zip))
    assert done.returncode == 0, done.stderr
    assert "partition: official-test (82,332 records)" in done.stdout
    assert UNSW_ZIP_SHA in done.stdout
    assert "duplicate rows (repeat an earlier row's features): 28,386" in done.stdout

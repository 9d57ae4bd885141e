"""Dataset loaders: typed frames, labels, partitions named by record count, clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nids.datasets import LOADERS, load_dataset, load_file, nslkdd, sniff, unsw
from nids.datasets.base import BINARY_LABELS, Provenance
from nids.datasets.io import sha256_file
from nids.datasets.sources import files_for
from nids.errors import BadInputError, DataNotFoundError, SchemaError, UnknownNameError


def _kdd_lines(attacks: list[str], seed: int = 0) -> str:
    """Header-less NSL-KDD lines (43 fields) with generated values."""
    rng = np.random.default_rng(seed)
    lines = []
    for attack in attacks:
        numeric = [str(int(rng.integers(0, 100))) for _ in range(len(nslkdd.FEATURES) - 4)]
        proto = str(rng.choice(["tcp", "udp", "icmp"]))
        service = str(rng.choice(["http", "ftp_data", "private"]))
        lines.append(",".join([str(int(rng.integers(0, 5))), proto, service, "SF", *numeric, attack, str(rng.integers(1, 22))]))
    return "\n".join(lines) + "\n"


# -- UNSW-NB15 ------------------------------------------------------------------------------------


def test_frame_to_dataset_features_labels_partition(unsw_dataset, unsw_frame, synth_facts):
    ds = unsw_dataset
    assert ds.name == "unsw-nb15"
    assert list(ds.features.columns) == unsw.FEATURES
    assert len(ds.features.columns) == 42
    assert not {"id", "attack_cat", "label"} & set(ds.features.columns)
    assert ds.categorical == ["proto", "service", "state"]
    assert ds.numeric == [c for c in unsw.FEATURES if c not in ("proto", "service", "state")]
    assert len(ds) == synth_facts.rows
    assert ds.labels.value_counts().to_dict() == synth_facts.classes
    assert ds.normal_label == "Normal"
    assert set(ds.partition) == {"unknown"}
    # categorical values are stripped lower case ("FIN" -> "fin"); "-" stays a real category
    assert set(ds.features["state"]) <= {"fin", "con", "int", "req"}
    assert "-" in set(ds.features["service"])


def test_targets(unsw_dataset, unsw_frame):
    binary = unsw_dataset.target("binary")
    assert set(binary) == set(BINARY_LABELS)
    expected = np.where(unsw_frame["attack_cat"] == "Normal", "normal", "attack")
    assert binary.tolist() == expected.tolist()
    assert unsw_dataset.target("multiclass").tolist() == unsw_frame["attack_cat"].tolist()
    assert unsw_dataset.normal_class("binary") == "normal"
    assert unsw_dataset.normal_class("multiclass") == "Normal"
    with pytest.raises(UnknownNameError, match="unknown task 'ternary'; expected one of: binary, multiclass"):
        unsw_dataset.target("ternary")


def test_label_aliases_and_spaces(unsw_frame):
    raw = unsw_frame.head(4).copy()
    raw["attack_cat"] = [" Backdoors", "Exploits ", np.nan, ""]
    raw["proto"] = [" TCP", "udp ", "Tcp", "tcp"]
    ds = unsw.frame_to_dataset(raw, [], np.full(4, "unknown", dtype=object))
    assert ds.labels.tolist() == ["Backdoor", "Exploits", "Normal", "Normal"]
    assert ds.features["proto"].tolist() == ["tcp", "udp", "tcp", "tcp"]


def test_missing_columns_are_listed(unsw_frame):
    raw = unsw_frame.drop(columns=["sttl", "attack_cat"])
    with pytest.raises(SchemaError, match=r"missing columns \['sttl', 'attack_cat'\]"):
        unsw.frame_to_dataset(raw, [], np.full(len(raw), "unknown", dtype=object))


def test_subset_and_describe(unsw_dataset, synth_facts):
    mask = (unsw_dataset.labels == "DoS").to_numpy()
    sub = unsw_dataset.subset(mask)
    assert len(sub) == synth_facts.classes["DoS"]
    assert set(sub.labels) == {"DoS"}
    assert sub.features.index.tolist() == list(range(len(sub)))
    info = unsw_dataset.describe()
    assert info["records"] == synth_facts.rows
    assert info["features"] == 42
    assert info["classes"] == synth_facts.classes
    assert info["partitions"] == {"unknown": synth_facts.rows}


def test_partition_by_record_count():
    assert unsw.partition_of(82_332) == "official-test"
    assert unsw.partition_of(175_341) == "official-train"
    assert unsw.partition_of(1000) == "unknown"


def test_load_paths_names_partition_by_count_not_name(tmp_path, unsw_frame, monkeypatch, write_tbl):
    # pretend the synthetic table's size is the official test partition's size
    monkeypatch.setitem(unsw.PARTITION_BY_RECORDS, len(unsw_frame), "official-test")
    path = write_tbl(unsw_frame, tmp_path / "UNSW_NB15_training-set.csv", "bom")
    ds = unsw.load_paths([path])
    assert set(ds.partition) == {"official-test"}
    assert ds.provenance == [Provenance(str(path), sha256_file(path), len(unsw_frame), "official-test")]
    assert len(ds.notes) == 1
    assert "official-test partition" in ds.notes[0] and "says 'train'" in ds.notes[0]


def test_two_partitions_get_their_own_labels(tmp_path, monkeypatch, make_unsw, write_tbl):
    small = make_unsw({"Normal": 10, "Exploits": 6}, duplicates=False)
    large = make_unsw({"Normal": 14, "DoS": 6}, seed=3, duplicates=False)
    monkeypatch.setitem(unsw.PARTITION_BY_RECORDS, len(small), "official-test")
    monkeypatch.setitem(unsw.PARTITION_BY_RECORDS, len(large), "official-train")
    a = write_tbl(small, tmp_path / "unsw_a.csv", "csv")
    b = write_tbl(large, tmp_path / "unsw_b.csv.gz", "gz")
    ds = unsw.load_paths([a, b])
    assert len(ds) == len(small) + len(large)
    assert ds.partition.value_counts().to_dict() == {"official-train": len(large), "official-test": len(small)}
    assert ds.partition.iloc[: len(small)].eq("official-test").all()
    assert [p.partition for p in ds.provenance] == ["official-test", "official-train"]


def test_same_file_under_two_names_is_read_once(tmp_path, unsw_frame, write_tbl):
    a = write_tbl(unsw_frame, tmp_path / "unsw_a.csv", "csv")
    b = tmp_path / "unsw_copy.csv"
    b.write_bytes(a.read_bytes())
    ds = unsw.load_paths([a, b])
    assert len(ds) == len(unsw_frame)
    assert len(ds.provenance) == 1


@pytest.mark.parametrize("kind", ["csv", "gz", "zip", "bom", "parquet"])
def test_load_file_any_container(unsw_files, synth_facts, kind):
    assert sniff(unsw_files[kind]) == "unsw-nb15"
    ds = load_file(unsw_files[kind])
    assert len(ds) == synth_facts.rows
    assert ds.labels.value_counts().to_dict() == synth_facts.classes


def test_load_dataset_from_data_dir(synth_data_dir):
    ds = load_dataset("unsw-nb15", synth_data_dir)
    assert len(ds) == 180 + 7
    assert set(ds.labels) == {"Normal", "Exploits", "Generic", "DoS"}
    assert ds.provenance[0].file.endswith("unsw_synth_training-set.csv")


def test_load_dataset_reads_env(synth_data_dir, monkeypatch):
    monkeypatch.setenv("NIDS_DATA_DIR", str(synth_data_dir))
    assert len(load_dataset()) == 187


@pytest.mark.parametrize("name", ["unsw-nb15", "nsl-kdd"])
def test_missing_data_message_names_files_and_hashes(tmp_path, name):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataNotFoundError) as info:
        load_dataset(name, empty)
    message = str(info.value)
    for raw in files_for(name):
        assert str(raw.path(empty)) in message
        assert raw.sha256 in message
        assert f"{raw.records:,}" in message
    assert f"nids data fetch --dataset {name}" in message


def test_unknown_dataset_name(tmp_path):
    with pytest.raises(UnknownNameError, match="unknown dataset 'cicids'; expected one of: nsl-kdd, unsw-nb15"):
        load_dataset("cicids", tmp_path)
    assert set(LOADERS) == {"unsw-nb15", "nsl-kdd"}


def test_sniff_rejects_other_tables(tmp_path):
    path = tmp_path / "other.csv"
    pd.DataFrame({"a": [1, 2], "b": [3, 4]}).to_csv(path, index=False)
    with pytest.raises(BadInputError, match=r"not a UNSW-NB15 partition .* nor an NSL-KDD file"):
        sniff(path)


# -- NSL-KDD --------------------------------------------------------------------------------------


def test_group_mapping_including_test_only_names():
    names = pd.Series(["normal", "neptune", "smurf", "satan", "guess_passwd", "buffer_overflow", " Normal "])
    assert nslkdd.group_of(names).tolist() == ["normal", "DoS", "DoS", "Probe", "R2L", "U2R", "normal"]
    # names that occur only in the test files
    test_only = pd.Series(["apache2", "mailbomb", "processtable", "udpstorm", "mscan", "saint", "httptunnel",
                           "snmpgetattack", "snmpguess", "named", "sendmail", "worm", "xlock", "xsnoop",
                           "ps", "sqlattack", "xterm"])  # fmt: skip
    groups = nslkdd.group_of(test_only)
    assert groups.tolist() == ["DoS"] * 4 + ["Probe"] * 2 + ["R2L"] * 8 + ["U2R"] * 3
    assert set(nslkdd.ATTACK_GROUPS.values()) == {"normal", "DoS", "Probe", "R2L", "U2R"}


def test_unknown_attack_name_is_an_error():
    with pytest.raises(SchemaError, match=r"no known group: \['zeroday'\]"):
        nslkdd.group_of(pd.Series(["normal", "zeroday", "neptune"]))


def test_nslkdd_load_paths(tmp_path):
    attacks = ["normal"] * 6 + ["neptune"] * 3 + ["satan", "apache2", "guess_passwd", "rootkit"]
    path = tmp_path / "KDDTest+.txt"
    path.write_text(_kdd_lines(attacks))
    ds = nslkdd.load_paths([path])
    assert ds.name == "nsl-kdd"
    assert len(ds) == len(attacks)
    assert list(ds.features.columns) == nslkdd.FEATURES
    assert "difficulty" not in ds.features.columns and "attack" not in ds.features.columns
    assert ds.labels.tolist() == ["normal"] * 6 + ["DoS"] * 3 + ["Probe", "DoS", "R2L", "U2R"]
    assert ds.normal_label == "normal"
    # not one of the known record counts: the partition falls back to the file stem
    assert set(ds.partition) == {"KDDTest+"}
    assert ds.provenance[0].records == len(attacks)
    assert sniff(path) == "nsl-kdd"
    assert len(load_file(path)) == len(attacks)


def test_nslkdd_partition_by_count(tmp_path, monkeypatch):
    monkeypatch.setitem(nslkdd.PARTITION_BY_RECORDS, 5, "KDDTest-21")
    path = tmp_path / "kdd_whatever.txt"
    path.write_text(_kdd_lines(["normal"] * 5))
    assert set(nslkdd.load_paths([path]).partition) == {"KDDTest-21"}


def test_nslkdd_load_dataset_from_dir(tmp_path):
    folder = tmp_path / "nsl-kdd"
    folder.mkdir()
    (folder / "KDDTrain+_20Percent.txt").write_text(_kdd_lines(["normal"] * 4 + ["neptune"] * 4))
    (folder / "KDDTest+.txt").write_text(_kdd_lines(["normal"] * 3 + ["mscan"] * 2, seed=1))
    ds = load_dataset("nsl-kdd", tmp_path)
    assert len(ds) == 13
    assert ds.partition.value_counts().to_dict() == {"KDDTrain+_20Percent": 8, "KDDTest+": 5}


def test_nslkdd_wrong_field_count(tmp_path):
    path = tmp_path / "KDDTest+.txt"
    path.write_text("0,tcp,http,SF,1,2,normal\n0,udp,dns,SF,3,4,normal\n")
    with pytest.raises(SchemaError, match="expected 43 comma-separated NSL-KDD fields"):
        nslkdd.load_paths([path])

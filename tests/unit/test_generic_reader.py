"""The generic flow-table reader (``--dataset csv:PATH``): labels, identifiers, encodings, numeric
cleaning, containers, and a hand-made CIC-IDS2017-style table trained and scored end to end.

Every table here is generated in the test; none holds rows of a real dataset.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nids.datasets import load_dataset, load_file
from nids.datasets.generic import canonical_label, load_csv, normalise_labels
from nids.datasets.io import read_table
from nids.detector import Detector
from nids.errors import BadInputError, NidsError
from nids.experiments import run_experiment
from nids.features import fit_preprocessor, transform
from nids.models.forest import ForestConfig
from nids.training import TrainConfig

RF = TrainConfig(forest=ForestConfig(n_estimators=15, n_jobs=1))
EN_DASH = "\u2013"
CIC_WEB = f"Web Attack {EN_DASH} Brute Force"
CIC_CLASSES = ["BENIGN", "DoS Hulk", "Web Attack - Brute Force"]
# CIC-IDS2017 writes most header names with a leading space; "Flow Bytes/s" has none.
CIC_HEADER = [
    "Flow ID", " Source IP", " Source Port", " Destination IP", " Destination Port", " Protocol", " Timestamp",
    " Flow Duration", " Total Fwd Packets", " Total Backward Packets", "Total Length of Fwd Packets",
    "Flow Bytes/s", " Flow Packets/s", " Fwd Packet Length Mean", " Label",
]  # fmt: skip
CIC_IDS = ["Flow ID", "Source IP", "Destination IP", "Timestamp"]
CIC_ROWS = {"BENIGN": 160, "DoS Hulk": 80, CIC_WEB: 54, "Web Attack - Brute Force": 6}
CIC_INFINITY_ROWS = (3, 170, 250)  # zero-duration flows: CICFlowMeter writes Infinity for their rates
CIC_NAN_ROWS = (10, 200)


def _cic_lines(seed: int = 0) -> list[str]:
    """A CIC-IDS2017-style table: id columns, class-dependent flow statistics, Infinity and NaN rates."""
    rng = np.random.default_rng(seed)
    lines = [",".join(CIC_HEADER)]
    row = 0
    for label, n in CIC_ROWS.items():
        benign, dos = label == "BENIGN", label == "DoS Hulk"
        for _ in range(n):
            src, dst = f"192.168.10.{rng.integers(2, 60)}", f"172.16.0.{rng.integers(1, 9)}"
            sport = int(rng.integers(1024, 65535))
            dport = int(rng.choice([53, 443, 80])) if benign else 80
            proto = 17 if dport == 53 else 6
            duration = int(
                rng.integers(1_000, 5_000_000) if benign else rng.integers(50, 2_000) if dos else rng.integers(5e6, 6e6)
            )
            fwd = int(rng.integers(1, 20) if benign else rng.integers(3, 8) if dos else rng.integers(20, 40))
            bwd = int(rng.integers(0, 20) if benign else rng.integers(0, 3) if dos else rng.integers(20, 40))
            length = int(fwd * rng.integers(40, 1400) if benign else fwd * 300 if dos else fwd * rng.integers(60, 90))
            if row in CIC_INFINITY_ROWS:
                duration, bytes_s, packets_s = 0, "Infinity", "Infinity"
            else:
                bytes_s, packets_s = f"{length / duration * 1e6:.4f}", f"{(fwd + bwd) / duration * 1e6:.4f}"
            if row in CIC_NAN_ROWS:
                bytes_s = "NaN"
            fields = [
                f"{src}-{dst}-{sport}-{dport}-{proto}", src, sport, dst, dport, proto, f"7/7/2017 {9 + row // 60}:{row % 60:02d}",
                duration, fwd, bwd, length, bytes_s, packets_s, round(length / fwd, 3), f" {label}",
            ]  # fmt: skip
            lines.append(",".join(str(f) for f in fields))
            row += 1
    return lines


@pytest.fixture(scope="module")
def cic_file(tmp_path_factory):
    """The CIC-style table written as Windows-1252 bytes (the en dash is byte 0x96), as CIC-IDS2017 ships it."""
    path = tmp_path_factory.mktemp("cic") / "Thursday-WorkingHours-Morning-WebAttacks.pcap_ISCX.csv"
    data = ("\r\n".join(_cic_lines()) + "\r\n").encode("cp1252")
    assert b"Web Attack \x96 Brute Force" in data
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def cic(cic_file):
    return load_dataset(f"csv:{cic_file}")


@pytest.fixture(scope="module")
def cic_rf(cic):
    return run_experiment(cic, "rf", "multiclass", "dedup", seed=0, train_cfg=RF)


def _write(path, text: str, encoding: str = "utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def _flows(n: int = 40, seed: int = 0) -> pd.DataFrame:
    """A small generic flow table: two numeric features, one categorical, labels normal / dos / probe."""
    rng = np.random.default_rng(seed)
    labels = np.array(["normal", "dos", "probe"])[np.arange(n) % 3]
    return pd.DataFrame(
        {
            "duration": rng.integers(0, 100, n),
            "bytes": np.where(labels == "dos", rng.integers(5000, 9000, n), rng.integers(10, 900, n)),
            "proto": np.where(labels == "probe", "icmp", "tcp"),
            "class": labels,
        }
    )


# -- labels ---------------------------------------------------------------------------------------


def test_detected_label_prefers_attack_cat_over_binary_label(tmp_path):
    frame = _flows().rename(columns={"class": "attack_cat"})
    frame.insert(0, "label", (frame["attack_cat"] != "normal").astype(int))  # first in the file, fewer classes
    frame.to_csv(tmp_path / "t.csv", index=False)
    ds = load_csv(tmp_path / "t.csv")
    assert ds.labels.name == "attack_cat"
    assert sorted(ds.labels.unique()) == ["dos", "normal", "probe"]
    assert ds.normal_label == "normal"
    assert list(ds.features.columns) == ["duration", "bytes", "proto"]
    assert "label column: 'attack_cat' (detected)" in ds.notes
    assert "other label-like columns dropped from the features: ['label']" in ds.notes
    assert ds.target("binary").value_counts().to_dict() == {"attack": 26, "normal": 14}


def test_label_column_named_case_and_space_insensitively(tmp_path):
    frame = _flows().rename(columns={"class": "attack_cat"})
    frame[" Label "] = (frame["attack_cat"] != "normal").astype(int)
    frame.to_csv(tmp_path / "t.csv", index=False)
    ds = load_dataset(f"csv:{tmp_path / 't.csv'}", label_column="  LABEL")
    assert ds.labels.name == "Label"
    assert sorted(ds.labels.unique()) == ["0", "1"]
    assert ds.normal_label == "0"  # a 0/1 label: 0 is benign
    assert "attack_cat" not in ds.features.columns and "Label" not in ds.features.columns
    assert not any("(detected)" in note for note in ds.notes)
    with pytest.raises(BadInputError, match=r"--label-column 'verdict' not found; columns are \['duration'"):
        load_csv(tmp_path / "t.csv", label_column="verdict")


def test_no_label_column(tmp_path):
    _flows().drop(columns="class").to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(BadInputError, match=r"no label column found: expected one of attack_cat, .*--label-column"):
        load_csv(tmp_path / "t.csv")


def test_normal_label_detected_and_named(tmp_path):
    frame = _flows()
    frame["class"] = frame["class"].replace({"normal": "BENIGN"})
    frame.to_csv(tmp_path / "t.csv", index=False)
    assert load_csv(tmp_path / "t.csv").normal_label == "BENIGN"
    named = load_csv(tmp_path / "t.csv", normal_label="  Probe ")
    assert named.normal_label == "probe"
    assert named.target("binary").value_counts().to_dict() == {"attack": 27, "normal": 13}
    with pytest.raises(NidsError, match=r"--normal-label 'benign traffic' is not a label in the file; labels are"):
        load_csv(tmp_path / "t.csv", normal_label="benign traffic")


def test_benign_class_not_found(tmp_path):
    frame = _flows()
    frame["class"] = frame["class"].replace({"normal": "quiet"})
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(NidsError, match=r"cannot tell which label means benign traffic; name it with --normal-label"):
        load_csv(tmp_path / "t.csv")
    assert load_csv(tmp_path / "t.csv", normal_label="quiet").normal_label == "quiet"


def test_label_spellings_differing_in_dash_space_or_case_merge():
    raw = pd.Series(
        [
            f"Web Attack {EN_DASH} Brute Force",
            f"Web Attack {EN_DASH} Brute Force",
            "Web Attack - Brute Force",
            "Web Attack \u2014 Brute Force",
            "  web attack  -  BRUTE force ",
            "Web Attack-Brute Force",
            "Web Attack \ufffd Brute Force",  # the 0x96 byte decoded as UTF-8 with errors replaced
            "BENIGN",
            "benign",
        ]
    )
    labels, merged = normalise_labels(raw)
    assert labels.tolist() == ["Web Attack - Brute Force"] * 7 + ["BENIGN"] * 2
    assert merged[f"Web Attack {EN_DASH} Brute Force"] == "Web Attack - Brute Force"
    assert merged["benign"] == "BENIGN"
    assert "Web Attack - Brute Force" not in merged and "BENIGN" not in merged
    assert canonical_label("  DoS   Hulk ") == "DoS Hulk"


# -- columns, encodings, numbers ------------------------------------------------------------------


def test_identifier_columns_are_dropped_and_listed(tmp_path):
    frame = _flows(12)
    ids = {
        "id": range(12),
        "Flow ID": "a-b-1-2-6",
        " Source IP": "10.0.0.1",
        "Destination IP": "10.0.0.2",
        " Timestamp": "1/1/2020 1:00",
    }
    frame = pd.concat([pd.DataFrame(ids, index=frame.index), frame], axis=1)
    frame.to_csv(tmp_path / "t.csv", index=False)
    ds = load_csv(tmp_path / "t.csv")
    dropped = ["id", "Flow ID", "Source IP", "Destination IP", "Timestamp"]
    assert list(ds.features.columns) == ["duration", "bytes", "proto"]
    assert f"identifier columns dropped from the features: {dropped}" in ds.notes
    assert any("renamed 2 column(s)" in note and "' Source IP'->'Source IP'" in note for note in ds.notes)
    kept = load_csv(tmp_path / "t.csv", keep_id_columns=True)
    assert list(kept.features.columns) == [*dropped, "duration", "bytes", "proto"]


def test_windows_1252_fallback_is_reported(tmp_path):
    text = "duration,proto,Label\n1,tcp,BENIGN\n2,tcp,Web Attack \u2013 XSS\n3,udp,BENIGN\n"
    ds = load_csv(_write(tmp_path / "t.csv", text, "cp1252"))
    assert "file is not valid UTF-8; read as Windows-1252" in ds.notes
    assert ds.labels.tolist() == ["BENIGN", "Web Attack - XSS", "BENIGN"]
    assert any("merged label spellings" in note and "'Web Attack \u2013 XSS': 'Web Attack - XSS'" in note for note in ds.notes)
    utf8 = load_csv(_write(tmp_path / "u.csv", text, "utf-8"))
    assert not any("Windows-1252" in note for note in utf8.notes)
    assert utf8.labels.tolist() == ds.labels.tolist()


def test_utf8_bom_before_windows_1252_bytes(tmp_path):
    # an editor added a UTF-8 BOM to a Windows-1252 file: the BOM must not stick to the first name
    text = "Flow ID,duration,Label\na-b-1,1,BENIGN\na-b-2,2,Web Attack \u2013 XSS\n"
    path = tmp_path / "bom1252.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("cp1252"))
    ds = load_csv(path)
    assert "file is not valid UTF-8; read as Windows-1252" in ds.notes
    assert list(ds.features.columns) == ["duration"]
    assert "identifier columns dropped from the features: ['Flow ID']" in ds.notes


def test_repeated_header_lines_are_dropped_and_counted(tmp_path):
    frame = _flows(30)
    header = ",".join(frame.columns)
    body = frame.to_csv(index=False, header=False).splitlines()
    text = "\n".join([header, *body[:10], header, *body[10:20], f" {header.replace(',', ' , ')} ", *body[20:]]) + "\n"
    ds = load_csv(_write(tmp_path / "t.csv", text))
    assert len(ds) == 30
    assert "dropped 2 repeated header line(s) inside the data" in ds.notes
    assert ds.categorical == ["proto"]  # the numbers are numbers again once the header lines are gone
    assert ds.features["bytes"].tolist() == frame["bytes"].tolist()


def test_numeric_cleaning_counts_and_nothing_non_finite_reaches_a_model(tmp_path):
    frame = _flows(40).astype({"bytes": object, "duration": object})
    bad = {0: "Infinity", 1: "-Infinity", 2: "inf", 3: "NaN", 4: "", 5: "-"}
    for row, value in bad.items():
        frame.loc[row, "bytes"] = value
    frame.loc[7, "duration"] = "  "
    frame.to_csv(tmp_path / "t.csv", index=False)
    ds = load_csv(tmp_path / "t.csv")
    assert ds.categorical == ["proto"]  # one stray text cell in 40 does not make a column categorical
    note = "values to impute (missing, non-finite or text) per numeric column: {'duration': 1, 'bytes': 6}"
    assert note in ds.notes
    X = transform(fit_preprocessor(ds.features, ds.categorical), ds.features)
    assert X.shape[0] == 40 and np.isfinite(X).all()


@pytest.mark.parametrize("kind", ["gz", "zip", "parquet", "bom"])
def test_containers_read_like_the_csv(tmp_path, write_tbl, kind):
    frame = _flows(24)
    suffix = {"gz": ".csv.gz", "zip": ".zip", "parquet": ".parquet", "bom": ".csv"}[kind]
    path = write_tbl(frame, tmp_path / f"flows{suffix}", kind)
    plain = load_csv(write_tbl(frame, tmp_path / "plain.csv", "csv"))
    ds = load_file(path)  # not a UNSW-NB15 or NSL-KDD file: the generic reader takes it
    assert ds.name == f"csv:{path}"
    pd.testing.assert_frame_equal(ds.features, plain.features, check_dtype=False)
    assert ds.labels.tolist() == plain.labels.tolist()
    assert ds.categorical == ["proto"]
    assert ds.provenance[0].records == 24 and ds.provenance[0].partition == "file"


def test_header_only_table(tmp_path):
    with pytest.raises(BadInputError, match="the table has a header but no records"):
        load_csv(_write(tmp_path / "t.csv", "duration,proto,label\n"))


# -- a CIC-IDS2017-style table end to end ---------------------------------------------------------


def test_cic_table_is_read_as_its_authors_meant(cic, cic_file):
    assert len(cic) == sum(CIC_ROWS.values())
    assert sorted(cic.labels.unique()) == CIC_CLASSES
    assert cic.labels.value_counts().to_dict() == {"BENIGN": 160, "DoS Hulk": 80, "Web Attack - Brute Force": 60}
    assert cic.normal_label == "BENIGN"
    assert cic.labels.name == "Label"
    assert "file is not valid UTF-8; read as Windows-1252" in cic.notes
    renamed = next(note for note in cic.notes if note.startswith("renamed"))
    assert "renamed 12 column(s)" in renamed and "' Source IP'->'Source IP'" in renamed
    assert f"identifier columns dropped from the features: {CIC_IDS}" in cic.notes
    assert not set(CIC_IDS) & set(cic.features.columns)
    assert cic.categorical == []
    assert "Source Port" in cic.features.columns and "Flow Bytes/s" in cic.features.columns
    imputed = next(note for note in cic.notes if note.startswith("values to impute"))
    assert "'Flow Bytes/s': 5" in imputed and "'Flow Packets/s': 3" in imputed
    assert cic.provenance[0].records == 300 and cic.provenance[0].partition == "file"


def test_cic_random_forest_trains_and_predicts_every_row(cic_rf, cic, cic_file, tmp_path):
    record = cic_rf.record
    assert record["n_train"] + record["n_val"] + record["n_test"] == len(cic)
    assert record["n_features_in"] == len(cic.features.columns) == 10
    assert record["accuracy"] >= 0.9 and record["f1_macro"] >= 0.8
    detector = Detector.load(cic_rf.detector.save(tmp_path / "rf"))
    assert detector.classes == CIC_CLASSES and detector.normal_class == "BENIGN"
    frame, report = read_table(cic_file)
    assert report.encoding == "windows-1252"
    _aligned, extras = detector.align(frame)
    assert extras == [*CIC_IDS, "Label"]
    verdicts = detector.predict(frame)
    assert len(verdicts) == len(frame) == 300
    assert verdicts.index.equals(frame.index)
    statuses = verdicts["status"]
    for row in CIC_INFINITY_ROWS:
        assert statuses[row] == "imputed: Flow Bytes/s, Flow Packets/s"
    for row in CIC_NAN_ROWS:
        assert statuses[row] == "imputed: Flow Bytes/s"
    assert (statuses == "ok").sum() == 300 - len(CIC_INFINITY_ROWS) - len(CIC_NAN_ROWS)
    assert set(verdicts["predicted"]) <= set(CIC_CLASSES)
    assert np.isfinite(verdicts["confidence"]).all()
    agreement = (verdicts["predicted"].to_numpy() == cic.labels.to_numpy()).mean()
    assert agreement >= 0.9


def test_cic_binary_task(cic):
    result = run_experiment(cic, "rf", "binary", "random", seed=1, train_cfg=RF)
    assert result.detector.classes == ["attack", "normal"]
    assert result.detector.normal_class == "normal"
    assert result.record["accuracy"] >= 0.9


@pytest.mark.slow
def test_cic_bigru_extension_trains_and_predicts(cic, cic_file):
    pytest.importorskip("keras")
    cfg = TrainConfig(epochs=1, batch_size=64, progress=False, deep={"encoder_filters": (4, 8), "rnn_units": 8})
    result = run_experiment(cic, "bigru_seq2seq_convlstm", "multiclass", "dedup", seed=0, train_cfg=cfg)
    record = result.record
    assert record["epochs"] == 1
    assert record["n_features_in"] == 10
    assert 0.0 <= record["accuracy"] <= 1.0
    assert result.proba_test.shape == (record["n_test"], 3)
    np.testing.assert_allclose(result.proba_test.sum(axis=1), 1.0, atol=1e-4)
    frame, _ = read_table(cic_file)
    verdicts = result.detector.predict(frame)
    assert len(verdicts) == 300
    assert set(verdicts["predicted"]) <= set(CIC_CLASSES)
    assert verdicts["status"][CIC_INFINITY_ROWS[0]] == "imputed: Flow Bytes/s, Flow Packets/s"
    assert np.isfinite(verdicts["confidence"]).all()

"""The bad-input corpus (tests/data/bad_inputs/) through every entry point, as its manifest says.

Each file is a few hand-made lines (synthetic values, UNSW-NB15 column names). The manifest,
``expected.json``, gives per entry point either ``rows`` (exit 0, one output row per data row, a
per-row status) or ``error`` (exit 2, one ``error:`` line holding a given message). Never a
traceback, never a silently dropped row.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nids.cli import main
from nids.datasets.io import read_table
from nids.detector import Detector
from nids.features import output_features, transform

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad_inputs"
MANIFEST = json.loads((CORPUS / "expected.json").read_text())["files"]
NOT_INPUTS = {"expected.json", ".gitattributes"}
CASES = [(name, entry) for name in sorted(MANIFEST) for entry in ("data_check", "predict")]


def test_every_corpus_file_is_in_the_manifest():
    on_disk = {p.name for p in CORPUS.iterdir() if p.name not in NOT_INPUTS}
    assert on_disk == set(MANIFEST)
    for name, spec in MANIFEST.items():
        assert spec["about"], name
        for entry in ("data_check", "predict"):
            assert spec[entry]["outcome"] in ("rows", "error"), (name, entry)
            assert ("rows" in spec[entry]) == (spec[entry]["outcome"] == "rows"), (name, entry)
            assert ("message" in spec[entry]) == (spec[entry]["outcome"] == "error"), (name, entry)


def test_corpus_files_are_tiny():
    # hand-made files of a few lines, never a copy of a real dataset file
    for path in CORPUS.iterdir():
        if path.name in NOT_INPUTS:
            continue
        assert path.stat().st_size < 4096, path.name
        if path.suffix == ".csv":
            assert path.read_bytes().count(b"\n") <= 8, path.name


def _run(name: str, entry: str, detector_dir: Path, output: Path) -> int:
    source = str(CORPUS / name)
    if entry == "data_check":
        return main(["data", "check", source])
    return main(["predict", "--model", str(detector_dir), "--input", source, "--output", str(output)])


@pytest.mark.parametrize(("name", "entry"), CASES, ids=[f"{n}-{e}" for n, e in CASES])
def test_corpus(name, entry, small_rf_detector, tmp_path, capsys):
    expected = MANIFEST[name][entry]
    output = tmp_path / "verdicts.csv"
    code = _run(name, entry, small_rf_detector, output)
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "Traceback" not in text
    if expected["outcome"] == "error":
        assert code == 2, text
        assert captured.err.startswith("error: "), captured.err
        assert [line for line in captured.err.splitlines() if line.startswith("error:")] == [captured.err.strip()]
        assert expected["message"] in captured.err
        assert not output.exists()
        return
    assert code == 0, text
    for note in expected.get("notes", []):
        assert note in text, note
    rows = expected["rows"]
    if entry == "data_check":
        assert f"({rows:,} records)" in captured.out
        assert f"records: {rows:,}  features: 42" in captured.out
        return
    verdicts = pd.read_csv(output, keep_default_na=False)
    assert len(verdicts) == rows
    assert verdicts["row"].tolist() == list(range(1, rows + 1))
    assert set(verdicts["predicted"]) <= {"DoS", "Exploits", "Generic", "Normal"}
    assert np.isfinite(verdicts["confidence"]).all()
    assert verdicts["confidence"].between(0, 1).all()
    assert (verdicts["status"] != "").all()
    if "status" in expected:
        assert verdicts["status"].str.contains(expected["status"], regex=False).any(), verdicts["status"].tolist()
    if "imputed_rows" in expected:
        assert int((verdicts["status"] != "ok").sum()) == expected["imputed_rows"]
        assert f"rows with imputed values: {expected['imputed_rows']}" in captured.out
    assert f"{rows:,} rows scored" in captured.out


def test_statuses_name_each_row_s_imputed_columns(small_rf_detector, tmp_path):
    output = tmp_path / "verdicts.csv"
    assert _run("non_finite_numbers.csv", "predict", small_rf_detector, output) == 0
    assert pd.read_csv(output)["status"].tolist() == [
        "imputed: sbytes",
        "imputed: rate, dload",
        "imputed: dbytes, sload",
        "ok",
    ]


@pytest.mark.parametrize(
    "name", sorted(n for n, spec in MANIFEST.items() if spec["predict"]["outcome"] == "rows" and not n.endswith(".zip"))
)
def test_every_scored_file_gives_the_training_columns(name, small_rf_detector):
    # same columns in the same order whatever categories the file holds; nothing non-finite
    detector = Detector.load(small_rf_detector)
    frame, _ = read_table(CORPUS / name)
    aligned, _ = detector.align(frame)
    X = transform(detector.preprocessor, aligned)
    assert X.shape == (MANIFEST[name]["predict"]["rows"], len(output_features(detector.preprocessor)))
    assert np.isfinite(X).all()


def test_unseen_categories_map_to_no_known_category(small_rf_detector):
    detector = Detector.load(small_rf_detector)
    frame, _ = read_table(CORPUS / "unseen_categories.csv")
    X = transform(detector.preprocessor, detector.align(frame)[0])
    names = output_features(detector.preprocessor)
    # row 0 has proto "xnet", row 1 service "irc", row 2 state "ECO": none of them was seen in training
    for row, column in enumerate(["proto", "service", "state"]):
        known = [i for i, n in enumerate(names) if n.startswith(f"cat__{column}_") and not n.endswith("infrequent_sklearn")]
        assert known, column
        assert (X[row, known] == 0).all(), (column, [names[i] for i in known if X[row, i]])

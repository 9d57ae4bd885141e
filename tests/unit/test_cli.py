"""The ``nids`` command, called in-process through ``nids.cli.main``."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from nids.cli import main
from nids.datasets import unsw


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory, make_unsw, write_tbl):
    root = tmp_path_factory.mktemp("cli-data")
    frame = make_unsw({"Normal": 80, "Exploits": 45, "Generic": 35, "DoS": 20}, seed=1)
    write_tbl(frame, root / "unsw-nb15" / "unsw_synth.csv", "csv")
    return root


@pytest.fixture(scope="module")
def detector_dir(synth_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli-model") / "rf"
    code = main(["train", "--model", "rf", "--data-dir", str(synth_dir), "--trees", "10", "--out", str(out)])
    assert code == 0
    return out


def _assert_clean_error(capsys, code: int, *fragments: str) -> str:
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.startswith("error: ")
    assert "Traceback" not in captured.err + captured.out
    for fragment in fragments:
        assert fragment in captured.err
    return captured.err


def test_train_writes_a_detector(detector_dir):
    assert (detector_dir / "detector.json").is_file()
    info = json.loads((detector_dir / "detector.json").read_text())
    assert info["model_name"] == "rf" and info["task"] == "multiclass"
    assert info["classes"] == ["DoS", "Exploits", "Generic", "Normal"]


def test_train_binary_with_record(synth_dir, tmp_path, capsys, _outputs_in_tmp):
    out = tmp_path / "bin"
    argv = ["train", "--model", "rf", "--task", "binary", "--protocol", "random", "--seed", "3", "--trees", "5"]
    code = main([*argv, "--data-dir", str(synth_dir), "--record", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0
    assert "rf binary on unsw-nb15 (random split, seed 3): accuracy" in captured.out
    assert f"detector saved to {out}" in captured.out
    records = json.loads((_outputs_in_tmp / "reports" / "metrics.json").read_text())
    assert [(r["task"], r["protocol"], r["seed"]) for r in records] == [("binary", "random", 3)]


@pytest.mark.parametrize("kind", ["csv", "gz", "zip", "bom", "parquet"])
def test_predict_one_output_row_per_input_row(detector_dir, unsw_files, unsw_frame, tmp_path, capsys, kind):
    output = tmp_path / "verdicts.csv"
    code = main(["predict", "--model", str(detector_dir), "--input", str(unsw_files[kind]), "--output", str(output)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    verdicts = pd.read_csv(output)
    assert len(verdicts) == len(unsw_frame)
    assert list(verdicts.columns) == ["row", "predicted", "confidence", "is_attack", "status"]
    assert verdicts["row"].tolist() == list(range(1, len(unsw_frame) + 1))
    assert set(verdicts["predicted"]) <= {"DoS", "Exploits", "Generic", "Normal"}
    assert set(verdicts["status"]) == {"ok"}
    assert f"{len(unsw_frame):,} rows scored" in captured.out
    assert "ignored 3 column(s) the detector does not use: id, attack_cat, label" in captured.err


def test_predict_with_input_and_imputed_values(detector_dir, unsw_frame, tmp_path, capsys):
    frame = unsw_frame[unsw.FEATURES].head(10).astype({"sbytes": object})
    frame.loc[2, "sbytes"] = "Infinity"
    source = tmp_path / "flows.csv"
    frame.to_csv(source, index=False)
    output = tmp_path / "out.csv"
    code = main(["predict", "--model", str(detector_dir), "--input", str(source), "--output", str(output), "--with-input"])
    captured = capsys.readouterr()
    assert code == 0
    verdicts = pd.read_csv(output)
    assert len(verdicts) == 10
    assert list(verdicts.columns[:42]) == unsw.FEATURES
    assert verdicts.loc[2, "status"] == "imputed: sbytes"
    assert "rows with imputed values: 1" in captured.out
    assert "ignored" not in captured.err


@pytest.mark.parametrize("column", ["status"])
def test_predict_with_input_that_already_has_verdict_columns(detector_dir, unsw_frame, tmp_path, capsys, column):
    # e.g. re-scoring a file written by an earlier `nids predict --with-input`
    frame = unsw_frame.head(6).copy()
    frame[column] = "earlier"
    source = tmp_path / "rescore.csv"
    frame.to_csv(source, index=False)
    output = tmp_path / "out.csv"
    code = main(["predict", "--model", str(detector_dir), "--input", str(source), "--output", str(output), "--with-input"])
    if code == 0:
        assert len(pd.read_csv(output)) == 6
    else:
        _assert_clean_error(capsys, code, column)


def test_predict_output_in_a_missing_directory(detector_dir, unsw_files, tmp_path, capsys):
    output = tmp_path / "not-yet" / "verdicts.csv"
    code = main(["predict", "--model", str(detector_dir), "--input", str(unsw_files["csv"]), "--output", str(output)])
    if code == 0:
        assert len(pd.read_csv(output)) == len(pd.read_csv(unsw_files["csv"]))
    else:
        _assert_clean_error(capsys, code, "not-yet")


def test_outputs_the_os_refuses_are_one_clean_error(detector_dir, unsw_files, tmp_path, capsys):
    source = str(unsw_files["csv"])
    code = main(["predict", "--model", str(detector_dir), "--input", source, "--output", str(tmp_path)])  # a folder
    _assert_clean_error(capsys, code, "is a folder; expected a file path", str(tmp_path))
    code = main(["predict", "--model", str(detector_dir), "--input", source, "--output", source])
    _assert_clean_error(capsys, code, "is the input file")
    code = main(["data", "check", source, "--json", str(tmp_path / "missing" / "x.json")])
    _assert_clean_error(capsys, code, "cannot write or read", "missing")


def test_predict_a_folder_or_glob_says_what_reads_them(detector_dir, unsw_files, tmp_path, capsys):
    out = str(tmp_path / "o.csv")
    code = main(["predict", "--model", str(detector_dir), "--input", str(unsw_files["csv"].parent), "--output", out])
    _assert_clean_error(capsys, code, "is a folder; expected one file", "--engine dask")
    code = main(["predict", "--model", str(detector_dir), "--input", str(unsw_files["csv"].parent / "*.csv"), "--output", out])
    _assert_clean_error(capsys, code, "found nothing at", "glob pattern is read only by nids predict --engine dask")


def test_predict_missing_input_file(detector_dir, tmp_path, capsys):
    missing = tmp_path / "nope.csv"
    code = main(["predict", "--model", str(detector_dir), "--input", str(missing), "--output", str(tmp_path / "o.csv")])
    _assert_clean_error(capsys, code, "expected a file, found nothing at", "nope.csv")
    assert not (tmp_path / "o.csv").exists()


def test_predict_wrong_model_dir(unsw_files, tmp_path, capsys):
    code = main(["predict", "--model", str(tmp_path), "--input", str(unsw_files["csv"]), "--output", str(tmp_path / "o.csv")])
    _assert_clean_error(capsys, code, "is not a detector directory: expected detector.json")


def test_predict_input_lacking_columns(detector_dir, unsw_frame, tmp_path, capsys):
    source = tmp_path / "partial.csv"
    unsw_frame.drop(columns=["sttl"]).to_csv(source, index=False)
    code = main(["predict", "--model", str(detector_dir), "--input", str(source), "--output", str(tmp_path / "o.csv")])
    _assert_clean_error(capsys, code, "lacks 1 feature column(s) this detector needs: sttl")


def test_predict_empty_and_binary_inputs(detector_dir, tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    code = main(["predict", "--model", str(detector_dir), "--input", str(empty), "--output", str(tmp_path / "o.csv")])
    _assert_clean_error(capsys, code, "the file is empty")
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(bytes(range(256)) * 8)
    code = main(["predict", "--model", str(detector_dir), "--input", str(garbage), "--output", str(tmp_path / "o.csv")])
    _assert_clean_error(capsys, code, "found binary content")


def test_train_without_data(tmp_path, capsys):
    code = main(["train", "--model", "rf", "--data-dir", str(tmp_path), "--out", str(tmp_path / "m")])
    _assert_clean_error(capsys, code, "unsw-nb15: 1 raw file(s) missing", "SHA-256", "nids data fetch")


def test_train_unknown_dataset(tmp_path, capsys):
    code = main(["train", "--model", "rf", "--dataset", "kdd99", "--data-dir", str(tmp_path), "--out", str(tmp_path / "m")])
    _assert_clean_error(capsys, code, "unknown dataset 'kdd99'")


def test_train_unknown_model_is_an_argparse_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--model", "svm", "--out", str(tmp_path)])
    assert info.value.code == 2
    assert "invalid choice: 'svm'" in capsys.readouterr().err


def test_data_check(unsw_files, tmp_path, capsys, synth_facts):
    report = tmp_path / "audit.json"
    code = main(["data", "check", str(unsw_files["zip"]), "--json", str(report)])
    out = capsys.readouterr().out
    assert code == 0
    assert "dataset:   unsw-nb15" in out
    assert f"partition: unknown ({synth_facts.rows} records)" in out
    assert f"duplicate rows (repeat an earlier row's features): {synth_facts.exact_duplicates}" in out
    payload = json.loads(report.read_text())
    assert payload["audit"]["duplicate_rows"] == synth_facts.exact_duplicates
    assert payload["dataset"]["records"] == synth_facts.rows


def test_data_check_on_a_header_only_file(tmp_path, capsys, unsw_frame):
    # a UNSW-NB15 header with no records: a clean message (or an empty audit), never a traceback
    path = tmp_path / "unsw_header_only.csv"
    unsw_frame.head(0).to_csv(path, index=False)
    code = main(["data", "check", str(path)])
    if code != 0:
        _assert_clean_error(capsys, code)


def test_data_check_rejects_other_files(tmp_path, capsys):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    code = main(["data", "check", str(path)])
    # not UNSW-NB15 nor NSL-KDD: the generic reader takes it and finds no label column
    _assert_clean_error(capsys, code, "no label column found")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], ["usage: nids", "{data,train,predict,explain,bench,app,serve}"]),
        (["data"], ["usage: nids data", "{fetch,check}"]),
        (["data", "fetch"], ["usage: nids data fetch", "--dataset", "--mirror", "--force"]),
        (["data", "check"], ["usage: nids data check", "--json"]),
        (["train"], ["usage: nids train", "--model", "--max-train-rows", "--trees", "--record", "--out"]),
        (["predict"], ["usage: nids predict", "--model", "--input", "--output", "--with-input"]),
        (["bench"], ["usage: nids bench", "--model", "--input", "--n-single", "--warmup", "--batch-rows", "--threads"]),
    ],
)
def test_help(argv, expected, capsys):
    with pytest.raises(SystemExit) as info:
        main([*argv, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for fragment in expected:
        assert fragment in out


def test_missing_subcommand_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    assert "usage: nids" in capsys.readouterr().err

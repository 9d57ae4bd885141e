"""The Dask engine's partitions (nids.scale) without a cluster: both passes called in this process.

Each file is cut into many tiny partitions (byte blocks of a few dozen bytes, single row groups)
and the partition verdicts, put back together, must equal the local engine's verdicts for the
whole file: same rows, same numbers, same per-row status. The bad-input corpus runs through it too.
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
from nids.errors import BadInputError
from nids.scale import expand_inputs, inspect_part, output_meta, plan_file, plan_parts, score_part
from nids.scoring import score_frame

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad_inputs"
MANIFEST = json.loads((CORPUS / "expected.json").read_text())["files"]


def _partitioned(path: Path, small_rf_detector: Path, blocksize: int) -> tuple[pd.DataFrame, object]:
    """Both passes over one file, partition by partition, in this process."""
    detector = Detector.load(small_rf_detector)
    parts = plan_parts(path.resolve(), blocksize)
    plan = plan_file(parts, [inspect_part(p) for p in parts], detector)
    frames = [score_part(task, str(small_rf_detector)) for task in plan.tasks]
    return pd.concat(frames, ignore_index=True), plan


def _local(path: Path, small_rf_detector: Path) -> pd.DataFrame:
    frame, _ = read_table(path)
    return score_frame(Detector.load(small_rf_detector), frame)


def _assert_same_verdicts(dask_rows: pd.DataFrame, local: pd.DataFrame) -> None:
    assert len(dask_rows) == len(local)
    assert dask_rows["row"].tolist() == local["row"].tolist()
    assert dask_rows["predicted"].tolist() == local["predicted"].tolist()
    assert dask_rows["is_attack"].tolist() == local["is_attack"].tolist()
    assert dask_rows["status"].tolist() == local["status"].tolist()
    # forests sum tree votes in a thread-dependent order on large batches: equal up to rounding
    np.testing.assert_allclose(dask_rows["confidence"].to_numpy(), local["confidence"].to_numpy(), rtol=0, atol=1e-12)


SCORED = sorted(n for n, spec in MANIFEST.items() if spec["predict"]["outcome"] == "rows")
FAILED = sorted(n for n, spec in MANIFEST.items() if spec["predict"]["outcome"] == "error")


@pytest.mark.parametrize("name", SCORED)
def test_corpus_file_in_tiny_blocks_equals_the_local_engine(name, small_rf_detector):
    dask_rows, plan = _partitioned(CORPUS / name, small_rf_detector, blocksize=40)
    local = _local(CORPUS / name, small_rf_detector)
    assert len(local) == MANIFEST[name]["predict"]["rows"]
    _assert_same_verdicts(dask_rows, local)
    assert list(dask_rows.columns) == list(output_meta().columns)
    assert set(dask_rows["source"]) == {str((CORPUS / name).resolve())}
    if not name.endswith(".zip"):  # a zip is one partition
        assert len(plan.tasks) > 1
    for note in MANIFEST[name]["predict"].get("notes", []):
        if not note.startswith("ignored"):
            assert any(note in n for n in plan.notes), (note, plan.notes)


@pytest.mark.parametrize("name", FAILED)
def test_corpus_file_that_the_local_engine_rejects_is_an_error_row_naming_it(name, small_rf_detector):
    dask_rows, _plan = _partitioned(CORPUS / name, small_rf_detector, blocksize=40)
    assert dask_rows["status"].str.startswith("error: ").all()
    assert dask_rows["predicted"].isna().all()
    message = MANIFEST[name]["predict"]["message"]
    if name == "missing_column.csv":  # readable: every input row is kept, with its row number
        assert message in dask_rows["status"].iloc[0]
        assert dask_rows["row"].tolist() == list(range(1, len(read_table(CORPUS / name)[0]) + 1))
    else:
        assert len(dask_rows) == 1 and dask_rows["row"].isna().all()
        assert name in dask_rows["status"].iloc[0]
        if "fields" in message:  # ragged lines: the line number or the check that saw it is the block's own
            assert "fields" in dask_rows["status"].iloc[0]
        else:
            assert message in dask_rows["status"].iloc[0]


def test_windows_1252_is_decided_for_the_whole_file(small_rf_detector, tmp_path, make_unsw):
    # UTF-8 blocks first, a 0x96 byte only in the last block: local reads the whole file as cp1252
    frame = make_unsw({"Normal": 20, "Exploits": 20}, seed=3, duplicates=False)
    frame["attack_cat"] = frame["attack_cat"].astype(object)
    frame.loc[0, "attack_cat"] = "Normal café"
    text = frame.to_csv(index=False).encode("utf-8")
    path = tmp_path / "mixed.csv"
    path.write_bytes(text.rstrip(b"\n") + b"\x96\n")
    dask_rows, plan = _partitioned(path, small_rf_detector, blocksize=200)
    assert {t.encoding for t in plan.tasks} == {"windows-1252"}
    assert "file is not valid UTF-8; read as Windows-1252" in plan.notes
    _assert_same_verdicts(dask_rows, _local(path, small_rf_detector))


def test_parquet_row_groups_are_partitions(small_rf_detector, tmp_path, make_unsw):
    frame = make_unsw({"Normal": 30, "Exploits": 20, "DoS": 10}, seed=4)
    frame["sbytes"] = frame["sbytes"].astype(str)  # a text column in the file, as an export may have it
    frame.loc[5, "sbytes"] = "unknown"  # text in a numeric column: a per-row status, as locally
    path = tmp_path / "flows.parquet"
    frame.to_parquet(path, index=False, row_group_size=10)
    dask_rows, plan = _partitioned(path, small_rf_detector, blocksize=1)
    assert [t.part.row_groups for t in plan.tasks] == [(i,) for i in range(7)]
    assert [t.first_row for t in plan.tasks] == [1, 11, 21, 31, 41, 51, 61]
    local = _local(path, small_rf_detector)
    assert local.loc[5, "status"] == "imputed: sbytes"
    _assert_same_verdicts(dask_rows, local)


def test_expand_inputs(tmp_path):
    for name in ("b.csv", "a.parquet", "notes.md"):
        (tmp_path / name).write_text("x")
    assert [p.name for p in expand_inputs(str(tmp_path))] == ["a.parquet", "b.csv"]
    assert [p.name for p in expand_inputs(str(tmp_path / "*.csv"))] == ["b.csv"]
    with pytest.raises(BadInputError, match="found none"):
        expand_inputs(str(tmp_path / "*.zip"))


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--workers", "2"], "--workers and --scheduler need --engine dask"),
        (["--engine", "dask", "--with-input"], "--with-input is not supported with --engine dask"),
        (["--engine", "dask", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "exclude each other"),
        (["--engine", "dask", "--blocksize", "lots"], "--blocksize lots: expected a size"),
    ],
)
def test_predict_option_errors_are_clean(small_rf_detector, tmp_path, capsys, extra, fragment):
    source = CORPUS / "extra_columns.csv"
    code = main(["predict", "--model", str(small_rf_detector), "--input", str(source), "--output", str(tmp_path / "out"), *extra])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.startswith("error: ") and fragment in captured.err
    assert "Traceback" not in captured.err


def test_dask_output_must_be_a_new_directory(small_rf_detector, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "part.00000.parquet").write_text("earlier run")
    code = main(["predict", "--model", str(small_rf_detector), "--input", str(CORPUS), "--output", str(out), "--engine", "dask"])
    assert code == 2
    assert "expected a new or empty directory" in capsys.readouterr().err


def test_parquet_of_text_columns_with_a_repeated_header_row(small_rf_detector, tmp_path, make_unsw):
    # an all-text Parquet export can hold a header line as a row: read (not counted from metadata) and dropped
    frame = make_unsw({"Normal": 15, "DoS": 10}, seed=5, duplicates=False).astype(str)
    frame = pd.concat([frame.iloc[:12], pd.DataFrame([frame.columns], columns=frame.columns), frame.iloc[12:]])
    path = tmp_path / "text.parquet"
    frame.to_parquet(path, index=False, row_group_size=5)
    dask_rows, plan = _partitioned(path, small_rf_detector, blocksize=1)
    assert len(plan.tasks) == 6 and "dropped 1 repeated header line(s) inside the data" in plan.notes
    local = _local(path, small_rf_detector)
    assert len(local) == 25
    _assert_same_verdicts(dask_rows, local)


def test_local_workers_never_pause():
    """A paused worker holding the last tasks never resumes when its memory is imported libraries (dask/distributed#5235)."""
    from nids.scale import dask_client

    with dask_client(1, None, "2GiB") as client:
        pause = client.run(lambda: __import__("dask").config.get("distributed.worker.memory.pause"))
    assert list(pause.values()) == [False]

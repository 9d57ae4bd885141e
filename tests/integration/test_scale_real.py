"""``nids predict --engine dask`` on real UNSW-NB15 flows (NIDS_DATA_DIR) equals ``--engine local`` row
for row: the real file written at test time as 10 Parquet partitions (several row groups each) and 3
CSV partitions (several byte blocks each), scored on Dask worker processes. For the Random Forest and
the BiGRU extension (one epoch on 2,000 rows); a bad partition among good ones; the ``--scheduler`` path
against a LocalCluster started here. Confidences are compared with a tolerance of 1e-6 (deep model,
float32; batches differ between engines) and 1e-12 (forest, float64 votes summed in a thread-dependent
order); classes, row numbers and statuses must be equal.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nids.cli import main
from nids.datasets import load_dataset
from nids.datasets.io import read_table
from nids.detector import Detector
from nids.experiments import run_experiment
from nids.models.forest import ForestConfig
from nids.scoring import score_frame
from nids.training import TrainConfig

pytestmark = [pytest.mark.integration, pytest.mark.slow]
BLOCK = ["--blocksize", "256KiB", "--no-progress"]


@pytest.fixture(scope="module")
def real_frame(real_data_dir) -> pd.DataFrame:
    frame, _ = read_table(real_data_dir / "unsw-nb15" / "UNSW_NB15_training-set.zip")
    return frame


def _write_partitions(frame: pd.DataFrame, folder: Path, n_parquet: int = 10, n_csv: int = 3) -> dict[str, int]:
    """The rows cut into Parquet and CSV files (one CSV with a BOM); returns file name -> rows."""
    folder.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for i, chunk in enumerate(np.array_split(np.arange(len(frame)), n_parquet + n_csv)):
        part = frame.iloc[chunk]
        if i < n_parquet:
            name = f"flows-{i:02d}.parquet"
            part.to_parquet(folder / name, index=False, row_group_size=2000)
        else:
            name = f"flows-{i:02d}.csv"
            part.to_csv(folder / name, index=False, encoding="utf-8-sig" if i == n_parquet else "utf-8")
        sizes[name] = len(part)
    return sizes


def _local_verdicts(model: Path, folder: Path, tmp: Path) -> dict[str, pd.DataFrame]:
    out = {}
    for path in sorted(folder.iterdir()):
        target = tmp / f"{path.name}.verdicts.csv"
        assert main(["predict", "--model", str(model), "--input", str(path), "--output", str(target)]) == 0
        out[path.name] = pd.read_csv(target, keep_default_na=False)
    return out


def _by_file(output: Path) -> dict[str, pd.DataFrame]:
    table = pd.read_parquet(output)
    assert list(table.columns) == ["source", "row", "predicted", "confidence", "is_attack", "status"]
    return {Path(s).name: g.sort_values("row").reset_index(drop=True) for s, g in table.groupby("source")}


def _assert_equal(dask_rows: pd.DataFrame, local: pd.DataFrame, atol: float) -> None:
    assert len(dask_rows) == len(local)
    assert dask_rows["row"].tolist() == local["row"].tolist() == list(range(1, len(local) + 1))
    assert dask_rows["predicted"].tolist() == local["predicted"].tolist()
    assert dask_rows["is_attack"].tolist() == local["is_attack"].tolist()
    assert dask_rows["status"].tolist() == local["status"].tolist()
    np.testing.assert_allclose(dask_rows["confidence"].to_numpy(float), local["confidence"].to_numpy(float), rtol=0, atol=atol)


@pytest.fixture(scope="module")
def dataset(real_data_dir):
    return load_dataset("unsw-nb15", real_data_dir)


@pytest.fixture(scope="module")
def forest_dir(dataset, tmp_path_factory) -> Path:
    cfg = TrainConfig(forest=ForestConfig(n_estimators=20))
    result = run_experiment(dataset, "rf", "multiclass", "dedup", seed=0, train_cfg=cfg, max_train_rows=2000)
    return result.detector.save(tmp_path_factory.mktemp("scale-real") / "rf")


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of this test module (the ``--scheduler`` path); 2 single-threaded worker processes."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR
    ) as local:
        yield local


def test_forest_on_two_workers_equals_the_local_engine(real_frame, forest_dir, tmp_path, capsys):
    sizes = _write_partitions(real_frame, tmp_path / "in")
    assert sum(sizes.values()) == len(real_frame) == 82_332
    output = tmp_path / "verdicts"
    argv = ["predict", "--model", str(forest_dir), "--input", str(tmp_path / "in" / "flows-*"), "--output", str(output)]
    code = main([*argv, "--engine", "dask", "--workers", "2", *BLOCK])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    parts = sorted(output.glob("part.*.parquet"))
    assert len(parts) > 13  # several row groups per Parquet file, several byte blocks per CSV file
    assert "82,332 rows from 13 of 13 file(s) scored on 2 Dask worker(s)" in captured.out
    assert "ignored 3 column(s) the detector does not use: id, attack_cat, label" in captured.err
    dask_rows = _by_file(output)
    local = _local_verdicts(forest_dir, tmp_path / "in", tmp_path)
    assert set(dask_rows) == set(local) == set(sizes)
    for name, rows in sizes.items():
        assert len(dask_rows[name]) == rows
        _assert_equal(dask_rows[name], local[name], atol=1e-12)
    counts = pd.concat(dask_rows.values())["predicted"].value_counts().to_dict()
    assert f"predicted: {counts}" in captured.out


def test_bad_partitions_are_reported_and_the_others_kept(real_frame, forest_dir, cluster, tmp_path, capsys):
    folder = tmp_path / "in"
    sizes = _write_partitions(real_frame.iloc[:12_000], folder, n_parquet=3, n_csv=1)
    real_frame.iloc[12_000:13_000].drop(columns=["sttl"]).to_parquet(folder / "no-sttl.parquet", index=False)
    dirty = real_frame.iloc[13_000:15_000].astype({"sbytes": object, "dur": object})
    dirty.iloc[[3, 1500], dirty.columns.get_loc("sbytes")] = "1.2k"
    dirty.iloc[[7], dirty.columns.get_loc("dur")] = "unknown"
    dirty.to_csv(folder / "text-in-numbers.csv", index=False)
    (folder / "broken.parquet").write_bytes(b"PAR1 but not really")
    output = tmp_path / "verdicts"
    argv = ["predict", "--model", str(forest_dir), "--input", str(folder), "--output", str(output), "--engine", "dask"]
    code = main([*argv, "--scheduler", cluster.scheduler_address, *BLOCK])
    captured = capsys.readouterr()
    assert code == 1
    failed = sorted(line.split(": ")[1] for line in captured.err.splitlines() if line.startswith("failed: "))
    assert [Path(f).name for f in failed] == ["broken.parquet", "no-sttl.parquet"]
    assert "lacks 1 feature column(s) this detector needs: sttl" in captured.err
    assert "14,000 rows from 5 of 7 file(s) scored" in captured.out
    assert "rows with imputed values: 3" in captured.out
    dask_rows = _by_file(output)
    for name, rows in sizes.items():  # the good files: every row scored
        assert len(dask_rows[name]) == rows and (dask_rows[name]["status"] == "ok").all()
    missing = dask_rows["no-sttl.parquet"]  # every input row kept, marked, with its row number
    assert missing["row"].tolist() == list(range(1, 1001))
    assert missing["status"].str.contains("lacks 1 feature column(s) this detector needs: sttl", regex=False).all()
    assert missing["predicted"].isna().all()
    broken = dask_rows["broken.parquet"]  # unreadable: one row that says why, no row number
    assert len(broken) == 1 and broken["row"].isna().all()
    assert "expected a Parquet file, but it could not be read" in broken["status"].iloc[0]
    text = tmp_path / "text.csv"
    source = folder / "text-in-numbers.csv"
    assert main(["predict", "--model", str(forest_dir), "--input", str(source), "--output", str(text)]) == 0
    expected = pd.read_csv(text, keep_default_na=False)
    assert expected["status"].iloc[[3, 7, 1500]].tolist() == ["imputed: sbytes", "imputed: dur", "imputed: sbytes"]
    _assert_equal(dask_rows["text-in-numbers.csv"], expected, atol=1e-12)


def test_bigru_extension_on_a_scheduler_equals_the_local_engine(dataset, real_frame, cluster, tmp_path, capsys):
    result = run_experiment(
        dataset, "bigru_seq2seq_convlstm", "multiclass", "dedup", 0, TrainConfig(epochs=1, progress=False), max_train_rows=2000
    )
    model = result.detector.save(tmp_path / "bigru")
    folder = tmp_path / "in"
    sizes = _write_partitions(real_frame.iloc[::4], folder, n_parquet=10, n_csv=2)  # 20,583 rows, every 4th
    output = tmp_path / "verdicts"
    argv = ["predict", "--model", str(model), "--input", str(folder / "*"), "--output", str(output), "--engine", "dask"]
    code = main([*argv, "--scheduler", cluster.scheduler_address, "--blocksize", "64KiB", "--no-progress"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "20,583 rows from 12 of 12 file(s) scored on 2 Dask worker(s)" in captured.out
    dask_rows = _by_file(output)
    detector = Detector.load(model)  # what _cmd_predict does per file, with the model loaded once
    for name, rows in sizes.items():
        local = score_frame(detector, read_table(folder / name)[0])
        assert len(dask_rows[name]) == rows
        _assert_equal(dask_rows[name], local, atol=1e-6)

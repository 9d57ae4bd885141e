"""measure_latency, pareto_front, the notebook-06 figures and ``nids bench`` (tiny Random Forest, synthetic frames).

Timings are never asserted against a bound: only that the numbers are well formed.
"""

from __future__ import annotations

import json
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from nids import ablation, plots
from nids.cli import main
from nids.datasets import unsw
from nids.errors import NidsError
from nids.evaluation import LATENCY_KEYS, fixed_threads, machine_info, measure_latency, pareto_front
from nids.experiments import run_experiment
from nids.models.forest import ForestConfig
from nids.training import TrainConfig


@pytest.fixture(scope="module")
def frame(make_unsw):
    return make_unsw({"Normal": 80, "Exploits": 45, "Generic": 35, "DoS": 20}, seed=1)


@pytest.fixture(scope="module")
def detector(frame):
    dataset = unsw.frame_to_dataset(frame, [], np.full(len(frame), "unknown", dtype=object))
    cfg = TrainConfig(forest=ForestConfig(n_estimators=5, n_jobs=1))
    return run_experiment(dataset, "rf", "multiclass", "dedup", 0, cfg).detector


def test_measure_latency_is_well_formed(detector, frame):
    result = measure_latency(detector, frame, n_single=25, warmup=3, batch_rows=100, batch_repeats=2, threads=1)
    assert set(result) == set(LATENCY_KEYS)
    assert result["model"] == "rf" and result["task"] == "multiclass" and result["kind"] == "sklearn"
    assert result["n_single"] == 25 and result["warmup"] == 3 and result["batch_rows"] == 100
    assert 0 < result["single_p50_ms"] <= result["single_p99_ms"]
    assert result["single_mean_ms"] > 0 and result["batch_seconds"] > 0
    assert result["batch_flows_per_s"] == pytest.approx(100 / result["batch_seconds"])
    assert result["threads"]["threads"] == 1 and result["threads"]["joblib"] == 1
    assert result["machine"]["python"] and result["machine"]["logical_cores"] >= 1
    json.dumps(result)  # JSON-ready


def test_batch_rows_capped_by_the_frame_and_bad_arguments_rejected(detector, frame):
    result = measure_latency(detector, frame.head(7), n_single=5, warmup=0, batch_rows=1000, batch_repeats=1, threads=1)
    assert result["batch_rows"] == 7
    with pytest.raises(NidsError, match="at least one flow"):
        measure_latency(detector, frame.head(0))
    with pytest.raises(NidsError, match="n_single must be >= 1"):
        measure_latency(detector, frame, n_single=0)
    with pytest.raises(NidsError, match="threads must be a positive int"):
        measure_latency(detector, frame, n_single=1, threads=0)


def test_fixed_threads_restores_the_environment():
    before = os.environ.get("LOKY_MAX_CPU_COUNT")
    with fixed_threads(1) as fixed:
        assert os.environ["LOKY_MAX_CPU_COUNT"] == "1"
        assert fixed.as_dict()["blas_openmp"] == 1
    assert os.environ.get("LOKY_MAX_CPU_COUNT") == before
    assert {"cpu", "usable_cores", "python", "numpy"} <= set(machine_info())


def test_pareto_front_on_hand_made_points():
    cost = [1.0, 2.0, 3.0, 4.0, 2.0, 5.0]
    score = [0.5, 0.7, 0.6, 0.9, 0.7, 0.9]
    # (3, .6) is beaten by (2, .7); (5, .9) by (4, .9); the two (2, .7) tie and both stay
    assert pareto_front(cost, score).tolist() == [True, True, False, True, True, False]
    assert pareto_front([], []).tolist() == []
    with pytest.raises(ValueError, match="differ in shape"):
        pareto_front([1, 2], [1])


def test_ablation_figures_draw_what_they_are_given():
    records = [
        {"dataset": "d", "protocol": p, "task": t, "model": m, "variant": "", "seed": s, "accuracy": acc + 0.01 * s,
         "f1_macro": acc - 0.1, "train_seconds": 10.0 + s, "seconds_per_epoch": 2.0, "epochs": 5, "n_params": 10,
         "f1_per_class": {"a": 0.5, "b": 0.6}}
        for p, bump in (("dedup", 0.0), ("random", 0.05))
        for t in ("binary", "multiclass")
        for m, acc in (("rf", 0.8 + bump), ("ext", 0.7 + bump))
        for s in (0, 1)
    ]  # fmt: skip
    table = ablation.aggregate([r for r in records if r["protocol"] == "dedup"])
    fig = plots.grouped_bars(table, "accuracy", "accuracy")
    assert len(fig.axes[0].patches) == 4  # 2 models x 2 tasks
    assert sorted(round(p.get_height(), 3) for p in fig.axes[0].patches) == [0.705, 0.705, 0.805, 0.805]
    assert len(plots.training_time_bars(table, "time").axes[0].texts) == 4
    heat = plots.per_class_f1_means(table[table["task"] == "multiclass"], "f1")
    assert [t.get_text() for t in heat.axes[0].get_xticklabels()] == ["a", "b"]
    points = pd.DataFrame({"label": ["rf", "ext", "x"], "accuracy": [0.8, 0.7, 0.6], "single_p50_ms": [1.0, 3.0, 2.0]})
    points["pareto"] = pareto_front(points["single_p50_ms"], points["accuracy"])
    assert points["pareto"].tolist() == [True, False, False]
    plots.accuracy_latency(points, "trade-off")
    protocol = plots.protocol_comparison(ablation.protocol_table(records), {"binary": 0.99, "multiclass": 0.93}, "protocols")
    assert len(protocol.axes) == 2 and protocol.axes[1].lines[0].get_ydata()[0] == pytest.approx(0.93)
    plt.close("all")


# -- nids bench -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bench_setup(tmp_path_factory, make_unsw, write_tbl):
    root = tmp_path_factory.mktemp("bench")
    frame = make_unsw({"Normal": 80, "Exploits": 45, "Generic": 35, "DoS": 20}, seed=1)
    data = root / "data"
    write_tbl(frame, data / "unsw-nb15" / "unsw_synth.csv", "csv")
    model = root / "rf"
    assert main(["train", "--model", "rf", "--data-dir", str(data), "--trees", "5", "--out", str(model)]) == 0
    flows = write_tbl(frame[unsw.FEATURES].head(40), root / "flows.csv", "csv")
    return data, model, flows


def test_bench_prints_a_table_and_writes_json(bench_setup, tmp_path, capsys):
    _data, model, flows = bench_setup
    out = tmp_path / "bench.json"
    argv = ["bench", "--model", str(model), "--input", str(flows), "--n-single", "20", "--warmup", "2", "--batch-rows", "30"]
    code = main([*argv, "--threads", "1", "--json", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    for fragment in ("single flow p50 (ms)", "single flow p99 (ms)", "batched flows/s (30 rows)", "machine:", "threads:"):
        assert fragment in captured.out
    result = json.loads(out.read_text())
    assert result["n_single"] == 20 and result["batch_rows"] == 30
    assert 0 < result["single_p50_ms"] <= result["single_p99_ms"] and result["batch_flows_per_s"] > 0


def test_bench_defaults_to_the_detectors_own_test_rows(bench_setup, capsys):
    data, model, _flows = bench_setup
    code = main(["bench", "--model", str(model), "--data-dir", str(data), "--n-single", "5", "--warmup", "1"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "flows:    unsw-nb15 dedup split (seed 0)" in captured.out


def test_bench_errors_are_one_line(bench_setup, tmp_path, capsys):
    _data, model, flows = bench_setup
    assert main(["bench", "--model", str(tmp_path), "--input", str(flows)]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert main(["bench", "--model", str(model), "--input", str(flows), "--threads", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--threads" in err and "Traceback" not in err

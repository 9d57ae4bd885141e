"""nids.ablation: aggregation, McNemar and paired tests with known p-values, generated verdicts, GRU/LSTM
ratios, cross-partition scoring and the run cache (tiny Random Forests on synthetic frames)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from nids import ablation
from nids.datasets import unsw
from nids.errors import NidsError
from nids.models.forest import ForestConfig
from nids.reports import REQUIRED
from nids.training import TrainConfig

CFG = TrainConfig(forest=ForestConfig(n_estimators=10, n_jobs=1), progress=False)


def _record(model, task, seed, **values):
    base = {
        "dataset": "d",
        "protocol": "dedup",
        "test_partition": None,
        "task": task,
        "model": model,
        "variant": "",
        "seed": seed,
    }
    return {**base, **values}


# -- aggregation ----------------------------------------------------------------------------------
def test_aggregate_mean_and_sample_std_per_model_and_task():
    records = [
        _record("a", "binary", 0, accuracy=0.80, train_seconds=10.0, f1_per_class={"x": 0.5, "y": 0.7}),
        _record("a", "binary", 1, accuracy=0.90, train_seconds=14.0, f1_per_class={"x": 0.7, "y": 0.9}),
        _record("b", "binary", 0, accuracy=0.60, train_seconds=2.0, f1_per_class={"x": 0.1, "y": 0.3}),
    ]
    table = ablation.aggregate(records, ("accuracy", "train_seconds")).set_index("model")
    assert table.loc["a", "seeds"] == 2 and table.loc["b", "seeds"] == 1
    assert table.loc["a", "accuracy_mean"] == pytest.approx(0.85)
    assert table.loc["a", "accuracy_std"] == pytest.approx(math.sqrt(0.005))  # ddof=1: (0.05^2 * 2) / 1
    assert table.loc["a", "train_seconds_mean"] == pytest.approx(12.0)
    assert table.loc["a", "f1[x]_mean"] == pytest.approx(0.6) and table.loc["a", "f1[y]_std"] == pytest.approx(math.sqrt(0.02))
    assert math.isnan(table.loc["b", "accuracy_std"])
    shown = ablation.mean_std_table(table.reset_index(), ("accuracy",)).set_index("model")
    assert shown.loc["a", "accuracy"] == "0.8500 ± 0.0707" and shown.loc["b", "accuracy"] == "0.6000"


def test_aggregate_keeps_tasks_protocols_and_partitions_apart():
    records = [
        _record("a", "binary", 0, accuracy=0.8),
        _record("a", "multiclass", 0, accuracy=0.6),
        {**_record("a", "binary", 0, accuracy=0.9), "protocol": "random"},
        {**_record("a", "binary", 0, accuracy=0.5), "test_partition": "KDDTest-21"},
    ]
    table = ablation.aggregate(records, ("accuracy",), per_class=False)
    assert len(table) == 4
    assert sorted(table["accuracy_mean"]) == [0.5, 0.6, 0.8, 0.9]


# -- significance ---------------------------------------------------------------------------------
def _pairs(a_only: int, b_only: int, both: int = 5, neither: int = 3):
    """True labels and two prediction vectors with exactly these counts of (dis)agreement in correctness."""
    y = np.array(["x"] * (a_only + b_only + both + neither))
    a = np.array(["x"] * a_only + ["y"] * b_only + ["x"] * both + ["y"] * neither)
    b = np.array(["y"] * a_only + ["x"] * b_only + ["x"] * both + ["z"] * neither)
    return y, a, b


def test_mcnemar_exact_p_values_by_hand():
    test = ablation.mcnemar(*_pairs(8, 2))
    assert (test.a_only, test.b_only, test.n) == (8, 2, 18)
    # two-sided exact binomial, n = 10: 2 * (C(10,0) + C(10,1) + C(10,2)) / 2^10 = 112 / 1024
    assert test.p_value == pytest.approx(112 / 1024)
    assert test.accuracy_a == pytest.approx(13 / 18) and test.accuracy_b == pytest.approx(7 / 18)
    assert ablation.mcnemar(*_pairs(10, 0)).p_value == pytest.approx(2 / 1024)
    assert ablation.mcnemar(*_pairs(0, 0)).p_value == 1.0  # never disagree on correctness
    assert ablation.mcnemar(*_pairs(3, 3)).p_value == pytest.approx(1.0)


def test_mcnemar_rejects_unequal_lengths():
    with pytest.raises(NidsError, match="equally long"):
        ablation.mcnemar(["x", "y"], ["x"], ["x", "y"])


def test_paired_seed_test_matches_the_t_distribution_with_two_degrees_of_freedom():
    a, b = [0.80, 0.82, 0.81], [0.70, 0.71, 0.73]
    d = np.subtract(a, b)
    t = d.mean() / (d.std(ddof=1) / math.sqrt(3))
    assert ablation.paired_seed_test(a, b) == pytest.approx(1 - t / math.sqrt(2 + t * t))  # closed form for df = 2
    assert math.isnan(ablation.paired_seed_test([0.8], [0.7]))
    assert ablation.paired_seed_test([0.8, 0.9], [0.7, 0.8]) == 0.0  # identical non-zero differences
    assert ablation.paired_seed_test([0.8, 0.9], [0.8, 0.9]) == 1.0


def _fake_result(model, seed, y, pred, test_rows=None, f1=0.5, task="binary"):
    classes = sorted(set(y) | set(pred))
    proba = np.eye(len(classes))[np.searchsorted(classes, pred)]
    rows = np.arange(len(y)) if test_rows is None else np.asarray(test_rows)
    return SimpleNamespace(
        record={"model": model, "seed": seed, "task": task, "f1_macro": f1, "variant": ""},
        detector=SimpleNamespace(classes=classes),
        proba_test=proba,
        y_test=np.asarray(y),
        split=SimpleNamespace(test=rows),
    )


def test_verdict_says_beats_only_when_every_seed_is_significant():
    strong = [_pairs(20, 1), _pairs(18, 2)]
    a = [_fake_result("ext", s, y, pa, f1=0.9) for s, (y, pa, _) in enumerate(strong)]
    b = [_fake_result("rf", s, y, pb, f1=0.7) for s, (y, _, pb) in enumerate(strong)]
    comparison = ablation.compare(a, b)
    assert comparison.winner == "ext"
    sentence = ablation.verdict_sentence(comparison)
    assert sentence.startswith("binary: ext beats rf, McNemar p=")
    assert "p=2.1e-05, 0.0004 over 2 seeds (accuracy 0.8417 vs 0.2284;" in sentence
    assert "macro-F1 0.9000 vs 0.7000 (+0.2000, paired t-test over seeds p=<1e-300)" in sentence

    mixed = [_pairs(20, 1), _pairs(6, 4)]  # second seed: p = 0.75
    a = [_fake_result("ext", s, y, pa) for s, (y, pa, _) in enumerate(mixed)]
    b = [_fake_result("rf", s, y, pb) for s, (y, _, pb) in enumerate(mixed)]
    comparison = ablation.compare(a, b)
    assert comparison.winner is None and comparison.max_p == pytest.approx(0.75390625)
    assert "the difference between ext and rf is not significant (McNemar p=" in ablation.verdict_sentence(comparison)


def test_verdict_names_the_better_model_when_b_wins():
    y, pa, pb = _pairs(1, 20)
    comparison = ablation.compare([_fake_result("a", 0, y, pa)], [_fake_result("b", 0, y, pb)])
    assert comparison.winner == "b"
    assert ablation.verdict_sentence(comparison).startswith("binary: b beats a, McNemar p=")
    assert "one seed: no test across seeds" in ablation.verdict_sentence(comparison)


def test_paired_predictions_use_only_common_test_rows():
    a = _fake_result("a", 0, ["x", "y", "x"], ["x", "y", "y"], test_rows=[1, 4, 7])
    b = _fake_result("b", 0, ["y", "x", "x"], ["y", "x", "x"], test_rows=[4, 7, 9])
    y, pa, pb = ablation.paired_predictions(a, b)
    assert y.tolist() == ["y", "x"] and pa.tolist() == ["y", "y"] and pb.tolist() == ["y", "x"]
    with pytest.raises(NidsError, match="share no test row"):
        ablation.paired_predictions(a, _fake_result("c", 0, ["x"], ["x"], test_rows=[100]))
    with pytest.raises(NidsError, match="no seed in common"):
        ablation.compare([a], [_fake_result("b", 3, ["x"], ["x"])])


# -- GRU vs LSTM, protocol table, model choice ----------------------------------------------------
def test_gru_vs_lstm_ratios():
    def run(model, seed, seconds, per_epoch, epochs, f1):
        rec = _record(model, "multiclass", seed, train_seconds=seconds, seconds_per_epoch=per_epoch, epochs=epochs, f1_macro=f1)
        return SimpleNamespace(record={**rec, "n_params": 100})

    results = [
        run(ablation.GRU_MODEL, 0, 30.0, 6.0, 5, 0.50),
        run(ablation.GRU_MODEL, 1, 34.0, 6.0, 5, 0.52),
        run(ablation.LSTM_TWIN, 0, 40.0, 8.0, 5, 0.49),
        run(ablation.LSTM_TWIN, 1, 40.0, 8.0, 5, 0.49),
    ]
    latency = pd.DataFrame(
        {
            "model": [ablation.GRU_MODEL, ablation.LSTM_TWIN],
            "task": ["multiclass", "multiclass"],
            "single_p50_ms": [3.0, 4.0],
            "single_p99_ms": [6.0, 5.0],
            "batch_flows_per_s": [2000.0, 1000.0],
        }
    )
    row = ablation.gru_vs_lstm(results, latency).iloc[0]
    assert row["seeds"] == 2
    assert row["train_seconds_ratio"] == pytest.approx(32 / 40)
    assert row["seconds_per_epoch_ratio"] == pytest.approx(0.75)
    assert row["p50_latency_ratio"] == pytest.approx(0.75) and row["p99_latency_ratio"] == pytest.approx(1.2)
    assert row["batch_time_ratio"] == pytest.approx(0.5)
    assert row["f1_macro_diff"] == pytest.approx(0.02)
    sentence = ablation.ratio_sentence(row)
    assert "seconds per epoch x0.75 (cuts 25%; the claim is a 25% cut)" in sentence
    assert "macro-F1 0.5100 vs 0.4900 (+0.0200)" in sentence


def test_protocol_table_inflation_and_best_model_by_validation():
    records = [
        _record("rf", "binary", 0, accuracy=0.90, f1_macro=0.88),
        {**_record("rf", "binary", 0, accuracy=0.97, f1_macro=0.96), "protocol": "random"},
    ]
    row = ablation.protocol_table(records).iloc[0]
    assert row["accuracy_inflation"] == pytest.approx(0.07) and row["f1_macro_inflation"] == pytest.approx(0.08)
    deep = [
        _record("m1", "multiclass", 0, n_params=10, val_f1_macro=0.4, f1_macro=0.9),
        _record("m2", "multiclass", 0, n_params=10, val_f1_macro=0.5, f1_macro=0.1),
        _record("rf", "multiclass", 0, n_params=None, val_f1_macro=0.9),
    ]
    assert ablation.best_deep_model(deep) == "m2"  # chosen on validation, never on test
    with pytest.raises(NidsError, match="no deep-model record"):
        ablation.best_deep_model(deep, task="binary")


def test_literature_entries_are_cited():
    assert all(r["source"] and r["train"] for r in ablation.LITERATURE)
    table = ablation.literature_table("nsl-kdd")
    assert {"KDDTest+", "KDDTest-21"} <= set(table["test_partition"])
    assert table["source"].str.contains("Tavallaee").any()


# -- running real (tiny) experiments ----------------------------------------------------------------
@pytest.fixture(scope="module")
def dataset(make_unsw):
    frame = make_unsw({"Normal": 80, "Exploits": 45, "Generic": 35, "DoS": 20}, seed=1)
    partition = np.where(np.arange(len(frame)) % 5 == 0, "holdout", "unknown").astype(object)
    return unsw.frame_to_dataset(frame, [], partition)


def test_run_cache_trains_once_and_tags_variants(dataset):
    cache = ablation.RunCache(CFG, variant="ablation")
    first = cache.run(dataset, "rf", "multiclass", seed=0)
    assert cache.run(dataset, "rf", "multiclass", seed=0) is first
    assert first.record["variant"] == "ablation" and first.record["max_epochs"] == CFG.epochs
    dropped = cache.run(dataset, "rf", "multiclass", seed=0, drop_features=ablation.TTL_FEATURES)
    assert dropped.record["variant"] == "ablation+no_sttl_dttl_ct_state_ttl"
    assert dropped.record["n_features_in"] == first.record["n_features_in"] - 3
    grid = cache.grid(dataset, ["rf"], ["binary"], [0, 1], single_seed_models=["rf"])
    assert [r.record["seed"] for r in grid] == [0]
    assert len(cache.results) == 3 and len(cache.select(task="multiclass")) == 2
    comparison = ablation.compare([first], [dropped])
    assert comparison.a == "rf" and comparison.b == "rf (no_sttl_dttl_ct_state_ttl)"
    assert comparison.tests[0].n == len(np.intersect1d(first.split.test, dropped.split.test))


def test_score_partition_rescores_without_retraining(dataset):
    cache = ablation.RunCache(CFG)
    result = cache.run(dataset, "rf", "binary", seed=0)
    other = ablation.score_partition(result, dataset, "holdout")
    rows = np.flatnonzero(dataset.partition.to_numpy() == "holdout")
    assert other.record["n_test"] == len(rows) == len(other.y_test) == len(other.proba_test)
    assert other.record["test_partition"] == "holdout" and other.record["scored_without_retraining"]
    assert other.detector is result.detector and other.record["train_seconds"] == result.record["train_seconds"]
    assert other.record["split_fingerprint"] != result.record["split_fingerprint"]
    assert not [k for k in REQUIRED if k not in other.record]
    assert 0.0 <= other.record["accuracy"] <= 1.0
    with pytest.raises(NidsError, match="no partition 'KDDTest-21'"):
        ablation.score_partition(result, dataset, "KDDTest-21")


def test_notebook_06_declares_every_parameter_papermill_can_read():
    """A parameter line papermill cannot parse (e.g. '=' in its comment) would be silently unsettable by run_all -p."""
    import nbformat
    import papermill as pm

    from nids.config import PROJECT_ROOT

    path = PROJECT_ROOT / "notebooks" / "06_ablation_latency.ipynb"
    cell = next(c for c in nbformat.read(path, as_version=4).cells if "parameters" in c.metadata.get("tags", []))
    names = [line.split(":", 1)[0] for line in cell.source.splitlines() if line.strip()]
    assert sorted(pm.inspect_notebook(str(path))) == sorted(names)
    assert {"QUICK", "SEEDS", "EPOCHS", "MAX_TRAIN_ROWS", "SINGLE_SEED_MODELS", "THREADS"} <= set(names)

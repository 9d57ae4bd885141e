"""SHAP explanations on real UNSW-NB15 flows (NIDS_DATA_DIR): additivity of Tree SHAP, the fidelity of
the depth-capped forest, the deep explainer's shape, and ``nids explain`` end to end. Small budgets: a
subsampled training split, 20 trees, one epoch."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nids import explain
from nids.cli import main
from nids.datasets import load_dataset, unsw
from nids.experiments import run_experiment
from nids.models.forest import ForestConfig
from nids.training import TrainConfig

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def dataset(real_data_dir):
    return load_dataset("unsw-nb15", real_data_dir)


@pytest.fixture(scope="module")
def forest(dataset):
    cfg = TrainConfig(forest=ForestConfig(n_estimators=20))
    return run_experiment(dataset, "rf", "multiclass", "dedup", seed=0, train_cfg=cfg, max_train_rows=5000)


@pytest.fixture(scope="module")
def sample(dataset, forest):
    return explain.explanation_sample(dataset, forest.detector, 60, 20, seed=0)


def test_sample_covers_every_class_from_the_test_split(sample, forest):
    assert len(sample.flows) == 60 and set(sample.rows) <= set(forest.split.test)
    assert sample.class_counts().min() >= 3 and len(sample.class_counts()) == 10  # floor of 60 // 20 per class
    assert "WARNING" not in sample.note


def test_tree_shap_adds_up_to_the_forest_probability(forest, sample):
    result = explain.explain_forest(forest.detector, sample.flows, depth_cap=None)
    assert result.explainer == "TreeExplainer"
    assert result.values.shape == (60, 42, 10) and result.feature_names == unsw.FEATURES
    np.testing.assert_allclose(
        result.base_values + result.values.sum(axis=1), forest.detector.predict_proba(sample.flows), atol=1e-6
    )
    top = set(result.importance().index[:10])
    # the TTL features are near-proxies of the label in this file (data README): the forest leans on them
    assert top & {"sttl", "ct_state_ttl", "dttl"}, top


def test_depth_capped_forest_stays_close_to_the_full_forest(forest, sample):
    result = explain.explain_forest(forest.detector, sample.flows, depth_cap=12)
    assert result.details["depth_cap"] == 12
    assert result.details["fidelity_top_class_agreement"] >= 0.85
    assert result.details["fidelity_mean_abs_proba_diff"] <= 0.05


def test_deep_explainer_gives_one_value_per_original_feature(dataset, sample):
    deep = run_experiment(
        dataset, "bigru_seq2seq_convlstm", "multiclass", "dedup", seed=0,
        train_cfg=TrainConfig(epochs=1, progress=False), max_train_rows=3000,
    )  # fmt: skip
    result = explain.explain_deep(deep.detector, sample.flows.iloc[:6], sample.background, outputs="predicted", nsamples=8)
    assert result.explainer == "GradientExplainer"
    assert result.values.shape == (6, 42, 10)
    assert np.isfinite(result.predicted_values()).all()
    assert {"proto", "service", "state"} <= set(result.feature_names)


def test_cli_explain_real_flows(forest, sample, tmp_path, capsys):
    directory = forest.detector.save(tmp_path / "rf")
    source = tmp_path / "flows.csv"  # real rows, but only in a temporary folder
    sample.flows.iloc[:25].to_csv(source, index=False)
    out = tmp_path / "explained.csv"
    code = main(["explain", "--model", str(directory), "--input", str(source), "--output", str(out), "--top", "4"])
    assert code == 0, capsys.readouterr().err
    table = pd.read_csv(out, keep_default_na=False)
    assert len(table) == 25 and table["feature_4"].isin(unsw.FEATURES).all()
    assert set(table["predicted"]) <= set(forest.detector.classes)

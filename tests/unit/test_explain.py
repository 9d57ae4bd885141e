"""SHAP explanations (nids.explain) on a tiny synthetic table: additivity, original features, the
depth-capped forest, the deep explainers and their fallback, the tables, plots and ``nids explain``."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from nids import explain, plots
from nids.cli import main
from nids.datasets import unsw
from nids.errors import NidsError
from nids.experiments import run_experiment
from nids.features import output_features, transform
from nids.models.forest import ForestConfig
from nids.training import TrainConfig

CLASSES = ["DoS", "Exploits", "Generic", "Normal"]


@pytest.fixture(scope="module")
def dataset(make_unsw):
    frame = make_unsw({"Normal": 80, "Exploits": 45, "Generic": 35, "DoS": 20}, seed=1)
    return unsw.frame_to_dataset(frame, [], np.full(len(frame), "unknown", dtype=object))


@pytest.fixture(scope="module")
def forest(dataset):
    return run_experiment(
        dataset, "rf", "multiclass", "dedup", seed=0, train_cfg=TrainConfig(forest=ForestConfig(n_estimators=15, n_jobs=1))
    )


@pytest.fixture(scope="module")
def deep(dataset):
    return run_experiment(
        dataset, "bigru_seq2seq_convlstm", "multiclass", "dedup", seed=0, train_cfg=TrainConfig(epochs=1, progress=False)
    )


@pytest.fixture(scope="module")
def flows(dataset, forest):
    return dataset.features.iloc[forest.split.test].reset_index(drop=True)


@pytest.fixture(scope="module")
def background(dataset, forest):
    return dataset.features.iloc[forest.split.train[:30]].reset_index(drop=True)


@pytest.fixture(scope="module")
def rf_shap(forest, flows):
    return explain.explain_forest(forest.detector, flows, depth_cap=None)


# -- Random Forest ----------------------------------------------------------------------------
def test_forest_values_plus_base_reproduce_the_predicted_probability(forest, flows, rf_shap):
    detector = forest.detector
    assert rf_shap.explainer == "TreeExplainer"
    assert rf_shap.values.shape == (len(flows), 42, 4)
    assert rf_shap.feature_names == unsw.FEATURES and rf_shap.classes == CLASSES
    proba = detector.predict_proba(flows)
    np.testing.assert_allclose(rf_shap.proba, proba)
    np.testing.assert_allclose(rf_shap.base_values + rf_shap.values.sum(axis=1), proba, atol=1e-6)
    assert rf_shap.additivity_gap() < 1e-6
    np.testing.assert_allclose(rf_shap.base_values.sum(), 1.0, atol=1e-6)  # expected probabilities


def test_one_hot_columns_are_summed_back_to_their_feature(forest, flows, rf_shap):
    import shap

    detector = forest.detector
    X = transform(detector.preprocessor, flows)
    raw = shap.TreeExplainer(detector.model, feature_perturbation="tree_path_dependent").shap_values(X)
    names = output_features(detector.preprocessor)
    proto = [i for i, n in enumerate(names) if n.startswith("cat__proto_")]
    assert len(proto) > 1
    np.testing.assert_allclose(rf_shap.values[:, unsw.FEATURES.index("proto"), :], raw[:, proto, :].sum(axis=1), atol=1e-9)
    sbytes = names.index("num__sbytes")
    np.testing.assert_allclose(rf_shap.values[:, unsw.FEATURES.index("sbytes"), :], raw[:, sbytes, :], atol=1e-9)


def test_depth_capped_forest_explains_the_cut_trees_exactly(forest, flows):
    detector = forest.detector
    result = explain.explain_forest(detector, flows, depth_cap=3)
    assert result.explainer == "TreeExplainer (depth-3 surrogate)" and result.details["depth_cap"] == 3
    X = transform(detector.preprocessor, flows)
    expected = np.zeros((len(X), 4))
    for estimator in detector.model.estimators_:  # walk each tree to depth 3 by hand
        tree = estimator.tree_
        node = np.zeros(len(X), dtype=int)
        for _ in range(3):
            inner = tree.children_left[node] != -1
            go_left = X[np.arange(len(X)), np.maximum(tree.feature[node], 0)] <= tree.threshold[node]
            node = np.where(inner, np.where(go_left, tree.children_left[node], tree.children_right[node]), node)
        value = tree.value[node][:, 0, :]
        expected[:, detector.model.classes_.astype(int)] += value / value.sum(axis=1, keepdims=True)
    expected /= len(detector.model.estimators_)
    np.testing.assert_allclose(result.explained, expected, atol=1e-6)
    agreement = result.details["fidelity_top_class_agreement"]
    assert 0.0 <= agreement <= 1.0
    assert agreement == pytest.approx(np.mean(expected.argmax(1) == result.proba.argmax(1)), abs=1e-4)
    assert result.details["fidelity_mean_abs_proba_diff"] == pytest.approx(np.abs(expected - result.proba).mean(), abs=1e-4)


def test_truncating_below_the_deepest_leaf_changes_nothing(forest, flows, rf_shap):
    import shap

    model = forest.detector.model
    X = transform(forest.detector.preprocessor, flows)
    cut = shap.TreeExplainer(explain.truncated_forest(model, 1000), feature_perturbation="tree_path_dependent")
    np.testing.assert_allclose(explain.FeatureCodec(
        forest.detector.preprocessor, forest.detector.features, forest.detector.categorical
    ).to_original(cut.shap_values(X, check_additivity=False)), rf_shap.values, atol=1e-9)  # fmt: skip
    deepest = max(e.tree_.max_depth for e in model.estimators_)
    assert explain.explain_forest(forest.detector, flows, depth_cap=deepest).explainer == "TreeExplainer"


def test_auto_depth_cap_follows_the_budget(forest, flows):
    model = forest.detector.model
    full = explain.forest_cost_per_row(model)
    assert full > explain.forest_cost_per_row(model, 6) > explain.forest_cost_per_row(model, 2) > 0
    assert explain.choose_depth_cap(model, 100, budget_s=None) is None
    assert explain.choose_depth_cap(model, 100, budget_s=full * 100 * 1.01) is None
    cap = explain.choose_depth_cap(model, 100, budget_s=explain.forest_cost_per_row(model, 6) * 100 * 1.01)
    assert cap is not None and cap <= 6
    tiny = explain.explain_forest(forest.detector, flows, budget_s=1e-9)
    assert tiny.details["depth_cap"] == min(explain.DEPTH_CAPS)
    with pytest.raises(NidsError, match="depth_cap"):
        explain.explain_forest(forest.detector, flows, depth_cap=0)


def test_forest_explainer_rejects_a_deep_detector(deep, flows):
    with pytest.raises(NidsError, match="Random Forest"):
        explain.explain_forest(deep.detector, flows)


# -- deep models ------------------------------------------------------------------------------
def test_gradient_explainer_gives_one_value_per_original_feature(deep, flows, background):
    detector = deep.detector
    result = explain.explain_deep(detector, flows.iloc[:5], background, nsamples=8, seed=0)
    assert result.explainer == "GradientExplainer" and result.details["attempts"] == []
    assert result.values.shape == (5, 42, 4) and np.isfinite(result.values).all()
    assert result.feature_names == unsw.FEATURES
    np.testing.assert_allclose(result.base_values, detector.predict_proba(background).mean(axis=0), atol=1e-5)
    np.testing.assert_allclose(result.proba, detector.predict_proba(flows.iloc[:5]), atol=1e-5)
    assert result.additivity_gap() < 0.5  # expected gradients: approximate by design


def test_shared_jacobian_gives_the_same_values_as_per_class_gradients(deep, flows, background):
    shared = explain.explain_deep(deep.detector, flows.iloc[:2], background, nsamples=4, seed=1)
    per_class = explain.explain_deep(deep.detector, flows.iloc[:2], background, nsamples=4, seed=1, jacobian=False)
    assert shared.details["shared_jacobian"] and not per_class.details["shared_jacobian"]
    np.testing.assert_allclose(shared.values, per_class.values, atol=1e-4)  # float32 rounding of two graphs


def test_predicted_outputs_explain_each_rows_predicted_class_only(deep, flows, background):
    result = explain.explain_deep(deep.detector, flows.iloc[:6], background, outputs="predicted", nsamples=8)
    assert result.explainer == "GradientExplainer"
    finite = np.isfinite(result.values).all(axis=1)  # (rows, classes)
    assert (finite.sum(axis=1) == 1).all()
    assert (finite.argmax(axis=1) == result.predicted).all()
    table = explain.top_contributions(result, 3)
    assert len(table) == 6 and table[["contribution_1", "contribution_2", "contribution_3"]].notna().all().all()


def test_falls_back_to_the_permutation_explainer_when_gradients_fail(deep, flows, background, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no gradient for you")

    monkeypatch.setattr(explain, "_gradient_values", broken)
    result = explain.explain_deep(deep.detector, flows.iloc[:4], background, seed=0)
    assert result.explainer == "PermutationExplainer"
    assert [a["explainer"] for a in result.details["attempts"]] == ["GradientExplainer"]
    assert "no gradient for you" in result.details["attempts"][0]["error"]
    assert result.values.shape == (4, 42, 4)
    assert result.additivity_gap() < 1e-4  # permutation Shapley values are exactly efficient
    assert "GradientExplainer failed first" in result.describe()


def test_deep_explainer_fails_on_this_model_and_is_replaced_without_breaking_gradients(deep, flows, background):
    result = explain.explain_deep(deep.detector, flows.iloc[:3], background, method="deep")
    # SHAP 0.51's DeepExplainer has no rule for the ops of the ConvLSTM model under TF 2.21
    assert result.explainer == "PermutationExplainer", "DeepExplainer works now: revisit the fallback notes"
    assert result.details["attempts"][0]["explainer"] == "DeepExplainer"
    assert "gradient registry" in result.details["attempts"][0]["error"]
    # the failed DeepExplainer left TensorFlow's gradient recording as it found it
    again = explain.explain_deep(deep.detector, flows.iloc[:2], background, method="gradient", nsamples=4)
    assert again.explainer == "GradientExplainer"


def test_deep_explainer_arguments_are_checked(deep, forest, flows, background):
    with pytest.raises(NidsError, match="unknown deep explainer method"):
        explain.explain_deep(deep.detector, flows, background, method="kernel")
    with pytest.raises(NidsError, match="outputs"):
        explain.explain_deep(deep.detector, flows, background, outputs="some")
    with pytest.raises(NidsError, match="deep"):
        explain.explain_deep(forest.detector, flows, background)
    with pytest.raises(NidsError, match="background"):
        explain.explain_deep(deep.detector, flows, background.iloc[:0])


# -- tables, helpers --------------------------------------------------------------------------
def test_codec_round_trip(forest, flows):
    detector = forest.detector
    codec = explain.FeatureCodec(detector.preprocessor, detector.features, detector.categorical)
    X = transform(detector.preprocessor, flows)
    Z = codec.encode(X)
    assert Z.shape == (len(X), 42)
    np.testing.assert_array_equal(codec.decode(Z), X)


def test_top_contributions_one_row_per_flow_and_adding_up(rf_shap, flows):
    table = explain.top_contributions(rf_shap, 4)
    assert len(table) == len(flows)
    assert list(table.columns[:4]) == ["predicted", "confidence", "base_value", "explained_probability"]
    contributions = table[[f"contribution_{i}" for i in range(1, 5)]].to_numpy(dtype=float)
    assert (np.diff(np.abs(contributions), axis=1) <= 1e-12).all()  # largest first
    total = table["base_value"] + contributions.sum(axis=1) + table["other_contribution"]
    np.testing.assert_allclose(total, table["explained_probability"], atol=1e-9)
    np.testing.assert_allclose(table["explained_probability"], table["confidence"], atol=1e-6)
    first = table.iloc[0]
    assert first["value_1"] == flows.iloc[0][first["feature_1"]]
    assert explain.top_contributions(rf_shap, 100).shape[1] == 4 + 3 * 42 + 1
    with pytest.raises(NidsError, match="top"):
        explain.top_contributions(rf_shap, 0)


def test_importance_tables(rf_shap):
    per_class = rf_shap.class_importance()
    assert per_class.shape == (42, 4) and list(per_class.columns) == CLASSES
    importance = rf_shap.importance()
    assert importance.is_monotonic_decreasing and importance.index[0] in unsw.FEATURES
    np.testing.assert_allclose(importance.sum(), per_class.to_numpy().sum())
    np.testing.assert_allclose(rf_shap.attack_values(), -rf_shap.values[:, :, CLASSES.index("Normal")])
    summary = rf_shap.summary(top=5)
    assert summary["explainer"] == "TreeExplainer" and len(summary["top_features"]) == 5
    json.dumps(summary)


def test_rank_agreement():
    a = pd.Series(np.arange(10, 0, -1.0), index=list("abcdefghij"))
    same = explain.rank_agreement(a, a * 2, top=3)
    assert same["spearman_all"] == 1.0 and same["top_overlap"] == 3 and same["first_top"] == ["a", "b", "c"]
    reverse = explain.rank_agreement(a, pd.Series(np.arange(1, 11.0), index=list("abcdefghij")), top=3)
    assert reverse["spearman_all"] == -1.0 and reverse["top_overlap"] == 0
    assert reverse["spearman_top_union"] == -1.0 and reverse["kendall_top_union"] == -1.0


def test_class_floor_sample_keeps_rare_classes():
    labels = np.array(["Normal"] * 900 + ["Exploits"] * 95 + ["Worms"] * 5)
    rows = explain.class_floor_sample(labels, 60, seed=0)
    assert len(rows) == 60 and len(set(rows)) == 60
    counts = pd.Series(labels[rows]).value_counts()
    assert counts["Worms"] == 5 and counts["Exploits"] >= 10 and counts["Normal"] > counts["Exploits"]
    assert sorted(explain.class_floor_sample(labels[:10], 50)) == list(range(10))


def test_pick_flows_takes_different_classes_and_a_wrong_one(rf_shap):
    predicted = np.asarray(rf_shap.classes)[rf_shap.predicted]
    y_true = predicted.copy()
    wrong = int(np.flatnonzero(predicted != "Normal")[0])
    y_true[wrong] = "Normal"  # this flow is now a false alarm
    chosen = explain.pick_flows(rf_shap, y_true, n=4)
    assert chosen[1] == wrong and len(chosen) == len(set(chosen))  # the only wrong verdict comes second
    assert len({y_true[i] for i in chosen}) == len(chosen)  # of different true classes
    assert all(y_true[i] == predicted[i] for i in chosen if i != wrong)
    table = explain.local_table(rf_shap, chosen, y_true[chosen])
    assert list(table["correct"]) == [y_true[i] == predicted[i] for i in chosen]


def test_explanation_sample_and_load_or_train(dataset, forest):
    detector = forest.detector
    sample = explain.explanation_sample(dataset, [detector], 20, 10, seed=0)
    assert len(sample.flows) == 20 and len(sample.background) == 10
    assert set(sample.rows) <= set(forest.split.test)
    assert sample.note.startswith("dedup split, seed 0") and "WARNING" not in sample.note
    assert sample.class_counts().sum() == 20
    trained, note = explain.load_or_train(dataset, "rf", "multiclass", seed=0, train_rows=100)
    assert "trained a quick rf" in note and trained.classes == CLASSES
    from nids import config

    detector.save(config.models_dir() / "unsw-nb15" / "rf_multiclass")
    loaded, note = explain.load_or_train(dataset, "rf", "multiclass")
    assert note.startswith("loaded") and loaded.model_name == "rf"


def test_report_is_json(rf_shap, dataset, forest):
    sample = explain.explanation_sample(dataset, forest.detector, 10, 5)
    agreement = explain.rank_agreement(rf_shap.importance(), rf_shap.importance())
    local = {"rf": explain.local_table(rf_shap, [0, 1], ["Normal", "DoS"])}
    payload = explain.report("unsw-nb15", {"rf": rf_shap}, agreement, sample, local, notes=["n"])
    text = json.dumps(payload)
    assert json.loads(text)["models"]["rf"]["explainer"] == "TreeExplainer"
    assert payload["local"]["rf"][0]["true"] == "Normal" and payload["sample"]["rows"] == 10


# -- plots ------------------------------------------------------------------------------------
def test_shap_figures(rf_shap, _outputs_in_tmp):
    figures = {
        "bar": plots.shap_importance(rf_shap, "bar", top=8),
        "beeswarm": plots.shap_beeswarm(rf_shap, "beeswarm", top=8),
        "per_class": plots.shap_class_importance(rf_shap, "per class", top=8),
        "waterfall": plots.shap_waterfall(rf_shap, 0, "Normal", top=6),
    }
    agreement = explain.rank_agreement(rf_shap.importance(), rf_shap.importance(), top=5)
    figures["agreement"] = plots.shap_rank_agreement(rf_shap.importance(), rf_shap.importance(), ("a", "b"), agreement, top=5)
    for name, fig in figures.items():
        path = plots.save(fig, f"07_test_{name}", "unsw-nb15")
        assert path.stat().st_size > 1000
        plt.close(fig)
    waterfall = plots.shap_waterfall(rf_shap, 0, None, top=6)
    labels = [t.get_text() for t in waterfall.axes[0].get_yticklabels()]
    assert len(labels) == 7 and labels[0] == "36 other features"
    plt.close(waterfall)


# -- the command ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rf_dir(forest, tmp_path_factory):
    return forest.detector.save(tmp_path_factory.mktemp("explain") / "rf")


def test_cli_explain_one_output_row_per_input_row(rf_dir, flows, tmp_path, capsys):
    source = tmp_path / "flows.csv"
    flows.assign(attack_cat="x").to_csv(source, index=False)
    out = tmp_path / "explained.csv"
    code = main(["explain", "--model", str(rf_dir), "--input", str(source), "--output", str(out), "--top", "3"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"{len(flows)} rows explained with TreeExplainer (top 3 features per row)" in captured.out
    table = pd.read_csv(out)
    assert len(table) == len(flows) and list(table["row"]) == list(range(1, len(flows) + 1))
    assert {"predicted", "confidence", "feature_3", "value_3", "contribution_3", "other_contribution", "status"} <= set(
        table.columns
    )
    assert set(table["feature_1"]) <= set(unsw.FEATURES)
    np.testing.assert_allclose(table["explained_probability"], table["confidence"], atol=1e-6)


def test_cli_explain_caps_the_forest_over_budget(rf_dir, flows, tmp_path, capsys):
    source = tmp_path / "flows.csv"
    flows.to_csv(source, index=False)
    code = main(["explain", "--model", str(rf_dir), "--input", str(source), "--output", str(tmp_path / "o.csv"), "--budget", "0"])
    captured = capsys.readouterr()
    assert code == 0 and "surrogate" in captured.out and "cut at depth" in captured.err


def test_cli_explain_deep_model(deep, flows, tmp_path, capsys):
    directory = deep.detector.save(tmp_path / "deep")
    source = tmp_path / "flows.csv"
    flows.iloc[:5].to_csv(source, index=False)
    out = tmp_path / "explained.csv"
    code = main(["explain", "--model", str(directory), "--input", str(source), "--output", str(out), "--top", "2"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "5 rows explained with GradientExplainer" in captured.out and "relative to the mean prediction" in captured.err
    assert len(pd.read_csv(out)) == 5


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--top", "0"], "--top 0"),
        (["--output", "/nonexistent/dir/out.csv"], "expected an existing directory"),
    ],
)
def test_cli_explain_user_errors(rf_dir, flows, tmp_path, capsys, argv, fragment):
    source = tmp_path / "flows.csv"
    flows.iloc[:3].to_csv(source, index=False)
    base = {"--model": str(rf_dir), "--input": str(source), "--output": str(tmp_path / "o.csv")}
    for flag, value in zip(argv[::2], argv[1::2], strict=True):
        base[flag] = value
    code = main(["explain", *[x for pair in base.items() for x in pair]])
    captured = capsys.readouterr()
    assert code == 2 and captured.err.startswith("error: ") and fragment in captured.err
    assert "Traceback" not in captured.err


def test_cli_explain_empty_and_wrong_tables(rf_dir, flows, tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    flows.iloc[:0].to_csv(empty, index=False)
    code = main(["explain", "--model", str(rf_dir), "--input", str(empty), "--output", str(tmp_path / "o.csv")])
    assert code == 2 and "no rows to explain" in capsys.readouterr().err
    wrong = tmp_path / "wrong.csv"
    flows.iloc[:3].drop(columns=["proto", "sbytes"]).to_csv(wrong, index=False)
    code = main(["explain", "--model", str(rf_dir), "--input", str(wrong), "--output", str(tmp_path / "o.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "proto" in err and "sbytes" in err


def test_cli_explain_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["explain", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for fragment in ("usage: nids explain", "--model", "--input", "--output", "--top", "--budget", "--background", "--explainer"):
        assert fragment in out

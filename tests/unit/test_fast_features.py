"""The compiled numpy preprocessing equals the fitted sklearn pipeline it was read from."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nids.detector import Detector
from nids.fast_features import compile_preprocessor
from nids.features import FeatureConfig, build_preprocessor, fit_preprocessor, transform


def _awkward(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows with NaN, +/-inf, text in numeric columns, unseen / missing / odd-case categories."""
    out = frame.copy().reset_index(drop=True)
    out["dur"] = out["dur"].astype(object)
    out[["sbytes", "dbytes", "rate", "sload"]] = out[["sbytes", "dbytes", "rate", "sload"]].astype(float)
    out.loc[0, "dur"] = "not a number"
    out.loc[1, "dur"] = " 2.5 "
    out.loc[2, "dur"] = np.nan
    out.loc[3, "sbytes"] = np.inf
    out.loc[4, "dbytes"] = -np.inf
    out.loc[5, "rate"] = np.nan
    out.loc[6, "sload"] = -3.0  # negative: the signed log1p keeps the sign
    out.loc[7, "proto"] = "brand-new-proto"
    out.loc[8, "service"] = None
    out.loc[9, "state"] = "  INT  "  # case and spaces are normalised
    out.loc[10, "proto"] = "TCP"
    return out


@pytest.mark.parametrize(
    "cfg",
    [
        FeatureConfig(),
        FeatureConfig(min_frequency=1),
        FeatureConfig(min_frequency=8, max_categories=3),
        FeatureConfig(log_transform=False),
    ],
)
def test_compiled_transform_equals_sklearn(unsw_dataset, cfg):
    features = unsw_dataset.features
    train = features.iloc[:50].copy()
    train.loc[train.index[:2], "proto"] = ["rare1", "rare2"]  # infrequent categories at fit time
    pre = fit_preprocessor(train, unsw_dataset.categorical, cfg)
    fast = compile_preprocessor(pre)
    assert fast is not None
    test = _awkward(features.iloc[50:])
    expected = transform(pre, test)
    for rows in (test, test.iloc[:3], train.iloc[:2]):
        got, want = fast.transform(rows), transform(pre, rows)
        assert got.dtype == np.float32 and got.shape == want.shape == (len(rows), fast.n_outputs)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    # every awkward row individually, and the whole batch (> 64 rows takes the pandas text path)
    for i in range(len(test)):
        np.testing.assert_allclose(fast.transform(test.iloc[[i]]), expected[[i]], rtol=1e-6, atol=1e-6)
    # numeric columns of plain float dtype with NaN / inf (the one-to_numpy small-frame path)
    floats = test.drop(index=[0, 1]).assign(dur=lambda f: f["dur"].astype(float))
    assert floats["dur"].dtype == np.float64
    np.testing.assert_allclose(fast.transform(floats), transform(pre, floats), rtol=1e-6, atol=1e-6)
    for i in range(len(floats)):
        np.testing.assert_allclose(fast.transform(floats.iloc[[i]]), transform(pre, floats.iloc[[i]]), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(
        np.isnan(fast.numeric_values(floats.iloc[:3])), np.isnan(fast.numeric_values(floats).copy()[:3])
    )
    big = pd.concat([test] * 4, ignore_index=True)
    np.testing.assert_allclose(fast.transform(big), transform(pre, big), rtol=1e-6, atol=1e-6)


def test_unseen_category_without_infrequent_column_is_all_zeros(unsw_dataset):
    features = unsw_dataset.features
    pre = fit_preprocessor(features.iloc[:50], unsw_dataset.categorical, FeatureConfig(min_frequency=1))
    fast = compile_preprocessor(pre)
    novel = features.iloc[50:52].copy()
    novel["proto"] = "never-seen"
    got, want = fast.transform(novel), transform(pre, novel)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    proto_columns = [i for i, n in enumerate(pre.get_feature_names_out()) if n.startswith("cat__proto_")]
    assert (got[:, proto_columns] == 0).all()


def test_only_numeric_or_only_categorical_columns(unsw_dataset):
    features = unsw_dataset.features
    numeric_only = features.drop(columns=unsw_dataset.categorical)
    pre = fit_preprocessor(numeric_only.iloc[:50], [], FeatureConfig())
    np.testing.assert_allclose(
        compile_preprocessor(pre).transform(numeric_only.iloc[50:]), transform(pre, numeric_only.iloc[50:]), rtol=1e-6, atol=1e-6
    )
    cats = features[unsw_dataset.categorical]
    pre = build_preprocessor(list(unsw_dataset.categorical), []).fit(cats.iloc[:50])
    np.testing.assert_array_equal(compile_preprocessor(pre).transform(cats.iloc[50:]), transform(pre, cats.iloc[50:]))


def test_a_pipeline_of_another_shape_is_not_compiled(unsw_dataset):
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import MinMaxScaler

    numeric = [c for c in unsw_dataset.features.columns if c not in unsw_dataset.categorical]
    other = ColumnTransformer([("num", MinMaxScaler(), numeric)]).fit(unsw_dataset.features)
    assert compile_preprocessor(other) is None


def test_detector_small_batches_use_the_compiled_path(unsw_dataset):
    from sklearn.ensemble import RandomForestClassifier

    features = unsw_dataset.features
    y = (unsw_dataset.target("multiclass").to_numpy() != unsw_dataset.normal_class("multiclass")).astype(int)
    pre = fit_preprocessor(features.iloc[::2], unsw_dataset.categorical)
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(transform(pre, features.iloc[::2]), y[::2])
    assert len(model.classes_) == 2
    detector = Detector(
        "rf",
        "sklearn",
        "binary",
        ["Attack", "Normal"],
        "Normal",
        list(features.columns),
        list(unsw_dataset.categorical),
        pre,
        model,
    )
    test = _awkward(features.iloc[1::2])
    assert detector.fast_preprocessor() is not None
    np.testing.assert_allclose(detector.transform(test.iloc[:5]), transform(pre, test.iloc[:5]), rtol=1e-6, atol=1e-6)
    one_by_one = pd.concat([detector.predict(test.iloc[[i]]) for i in range(len(test))])
    batch = detector.predict(test)
    assert len(one_by_one) == len(batch) == len(test)
    pd.testing.assert_frame_equal(one_by_one, batch)
    assert batch.loc[test.index[0], "status"] == "imputed: dur"
    assert batch.loc[test.index[3], "status"] == "imputed: sbytes"
    X = detector.transform(test)
    np.testing.assert_array_equal(detector.predict_proba_features(X[:3])[:, [0, 1]], model.predict_proba(X[:3]))


def test_small_forest_path_equals_predict_proba(unsw_dataset):
    from sklearn.ensemble import RandomForestClassifier

    from nids.detector import _small_forest_proba

    X = np.random.default_rng(0).normal(size=(40, 6)).astype(np.float32)
    y = np.arange(40) % 3
    model = RandomForestClassifier(n_estimators=7, random_state=0).fit(X, y)
    np.testing.assert_array_equal(_small_forest_proba(model, X[:5]), model.predict_proba(X[:5]))
    assert _small_forest_proba(model, X[:5, :4]) is None  # wrong width: sklearn raises its own error

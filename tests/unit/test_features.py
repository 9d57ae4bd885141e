"""Preprocessing: fitted on training rows only, robust to unseen categories and bad numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nids.datasets import unsw
from nids.errors import NidsError
from nids.features import (
    FeatureConfig,
    as_text,
    fit_preprocessor,
    missing_counts,
    original_feature,
    output_features,
    signed_log1p,
    to_finite_float,
    transform,
)


@pytest.fixture
def train_test(unsw_dataset):
    features = unsw_dataset.features
    return features.iloc[:50].reset_index(drop=True), features.iloc[50:].reset_index(drop=True)


def _num_step(pre, step):
    return pre.named_transformers_["num"].named_steps[step]


def _encoder(pre):
    return pre.named_transformers_["cat"].named_steps["onehot"]


def test_fitted_on_training_rows_only(unsw_dataset, train_test):
    train, _ = train_test
    pre = fit_preprocessor(train, unsw_dataset.categorical, FeatureConfig(min_frequency=1))
    numeric = [c for c in train.columns if c not in unsw_dataset.categorical]
    np.testing.assert_allclose(_num_step(pre, "impute").statistics_, train[numeric].median().to_numpy())
    scaled_train = signed_log1p(train[numeric].to_numpy(dtype=float))
    np.testing.assert_allclose(_num_step(pre, "scale").mean_, scaled_train.mean(axis=0), rtol=1e-6, atol=1e-9)
    assert _num_step(pre, "scale").n_samples_seen_ == len(train)
    for column, categories in zip(unsw_dataset.categorical, _encoder(pre).categories_, strict=True):
        assert set(categories) == set(train[column])
    # transformed training numerics are standardised
    X = transform(pre, train)
    assert X.dtype == np.float32
    np.testing.assert_allclose(X[:, : len(numeric)].mean(axis=0), 0, atol=1e-5)


def test_unseen_categories_keep_the_output_columns(unsw_dataset, train_test):
    train, test = train_test
    for cfg in (FeatureConfig(min_frequency=1), FeatureConfig()):
        pre = fit_preprocessor(train, unsw_dataset.categorical, cfg)
        names = output_features(pre)
        novel = test.copy()
        novel["proto"] = "brand-new-proto"
        novel["service"] = "quic"
        novel["state"] = ["weird"] * len(novel)
        X_test, X_novel = transform(pre, test), transform(pre, novel)
        assert X_novel.shape == X_test.shape == (len(test), len(names))
        assert output_features(pre) == names
        assert np.isfinite(X_novel).all()
        cat_columns = [i for i, n in enumerate(names) if n.startswith("cat__proto_")]
        # an unseen category is never credited to a category seen in training
        seen_columns = [i for i in cat_columns if not names[i].endswith("infrequent_sklearn")]
        assert (X_novel[:, seen_columns] == 0).all()
        # numeric columns are untouched by the categorical change
        numeric = [i for i, n in enumerate(names) if n.startswith("num__")]
        np.testing.assert_array_equal(X_novel[:, numeric], X_test[:, numeric])


def test_rare_and_unseen_categories_share_the_infrequent_column(unsw_dataset, train_test):
    train, _ = train_test
    train = train.copy()
    train.loc[:2, "proto"] = ["rare1", "rare2", "rare3"]
    pre = fit_preprocessor(train, unsw_dataset.categorical, FeatureConfig(min_frequency=5))
    names = output_features(pre)
    assert "cat__proto_infrequent_sklearn" in names
    probe = train.iloc[:2].copy()
    probe["proto"] = ["rare1", "never-seen"]
    X = transform(pre, probe)
    column = names.index("cat__proto_infrequent_sklearn")
    assert X[:, column].tolist() == [1.0, 1.0]


def test_max_categories_caps_the_one_hot_width(unsw_dataset, make_unsw):
    frame = make_unsw(duplicates=False)
    frame["service"] = [f"svc{i % 10}" for i in range(len(frame))]
    ds = unsw.frame_to_dataset(frame, [], np.full(len(frame), "unknown", dtype=object))
    pre = fit_preprocessor(ds.features, ds.categorical, FeatureConfig(min_frequency=1, max_categories=4))
    assert sum(n.startswith("cat__service_") for n in output_features(pre)) == 4


def test_non_finite_and_text_values_become_finite(unsw_dataset, train_test):
    train, test = train_test
    pre = fit_preprocessor(train, unsw_dataset.categorical, FeatureConfig(min_frequency=1))
    dirty = test.copy().astype({"sbytes": object, "dur": object, "rate": object, "sload": object})
    dirty.loc[0, "sbytes"] = "Infinity"
    dirty.loc[1, "dur"] = float("nan")
    dirty.loc[2, "rate"] = "not-a-number"
    dirty.loc[3, "sload"] = float("-inf")
    dirty.loc[4, "proto"] = None
    X = transform(pre, dirty)
    assert X.shape == (len(test), len(output_features(pre)))
    assert np.isfinite(X).all()
    # an imputed value is the training median: after log + scaling it is the median's z-score
    names = output_features(pre)
    j = names.index("num__sbytes")
    median = train["sbytes"].median()
    scaler = _num_step(pre, "scale")
    expected = (signed_log1p(np.array([median], dtype=float))[0] - scaler.mean_[j]) / scaler.scale_[j]
    assert X[0, j] == pytest.approx(expected, rel=1e-5)


def test_to_finite_float_and_missing_counts():
    frame = pd.DataFrame({"a": ["1", "Infinity", "-inf", "x", None], "b": [1.0, 2.0, np.inf, 4.0, 5.0], "c": [1, 2, 3, 4, 5]})
    values = to_finite_float(frame)
    assert values.dtype == np.float64
    assert np.isnan(values).sum(axis=0).tolist() == [4, 1, 0]
    assert missing_counts(frame, ["a", "b", "c"]) == {"a": 4, "b": 1}
    assert missing_counts(frame, []) == {}


def test_as_text():
    frame = pd.DataFrame({"p": [" TCP", "udp ", None]})
    assert as_text(frame)[:, 0].tolist() == ["tcp", "udp", "<missing>"]


def test_original_feature_maps_every_output_column(unsw_dataset, train_test):
    train, _ = train_test
    for cfg in (FeatureConfig(min_frequency=1), FeatureConfig(), FeatureConfig(log_transform=False)):
        pre = fit_preprocessor(train, unsw_dataset.categorical, cfg)
        names = output_features(pre)
        origin = original_feature(pre)
        assert len(origin) == len(names) == transform(pre, train).shape[1]
        for name, source in zip(names, origin, strict=True):
            assert name.startswith(f"num__{source}") or name.startswith(f"cat__{source}_")
        assert set(origin) == set(unsw.FEATURES)


def test_output_columns_order(unsw_dataset, train_test):
    train, _ = train_test
    pre = fit_preprocessor(train, unsw_dataset.categorical, FeatureConfig(min_frequency=1))
    names = output_features(pre)
    numeric = [c for c in unsw.FEATURES if c not in unsw_dataset.categorical]
    assert names[: len(numeric)] == [f"num__{c}" for c in numeric]
    # a reordered input frame gives the same matrix (columns are picked by name)
    shuffled = train[list(reversed(train.columns))]
    np.testing.assert_array_equal(transform(pre, shuffled), transform(pre, train))


def test_log_transform_can_be_switched_off(unsw_dataset, train_test):
    train, _ = train_test
    pre = fit_preprocessor(train, unsw_dataset.categorical, FeatureConfig(log_transform=False))
    assert "log1p" not in pre.named_transformers_["num"].named_steps
    numeric = [c for c in train.columns if c not in unsw_dataset.categorical]
    np.testing.assert_allclose(_num_step(pre, "scale").mean_, train[numeric].mean().to_numpy(), rtol=1e-6)


def test_signed_log1p():
    np.testing.assert_allclose(signed_log1p(np.array([-np.e + 1, 0.0, np.e - 1])), [-1.0, 0.0, 1.0])


@pytest.mark.parametrize("kwargs", [{"min_frequency": 0}, {"max_categories": 1}])
def test_feature_config_validation(kwargs):
    with pytest.raises(NidsError, match="FeatureConfig: expected min_frequency >= 1 and max_categories >= 2"):
        FeatureConfig(**kwargs)

"""The compiled numpy preprocessing equals the fitted sklearn pipeline on real UNSW-NB15 rows."""

from __future__ import annotations

import numpy as np
import pytest

from nids.datasets import load_dataset
from nids.fast_features import compile_preprocessor
from nids.features import fit_preprocessor, transform
from nids.splits import make_split

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_compiled_preprocessing_on_real_rows(real_data_dir):
    dataset = load_dataset("unsw-nb15", real_data_dir)
    split = make_split(dataset, "dedup", 0)
    features = dataset.features
    pre = fit_preprocessor(features.iloc[split.train], dataset.categorical)
    fast = compile_preprocessor(pre)
    assert fast is not None and fast.n_outputs == len(pre.get_feature_names_out())
    rng = np.random.default_rng(0)
    test = features.iloc[np.sort(rng.choice(split.test, size=3000, replace=False))]
    expected = transform(pre, test)
    np.testing.assert_allclose(fast.transform(test), expected, rtol=1e-5, atol=1e-5)  # large batch: pandas text path
    for start in range(0, 3000, 64):  # small batches: the one-to_numpy path
        np.testing.assert_allclose(
            fast.transform(test.iloc[start : start + 64]), expected[start : start + 64], rtol=1e-5, atol=1e-5
        )
    for i in range(0, 3000, 15):  # single flows
        np.testing.assert_allclose(fast.transform(test.iloc[[i]]), expected[[i]], rtol=1e-5, atol=1e-5)

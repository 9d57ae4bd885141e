"""Training settings: validation of TrainConfig and the class weights (no TensorFlow)."""

from __future__ import annotations

import numpy as np
import pytest

from nids.errors import NidsError
from nids.training import TrainConfig, balanced_class_weights


def test_balanced_class_weights_power_and_cap():
    y = np.array([0] * 90 + [1] * 9 + [2])  # 100 rows, 3 classes
    balanced = balanced_class_weights(y, 4)
    assert balanced[0] == pytest.approx(100 / (4 * 90)) and balanced[1] == pytest.approx(100 / (4 * 9))
    assert balanced[2] == pytest.approx(25.0) and balanced[3] == 1.0  # an absent class keeps weight 1
    root = balanced_class_weights(y, 4, power=0.5)
    assert root == pytest.approx({k: v**0.5 for k, v in balanced.items()})
    assert balanced_class_weights(y, 4, cap=10.0)[2] == 10.0


@pytest.mark.parametrize(
    "bad",
    [
        {"epochs": 0},
        {"batch_size": 0},
        {"patience": -1},
        {"learning_rate": 0.0},
        {"class_weight_power": 0.0},
        {"class_weight_power": 2.0},
    ],
)
def test_train_config_rejects_out_of_range_values(bad):
    ((name, value),) = bad.items()
    with pytest.raises(NidsError, match="TrainConfig: expected") as error:
        TrainConfig(**bad)
    assert str(error.value).endswith(f"; got {name}={value!r}")  # names only the value that is wrong
    assert str(error.value).count(" and ") == 0

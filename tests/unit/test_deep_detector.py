"""Deep detectors end to end on a tiny synthetic UNSW-shaped table (a handful of training steps).

- the same seed gives identical predictions (TensorFlow op determinism);
- a saved detector loads in a fresh process that imports only ``nids`` and predicts exactly what
  the training process predicted (Keras 3 reload of Bidirectional RNNs is a known trap);
- ``nids predict`` works with the deep detectors and keeps one output row per input row.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest

from nids.cli import main
from nids.datasets.unsw import frame_to_dataset
from nids.experiments import run_experiment
from nids.training import TrainConfig

pytestmark = pytest.mark.slow
CFG = TrainConfig(epochs=2, batch_size=64, progress=False)
DEEP = ["seq2seq_convlstm", "bigru_seq2seq_convlstm"]


@pytest.fixture(scope="module")
def frame(make_unsw) -> pd.DataFrame:
    return make_unsw(seed=3)


@pytest.fixture(scope="module")
def dataset(frame):
    return frame_to_dataset(frame, [], np.full(len(frame), "file", dtype=object))


@pytest.mark.parametrize("model", DEEP)
def test_same_seed_gives_identical_predictions(dataset, frame, model):
    first = run_experiment(dataset, model, "multiclass", "dedup", seed=7, train_cfg=CFG)
    second = run_experiment(dataset, model, "multiclass", "dedup", seed=7, train_cfg=CFG)
    np.testing.assert_array_equal(first.proba_test, second.proba_test)
    np.testing.assert_array_equal(first.detector.predict_proba(frame), second.detector.predict_proba(frame))
    assert first.record["epochs"] == second.record["epochs"] <= CFG.epochs
    assert first.record["n_params"] > 0 and first.record["seconds_per_epoch"] > 0


@pytest.mark.parametrize("model", DEEP)
def test_reload_in_a_fresh_process_predicts_the_same(dataset, frame, model, tmp_path):
    result = run_experiment(dataset, model, "binary", "dedup", seed=1, train_cfg=CFG)
    directory = result.detector.save(tmp_path / model)
    assert (directory / "model.keras").is_file() and (directory / "preprocessor.joblib").is_file()
    keras_config = zipfile.ZipFile(directory / "model.keras").read("config.json").decode()
    assert '"ConvLSTM2D"' in keras_config and "Fused" not in keras_config  # trained fused, saved with built-ins
    info = json.loads((directory / "detector.json").read_text())
    assert info["input_schema"]["features"] == list(dataset.features.columns)
    assert info["frame_config"]["timesteps"] == CFG.timesteps and "tensorflow-cpu" in info["versions"]
    flows = tmp_path / "flows.csv"
    frame.to_csv(flows, index=False)
    expected = result.detector.predict_proba(frame)
    script = (
        "import sys, numpy as np, pandas as pd\n"
        "from nids.detector import Detector\n"
        "d = Detector.load(sys.argv[1])\n"
        "np.save(sys.argv[3], d.predict_proba(pd.read_csv(sys.argv[2])))\n"
    )
    out = tmp_path / "proba.npy"
    subprocess.run([sys.executable, "-c", script, str(directory), str(flows), str(out)], check=True, timeout=300)
    np.testing.assert_allclose(np.load(out), expected, rtol=0, atol=1e-6)
    assert (np.load(out).argmax(axis=1) == expected.argmax(axis=1)).all()


def test_nids_predict_with_a_deep_detector(dataset, frame, tmp_path, capsys):
    result = run_experiment(dataset, "bigru_seq2seq_convlstm", "multiclass", "dedup", seed=0, train_cfg=CFG)
    directory = result.detector.save(tmp_path / "bigru")
    flows, verdicts = tmp_path / "flows.csv", tmp_path / "verdicts.csv"
    frame.to_csv(flows, index=False)
    assert main(["predict", "--model", str(directory), "--input", str(flows), "--output", str(verdicts)]) == 0
    out = pd.read_csv(verdicts)
    assert len(out) == len(frame) and out["row"].tolist() == list(range(1, len(frame) + 1))
    assert set(out["predicted"]) <= set(result.detector.classes)
    assert out["confidence"].between(0, 1).all()

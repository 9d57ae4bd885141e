"""Fixtures of the browser tests: a Random Forest trained quickly on the real UNSW-NB15 file, a slice
of that file written to a temporary folder at test time (never committed), and a headless Chromium."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
from harness import SLICE_ROWS


@pytest.fixture(scope="session")
def real_models(real_data_dir, tmp_path_factory) -> Path:
    """A models path holding ``unsw-nb15/rf_multiclass``, made by the apps' own "train the fast Random Forest"
    function (here with 20 trees on 3,000 training rows of the real file, to take seconds)."""
    from nids.apps.core import train_default_detector

    root = tmp_path_factory.mktemp("browser-models")
    path = train_default_detector(root, max_train_rows=3000, trees=20)
    assert path == root / "unsw-nb15" / "rf_multiclass"
    return root


@pytest.fixture(scope="session")
def real_slice(real_data_dir, tmp_path_factory) -> Path:
    """200 rows spread over the real UNSW-NB15 file (it is label-sorted), as a CSV in a temporary folder."""
    from nids.datasets.io import read_table

    frame, _ = read_table(real_data_dir / "unsw-nb15" / "UNSW_NB15_training-set.zip")
    rows = np.sort(np.random.default_rng(0).choice(len(frame), size=SLICE_ROWS, replace=False))
    path = tmp_path_factory.mktemp("browser-data") / "unsw_slice.csv"
    frame.iloc[rows].to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def cli_verdicts(real_models, real_slice, tmp_path_factory) -> bytes:
    """What ``nids predict --with-input`` writes for the slice (the apps' download must equal it byte for byte)."""
    from nids.cli import main

    out = tmp_path_factory.mktemp("browser-cli") / "verdicts.csv"
    argv = [
        "predict",
        "--model",
        str(real_models / "unsw-nb15" / "rf_multiclass"),
        "--input",
        str(real_slice),
        "--output",
        str(out),
    ]
    assert main([*argv, "--with-input"]) == 0
    return out.read_bytes()


@pytest.fixture(scope="session")
def download_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("browser-downloads")


@pytest.fixture(scope="session")
def browser(download_dir):
    driver = harness.chromium(download_dir)
    yield driver
    driver.quit()

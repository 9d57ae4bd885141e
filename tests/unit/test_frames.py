"""Flow -> ConvLSTM-frame tensorization: layout, padding, per-row sequences and input errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nids.errors import BadInputError
from nids.frames import FrameConfig, check_frames, default_frame_config, to_frames

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("n_features", "expected"),
    [
        (1, (4, 2, 2)),
        (16, (4, 2, 2)),
        (17, (4, 2, 4)),
        (42, (4, 4, 4)),
        (60, (4, 4, 4)),
        (64, (4, 4, 4)),
        (65, (4, 4, 6)),
        (122, (4, 6, 6)),
        (196, (4, 8, 8)),
    ],
)
def test_default_frame_config_smallest_even_square_ish(n_features, expected):
    cfg = default_frame_config(n_features)
    assert (cfg.timesteps, cfg.height, cfg.width) == expected
    assert cfg.capacity >= n_features
    assert cfg.height % 2 == 0 and cfg.width % 2 == 0
    assert cfg.width - cfg.height in (0, 2)
    assert cfg.shape == (*expected, 1)


def test_default_frame_config_timesteps_and_errors():
    assert default_frame_config(60, timesteps=2) == FrameConfig(2, 6, 6)
    with pytest.raises(BadInputError, match="n_features must be a positive int; got 0"):
        default_frame_config(0)
    with pytest.raises(BadInputError, match="timesteps must be a positive int"):
        default_frame_config(10, timesteps=-1)


@pytest.mark.parametrize("bad", [{"timesteps": 0}, {"height": -2}, {"width": 2.5}, {"height": True}])
def test_frame_config_validated(bad):
    values = {"timesteps": 4, "height": 4, "width": 4, **bad}
    name = next(iter(bad))
    with pytest.raises(BadInputError, match=f"FrameConfig.{name} must be a positive int"):
        FrameConfig(**values)


def test_frame_config_is_frozen():
    cfg = FrameConfig(4, 2, 2)
    with pytest.raises(AttributeError):
        cfg.height = 4  # type: ignore[misc]


def test_to_frames_layout_order_and_zero_padding():
    X = np.arange(3 * 13, dtype=np.float64).reshape(3, 13) + 1.0  # no zeros in the data
    cfg = FrameConfig(timesteps=2, height=2, width=4)  # 16 cells, 3 padded
    out = to_frames(X, cfg)
    assert out.shape == (3, 2, 2, 4, 1)
    assert out.dtype == np.float32
    flat = out.reshape(3, -1)
    np.testing.assert_array_equal(flat[:, :13], X.astype(np.float32))
    np.testing.assert_array_equal(flat[:, 13:], 0.0)
    # Row-major within a frame, frame after frame.
    assert out[1, 0, 0, 0, 0] == X[1, 0]
    assert out[1, 0, 0, 3, 0] == X[1, 3]
    assert out[1, 0, 1, 0, 0] == X[1, 4]
    assert out[1, 1, 0, 0, 0] == X[1, 8]
    assert out[1, 1, 1, 0, 0] == X[1, 12]


def test_to_frames_each_row_is_its_own_sequence():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 60))
    cfg = default_frame_config(60)
    out = to_frames(X, cfg)
    shuffled = to_frames(X[::-1], cfg)
    np.testing.assert_array_equal(out, shuffled[::-1])  # no information crosses rows
    for i in (0, 7, 19):
        np.testing.assert_array_equal(to_frames(X[i : i + 1], cfg)[0], out[i])


def test_to_frames_exact_fit_and_empty():
    cfg = FrameConfig(4, 2, 2)
    X = np.ones((2, 16), dtype=np.float32)
    assert to_frames(X, cfg).min() == 1.0
    assert to_frames(np.zeros((0, 5)), cfg).shape == (0, 4, 2, 2, 1)


def test_to_frames_rejects_wrong_rank():
    with pytest.raises(BadInputError, match=r"2-D feature matrix \(n_flows, n_features\); got an array of shape \(5,\)"):
        to_frames(np.ones(5), FrameConfig(4, 2, 2))
    with pytest.raises(BadInputError, match=r"shape \(2, 3, 4\) \(3-D\)"):
        to_frames(np.ones((2, 3, 4)), FrameConfig(4, 2, 2))


def test_to_frames_rejects_too_many_features():
    with pytest.raises(BadInputError, match=r"17 features do not fit in frames of T\*H\*W = 4\*2\*2 = 16 cells"):
        to_frames(np.ones((3, 17)), FrameConfig(4, 2, 2))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_to_frames_rejects_non_finite(bad):
    X = np.ones((4, 10))
    X[2, 7] = bad
    with pytest.raises(BadInputError, match=r"finite values; found 1 NaN/inf value.*row 2, column 7"):
        to_frames(X, FrameConfig(4, 2, 2))


def test_to_frames_rejects_non_numeric():
    with pytest.raises(BadInputError, match="numeric features"):
        to_frames(np.array([["a", "b"]], dtype=object), FrameConfig(4, 2, 2))


def test_check_frames_accepts_the_layout():
    cfg = FrameConfig(4, 2, 4)
    check_frames(to_frames(np.ones((3, 30)), cfg), cfg)
    check_frames(np.zeros((0, 4, 2, 4, 1)), cfg)


@pytest.mark.parametrize(
    ("shape", "found"),
    [
        ((3, 30), r"\(3, 30\) \(2-D\) \(a 2-D feature matrix: call to_frames first\)"),
        ((3, 4, 2, 4), r"\(3, 4, 2, 4\) \(4-D\)"),
        ((3, 4, 4, 2, 1), r"\(3, 4, 4, 2, 1\) \(5-D\)"),
        ((3, 4, 2, 4, 2), r"\(3, 4, 2, 4, 2\) \(5-D\)"),
    ],
)
def test_check_frames_names_expected_and_found(shape, found):
    cfg = FrameConfig(4, 2, 4)
    expected = r"expected frames laid out as \(n_flows, T, H, W, 1\) = \(n_flows, 4, 2, 4, 1\); got an array of shape "
    with pytest.raises(BadInputError, match=expected + found):
        check_frames(np.zeros(shape), cfg)


def test_frames_module_does_not_import_tensorflow():
    code = "import sys, nids, nids.frames; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["False", "False"]

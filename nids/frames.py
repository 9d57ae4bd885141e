"""Flow -> ConvLSTM-frame tensorization (pure numpy; never imports TensorFlow).

A ConvLSTM reads a *sequence of 2-D frames*. A flow record is a flat vector of ``F`` preprocessed
features, so each row is laid out, in column order, into ``T`` frames of ``H x W`` cells
(row-major: frame 0 holds features ``0 .. H*W-1``, frame 1 the next ``H*W``, ...), and the cells
left over after the last feature are zero. The result has the Keras channels-last layout
``(n_flows, T, H, W, 1)``.

Each row becomes its *own* sequence. Sequences are never built from neighbouring rows: the public
flow tables are sorted by label, so a window over consecutive rows would leak the label of its
neighbours into every prediction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nids.errors import BadInputError

__all__ = ["FrameConfig", "check_frames", "default_frame_config", "to_frames"]


@dataclass(frozen=True)
class FrameConfig:
    """Shape of the per-flow frame sequence.

    Attributes:
        timesteps: Number of frames ``T`` in each flow's sequence.
        height: Frame height ``H`` in cells.
        width: Frame width ``W`` in cells.

    Raises:
        BadInputError: If any dimension is not a positive integer.
    """

    timesteps: int
    height: int
    width: int

    def __post_init__(self) -> None:
        for name in ("timesteps", "height", "width"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise BadInputError(f"FrameConfig.{name} must be a positive int; got {value!r}")

    @property
    def capacity(self) -> int:
        """Number of cells ``T * H * W``: the most features one flow can carry."""
        return self.timesteps * self.height * self.width

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """Per-flow tensor shape ``(T, H, W, 1)``, the models' ``input_shape``."""
        return (self.timesteps, self.height, self.width, 1)


def default_frame_config(n_features: int, timesteps: int = 4) -> FrameConfig:
    """Derive a frame shape for ``n_features`` preprocessed features.

    The rule: ``T = timesteps`` (4 by default); each frame must hold ``c = ceil(F / T)`` cells;
    ``H`` and ``W`` are the smallest *even* sides, square or with ``W = H + 2``, such that
    ``H * W >= c``. Even sides let one 2x2 spatial max-pool and a 2x2 up-sampling round-trip to
    the same ``H x W`` (see ``DeepConfig.pool_blocks`` in ``nids.models.convlstm``). Examples:
    ``F = 60 -> (4, 4, 4)`` (64 cells, 4 padded), ``F = 122 -> (4, 6, 6)``,
    ``F = 196 -> (4, 8, 8)``.

    Args:
        n_features: Number of features ``F`` per flow after preprocessing.
        timesteps: Number of frames ``T``.

    Returns:
        The frame configuration.

    Raises:
        BadInputError: If ``n_features`` or ``timesteps`` is not a positive int.
    """
    for name, value in (("n_features", n_features), ("timesteps", timesteps)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise BadInputError(f"{name} must be a positive int; got {value!r}")
    cells = math.ceil(int(n_features) / int(timesteps))
    side = max(2, math.ceil(math.sqrt(cells)))
    side += side % 2
    height, width = side, side
    if height > 2 and (height - 2) * width >= cells:
        height -= 2  # a 2-row-shorter rectangle still fits: less padding
    return FrameConfig(timesteps=int(timesteps), height=height, width=width)


def to_frames(X: np.ndarray, cfg: FrameConfig) -> np.ndarray:
    """Lay each flow's features out, in order, into a zero-padded frame sequence.

    Args:
        X: Preprocessed features, shape ``(n_flows, F)``, finite values.
        cfg: Target frame shape; needs ``F <= T * H * W``.

    Returns:
        A float32 array of shape ``(n_flows, T, H, W, 1)``; ``out.reshape(n, -1)[:, :F] == X`` and
        the remaining ``T*H*W - F`` cells of every row are 0.

    Raises:
        BadInputError: If ``X`` is not 2-D, has more features than cells, or holds NaN/inf.
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise BadInputError(
            f"to_frames expects a 2-D feature matrix (n_flows, n_features); got an array of shape {X.shape} ({X.ndim}-D)"
        )
    n, n_features = X.shape
    if n_features > cfg.capacity:
        raise BadInputError(
            f"{n_features} features do not fit in frames of T*H*W = {cfg.timesteps}*{cfg.height}*"
            f"{cfg.width} = {cfg.capacity} cells; use default_frame_config({n_features})"
        )
    try:
        values = X.astype(np.float32, copy=False)
    except (TypeError, ValueError) as exc:
        raise BadInputError(f"to_frames expects numeric features; got dtype {X.dtype}") from exc
    finite = np.isfinite(values)
    if not finite.all():
        bad_rows, bad_cols = np.nonzero(~finite)
        raise BadInputError(
            f"to_frames expects finite values; found {bad_rows.size} NaN/inf value(s), first at "
            f"row {bad_rows[0]}, column {bad_cols[0]}"
        )
    out = np.zeros((n, cfg.capacity), dtype=np.float32)
    out[:, :n_features] = values
    return out.reshape((n, *cfg.shape))


def check_frames(x: np.ndarray, cfg: FrameConfig) -> None:
    """Check that ``x`` is a frame tensor laid out as ``cfg`` says, before predict/fit.

    Args:
        x: Candidate model input.
        cfg: The frame shape the model was built for.

    Raises:
        BadInputError: If ``x`` is not ``(n_flows, T, H, W, 1)`` with ``cfg``'s ``T, H, W``.
    """
    shape = tuple(np.shape(x))
    expected = cfg.shape
    if len(shape) != 5 or shape[1:] != expected:
        t, h, w, _ = expected
        hint = " (a 2-D feature matrix: call to_frames first)" if len(shape) == 2 else ""
        raise BadInputError(
            f"expected frames laid out as (n_flows, T, H, W, 1) = (n_flows, {t}, {h}, {w}, 1); "
            f"got an array of shape {shape} ({len(shape)}-D){hint}"
        )

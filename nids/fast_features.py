"""A compiled, numpy-only copy of a fitted preprocessing pipeline, for small batches (single-flow latency).

Calling the fitted sklearn ``ColumnTransformer`` of :mod:`nids.features` costs ~6 ms even for one
row (input validation, pandas round-trips, two pipelines, hstack), more than the whole latency budget
of a single-flow prediction. :func:`compile_preprocessor` reads the fitted parameters once (column
order, training medians, the signed-log1p switch, the scaler's mean and scale, the one-hot
categories with their infrequent / unknown handling) and :meth:`CompiledPreprocessor.transform`
applies them with a few numpy operations.

The sklearn pipeline stays the reference: it is what is fitted and saved, large batches still go
through it, and ``tests/unit/test_fast_features.py`` (synthetic frames with NaN, inf, text, unseen
and infrequent categories) and ``tests/integration/test_real_data.py`` (real UNSW-NB15 rows) assert
that both give the same matrix to float32 tolerance. A pipeline of another shape than the one
:func:`nids.features.build_preprocessor` makes is not compiled (``compile_preprocessor`` returns
``None``) and callers keep using sklearn.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from nids.features import as_text, signed_log1p, to_finite_float

__all__ = ["CompiledPreprocessor", "compile_preprocessor"]

_MISSING = "<missing>"
_SMALL = 64  # rows: up to this many, values are read with one to_numpy call and converted in Python


@dataclass
class CompiledPreprocessor:
    """The fitted parameters of a preprocessing pipeline, applied with numpy.

    Attributes:
        numeric: Numeric input columns, in output order.
        categorical: Categorical input columns, in output order (after all numeric outputs).
        medians: Training median of each numeric column (imputation value).
        log_transform: Whether the signed log1p is applied before scaling.
        mean: Scaler mean per numeric column (zeros if the scaler does not centre).
        scale: Scaler scale per numeric column (ones if it does not scale).
        lookups: Per categorical column, category text -> output column index.
        unknown: Per categorical column, the output column for a category not seen at fit time
            (its "infrequent" column), or -1 for all zeros.
        n_outputs: Width of the output matrix.
    """

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    medians: np.ndarray
    log_transform: bool
    mean: np.ndarray
    scale: np.ndarray
    lookups: tuple[dict[str, int], ...]
    unknown: tuple[int, ...]
    n_outputs: int
    _positions: dict = field(default_factory=dict, repr=False, compare=False)

    def _split(self, frame: pd.DataFrame) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Numeric (float64, NaN for missing / non-finite) and raw categorical values of a small frame.

        One ``to_numpy(dtype=object)`` call instead of pandas column selections (which cost
        more than the whole transform on a one-row frame). Used only when every numeric column
        has a plain numpy int/float dtype, where it gives exactly ``to_finite_float``'s values;
        otherwise the numeric part is ``None`` and ``to_finite_float`` parses it.
        """
        columns = tuple(frame.columns)
        positions = self._positions.get(columns)
        if positions is None:
            where = {c: i for i, c in enumerate(columns)}
            positions = (
                np.array([where[c] for c in self.numeric], dtype=np.intp),
                np.array([where[c] for c in self.categorical], dtype=np.intp),
            )
            self._positions.clear()
            self._positions[columns] = positions
        num_pos, cat_pos = positions
        dtypes = frame.dtypes.to_numpy()
        plain = all(isinstance(dtypes[i], np.dtype) and dtypes[i].kind in "iuf" for i in num_pos)
        values = frame.to_numpy(dtype=object)
        numeric = None
        if plain:
            numeric = values[:, num_pos].astype(np.float64)
            numeric[~np.isfinite(numeric)] = np.nan
        return numeric, values[:, cat_pos]

    def numeric_values(self, frame: pd.DataFrame) -> np.ndarray:
        """The numeric columns as float64, with unparseable text and non-finite values as NaN."""
        if not self.numeric:
            return np.empty((len(frame), 0))
        if len(frame) <= _SMALL:
            numeric, _ = self._split(frame)
            if numeric is not None:
                return numeric
        return to_finite_float(frame[list(self.numeric)])

    def transform(self, frame: pd.DataFrame, numeric_values: np.ndarray | None = None) -> np.ndarray:
        """The same float32 matrix as ``nids.features.transform(preprocessor, frame)``.

        Args:
            frame: Input rows holding (at least) the pipeline's input columns.
            numeric_values: ``self.numeric_values(frame)`` if the caller already computed it
                (the detector uses it for its per-row status too).

        Returns:
            Float32 array ``(len(frame), n_outputs)``, always finite.
        """
        n = len(frame)
        out = np.zeros((n, self.n_outputs), dtype=np.float32)
        small = n <= _SMALL
        x, raw = self._split(frame) if small else (None, None)
        if self.numeric:
            if numeric_values is not None:
                x = np.array(numeric_values, dtype=np.float64)
            elif x is None:
                x = to_finite_float(frame[list(self.numeric)])
            missing = np.isnan(x)
            if missing.any():
                x[missing] = np.broadcast_to(self.medians, x.shape)[missing]
            if self.log_transform:
                x = signed_log1p(x)
            out[:, : len(self.numeric)] = (x - self.mean) / self.scale
        if self.categorical:
            text = _text_values(raw) if small else as_text(frame[list(self.categorical)])
            rows = np.arange(n)
            for j, (lookup, unknown) in enumerate(zip(self.lookups, self.unknown, strict=True)):
                index = np.fromiter((lookup.get(v, unknown) for v in text[:, j]), dtype=np.int64, count=n)
                hit = index >= 0
                out[rows[hit], index[hit]] = 1.0
        return out


def _text_values(values: np.ndarray) -> np.ndarray:
    """``nids.features.as_text`` of a few rows' raw values, without the pandas string machinery."""
    out = np.empty(values.shape, dtype=object)
    for index, value in np.ndenumerate(values):
        out[index] = _MISSING if pd.isna(value) else str(value).strip().lower()
    return out


def compile_preprocessor(preprocessor: object) -> CompiledPreprocessor | None:
    """Read a fitted pipeline built by ``nids.features.build_preprocessor`` into a :class:`CompiledPreprocessor`.

    Args:
        preprocessor: A fitted ``ColumnTransformer``.

    Returns:
        The compiled pipeline, or ``None`` if ``preprocessor`` is not shaped like the pipelines
        ``build_preprocessor`` makes (then keep calling sklearn).
    """
    try:
        return _compile(preprocessor)
    except (AttributeError, KeyError, TypeError, ValueError, IndexError):
        return None


def _compile(preprocessor) -> CompiledPreprocessor | None:
    parts = {name: (pipe, list(columns)) for name, pipe, columns in preprocessor.transformers_ if name != "remainder"}
    if set(parts) - {"num", "cat"} or [name for name, *_ in preprocessor.transformers_ if name != "remainder"] != [
        name for name in ("num", "cat") if name in parts
    ]:
        return None
    numeric: list[str] = []
    medians = mean = scale = np.zeros(0)
    log_transform = False
    if "num" in parts:
        pipe, numeric = parts["num"]
        steps = dict(pipe.steps)
        if [s for s in steps if s != "log1p"] != ["to_float", "impute", "scale"] or steps["to_float"].func is not to_finite_float:
            return None
        imputer, scaler = steps["impute"], steps["scale"]
        if imputer.strategy != "median" or getattr(imputer, "add_indicator", False) or not imputer.keep_empty_features:
            return None
        log_transform = "log1p" in steps
        if log_transform and steps["log1p"].func is not signed_log1p:
            return None
        medians = np.nan_to_num(np.asarray(imputer.statistics_, dtype=np.float64), nan=0.0)
        mean = np.asarray(scaler.mean_, dtype=np.float64) if scaler.with_mean else np.zeros(len(numeric))
        scale = np.asarray(scaler.scale_, dtype=np.float64) if scaler.with_std else np.ones(len(numeric))
        if not (len(medians) == len(mean) == len(scale) == len(numeric)):
            return None
    categorical: list[str] = []
    lookups: list[dict[str, int]] = []
    unknown: list[int] = []
    offset = len(numeric)
    if "cat" in parts:
        pipe, categorical = parts["cat"]
        steps = dict(pipe.steps)
        if list(steps) != ["to_text", "onehot"] or steps["to_text"].func is not as_text:
            return None
        encoder = steps["onehot"]
        if encoder.drop is not None or encoder.handle_unknown not in ("infrequent_if_exist", "ignore"):
            return None
        infrequent = getattr(encoder, "infrequent_categories_", [None] * len(categorical))
        for categories, rare in zip(encoder.categories_, infrequent, strict=True):
            rare = set() if rare is None else {str(c) for c in rare}
            frequent = [str(c) for c in categories if str(c) not in rare]
            lookup = {c: offset + i for i, c in enumerate(frequent)}
            rare_column = offset + len(frequent) if rare else -1
            lookup.update({c: rare_column for c in rare})
            lookups.append(lookup)
            unknown.append(rare_column if encoder.handle_unknown == "infrequent_if_exist" else -1)
            offset += len(frequent) + (1 if rare else 0)
    if offset != len(preprocessor.get_feature_names_out()):
        return None
    return CompiledPreprocessor(
        numeric=tuple(numeric),
        categorical=tuple(categorical),
        medians=medians,
        log_transform=log_transform,
        mean=mean,
        scale=scale,
        lookups=tuple(lookups),
        unknown=tuple(unknown),
        n_outputs=offset,
    )

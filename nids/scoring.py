"""Scoring a table of flows with a detector: the one function both ``nids predict`` engines call.

The local engine (one process, one CSV out) and the Dask engine (:mod:`nids.scale`, partitions on
workers, Parquet out) both turn a frame read by :func:`nids.datasets.io.read_table` into verdicts
with :func:`score_frame`, so that a row gets the same verdict whichever engine scored it.
"""

from __future__ import annotations

import pandas as pd

from nids.detector import Detector

VERDICT_COLUMNS = ("row", "predicted", "confidence", "is_attack", "status")


def ignored_columns(detector: Detector, frame: pd.DataFrame) -> list[str]:
    """Columns of ``frame`` the detector does not use (reported, never an error).

    Raises:
        SchemaError: ``frame`` lacks feature columns the detector needs.
    """
    _aligned, extras = detector.align(frame)
    return extras


def score_flows(detector: Detector, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """:func:`score_frame` for a whole table, with a note naming the columns the detector ignored.

    This is what ``nids predict`` (local engine) and both apps show for a file.

    Raises:
        SchemaError: the table lacks feature columns the detector needs.
    """
    extras = ignored_columns(detector, frame)
    return score_frame(detector, frame), [ignored_note(extras)] if extras else []


def ignored_note(extras: list[str]) -> str:
    """The note naming the columns a detector ignored (the first 20 of them)."""
    return f"ignored {len(extras)} column(s) the detector does not use: {', '.join(extras[:20])}"


def with_flows(frame: pd.DataFrame, verdicts: pd.DataFrame) -> pd.DataFrame:
    """The input columns, then the verdicts; input columns that clash with a verdict column become ``input_<name>``."""
    clash = {c: f"input_{c}" for c in frame.columns if c in verdicts.columns}
    return pd.concat([frame.rename(columns=clash), verdicts], axis=1)


def score_frame(detector: Detector, frame: pd.DataFrame, first_row: int = 1) -> pd.DataFrame:
    """Verdicts for every row of ``frame``: one output row per input row, in input order.

    Args:
        detector: a loaded detector.
        frame: flows as read by :func:`nids.datasets.io.read_table` (extra columns are ignored).
        first_row: the 1-based number, within its source file, of the first row of ``frame``
            (a partition of a larger file starts later than 1).

    Returns:
        Columns ``row`` (1-based row number in the source), ``predicted``, ``confidence``,
        ``is_attack`` and ``status`` (``ok`` or the values that were missing / non-numeric and imputed).

    Raises:
        SchemaError: ``frame`` lacks feature columns the detector needs.
    """
    verdicts = detector.predict(frame)
    verdicts.insert(0, "row", range(first_row, first_row + len(verdicts)))
    return verdicts

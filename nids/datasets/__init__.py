"""Dataset registry: ``load_dataset(name, data_dir=None)``.

Names: ``unsw-nb15``, ``nsl-kdd``. The data directory is an explicit path, else ``NIDS_DATA_DIR``,
else ``data/raw/`` (see :mod:`nids.config`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from nids import config
from nids.datasets import nslkdd, unsw
from nids.datasets.base import TASKS, Dataset, Provenance
from nids.errors import BadInputError, unknown_name

LOADERS: dict[str, Callable[[Path], Dataset]] = {unsw.NAME: unsw.load, nslkdd.NAME: nslkdd.load}
DEFAULT_DATASET = unsw.NAME


def load_dataset(
    name: str = DEFAULT_DATASET,
    data_dir: str | Path | None = None,
    label_column: str | None = None,
    normal_label: str | None = None,
) -> Dataset:
    """Load a dataset by registry name, or any flow table as ``csv:PATH``.

    Args:
        name: ``unsw-nb15``, ``nsl-kdd``, or ``csv:PATH`` (CSV, .csv.gz, .zip, Parquet).
        data_dir: data directory for registered datasets.
        label_column: for ``csv:``, the label column (default: detected; empty string = detect).
        normal_label: for ``csv:``, the label of benign traffic (default: detected).

    Raises:
        UnknownNameError: ``name`` is not registered.
        DataNotFoundError: its files are missing; the message says which files to put where.
    """
    if name.startswith("csv:"):
        from nids.datasets.generic import load_csv

        return load_csv(name[4:], label_column or None, normal_label or None)
    if name not in LOADERS:
        raise unknown_name("dataset", name, list(LOADERS))
    return LOADERS[name](config.data_dir(data_dir))


def sniff(path: str | Path) -> str:
    """Which known dataset a single file belongs to, from its first line (not its name).

    Raises:
        BadInputError: the file is not a UNSW-NB15 or NSL-KDD file.
    """
    from nids.datasets.io import read_table

    head, _ = read_table(path, header=False) if Path(path).suffix == ".txt" else read_table(path)
    columns = {str(c).strip().lower() for c in head.columns}
    if {"sbytes", "attack_cat"} <= columns:
        return unsw.NAME
    if len(head.columns) == len(nslkdd.COLUMNS) and str(head.iloc[0, 1]).strip().lower() in ("tcp", "udp", "icmp"):
        return nslkdd.NAME
    raise BadInputError(
        f"{path}: not a UNSW-NB15 partition (expected columns such as 'sbytes' and 'attack_cat') "
        f"nor an NSL-KDD file (expected {len(nslkdd.COLUMNS)} header-less fields); found columns {list(head.columns)[:12]}"
    )


def load_file(path: str | Path, label_column: str | None = None, normal_label: str | None = None) -> Dataset:
    """Load one dataset file, recognised by its content and record count, never by its name.

    UNSW-NB15 and NSL-KDD files get their own loaders; any other table goes through the generic
    reader (label column detected or named).
    """
    try:
        kind = sniff(path)
    except BadInputError:
        if Path(path).suffix == ".txt" and not label_column:
            raise
        from nids.datasets.generic import load_csv

        return load_csv(path, label_column, normal_label)
    module = unsw if kind == unsw.NAME else nslkdd
    return module.load_paths([Path(path)])


__all__ = ["DEFAULT_DATASET", "LOADERS", "TASKS", "Dataset", "Provenance", "load_dataset", "load_file", "sniff"]

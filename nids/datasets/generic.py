"""Any intrusion flow table: ``--dataset csv:PATH [--label-column NAME] [--normal-label NAME]``.

Real intrusion CSVs (CIC-IDS2017, UNSW-NB15, NSL-KDD exports, home-made captures) are messy in
well-known ways; this reader handles them and reports what it did:

- header names: UTF-8 BOM and surrounding spaces removed (CIC-IDS2017 headers start with a space);
  label and identifier columns matched case-insensitively;
- encoding: UTF-8, else Windows-1252 with a warning (CIC-IDS2017 web-attack labels hold byte 0x96);
- labels: variants that differ only in dash form, whitespace or case map to one class;
- identifier columns (flow ids, IP addresses, timestamps, row ids) are dropped from the features
  and listed: they let a model memorise the capture instead of the traffic;
- other label-like columns are dropped too (a binary ``label`` next to ``attack_cat`` is the answer);
- numeric columns: ``Infinity``, ``NaN``, empty cells and stray text become missing values that the
  fitted imputer fills; each column's count is reported;
- repeated header lines inside the data are dropped and counted.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from nids.datasets.base import Dataset, Provenance
from nids.datasets.io import read_table
from nids.errors import BadInputError, NidsError

LABEL_CANDIDATES = ("attack_cat", "attack_category", "label", "class", "category", "attack_type", "attack", "outcome", "target")
NORMAL_CANDIDATES = ("normal", "benign", "background", "0")
ID_PATTERN = re.compile(
    r"^(flow[ _.]?id|id|row[ _.]?id|index|unnamed: ?\d+|no\.?|"
    r"(src|dst|source|destination|s|d)[ _.]?(ip|addr|address)|ip[ _.]?(src|dst)|srcip|dstip|"
    r"(time[ _.]?stamp|timestamp|date|datetime|time|stime|ltime|start[ _.]?time|end[ _.]?time))$",
    re.IGNORECASE,
)
DASHES = re.compile(r"[\u2010-\u2015\u2212\ufffd]")  # en/em dashes, minus sign, undecodable byte
NUMERIC_SHARE = 0.95  # a column is numeric when at least this share of its non-empty cells parse


def canonical_label(value: object) -> str:
    """One spelling per class: dash forms unified, whitespace collapsed (case kept for display)."""
    text = DASHES.sub("-", str(value).strip())
    return re.sub(r"\s+", " ", text).strip()


def normalise_labels(raw: pd.Series) -> tuple[pd.Series, dict[str, str]]:
    """Map label variants (dash form, whitespace, case) to one class name: the most common spelling."""
    spelled = raw.fillna("<missing>").map(canonical_label)
    # Spellings are the same class when they differ only in case or in spaces around a dash;
    # the class keeps its most common spelling ("DoS-Hulk" alone stays "DoS-Hulk").
    folded = spelled.str.replace(r"\s*-\s*", "-", regex=True).str.casefold()
    winner = spelled.groupby(folded).agg(lambda s: s.value_counts().index[0])
    labels = folded.map(winner)
    variants = {
        str(v): labels.iloc[i] for v, i in zip(*np.unique(raw.fillna("<missing>").astype(str), return_index=True), strict=True)
    }
    merged = {k: v for k, v in variants.items() if k != v}
    return labels, merged


def find_column(columns: list[str], wanted: str) -> str | None:
    """The column called ``wanted``, matched after stripping and case-folding."""
    key = wanted.strip().casefold()
    return next((c for c in columns if str(c).strip().casefold() == key), None)


def detect_label_column(frame: pd.DataFrame) -> str:
    """The label column among common names, preferring the one with the most classes."""
    present = [c for c in (find_column(list(frame.columns), n) for n in LABEL_CANDIDATES) if c is not None]
    if not present:
        raise BadInputError(
            f"no label column found: expected one of {', '.join(LABEL_CANDIDATES)} (any case), "
            f"or name it with --label-column; found columns {list(frame.columns)[:30]}"
        )
    return max(present, key=lambda c: (frame[c].nunique(), -present.index(c)))


def numeric_share(column: pd.Series) -> float:
    """Share of non-empty cells that parse as numbers (``Infinity``/``inf`` count as numbers)."""
    non_empty = column.dropna()
    if pd.api.types.is_numeric_dtype(column):
        return 1.0
    if non_empty.empty:
        return 1.0
    parsed = pd.to_numeric(non_empty.astype(str).str.strip().replace({"Infinity": "inf", "-Infinity": "-inf"}), errors="coerce")
    return float(parsed.notna().mean())


def load_csv(
    path: str | Path,
    label_column: str | None = None,
    normal_label: str | None = None,
    keep_id_columns: bool = False,
) -> Dataset:
    """Load a generic intrusion flow table as a :class:`Dataset`.

    Args:
        path: CSV, ``.csv.gz``, ``.zip`` (one member) or Parquet file.
        label_column: the label column (default: detected among common names).
        normal_label: the label value of benign traffic (default: detected: normal, benign, ...).
        keep_id_columns: keep identifier columns as features (not recommended).

    Raises:
        BadInputError: no records, no label column, or no usable feature column.
        NidsError: the benign class cannot be identified.
    """
    raw, report = read_table(path)
    notes = report.notes()
    if raw.empty:
        raise BadInputError(f"{path}: the table has a header but no records")
    columns = list(raw.columns)
    if label_column:
        label = find_column(columns, label_column)
        if label is None:
            raise BadInputError(f"--label-column {label_column!r} not found; columns are {columns[:40]}")
    else:
        label = detect_label_column(raw)
        notes.append(f"label column: {label!r} (detected)")
    labels, merged = normalise_labels(raw[label])
    if merged:
        notes.append(f"merged label spellings: {merged}")
    normal = _normal_class(labels, normal_label)
    dropped_labels = [c for c in columns if c != label and str(c).strip().casefold() in LABEL_CANDIDATES]
    ids = [] if keep_id_columns else [c for c in columns if c != label and ID_PATTERN.match(str(c).strip())]
    if dropped_labels:
        notes.append(f"other label-like columns dropped from the features: {dropped_labels}")
    if ids:
        notes.append(f"identifier columns dropped from the features: {ids}")
    features = raw.drop(columns=[label, *dropped_labels, *ids])
    if features.shape[1] == 0:
        raise BadInputError(f"{path}: no feature columns left after removing the label and identifier columns")
    categorical = [c for c in features.columns if numeric_share(features[c]) < NUMERIC_SHARE]
    for column in categorical:
        features[column] = features[column].astype(str).str.strip().str.lower()
    from nids.features import missing_counts

    imputed = missing_counts(features, [c for c in features.columns if c not in categorical])
    if imputed:
        notes.append(f"values to impute (missing, non-finite or text) per numeric column: {imputed}")
    provenance = Provenance(str(path), report.sha256, len(raw), _partition(raw))
    return Dataset(
        name=f"csv:{path}",
        features=features.reset_index(drop=True),
        labels=labels.reset_index(drop=True).rename(label),
        normal_label=normal,
        categorical=categorical,
        partition=pd.Series(np.full(len(raw), provenance.partition, dtype=object), name="partition"),
        provenance=[provenance],
        notes=notes,
    )


def _normal_class(labels: pd.Series, normal_label: str | None) -> str:
    classes = sorted(labels.unique().tolist())
    if normal_label:
        match = next((c for c in classes if c.casefold() == canonical_label(normal_label).casefold()), None)
        if match is None:
            raise NidsError(f"--normal-label {normal_label!r} is not a label in the file; labels are {classes[:30]}")
        return match
    for candidate in NORMAL_CANDIDATES:
        match = next((c for c in classes if c.casefold() == candidate), None)
        if match is not None:
            return match
    raise NidsError(f"cannot tell which label means benign traffic; name it with --normal-label. Labels: {classes[:30]}")


def _partition(raw: pd.DataFrame) -> str:
    from nids.datasets import unsw

    if {c.lower() for c in unsw.FEATURES} <= {str(c).lower() for c in raw.columns}:
        part = unsw.partition_of(len(raw))
        return f"unsw-nb15 {part}" if part != "unknown" else "file"
    return "file"

"""UNSW-NB15 partition CSVs (Moustafa & Slay, MilCIS 2015).

Public copies swap the partition file names, so a partition is identified by its record count
(175,341 = official training partition, 82,332 = official testing partition), never by its name.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nids.datasets.base import Dataset, Provenance
from nids.datasets.io import read_table
from nids.errors import DataNotFoundError, SchemaError

NAME = "unsw-nb15"
CATEGORICAL = ["proto", "service", "state"]
ID_COLUMNS = ["id"]
LABEL_COLUMNS = ["attack_cat", "label"]
NORMAL = "Normal"
PARTITION_BY_RECORDS = {175_341: "official-train", 82_332: "official-test"}
# Spellings seen in public copies of the partitions, mapped to the names the dataset paper uses.
LABEL_ALIASES = {"Backdoors": "Backdoor", "": NORMAL}
FEATURES = [
    "dur", "proto", "service", "state", "spkts", "dpkts", "sbytes", "dbytes", "rate", "sttl", "dttl",
    "sload", "dload", "sloss", "dloss", "sinpkt", "dinpkt", "sjit", "djit", "swin", "stcpb", "dtcpb",
    "dwin", "tcprtt", "synack", "ackdat", "smean", "dmean", "trans_depth", "response_body_len",
    "ct_srv_src", "ct_state_ttl", "ct_dst_ltm", "ct_src_dport_ltm", "ct_dst_sport_ltm",
    "ct_dst_src_ltm", "is_ftp_login", "ct_ftp_cmd", "ct_flw_http_mthd", "ct_src_ltm", "ct_srv_dst",
    "is_sm_ips_ports",
]  # fmt: skip


def find_files(directory: Path) -> list[Path]:
    """Candidate UNSW-NB15 partition files in ``directory`` and its ``unsw-nb15/`` sub-folder."""
    found: list[Path] = []
    for folder in (directory / NAME, directory):
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                lower = path.name.lower()
                if "unsw" in lower and lower.endswith((".csv", ".csv.gz", ".zip", ".parquet")):
                    found.append(path)
    return found


def partition_of(records: int) -> str:
    """Name the partition from its record count (``"unknown"`` for any other count)."""
    return PARTITION_BY_RECORDS.get(records, "unknown")


def frame_to_dataset(raw: pd.DataFrame, provenance: list[Provenance], partition: np.ndarray) -> Dataset:
    """Split a raw UNSW-NB15 table into features, labels and partitions."""
    missing = [c for c in [*FEATURES, "attack_cat"] if c not in raw.columns]
    if missing:
        raise SchemaError(f"not a UNSW-NB15 partition table: missing columns {missing}; found {list(raw.columns)[:50]}")
    labels = raw["attack_cat"].fillna("").astype(str).str.strip().replace(LABEL_ALIASES)
    if "label" in raw.columns:  # an empty attack_cat means Normal only where the binary label agrees
        attack = pd.to_numeric(raw["label"], errors="coerce").fillna(0).to_numpy() != 0
        labels = labels.where(~(attack & (raw["attack_cat"].fillna("").astype(str).str.strip() == "").to_numpy()), "<missing>")
    features = raw[FEATURES].copy()
    for column in CATEGORICAL:
        features[column] = features[column].astype(str).str.strip().str.lower()
    return Dataset(
        name=NAME,
        features=features.reset_index(drop=True),
        labels=labels.reset_index(drop=True).rename("attack_cat"),
        normal_label=NORMAL,
        categorical=list(CATEGORICAL),
        partition=pd.Series(partition, name="partition"),
        provenance=provenance,
    )


def load(directory: Path) -> Dataset:
    """Load every UNSW-NB15 partition file found in ``directory``.

    Raises:
        DataNotFoundError: no partition file found; the message says which files to put where.
    """
    paths = find_files(directory)
    if not paths:
        from nids.datasets.sources import missing_files_message

        raise DataNotFoundError(missing_files_message(NAME, directory))
    return load_paths(paths)


def load_paths(paths: list[Path]) -> Dataset:
    """Load the given UNSW-NB15 partition files (duplicates by checksum are read once)."""
    frames, provenance, partitions, seen, read_notes = [], [], [], set(), []
    for path in paths:
        raw, report = read_table(path)
        if report.sha256 in seen:  # the same partition under two names
            continue
        seen.add(report.sha256)
        read_notes += [f"{Path(path).name}: {note}" for note in report.notes()]
        part = partition_of(len(raw))
        provenance.append(Provenance(str(path), report.sha256, len(raw), part))
        frames.append(raw)
        partitions.append(np.full(len(raw), part, dtype=object))
    dataset = frame_to_dataset(pd.concat(frames, ignore_index=True), provenance, np.concatenate(partitions))
    dataset.notes += read_notes
    from nids.features import missing_counts

    if imputed := missing_counts(dataset.features, dataset.numeric):
        dataset.notes.append(f"values to impute (missing, non-finite or text) per numeric column: {imputed}")
    for prov in provenance:
        looks_like = (
            "train" if "train" in Path(prov.file).name.lower() else "test" if "test" in Path(prov.file).name.lower() else None
        )
        if looks_like and prov.partition != "unknown" and looks_like not in prov.partition:
            dataset.notes.append(
                f"{Path(prov.file).name} holds {prov.records:,} records: the {prov.partition} partition "
                f"(its file name says '{looks_like}'; public copies swap the names)"
            )
    return dataset

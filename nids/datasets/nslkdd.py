"""NSL-KDD (Tavallaee et al., "A detailed analysis of the KDD CUP 99 data set", CISDA 2009).

Files have no header and 43 fields: 41 KDD'99 features, the attack name, and a difficulty score
that is never used as a feature. Attack names map to binary and to the usual 5 groups; the test
files contain attack names that never occur in training (the dataset's point).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nids.datasets.base import Dataset, Provenance
from nids.datasets.io import read_table
from nids.errors import DataNotFoundError, SchemaError

NAME = "nsl-kdd"
FEATURES = [
    "duration", "protocol_type", "service", "flag", "src_bytes", "dst_bytes", "land",
    "wrong_fragment", "urgent", "hot", "num_failed_logins", "logged_in", "num_compromised",
    "root_shell", "su_attempted", "num_root", "num_file_creations", "num_shells",
    "num_access_files", "num_outbound_cmds", "is_host_login", "is_guest_login", "count",
    "srv_count", "serror_rate", "srv_serror_rate", "rerror_rate", "srv_rerror_rate",
    "same_srv_rate", "diff_srv_rate", "srv_diff_host_rate", "dst_host_count",
    "dst_host_srv_count", "dst_host_same_srv_rate", "dst_host_diff_srv_rate",
    "dst_host_same_src_port_rate", "dst_host_srv_diff_host_rate", "dst_host_serror_rate",
    "dst_host_srv_serror_rate", "dst_host_rerror_rate", "dst_host_srv_rerror_rate",
]  # fmt: skip
COLUMNS = [*FEATURES, "attack", "difficulty"]
CATEGORICAL = ["protocol_type", "service", "flag"]
NORMAL = "normal"
PARTITION_BY_RECORDS = {125_973: "KDDTrain+", 25_192: "KDDTrain+_20Percent", 22_544: "KDDTest+", 11_850: "KDDTest-21"}
TRAIN_PARTITIONS = ("KDDTrain+", "KDDTrain+_20Percent")

# Attack name -> group (Tavallaee et al. 2009; test-only names included).
ATTACK_GROUPS = {
    "normal": "normal",
    **dict.fromkeys(
        ["back", "land", "neptune", "pod", "smurf", "teardrop", "apache2", "mailbomb", "processtable", "udpstorm"], "DoS"
    ),
    **dict.fromkeys(["ipsweep", "nmap", "portsweep", "satan", "mscan", "saint"], "Probe"),
    **dict.fromkeys(
        [
            "ftp_write",
            "guess_passwd",
            "imap",
            "multihop",
            "phf",
            "spy",
            "warezclient",
            "warezmaster",
            "httptunnel",
            "named",
            "sendmail",
            "snmpgetattack",
            "snmpguess",
            "worm",
            "xlock",
            "xsnoop",
        ],
        "R2L",
    ),
    **dict.fromkeys(["buffer_overflow", "loadmodule", "perl", "rootkit", "ps", "sqlattack", "xterm"], "U2R"),
}


def find_files(directory: Path) -> list[Path]:
    found: list[Path] = []
    for folder in (directory / NAME, directory):
        if folder.is_dir():
            found += [p for p in sorted(folder.iterdir()) if p.name.lower().startswith("kdd") and p.suffix in (".txt", ".csv")]
    return found


def group_of(attacks: pd.Series) -> pd.Series:
    """Map attack names to the 5 groups; an unknown name is an error, not a silent class."""
    names = attacks.astype(str).str.strip().str.lower()
    unknown = sorted(set(names) - set(ATTACK_GROUPS))
    if unknown:
        raise SchemaError(f"NSL-KDD attack names with no known group: {unknown}; expected one of {sorted(ATTACK_GROUPS)}")
    return names.map(ATTACK_GROUPS)


def load(directory: Path) -> Dataset:
    """Load every NSL-KDD file found in ``directory`` (partition named by record count)."""
    paths = find_files(directory)
    if not paths:
        from nids.datasets.sources import missing_files_message

        raise DataNotFoundError(missing_files_message(NAME, directory))
    return load_paths(paths)


def load_paths(paths: list[Path]) -> Dataset:
    """Load the given NSL-KDD files."""
    frames, provenance, partitions = [], [], []
    for path in paths:
        raw, report = read_table(path, header=False, names=COLUMNS)
        if raw.shape[1] != len(COLUMNS) or raw["difficulty"].isna().all():
            raise SchemaError(f"{path}: expected {len(COLUMNS)} comma-separated NSL-KDD fields per line")
        part = PARTITION_BY_RECORDS.get(len(raw), path.stem)
        provenance.append(Provenance(str(path), report.sha256, len(raw), part))
        frames.append(raw)
        partitions.append(np.full(len(raw), part, dtype=object))
    raw = pd.concat(frames, ignore_index=True)
    features = raw[FEATURES].copy()
    for column in CATEGORICAL:
        features[column] = features[column].astype(str).str.strip().str.lower()
    return Dataset(
        name=NAME,
        features=features,
        labels=group_of(raw["attack"]).rename("attack_group"),
        normal_label=NORMAL,
        categorical=list(CATEGORICAL),
        partition=pd.Series(np.concatenate(partitions), name="partition"),
        provenance=provenance,
        notes=["difficulty score dropped: it is not a feature"],
    )

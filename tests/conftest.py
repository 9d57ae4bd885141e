"""Shared fixtures: tiny synthetic UNSW-NB15-shaped tables, the real data directory, and output
directories redirected to a temporary folder for every test (no test writes into the repository).

The synthetic table never copies real rows: its values are generated here, shaped like the real
partition (``id``, the 42 features of :data:`nids.datasets.unsw.FEATURES`, ``attack_cat``, ``label``).
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nids.datasets import unsw

os.environ.setdefault("MPLBACKEND", "Agg")

# Distinct feature vectors per class in the synthetic table.
SYNTH_CLASSES = {"Normal": 30, "Exploits": 15, "Generic": 12, "DoS": 8}
# Per class: (proto, service, state, sttl) -- class-dependent so that a forest can learn something.
_CLASS_SHAPE = {
    "Normal": (("tcp", "udp"), ("-", "http", "dns"), ("FIN", "CON"), 31),
    "Exploits": (("tcp",), ("http", "-"), ("FIN", "INT"), 254),
    "Generic": (("udp",), ("dns",), ("INT",), 254),
    "DoS": (("tcp", "ospf"), ("-",), ("INT", "REQ"), 62),
}


@dataclass(frozen=True)
class SynthFacts:
    """What the synthetic table holds, by construction (the values tests assert against)."""

    distinct: int
    exact_duplicates: int
    conflicting_groups: int
    conflicting_groups_binary: int
    rows: int
    classes: dict[str, int]


def make_unsw_frame(n_per_class: dict[str, int] | None = None, seed: int = 0, duplicates: bool = True) -> pd.DataFrame:
    """A synthetic UNSW-NB15 partition table (same 45 columns as the real file, generated values).

    With ``duplicates`` (the default) it appends 6 exact duplicates (same features, same label)
    and one conflicting-label duplicate: a copy of a ``Normal`` row labelled ``Exploits``.
    """
    rng = np.random.default_rng(seed)
    n_per_class = n_per_class or SYNTH_CLASSES
    rows = []
    for cat, n in n_per_class.items():
        protos, services, states, sttl = _CLASS_SHAPE.get(cat, (("tcp",), ("-",), ("INT",), 100))
        base = {"Normal": 8.0, "Exploits": 10.0, "Generic": 5.0, "DoS": 7.0}.get(cat, 6.0)
        for _ in range(n):
            row = {}
            for column in unsw.FEATURES:
                row[column] = int(rng.integers(0, 50))
            spkts, dpkts = int(rng.integers(1, 200)), int(rng.integers(0, 200))
            row.update(
                dur=round(float(rng.exponential(1.0)), 6),
                proto=str(rng.choice(protos)),
                service=str(rng.choice(services)),
                state=str(rng.choice(states)),
                spkts=spkts,
                dpkts=dpkts,
                sbytes=int(np.exp(base + rng.normal(0, 0.5))),
                dbytes=int(np.exp(base - 1 + rng.normal(0, 0.5))),
                rate=round(float(rng.exponential(1e4)), 3),
                sttl=sttl,
                dttl=int(rng.choice([0, 29, 252])),
                sload=round(float(rng.exponential(1e6)), 3),
                dload=round(float(rng.exponential(1e5)), 3),
                sinpkt=round(float(rng.exponential(50)), 4),
                dinpkt=round(float(rng.exponential(50)), 4),
                tcprtt=round(float(rng.uniform(0, 0.2)), 6),
                synack=round(float(rng.uniform(0, 0.1)), 6),
                ackdat=round(float(rng.uniform(0, 0.1)), 6),
                is_ftp_login=int(rng.integers(0, 2)),
                is_sm_ips_ports=0,
                attack_cat=cat,
                label=int(cat != "Normal"),
            )
            rows.append(row)
    frame = pd.DataFrame(rows)
    if duplicates:
        first = {c: int(np.flatnonzero(frame["attack_cat"] == c)[0]) for c in n_per_class}
        normal = first.get("Normal", 0)
        exploits = first.get("Exploits", 0)
        generic = first.get("Generic", 0)
        copies = [normal, normal + 1, normal + 2, exploits, exploits + 1, generic]
        dup = frame.iloc[copies].copy()
        conflict = frame.iloc[[normal + 3]].copy()
        conflict["attack_cat"], conflict["label"] = "Exploits", 1
        frame = pd.concat([frame, dup, conflict], ignore_index=True)
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    return frame[["id", *unsw.FEATURES, "attack_cat", "label"]]


@pytest.fixture(scope="session")
def synth_facts() -> SynthFacts:
    distinct = sum(SYNTH_CLASSES.values())
    classes = dict(SYNTH_CLASSES)
    classes["Normal"] += 3
    classes["Exploits"] += 3  # two exact copies + the conflicting copy
    classes["Generic"] += 1
    return SynthFacts(
        distinct=distinct,
        exact_duplicates=7,
        conflicting_groups=1,
        conflicting_groups_binary=1,
        rows=distinct + 7,
        classes=classes,
    )


@pytest.fixture
def unsw_frame() -> pd.DataFrame:
    """A fresh copy of the synthetic table (72 rows, 4 classes, 7 duplicate rows, 1 conflict)."""
    return make_unsw_frame()


@pytest.fixture
def unsw_dataset(unsw_frame):
    """The synthetic table as a :class:`~nids.datasets.base.Dataset` (partition ``unknown``)."""
    from nids.datasets.base import Provenance

    prov = [Provenance("synthetic.csv", "0" * 64, len(unsw_frame), "unknown")]
    return unsw.frame_to_dataset(unsw_frame, prov, np.full(len(unsw_frame), "unknown", dtype=object))


def write_table(frame: pd.DataFrame, path: Path, kind: str) -> Path:
    """Write ``frame`` as ``csv``, ``gz``, ``zip`` (one member), ``bom`` (UTF-8 with BOM) or ``parquet``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "csv":
        frame.to_csv(path, index=False)
    elif kind == "gz":
        frame.to_csv(path, index=False, compression="gzip")
    elif kind == "bom":
        frame.to_csv(path, index=False, encoding="utf-8-sig")
    elif kind == "zip":
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(path.with_suffix(".csv").name, frame.to_csv(index=False).encode("utf-8-sig"))
    elif kind == "parquet":
        frame.to_parquet(path, index=False)
    else:
        raise ValueError(kind)
    return path


@pytest.fixture
def unsw_files(tmp_path, unsw_frame) -> dict[str, Path]:
    """The synthetic table written in every supported container: csv, gz, zip, bom, parquet."""
    folder = tmp_path / "tables"
    names = {
        "csv": "unsw_synth.csv",
        "gz": "unsw_synth.csv.gz",
        "zip": "unsw_synth.zip",
        "bom": "unsw_synth_bom.csv",
        "parquet": "unsw_synth.parquet",
    }
    return {kind: write_table(unsw_frame, folder / name, kind) for kind, name in names.items()}


@pytest.fixture
def synth_data_dir(tmp_path) -> Path:
    """A data directory holding one synthetic UNSW-NB15 file (180 distinct rows, enough to split)."""
    root = tmp_path / "data"
    frame = make_unsw_frame({"Normal": 80, "Exploits": 45, "Generic": 35, "DoS": 20}, seed=1)
    write_table(frame, root / "unsw-nb15" / "unsw_synth_training-set.csv", "csv")
    return root


@pytest.fixture(autouse=True)
def _outputs_in_tmp(tmp_path, monkeypatch):
    """Every test writes reports, figures and models under its own temporary folder."""
    out = tmp_path / "outputs"
    for name in ("REPORTS", "FIGURES", "MODELS"):
        monkeypatch.setenv(f"NIDS_{name}_DIR", str(out / name.lower()))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return out


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The directory with the real dataset files (``NIDS_DATA_DIR``, else ``data/raw``).

    Fails (never skips) when a required file is missing, naming what to put where: a skipped
    integration test would hide a broken data setup.
    """
    from nids import config
    from nids.datasets.sources import DATASETS, files_for, missing_files_message

    root = config.data_dir()
    messages = []
    for dataset in DATASETS:
        missing = [f for f in files_for(dataset) if not f.path(root).is_file()]
        if missing:
            messages.append(missing_files_message(dataset, root, missing))
    if messages:
        hint = "" if os.environ.get("NIDS_DATA_DIR") else "NIDS_DATA_DIR is not set. "
        pytest.fail(f"{hint}Real dataset files are missing:\n" + "\n".join(messages), pytrace=False)
    return root


@pytest.fixture(scope="session")
def make_unsw():
    """The synthetic-table builder :func:`make_unsw_frame`, for tests that need other sizes."""
    return make_unsw_frame


@pytest.fixture(scope="session")
def write_tbl():
    """The writer :func:`write_table` (``csv``, ``gz``, ``zip``, ``bom``, ``parquet``)."""
    return write_table


@pytest.fixture(scope="session")
def small_rf_detector(tmp_path_factory, make_unsw) -> Path:
    """A 10-tree Random Forest detector trained on synthetic UNSW-NB15-shaped data, saved to disk."""
    from nids.experiments import run_experiment
    from nids.models.forest import ForestConfig
    from nids.training import TrainConfig

    frame = make_unsw({"Normal": 80, "Exploits": 45, "Generic": 35, "DoS": 20}, seed=1)
    dataset = unsw.frame_to_dataset(frame, [], np.full(len(frame), "unknown", dtype=object))
    cfg = TrainConfig(forest=ForestConfig(n_estimators=10, n_jobs=1))
    result = run_experiment(dataset, "rf", "multiclass", "dedup", seed=0, train_cfg=cfg)
    return result.detector.save(tmp_path_factory.mktemp("small-rf") / "rf")

"""Paths in one place. Environment variables override the defaults; nothing happens on import
beyond computing these paths (no directories are created, no data is read).

| variable          | default              |
|-------------------|----------------------|
| NIDS_DATA_DIR     | <project>/data/raw   |
| NIDS_MODELS_DIR   | <project>/models     |
| NIDS_FIGURES_DIR  | <project>/figures    |
| NIDS_REPORTS_DIR  | <project>/reports    |
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


def data_dir(explicit: str | Path | None = None) -> Path:
    """The raw-data directory: an explicit path, else ``NIDS_DATA_DIR``, else ``data/raw/``."""
    if explicit is not None:
        return Path(explicit).expanduser().resolve()
    return _env_path("NIDS_DATA_DIR", PROJECT_ROOT / "data" / "raw")


def models_dir() -> Path:
    """Where trained detectors are saved (one sub-directory each)."""
    return _env_path("NIDS_MODELS_DIR", PROJECT_ROOT / "models")


def figures_dir() -> Path:
    """Where notebooks write figures."""
    return _env_path("NIDS_FIGURES_DIR", PROJECT_ROOT / "figures")


def reports_dir() -> Path:
    """Where results are recorded as data (``metrics.json``, ``summary.md``, audits)."""
    return _env_path("NIDS_REPORTS_DIR", PROJECT_ROOT / "reports")


def slug(name: str) -> str:
    """A file-name-safe form of a dataset or model name (``csv:/a/b.csv`` -> ``csv-b``)."""
    import re

    if name.startswith("csv:"):
        name = "csv-" + Path(name[4:]).name.split(".")[0]
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "unnamed"


def ensure_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if needed and return it."""
    path.mkdir(parents=True, exist_ok=True)
    return path

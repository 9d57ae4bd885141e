"""What both apps (and ``nids predict``) share: an upload -> a verdicts table, or one clear message.

* :func:`read_flows` reads a table with the one reading layer and rejects a table without rows.
* :func:`score_flows` turns flows into ``nids predict``'s verdicts (``row, predicted, confidence,
  is_attack, status``), one row per input row, and notes the ignored columns.
* :func:`predict_upload` does both for uploaded bytes; errors a user can cause are
  :class:`~nids.errors.NidsError` with a readable message.
* :func:`list_detectors` / :func:`resolve_detector` confine the apps to detector directories under
  their own models path (no ``..``, no absolute paths, no symlinks pointing out of it).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pandas as pd

from nids import config
from nids.errors import BadInputError, NidsError
from nids.scoring import VERDICT_COLUMNS, score_flows, with_flows  # noqa: F401  (the apps' public names)

UPLOAD_SUFFIXES = (".csv", ".csv.gz", ".zip", ".parquet")
DEFAULT_MAX_UPLOAD_MB = 100
DEFAULT_DISPLAY_ROWS = 200  # rows a page shows; the download keeps every row


@dataclass
class Prediction:
    """The outcome of scoring one upload."""

    name: str
    flows: pd.DataFrame
    verdicts: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        """The flow's values, then its verdict (what the apps show and ``nids predict --with-input`` writes)."""
        return with_flows(self.flows, self.verdicts)

    def csv_bytes(self) -> bytes:
        """The download: byte for byte what ``nids predict --with-input`` writes for the same file."""
        return self.table().to_csv(index=False).encode("utf-8")

    def class_counts(self) -> pd.Series:
        """Rows per predicted class, most frequent first."""
        return self.verdicts["predicted"].value_counts()

    def summary(self) -> str:
        not_ok = int((self.verdicts["status"] != "ok").sum())
        return f"{len(self.verdicts):,} rows scored; rows with imputed values: {not_ok}"


def positive_setting(settings: dict, name: str, default, kind=float):
    """``settings[name]`` as a positive ``kind`` (``default`` when unset).

    Raises:
        NidsError: the value is not a positive, finite number.
    """
    raw = settings.get(name)
    if raw is None or str(raw).strip() == "":
        return default
    try:
        value = kind(str(raw).strip())
    except ValueError:
        value = None
    if value is None or not 0 < value < float("inf"):
        raise NidsError(f"{name}={raw!r}: expected a positive {'whole ' if kind is int else ''}number")
    return value


def read_flows(source, name: str | None = None, verb: str = "score") -> tuple[pd.DataFrame, list[str]]:
    """Read a flow table (path, bytes or file object) and the notes of what changed while reading.

    Raises:
        BadInputError: the file is empty, not a table, or has a header but no rows.
    """
    from nids.datasets.io import read_table

    frame, report = read_table(source, name=name)
    if frame.empty:
        raise BadInputError(f"{name or report.source}: the table has a header but no rows to {verb}")
    return frame, report.notes()


def predict_upload(detector, data: bytes, name: str, max_bytes: int | None = DEFAULT_MAX_UPLOAD_MB * 2**20) -> Prediction:
    """Score uploaded bytes with ``detector``.

    Args:
        detector: a loaded :class:`~nids.detector.Detector`.
        data: the uploaded file's bytes (kept in memory, never written under the uploaded name).
        name: the uploaded file name (it picks the format: ``.csv``, ``.csv.gz``, ``.zip``, ``.parquet``).
        max_bytes: reject larger uploads (None: no limit).

    Raises:
        NidsError: a file the detector cannot score, with a message saying what was expected.
    """
    name = PurePosixPath(str(name).replace("\\", "/")).name or "upload.csv"
    if max_bytes is not None and len(data) > max_bytes:
        raise BadInputError(
            f"{name}: the file is {len(data) / 2**20:.1f} MB; expected at most {max_bytes / 2**20:.0f} MB (the upload limit)"
        )
    frame, notes = read_flows(bytes(data), name=name)
    verdicts, more = score_flows(detector, frame)
    return Prediction(name=name, flows=frame, verdicts=verdicts, notes=notes + more)


def describe_error(exc: BaseException) -> str:
    """One line for the page: the message of the package's errors, a generic line for anything else."""
    if isinstance(exc, NidsError):
        return str(exc)
    return f"the file could not be scored ({type(exc).__name__}: {exc}); expected a CSV/Parquet table of flows"


def csv_data_uri(data: bytes) -> str:
    return "data:text/csv;base64," + base64.b64encode(data).decode("ascii")


# -- detectors under the models path ----------------------------------------------------------
def models_root(root: str | Path | None = None) -> Path:
    return Path(root).expanduser().resolve() if root else config.models_dir()


def list_detectors(root: str | Path | None = None) -> list[str]:
    """Detector directories under ``root`` (default: the models directory), as relative POSIX names.

    Only directories whose real path stays inside ``root`` are listed (a symlink pointing out is not).
    """
    base = models_root(root)
    if not base.is_dir():
        return []
    names = []
    for info in sorted(base.rglob("detector.json")):
        directory = info.parent
        try:
            real = directory.resolve()
            real.relative_to(base)
        except (OSError, ValueError):
            continue
        if (real / "detector.json").is_file():
            names.append(directory.relative_to(base).as_posix())
    return names


def resolve_detector(name: str, root: str | Path | None = None) -> Path:
    """The directory of detector ``name`` under ``root``.

    Raises:
        NidsError: ``name`` is empty, absolute, holds ``..``, leaves ``root`` through a symlink, or is
            not a detector directory.
    """
    base = models_root(root)
    text = str(name or "").strip()
    if len(text) > 200 or not text.isprintable():
        shown = text[:40] + ("..." if len(text) > 40 else "")
        raise NidsError(f"detector {shown!r}: expected the name of a detector directory under the models path, e.g. rf")
    parts = PurePosixPath(text.replace("\\", "/")).parts
    if not text or text.startswith(("/", "\\")) or Path(text).is_absolute() or ".." in parts or ":" in text:
        raise NidsError(f"detector {name!r}: expected the name of a detector directory under the models path, e.g. rf")
    path = (base / Path(*parts)).resolve()
    try:
        path.relative_to(base)
    except ValueError as exc:
        raise NidsError(f"detector {name!r}: it points outside the models path {base}; expected a detector in it") from exc
    if not (path / "detector.json").is_file():
        known = ", ".join(list_detectors(base)) or "none"
        raise NidsError(f"detector {name!r}: no detector directory of that name under {base}; found: {known}")
    return path


_CACHE: dict[tuple[str, float], object] = {}
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_LOCK = threading.Lock()


def load_detector(name: str, root: str | Path | None = None):
    """Load (once per detector.json modification time) the detector ``name`` under ``root``.

    One lock per directory: a request for a forest never waits while a deep model loads.
    """
    from nids.detector import Detector

    path = resolve_detector(name, root)
    key = (str(path), (path / "detector.json").stat().st_mtime)
    with _LOCKS_LOCK:
        lock = _LOCKS.setdefault(str(path), threading.Lock())
    with lock:
        if key not in _CACHE:
            _CACHE[key] = Detector.load(path)
        return _CACHE[key]


def warm_detector(detector, rows: int = 128) -> None:
    """Run one throw-away prediction so that the first real one does not pay for set-up.

    Deep detectors trace their inference graph on the first batch of more than 64 rows (smaller
    batches run XLA-compiled per size); forests load their trees into memory.
    """
    numeric = detector.numeric
    frame = pd.DataFrame({c: (["-"] * rows if c not in numeric else [0.0] * rows) for c in detector.features})
    detector.predict(frame)


def preload(names: list[str], root: str | Path | None = None, warm: bool = True) -> threading.Thread:
    """Load (and warm) detectors in a background thread; a request for one of them waits for it, not longer."""

    def kind(name: str) -> int:  # forests first: they are ready in a second, a deep model takes longer
        try:
            return 0 if json.loads((resolve_detector(name, root) / "detector.json").read_text()).get("kind") == "sklearn" else 1
        except (OSError, ValueError, NidsError):
            return 2

    def work() -> None:
        for name in sorted(names, key=kind):
            try:
                detector = load_detector(name, root)
                if warm:
                    warm_detector(detector)
            except Exception:  # a broken detector is reported when someone chooses it
                logging.getLogger(__name__).warning("could not preload detector %s", name, exc_info=True)

    thread = threading.Thread(target=work, name="nids-preload", daemon=True)
    thread.start()
    return thread


def train_default_detector(root: str | Path | None = None, max_train_rows: int = 20_000, trees: int = 50) -> Path:
    """Train the fast Random Forest (10-class) on the default dataset and save it as ``unsw-nb15/rf_multiclass``.

    Raises:
        DataNotFoundError: the default dataset is not in the data directory (the message says where to put it).
    """
    from nids.datasets import load_dataset
    from nids.experiments import run_experiment
    from nids.models.forest import ForestConfig
    from nids.training import TrainConfig

    dataset = load_dataset("unsw-nb15")
    cfg = TrainConfig(forest=ForestConfig(n_estimators=trees))
    result = run_experiment(dataset, "rf", "multiclass", "dedup", 0, cfg, max_train_rows=max_train_rows)
    return result.detector.save(models_root(root) / "unsw-nb15" / "rf_multiclass")

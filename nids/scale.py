"""Scoring flow tables larger than memory on a Dask cluster: ``nids predict --engine dask``.

Each input file is cut into partitions: an uncompressed CSV into byte blocks that end at a line
break (:func:`fsspec.utils.read_block`, what ``dask.dataframe.read_csv`` uses), each block read
with the file's header line in front of it; a Parquet file into runs of row groups; a compressed
CSV (``.gz``, ``.zip``) is one partition. Every partition is read by the project's one reading
layer, :func:`nids.datasets.io.read_table` (BOM, header spaces, repeated header lines, ...), and
scored by :func:`nids.scoring.score_frame`, the function the local engine calls, with a detector
loaded once per worker process. So a row gets the same verdict from both engines.

Two passes keep row numbers and encodings those of the whole file:

1. *inspect* (one task per partition): how many rows the partition holds after reading, whether
   its bytes are UTF-8, its columns. Row numbers within a file are then cumulative counts, a file
   is read as Windows-1252 only if some block of it is not UTF-8 (as the local engine decides for
   the whole file), and a file that lacks a feature column is known before scoring.
2. *score* (a lazy ``dask.dataframe`` built with :func:`dask.dataframe.from_map`, written with
   ``to_parquet``): one output row per input row, ``source, row, predicted, confidence, is_attack,
   status``.

A file that cannot be read, or lacks feature columns, does not stop the others: its rows (or, if
it could not be read at all, one row with no row number) carry ``status = "error: ..."`` naming
the problem, the summary lists the failed files and the command exits 1.
CSV inputs are parsed twice (once per pass); Parquet row groups are read twice only if enough of their columns
could hold a repeated header line (text columns), else their row counts come from the file's metadata.
"""

from __future__ import annotations

import glob
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from nids.datasets.io import TABLE_SUFFIXES, read_table
from nids.errors import BadInputError, NidsError, SchemaError

OUTPUT_DTYPES = {
    "source": "string",
    "row": "Int64",
    "predicted": "string",
    "confidence": "float64",
    "is_attack": "boolean",
    "status": "string",
}
_BOM = b"\xef\xbb\xbf"


# -- partitions -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Part:
    """One partition of one input file.

    Attributes:
        source: absolute path of the file.
        index: partition number within the file (0-based, in file order).
        kind: ``"csv"`` (a byte block of an uncompressed CSV), ``"parquet"`` (row groups) or
            ``"table"`` (the whole file through :func:`read_table`).
        offset: first byte of a ``csv`` block (the block starts after the first line break at or
            after it, except at 0).
        length: bytes of a ``csv`` block (it runs on to the next line break).
        row_groups: the row groups of a ``parquet`` partition.
        header: the file's header line (``csv``), put in front of every block but the first.
    """

    source: str
    index: int
    kind: str
    offset: int = 0
    length: int | None = None
    row_groups: tuple[int, ...] = ()
    header: bytes = b""


@dataclass(frozen=True)
class PartInfo:
    """What the inspect pass found in one partition."""

    rows: int = 0
    utf8: bool = True
    columns: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    repeated_headers: int = 0
    error: str | None = None


@dataclass(frozen=True)
class Task:
    """What the score pass needs for one partition."""

    part: Part
    first_row: int
    rows: int
    encoding: str = "utf-8"
    error: str | None = None  # every row of the partition gets this status instead of a verdict
    unreadable: bool = False  # the file could not be read: one error row with no row number


def expand_inputs(pattern: str) -> list[Path]:
    """The input files: one file, every table file in a directory, or a glob's matches, sorted.

    Raises:
        BadInputError: nothing matches.
    """
    path = Path(pattern)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.name.lower().endswith(TABLE_SUFFIXES))
    elif glob.has_magic(pattern):
        files = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
    else:
        files = [path] if path.is_file() else []
    if not files:
        raise BadInputError(f"--input {pattern}: expected a file, a directory of tables or a glob matching files, found none")
    return [p.resolve() for p in files]


def plan_parts(path: Path, blocksize: int) -> list[Part]:
    """Cut one file into partitions of about ``blocksize`` bytes (see the module docstring)."""
    source = str(path)
    with open(path, "rb") as handle:
        magic = handle.read(4)
    name = path.name.lower()
    if name.endswith(".parquet") or magic == b"PAR1":
        import pyarrow.parquet as pq

        try:
            meta = pq.ParquetFile(path).metadata
        except Exception:  # pyarrow raises many types; read_table reports it in the inspect pass
            return [Part(source, 0, "table")]
        parts, groups, size = [], [], 0
        for i in range(meta.num_row_groups):
            groups.append(i)
            size += meta.row_group(i).total_byte_size
            if size >= blocksize:
                parts.append(Part(source, len(parts), "parquet", row_groups=tuple(groups)))
                groups, size = [], 0
        if groups or not parts:
            parts.append(Part(source, len(parts), "parquet", row_groups=tuple(groups)))
        return parts
    compressed = name.endswith((".gz", ".zip")) or magic[:2] == b"\x1f\x8b" or magic == b"PK\x03\x04"
    size = path.stat().st_size
    if compressed or size <= blocksize:
        return [Part(source, 0, "table")]
    with open(path, "rb") as handle:
        header = handle.readline()
    return [Part(source, i, "csv", offset=o, length=blocksize, header=header) for i, o in enumerate(range(0, size, blocksize))]


def _block_bytes(part: Part) -> bytes:
    from fsspec.utils import read_block

    with open(part.source, "rb") as handle:
        block = read_block(handle, part.offset, part.length, delimiter=b"\n")
    return block if part.index == 0 else part.header + block


def read_part(part: Part, encoding: str = "auto") -> tuple[pd.DataFrame, object]:
    """Read one partition through :func:`read_table`.

    Args:
        part: the partition.
        encoding: ``"windows-1252"`` to read a CSV block as the whole file was decided to be read;
            anything else lets :func:`read_table` decide (UTF-8, falling back to Windows-1252).

    Returns:
        The frame and :func:`read_table`'s report.
    """
    if part.kind == "table":
        return read_table(part.source)
    if part.kind == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pq.ParquetFile(part.source).read_row_groups(list(part.row_groups))
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="none")
        return read_table(sink.getvalue().to_pybytes(), name=part.source)
    data = _block_bytes(part)
    if encoding == "windows-1252":  # the text read_table gives a non-UTF-8 file, as UTF-8 bytes
        data = data.removeprefix(_BOM).decode("cp1252", errors="replace").encode("utf-8")
    return read_table(data, name=part.source)


def _parquet_without_header_rows(part: Part) -> PartInfo | None:
    """The inspect result of a Parquet partition from its metadata, when no row can repeat the header.

    :func:`read_table` drops a row as a repeated header when at least 80% of its values equal the
    column names; a number, boolean or time value never equals a name unless the name itself reads
    as one. If too few columns could hold their name, the row count is the metadata's and the rows
    need not be read twice. Returns None when the partition must be read.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    handle = pq.ParquetFile(part.source)
    schema = handle.schema_arrow

    def could_hold_name(column: pa.Field) -> bool:
        kind = column.type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)):
            return True
        name = column.name.strip().lower()
        return name in ("nan", "inf", "-inf", "true", "false") or not pd.isna(pd.to_numeric(name, errors="coerce"))

    if sum(could_hold_name(c) for c in schema) >= max(1, int(0.8 * len(schema))):
        return None
    sink = pa.BufferOutputStream()
    pq.write_table(schema.empty_table(), sink)
    frame, report = read_table(sink.getvalue().to_pybytes(), name=part.source)  # the header as read_table reads it
    rows = sum(handle.metadata.row_group(i).num_rows for i in part.row_groups)
    return PartInfo(rows, True, tuple(map(str, frame.columns)), tuple(report.notes()), 0)


def inspect_part(part: Part) -> PartInfo:
    """The inspect pass for one partition (runs on a worker)."""
    try:
        if part.kind == "parquet" and (info := _parquet_without_header_rows(part)) is not None:
            return info
        frame, report = read_part(part)
    except NidsError as exc:
        return PartInfo(error=str(exc))
    if part.kind == "csv":
        try:
            _block_bytes(part).decode("utf-8")
            utf8 = True
        except UnicodeDecodeError:
            utf8 = False
    else:
        utf8 = report.encoding == "utf-8"
    notes = tuple(n for n in report.notes() if not n.startswith(("dropped", "file is not valid UTF-8")))
    return PartInfo(len(frame), utf8, tuple(map(str, frame.columns)), notes, report.repeated_headers)


# -- scoring on the workers -------------------------------------------------------------------
_DETECTORS: dict[tuple[str, int], object] = {}
_DETECTOR_LOCK = threading.Lock()


def worker_detector(model_dir: str):
    """The detector in ``model_dir``, loaded once per process (re-loaded if its files change)."""
    from nids.detector import Detector

    key = (model_dir, (Path(model_dir) / "detector.json").stat().st_mtime_ns)
    with _DETECTOR_LOCK:
        if key not in _DETECTORS:
            _DETECTORS.clear()
            _DETECTORS[key] = Detector.load(model_dir)
        return _DETECTORS[key]


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[list(OUTPUT_DTYPES)].astype(OUTPUT_DTYPES).reset_index(drop=True)


def _error_rows(task: Task, message: str) -> pd.DataFrame:
    if task.unreadable:
        rows = pd.array([None], dtype="Int64")
    else:
        rows = pd.array(range(task.first_row, task.first_row + task.rows), dtype="Int64")
    n = len(rows)
    return _typed(
        pd.DataFrame(
            {
                "source": [task.part.source] * n,
                "row": rows,
                "predicted": [None] * n,
                "confidence": [float("nan")] * n,
                "is_attack": [None] * n,
                "status": [f"error: {message}"] * n,
            }
        )
    )


def score_part(task: Task, model_dir: str) -> pd.DataFrame:
    """The score pass for one partition (runs on a worker): one verdict row per input row."""
    from nids.scoring import score_frame

    if task.error is not None:
        return _error_rows(task, task.error)
    try:
        frame, _report = read_part(task.part, task.encoding)
        if len(frame) != task.rows:
            raise BadInputError(f"{task.part.source} changed while it was scored: {len(frame)} rows, expected {task.rows}")
        with warnings.catch_warnings():  # a forest runs single-threaded in a worker: the workers are the parallelism
            warnings.filterwarnings("ignore", message="Inside a Dask worker with daemon=True", category=UserWarning)
            verdicts = score_frame(worker_detector(model_dir), frame, task.first_row)
    except NidsError as exc:
        return _error_rows(task, str(exc))
    verdicts.insert(0, "source", task.part.source)
    return _typed(verdicts)


def output_meta() -> pd.DataFrame:
    """The empty output frame: columns and dtypes of every partition's verdicts."""
    return _typed(pd.DataFrame({c: [] for c in OUTPUT_DTYPES}))


def output_schema():
    import pyarrow as pa

    return pa.schema(
        [
            ("source", pa.string()),
            ("row", pa.int64()),
            ("predicted", pa.string()),
            ("confidence", pa.float64()),
            ("is_attack", pa.bool_()),
            ("status", pa.string()),
        ]
    )


# -- the command ------------------------------------------------------------------------------
@dataclass
class FilePlan:
    """One input file after the inspect pass."""

    source: str
    tasks: list[Task] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    columns: tuple[str, ...] = ()

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tasks if not t.unreadable)


def plan_file(parts: list[Part], infos: list[PartInfo], detector) -> FilePlan:
    """Combine one file's inspect results into score tasks (row offsets, encoding, file errors)."""
    plan = FilePlan(parts[0].source)
    failed = next((i.error for i in infos if i.error is not None), None)
    if failed is not None:
        plan.tasks = [Task(parts[0], 0, 0, error=failed, unreadable=True)]
        return plan
    encoding = "utf-8" if all(i.utf8 for i in infos) else "windows-1252"
    if encoding != "utf-8":
        plan.notes.append("file is not valid UTF-8; read as Windows-1252")
    plan.notes.extend(infos[0].notes)
    repeated = sum(i.repeated_headers for i in infos)
    if repeated:
        plan.notes.append(f"dropped {repeated} repeated header line(s) inside the data")
    plan.columns = infos[0].columns
    if sum(i.rows for i in infos) == 0:  # as the local engine: nothing to score is an error
        plan.tasks = [Task(parts[0], 0, 0, error=f"{plan.source}: the table has a header but no rows to score", unreadable=True)]
        return plan
    error = None
    try:
        detector.align(pd.DataFrame(columns=list(plan.columns)))
    except SchemaError as exc:
        error = f"{plan.source}: {exc}"
    first = 1
    for part, info in zip(parts, infos, strict=True):
        plan.tasks.append(Task(part, first, info.rows, encoding, error))
        first += info.rows
    return plan


@contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None, memory_limit: str = "auto") -> Iterator[object]:
    """A ``distributed.Client``: connected to ``scheduler``, else to a new local cluster.

    The local cluster has ``workers`` single-threaded worker processes on 127.0.0.1 (no dashboard).

    Raises:
        NidsError: the scheduler cannot be reached, or the settings are invalid.
    """
    import logging

    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="15s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise NidsError(f"--scheduler {scheduler}: expected a reachable Dask scheduler, could not connect ({exc})") from exc
        try:
            yield client
        finally:
            client.close()
        return
    n_workers = 2 if workers is None else workers
    if n_workers < 1:
        raise NidsError(f"--workers {workers}: expected at least 1 worker")
    # Never pause a worker: a worker's memory here is mostly the libraries it imports (pandas, scikit-learn,
    # TensorFlow), which pausing cannot free, and a paused worker holding the last tasks waits forever
    # (dask/distributed#5235; seen with a 640 MiB limit). The nanny still restarts a worker that passes 95%.
    with dask.config.set({"distributed.worker.memory.pause": False}):
        try:
            cluster = LocalCluster(
                n_workers=n_workers,
                processes=True,
                threads_per_worker=1,
                host="127.0.0.1",
                memory_limit=memory_limit,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
        except ValueError as exc:
            raise NidsError(f"--memory-limit {memory_limit}: expected a size such as 1GiB or 'auto' ({exc})") from exc
        try:
            with Client(cluster) as client:
                yield client
        finally:
            cluster.close()


def _wait(client, futures, show_progress: bool):
    from distributed import progress, wait

    if show_progress:
        progress(futures)
        print(file=sys.stdout)
    else:
        wait(futures)
    return client.gather(futures)


def score_files(
    client, model_dir: str, files: list[Path], output: Path, blocksize: int, show_progress: bool = True
) -> tuple[list[FilePlan], dict]:
    """Inspect, score and write every input file on ``client``'s cluster; summarise the output.

    Returns:
        The per-file plans and a summary: ``predicted`` (class counts), ``imputed`` (rows with
        imputed values), ``rows_by_source`` (output rows per file), ``failed`` (file -> message),
        ``partitions``, ``seconds`` (wall time of the inspect pass, the score pass, the summary).
    """
    import time

    import dask.dataframe as dd

    from nids.detector import Detector

    clock = [time.perf_counter()]
    detector = Detector.load(model_dir)
    parts_by_file = [plan_parts(p, blocksize) for p in files]
    flat = [p for parts in parts_by_file for p in parts]
    infos = iter(_wait(client, client.map(inspect_part, flat, pure=False), show_progress))
    plans = [plan_file(parts, [next(infos) for _ in parts], detector) for parts in parts_by_file]
    tasks = [t for plan in plans for t in plan.tasks]
    clock.append(time.perf_counter())

    verdicts = dd.from_map(score_part, tasks, args=[model_dir], meta=output_meta(), label="nids-score", enforce_metadata=False)
    writer = verdicts.to_parquet(
        str(output),
        write_index=False,
        schema=output_schema(),
        name_function=lambda i: f"part.{i:05d}.parquet",
        compute=False,
    )
    _wait(client, client.compute(writer), show_progress)
    clock.append(time.perf_counter())

    written = dd.read_parquet(str(output), columns=["source", "predicted", "status"])
    predicted, imputed, by_source, errors = client.gather(
        client.compute(
            [
                written["predicted"].value_counts(),
                written["status"].str.startswith("imputed").sum(),
                written.groupby("source").size(),
                written[written["status"].str.startswith("error")].groupby("source")["status"].first(),
            ]
        )
    )
    summary = {
        "predicted": {str(k): int(v) for k, v in predicted.sort_values(ascending=False).items()},
        "imputed": int(imputed),
        "rows_by_source": {str(k): int(v) for k, v in by_source.items()},
        "failed": {str(k): str(v).removeprefix("error: ") for k, v in errors.items()},
        "partitions": len(tasks),
        "seconds": dict(zip(("inspect", "score", "summary"), np.diff([*clock, time.perf_counter()]).tolist(), strict=True)),
    }
    for plan in plans:
        expected = max(plan.rows, 1 if plan.tasks[0].unreadable else 0)
        if summary["rows_by_source"].get(plan.source, 0) != expected:  # the one-row-per-input-row promise
            raise NidsError(
                f"{plan.source}: {summary['rows_by_source'].get(plan.source, 0)} verdict rows written, expected {expected}"
            )
    return plans, summary


def predict_dask(args) -> int:
    """``nids predict --engine dask``: print notes and a summary; 0 if every file scored, 1 if some failed."""
    from dask.utils import parse_bytes

    from nids.detector import Detector
    from nids.scoring import ignored_columns, ignored_note

    if getattr(args, "with_input", False):
        raise NidsError("--with-input is not supported with --engine dask (the output holds verdicts and row identity)")
    if args.workers is not None and args.scheduler:
        raise NidsError("--workers and --scheduler exclude each other: the scheduler's cluster has its own workers")
    try:
        blocksize = parse_bytes(args.blocksize)
    except (ValueError, TypeError) as exc:
        raise NidsError(f"--blocksize {args.blocksize}: expected a size such as 32MiB") from exc
    if blocksize < 1:
        raise NidsError(f"--blocksize {args.blocksize}: expected a positive size")
    output = Path(args.output)
    if not output.parent.is_dir():
        raise NidsError(f"--output {output}: expected an existing directory {output.parent}, found none")
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise NidsError(f"--output {output}: expected a new or empty directory for the Parquet parts, found existing content")
    model_dir = str(Path(args.model).resolve())
    detector = Detector.load(model_dir)  # a clear error before a cluster starts
    files = expand_inputs(args.input)
    with dask_client(args.workers, args.scheduler, args.memory_limit) as client:
        output.mkdir(exist_ok=True)
        n_workers = len(client.scheduler_info(n_workers=-1)["workers"]) if args.scheduler else (args.workers or 2)
        plans, summary = score_files(client, model_dir, files, output, blocksize, not args.no_progress)
    extras = set()
    for plan in plans:
        for note in plan.notes:
            print(f"note: {plan.source}: {note}", file=sys.stderr)
        if plan.columns:
            try:
                extras.add(tuple(ignored_columns(detector, pd.DataFrame(columns=list(plan.columns)))))
            except SchemaError:  # reported as the file's error rows
                pass
    for extra in sorted(extras):
        if extra:
            print(f"note: {ignored_note(list(extra))}", file=sys.stderr)
    total = sum(summary["rows_by_source"].values())
    scored = total - sum(summary["rows_by_source"].get(s, 0) for s in summary["failed"])
    print(
        f"{scored:,} rows from {len(files) - len(summary['failed'])} of {len(files)} file(s) scored on {n_workers} Dask "
        f"worker(s) in {summary['partitions']} partition(s) -> {output}; predicted: {summary['predicted']}; "
        f"rows with imputed values: {summary['imputed']}"
    )
    for source, message in summary["failed"].items():
        print(f"failed: {source}: {message.removeprefix(source + ': ')}", file=sys.stderr)
    if summary["failed"] and len(summary["failed"]) == len(files):
        raise NidsError(f"no input file could be scored ({len(files)} failed; their error rows are in {output})")
    return 1 if summary["failed"] else 0

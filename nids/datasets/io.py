"""Reading flow tables from disk or from an upload: CSV, ``.csv.gz``, ``.zip`` (one member), Parquet.

Every entry point (datasets, CLI, apps) reads through :func:`read_table`, so a file is read the
same way everywhere: UTF-8 with or without BOM (Windows-1252 as a reported fallback), header names
stripped of surrounding spaces.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pandas as pd

from nids.errors import BadInputError

TABLE_SUFFIXES = (".csv", ".csv.gz", ".zip", ".parquet", ".txt")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, streamed."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class ReadReport:
    """What happened while reading a table (shown to users, never silently swallowed)."""

    source: str
    sha256: str
    encoding: str = "utf-8"
    renamed_columns: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _suffix(name: str) -> str:
    lower = name.lower()
    for suffix in (".csv.gz", ".csv", ".zip", ".parquet", ".txt", ".gz"):
        if lower.endswith(suffix):
            return suffix
    return Path(lower).suffix


def _unpack(data: bytes, name: str) -> tuple[bytes, str]:
    """Return the CSV bytes inside a zip/gzip container (or the bytes themselves)."""
    suffix = _suffix(name)
    if suffix == ".zip" or data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                members = [m for m in archive.namelist() if not m.endswith("/")]
                if len(members) != 1:
                    raise BadInputError(f"{name}: expected a zip with exactly one member, found {len(members)}: {members[:5]}")
                return archive.read(members[0]), members[0]
        except zipfile.BadZipFile as exc:
            raise BadInputError(f"{name}: expected a zip archive, but it could not be opened ({exc})") from exc
    if suffix in (".csv.gz", ".gz") or data[:2] == b"\x1f\x8b":
        import gzip
        import zlib

        try:
            return gzip.decompress(data), name.removesuffix(".gz")
        except (OSError, EOFError, zlib.error) as exc:
            raise BadInputError(f"{name}: expected gzip-compressed CSV, but it could not be decompressed ({exc})") from exc
    return data, name


def _decode(data: bytes, report: ReadReport) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.encoding = "windows-1252"
        report.warnings.append("file is not valid UTF-8; read as Windows-1252")
        return data.decode("cp1252", errors="replace")


def read_table(
    source: str | Path | bytes | IO[bytes],
    *,
    name: str | None = None,
    header: bool = True,
    names: list[str] | None = None,
) -> tuple[pd.DataFrame, ReadReport]:
    """Read one flow table.

    Args:
        source: a path, raw bytes (an upload), or a binary file object.
        name: the file name to report (and to pick the format from) when ``source`` is not a path.
        header: whether the first line holds column names.
        names: column names to use when ``header`` is False.

    Returns:
        The table with every value as read (numeric columns parsed where they parse), and a report.

    Raises:
        BadInputError: the file is empty, not a table, or an archive with several members.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise BadInputError(f"expected a file, found nothing at {path}")
        data = path.read_bytes()
        name = name or str(path)
    elif isinstance(source, bytes):
        data = source
    else:
        data = source.read()
    name = name or "<upload>"
    report = ReadReport(source=name, sha256=sha256_bytes(data))
    if not data.strip():
        raise BadInputError(f"{name}: the file is empty; expected a CSV table of flows")
    if _suffix(name) == ".parquet" or data[:4] == b"PAR1":
        try:
            frame = pd.read_parquet(io.BytesIO(data))
        except Exception as exc:  # pyarrow raises many types for a broken file
            raise BadInputError(f"{name}: expected a Parquet file, but it could not be read ({exc})") from exc
    else:
        payload, _inner = _unpack(data, name)
        if b"\x00" in payload[:4096]:
            raise BadInputError(f"{name}: expected a text CSV table, found binary content")
        text = _decode(payload, report)
        try:
            frame = pd.read_csv(
                io.StringIO(text),
                header=0 if header else None,
                names=names,
                low_memory=False,
                skipinitialspace=True,
                na_values=["", "NaN", "nan", "NULL", "null"],
                keep_default_na=False,
            )
        except pd.errors.EmptyDataError as exc:
            raise BadInputError(f"{name}: no columns found; expected a CSV table of flows") from exc
        except pd.errors.ParserError as exc:
            raise BadInputError(f"{name}: expected a CSV table of flows, but it could not be parsed ({exc})") from exc
    if header:
        renamed = {str(c): str(c).strip() for c in frame.columns if str(c) != str(c).strip()}
        if renamed:
            frame = frame.rename(columns=renamed)
            report.renamed_columns.update(renamed)
    return frame, report

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
    repeated_headers: int = 0
    warnings: list[str] = field(default_factory=list)

    def notes(self) -> list[str]:
        """Human-readable lines for everything that changed while reading."""
        lines = list(self.warnings)
        if self.renamed_columns:
            shown = ", ".join(f"{k!r}->{v!r}" for k, v in list(self.renamed_columns.items())[:10])
            lines.append(f"renamed {len(self.renamed_columns)} column(s) (surrounding spaces / duplicates): {shown}")
        if self.repeated_headers:
            lines.append(f"dropped {self.repeated_headers} repeated header line(s) inside the data")
        return lines


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


def _utf16_text(data: bytes, report: ReadReport) -> str | None:
    """The text of a UTF-16 file (Excel's "Unicode text" export), with or without BOM; ``None`` otherwise."""
    head = data[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        codec = "utf-16"
    elif len(head) >= 8 and head[1::2].count(0) == len(head[1::2]) and 0 not in head[0::2]:
        codec = "utf-16-le"
    elif len(head) >= 8 and head[0::2].count(0) == len(head[0::2]) and 0 not in head[1::2]:
        codec = "utf-16-be"
    else:
        return None
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        return None
    report.encoding = codec
    report.warnings.append(f"file is {codec.upper()} text; read as such")
    return text.removeprefix("\ufeff")


def _decode(data: bytes, report: ReadReport) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.encoding = "windows-1252"
        report.warnings.append("file is not valid UTF-8; read as Windows-1252")
        return data.removeprefix(b"\xef\xbb\xbf").decode("cp1252", errors="replace")  # a BOM, then a stray 0x96


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
        if path.is_dir():
            raise BadInputError(f"{path} is a folder; expected one file (nids predict --engine dask reads folders and globs)")
        if not path.is_file():
            hint = " (a glob pattern is read only by nids predict --engine dask)" if any(c in str(path) for c in "*?[") else ""
            raise BadInputError(f"expected a file, found nothing at {path}{hint}")
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
        text = _utf16_text(payload, report)
        if text is None:
            if _looks_binary(payload[:8192]):
                raise BadInputError(f"{name}: expected a text CSV table of flows, found binary content (not a CSV file)")
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
            raise BadInputError(
                f"{name}: expected a CSV table of flows, but it could not be parsed ({str(exc).strip()})"
            ) from exc
        head, first = _first_lines(text, header)
        if first is not None and len(first) > frame.shape[1]:  # pandas would shift every column silently
            raise BadInputError(
                f"{name}: the first data line has {len(first)} fields but the header has {frame.shape[1]}; "
                "expected every line to have as many fields as the header (the columns would shift)"
            )
        if head is not None and len(head) == frame.shape[1]:  # names as written, so that stripping them is reported
            frame.columns = [h if h.strip() == str(c).strip() else c for h, c in zip(head, frame.columns, strict=True)]
    if header:
        frame = _normalise_header(frame, report)
        frame = _drop_repeated_headers(frame, report)
    return frame, report


def _first_lines(text: str, header: bool) -> tuple[list[str] | None, list[str] | None]:
    """The header's fields as written (spaces kept) and the first data line's fields (None: unreadable).

    pandas strips the spaces before header names without saying so, and reads surplus leading
    fields of the first data line as an index, shifting every column; these two lines let
    :func:`read_table` report the one and reject the other.
    """
    import csv

    sample = text[: 1 << 20]
    try:
        head = next((row for row in csv.reader(io.StringIO(sample)) if row), None) if header else None
        rows = (row for row in csv.reader(io.StringIO(sample), skipinitialspace=True) if row)
        if header:
            next(rows, None)
        return head, next(rows, None)
    except csv.Error:  # a quoting the csv module rejects but pandas parsed: leave the table as read
        return None, None


def _looks_binary(sample: bytes) -> bool:
    """NUL bytes, or more than 2% control characters other than tab / CR / LF."""
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 13))
    return controls > 0.02 * max(len(sample), 1)


def _normalise_header(frame: pd.DataFrame, report: ReadReport) -> pd.DataFrame:
    """Strip spaces around column names; names that then collide get ``.1``, ``.2`` suffixes."""
    seen: dict[str, int] = {}
    new_names = []
    for column in frame.columns:
        name = str(column).strip()
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        new_names.append(name)
    renamed = {str(old): new for old, new in zip(frame.columns, new_names, strict=True) if str(old) != new}
    if renamed:
        frame.columns = new_names
        report.renamed_columns.update(renamed)
    return frame


def _drop_repeated_headers(frame: pd.DataFrame, report: ReadReport) -> pd.DataFrame:
    """Drop data lines that repeat the header (concatenated CSV exports), count them, re-parse numbers."""
    if frame.empty:
        return frame
    text = frame.astype(str).apply(lambda c: c.str.strip())
    names = pd.Series(
        [str(c).split(".")[0] if "." in str(c) and str(c).rsplit(".", 1)[1].isdigit() else str(c) for c in frame.columns],
        index=frame.columns,
    )
    is_header = text.eq(names).sum(axis=1) >= max(1, int(0.8 * len(frame.columns)))
    count = int(is_header.sum())
    if not count:
        return frame
    report.repeated_headers = count
    frame = frame.loc[~is_header].reset_index(drop=True)
    for column in frame.columns:  # columns that were text only because of the header lines
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            parsed = pd.to_numeric(frame[column], errors="coerce")
            if parsed.notna().sum() == frame[column].notna().sum():
                frame[column] = parsed
    return frame

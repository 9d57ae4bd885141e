"""Download catalogued raw files from public mirrors, verifying each one before it lands.

A file is downloaded into a uniquely named temporary file next to its destination, hashed while it
streams, and renamed into place only once its SHA-256 matches, so a failed or interrupted download
never leaves a partial file under the expected name.

Mirror lists can be overridden per ``relpath``: by the ``mirrors`` argument, else by a JSON file
``{relpath: [url, ...]}`` named by the ``NIDS_MIRRORS`` environment variable, else the catalogue's.
Only ``http``/``https`` URLs are used; anything else is reported as a failed attempt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import requests
from tqdm.auto import tqdm

from nids.config import data_dir as resolve_data_dir
from nids.datasets.io import sha256_file  # one streamed-hash function for the package
from nids.datasets.sources import OFFICIAL_PAGES, RawFile, files_for
from nids.errors import ChecksumError, DataNotFoundError, NidsError

log = logging.getLogger(__name__)

MIRRORS_ENV = "NIDS_MIRRORS"
_CHUNK = 1 << 20


def count_lines(path: str | Path) -> int:
    """Number of non-empty lines: the record count of a headerless one-record-per-line file."""
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.strip())


def mirrors_from_env() -> dict[str, list[str]]:
    """The mirror overrides in the JSON file named by ``NIDS_MIRRORS`` (empty if unset).

    Raises:
        NidsError: The file is missing or is not a JSON object mapping paths to lists of URLs.
    """
    value = os.environ.get(MIRRORS_ENV)
    if not value:
        return {}
    path = Path(value).expanduser()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise NidsError(f"{MIRRORS_ENV}={value}: expected a readable JSON file: {exc}") from exc
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(u, str) for u in v) for k, v in data.items()
    ):
        expected = '{"relpath": ["url", ...]}'
        raise NidsError(f"{MIRRORS_ENV}={value}: expected {expected}, got {data!r:.200}")
    return data


def _verify(path: Path, raw: RawFile, digest: str | None = None) -> str | None:
    """``None`` if ``path`` is the published file, else why not."""
    if raw.sha256 is not None:
        digest = digest or sha256_file(path)
        return None if digest == raw.sha256 else f"SHA-256 {digest}, expected {raw.sha256}"
    n = count_lines(path)
    return None if n == raw.records else f"{n:,} records, expected {raw.records:,}"


def _download(url: str, dest: Path, raw: RawFile, timeout: float, progress: bool) -> str | None:
    """Try one URL: ``None`` on success (verified and renamed to ``dest``), else why it failed."""
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        return f"unsupported URL scheme {scheme!r} (only http/https)"
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, requests.get(url, stream=True, timeout=timeout) as resp:
            if resp.status_code != 200:
                return f"HTTP {resp.status_code} {resp.reason}"
            total = int(resp.headers.get("Content-Length") or 0) or None
            bar = tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, disable=not progress)
            with bar:
                for chunk in resp.iter_content(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
        problem = _verify(tmp, raw, digest.hexdigest())
        if problem:
            return f"checksum mismatch: {problem}"
        os.replace(tmp, dest)
        return None
    except (requests.RequestException, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        tmp.unlink(missing_ok=True)


def fetch(
    dataset: str,
    data_dir: str | Path | None = None,
    mirrors: Mapping[str, Sequence[str]] | None = None,
    force: bool = False,
    progress: bool = True,
    files: Sequence[RawFile] | None = None,
    include_optional: bool = False,
    timeout: float = 60.0,
) -> list[Path]:
    """Make sure the raw files of ``dataset`` are in the data directory; download what is missing.

    Args:
        dataset: A catalogued dataset name (``"unsw-nb15"``, ``"nsl-kdd"``).
        data_dir: The data directory (resolved by :func:`nids.config.data_dir`).
        mirrors: ``{relpath: [url, ...]}`` overriding ``NIDS_MIRRORS`` and the catalogue.
        force: Download even files that are already present and valid.
        progress: Show a tqdm progress bar per download.
        files: The files to fetch instead of the catalogue's (for tests and custom mirrors).
        include_optional: Also fetch files marked optional (e.g. the full ``KDDTrain+.txt``).
        timeout: Seconds to wait for a connection or for the next bytes from a mirror.

    Returns:
        The paths of all requested files, in order, each present and verified.

    Raises:
        ChecksumError: Some mirror of a file served bytes with the wrong SHA-256 and none served
            the right ones.
        DataNotFoundError: No mirror of a file could be downloaded.
        UnknownNameError: ``dataset`` is not catalogued (and ``files`` is not given).
        NidsError: ``NIDS_MIRRORS`` names an unreadable or malformed file.
    """
    root = resolve_data_dir(data_dir)
    wanted = list(files) if files is not None else files_for(dataset, include_optional)
    overrides = {**mirrors_from_env(), **(mirrors or {})}
    paths = []
    for raw in wanted:
        dest = raw.path(root)
        paths.append(dest)
        if not force and dest.is_file():
            problem = _verify(dest, raw)
            if problem is None:
                log.info("%s: present and verified", dest)
                continue
            log.warning("%s: present but %s; downloading again", dest, problem)
        dest.parent.mkdir(parents=True, exist_ok=True)
        urls = list(overrides.get(raw.relpath, raw.mirrors))
        failures = []
        for url in urls:
            log.info("%s: downloading %s", raw.relpath, url)
            problem = _download(url, dest, raw, timeout, progress)
            if problem is None:
                break
            log.warning("%s: %s failed: %s", raw.relpath, url, problem)
            failures.append((url, problem))
        else:
            raise _failure(raw, dest, failures)
    return paths


def _failure(raw: RawFile, dest: Path, failures: list[tuple[str, str]]) -> NidsError:
    tried = "\n".join(f"  {url}: {why}" for url, why in failures) or "  (no mirror URLs configured)"
    expected = f"SHA-256 {raw.sha256}" if raw.sha256 else f"{raw.records:,} records (SHA-256 not pinned)"
    official = OFFICIAL_PAGES.get(raw.dataset, "the dataset's official page")
    message = (
        f"could not download {raw.relpath} ({raw.description}).\nTried:\n{tried}\n"
        f"Download it from {official} or another mirror, check {expected}, and put it at {dest}; "
        f"or list working URLs for {raw.relpath!r} in a JSON file named by {MIRRORS_ENV}."
    )
    bad_bytes = any(why.startswith("checksum mismatch") for _, why in failures)
    return (ChecksumError if bad_bytes else DataNotFoundError)(message)

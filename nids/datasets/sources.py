"""The catalogue of known raw files: where each goes under the data directory, its SHA-256, its
record count and the public places it can be downloaded from.

Partitions are identified by record count and hash, never by file name: the public UNSW-NB15 file
called ``UNSW_NB15_training-set`` holds the 82,332-record partition that the dataset paper calls the
*testing* set.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nids.config import data_dir as resolve_data_dir
from nids.errors import NidsError, unknown_name

_GITHUB_RAW = "https://github.com/{repo}/raw/{branch}/{path}"


def github_raw(repo: str, path: str, branches: tuple[str, ...] = ("main",)) -> tuple[str, ...]:
    """Raw download URLs of ``path`` in the public GitHub repository ``repo``, one per branch."""
    return tuple(_GITHUB_RAW.format(repo=repo, branch=b, path=path) for b in branches)


@dataclass(frozen=True)
class RawFile:
    """One raw dataset file as published.

    Attributes:
        dataset: Dataset family name (``"unsw-nb15"``, ``"nsl-kdd"``).
        relpath: Path under the data directory, with ``/`` separators.
        sha256: Hex SHA-256 of the file's bytes, or ``None`` when no hash is pinned; such a file is
            checked by its record count only (one record per line, no header), which is weaker.
        records: Number of records (for a zip: in its single CSV member, header excluded).
        description: One line for humans.
        mirrors: Download URLs, tried in order.
        optional: Not needed by the default protocols; ``fetch`` skips it unless asked.
    """

    dataset: str
    relpath: str
    sha256: str | None
    records: int
    description: str
    mirrors: tuple[str, ...] = ()
    optional: bool = False

    def __post_init__(self) -> None:
        if self.sha256 is not None and (len(self.sha256) != 64 or any(c not in "0123456789abcdef" for c in self.sha256)):
            raise NidsError(f"{self.relpath}: sha256 must be 64 lowercase hex digits, got {self.sha256!r}")
        if self.records <= 0:
            raise NidsError(f"{self.relpath}: records must be positive, got {self.records}")

    def path(self, data_dir: str | Path | None = None) -> Path:
        """Where this file lives under ``data_dir`` (resolved by :func:`nids.config.data_dir`)."""
        return resolve_data_dir(data_dir).joinpath(*self.relpath.split("/"))


OFFICIAL_PAGES: dict[str, str] = {
    "unsw-nb15": "https://research.unsw.edu.au/projects/unsw-nb15-dataset",
    "nsl-kdd": "https://www.unb.ca/cic/datasets/nsl.html",
}

_UNSW_REPO = "vincentlemaire-labs/CAID2025"
_NSL_REPO = "LiuYangSO/Genetic-Algorithm-based-Adversarial-Examples-Generation-against-Machine-Learning-based-IDS"
_BOTH = ("master", "main")

CATALOGUE: tuple[RawFile, ...] = (
    RawFile(
        dataset="unsw-nb15",
        relpath="unsw-nb15/UNSW_NB15_training-set.zip",
        sha256="f623e048a697d64a41a351bf43109795e6291bbdb654b46b55d0d5fe60a848b8",
        records=82_332,
        description=(
            "zip of UNSW_NB15_training-set.csv (45 columns, UTF-8 with BOM); despite its name, the official TESTING partition"
        ),
        mirrors=github_raw(_UNSW_REPO, "UNSW_NB15_training-set.zip"),
    ),
    RawFile(
        dataset="nsl-kdd",
        relpath="nsl-kdd/KDDTrain+_20Percent.txt",
        sha256="1a1559ff163a1dfa7ad1fba6b00ac6a408cc16741588831b66f043b918881e53",
        records=25_192,
        description="NSL-KDD 20% training subset (no header, 43 fields)",
        mirrors=github_raw(_NSL_REPO, "KDDTrain+_20Percent.txt", _BOTH),
    ),
    RawFile(
        dataset="nsl-kdd",
        relpath="nsl-kdd/KDDTest+.txt",
        sha256="86b5ec03d20c040bdbeeb7eb68ae7df37e27a16c5b66a6ba2b62b8fed0e5cdfa",
        records=22_544,
        description="NSL-KDD test set (no header, 43 fields)",
        mirrors=github_raw(_NSL_REPO, "KDDTest+.txt", _BOTH),
    ),
    RawFile(
        dataset="nsl-kdd",
        relpath="nsl-kdd/KDDTest-21.txt",
        sha256="746993ac9e25868827cacf09eab450050a2a1056e1ce48a1ad39f5dc801d531d",
        records=11_850,
        description="NSL-KDD hard test subset KDDTest-21 (no header, 43 fields)",
        mirrors=github_raw(_NSL_REPO, "KDDTest-21.txt", _BOTH),
    ),
    RawFile(
        dataset="nsl-kdd",
        relpath="nsl-kdd/KDDTrain+.txt",
        # No published hash we could check offline: verified by record count only.
        sha256=None,
        records=125_973,
        description="NSL-KDD full training set (no header, 43 fields); SHA-256 not pinned",
        mirrors=(
            *github_raw("jmnwong/NSL-KDD-Dataset", "KDDTrain+.txt", ("master",)),
            *github_raw("defcom17/NSL_KDD", "KDDTrain+.txt", ("master",)),
        ),
        optional=True,
    ),
)

DATASETS: tuple[str, ...] = tuple(dict.fromkeys(f.dataset for f in CATALOGUE))


def files_for(dataset: str, include_optional: bool = False) -> list[RawFile]:
    """The catalogued raw files of one dataset.

    Args:
        dataset: A name from :data:`DATASETS`.
        include_optional: Also return files marked ``optional`` (e.g. the full ``KDDTrain+.txt``).

    Returns:
        The files in catalogue order.

    Raises:
        UnknownNameError: ``dataset`` is not catalogued.
    """
    if dataset not in DATASETS:
        raise unknown_name("dataset", dataset, DATASETS)
    return [f for f in CATALOGUE if f.dataset == dataset and (include_optional or not f.optional)]


def missing_files_message(
    dataset: str,
    data_dir: str | Path | None = None,
    files: list[RawFile] | None = None,
) -> str:
    """The text a user sees when raw files are missing: what to put where, and where to get it.

    Args:
        dataset: A name from :data:`DATASETS`.
        data_dir: The data directory (resolved by :func:`nids.config.data_dir`).
        files: The files to name; by default the dataset's required files absent from ``data_dir``
            (all of them if none is absent).

    Returns:
        A multi-line message naming full paths, SHA-256, record counts, mirrors, the official page
        and the ``nids data fetch`` command.
    """
    root = resolve_data_dir(data_dir)
    if files is None:
        required = files_for(dataset)
        files = [f for f in required if not f.path(root).is_file()] or required
    lines = [
        f"{dataset}: {len(files)} raw file(s) missing from the data directory {root}",
        "(set NIDS_DATA_DIR or pass data_dir to use another directory).",
        "Put these byte-identical files at these paths:",
    ]
    for f in files:
        lines.append(f"  {f.path(root)}")
        lines.append(f"      {f.description}; {f.records:,} records")
        if f.sha256:
            lines.append(f"      SHA-256 {f.sha256}")
        else:
            lines.append("      SHA-256 not pinned: checked by record count after loading")
        for i, url in enumerate(f.mirrors):
            lines.append(f"      {'mirrors:' if i == 0 else '        '} {url}")
    if dataset in OFFICIAL_PAGES:
        lines.append(f"Official source: {OFFICIAL_PAGES[dataset]}")
    lines.append(f"Or download and verify them with:  nids data fetch --dataset {dataset}")
    return "\n".join(lines)

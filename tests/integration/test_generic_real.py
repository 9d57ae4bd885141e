"""``nids data check`` on a copy of the real UNSW-NB15 file saved under another name and container:
the partition comes from the record count, and a name that says otherwise is reported."""

from __future__ import annotations

import gzip
import zipfile

import pytest

from nids.cli import main
from nids.datasets.sources import files_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SWAP_NOTE = "holds 82,332 records: the official-test partition (its file name says 'train'; public copies swap the names)"


@pytest.fixture(scope="module")
def unsw_csv_bytes(real_data_dir) -> bytes:
    """The CSV inside the real UNSW-NB15 zip (read at test time, never copied into the repository)."""
    path = next(f.path(real_data_dir) for f in files_for("unsw-nb15"))
    with zipfile.ZipFile(path) as archive:
        (member,) = archive.namelist()
        return archive.read(member)


@pytest.mark.parametrize(
    ("name", "swapped"),
    [("UNSW_NB15_training-set.csv.gz", True), ("UNSW_NB15_testing-set.csv.gz", False)],
)
def test_data_check_names_the_partition_by_record_count(unsw_csv_bytes, tmp_path, capsys, name, swapped):
    path = tmp_path / name
    path.write_bytes(gzip.compress(unsw_csv_bytes, compresslevel=1))
    code = main(["data", "check", str(path)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = captured.out
    assert "dataset:   unsw-nb15" in out
    assert "partition: official-test (82,332 records)" in out
    assert "records: 82,332  features: 42" in out
    assert (f"note:      {name} {SWAP_NOTE}" in out) == swapped
    assert ("swap" in out) == swapped
    assert "Traceback" not in captured.out + captured.err

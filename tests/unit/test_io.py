"""read_table: one reader for every container and every broken file, with clear errors."""

from __future__ import annotations

import gzip
import io
import zipfile

import numpy as np
import pandas as pd
import pytest

from nids.datasets import unsw
from nids.datasets.io import read_table, sha256_bytes, sha256_file
from nids.errors import BadInputError, NidsError


@pytest.mark.parametrize("kind", ["csv", "gz", "zip", "bom", "parquet"])
def test_every_container_reads_the_same_table(unsw_files, unsw_frame, kind):
    frame, report = read_table(unsw_files[kind])
    assert list(frame.columns) == ["id", *unsw.FEATURES, "attack_cat", "label"]
    assert frame.shape == unsw_frame.shape
    assert frame["attack_cat"].tolist() == unsw_frame["attack_cat"].tolist()
    np.testing.assert_allclose(frame["sbytes"].to_numpy(), unsw_frame["sbytes"].to_numpy())
    np.testing.assert_allclose(frame["dur"].to_numpy(), unsw_frame["dur"].to_numpy())
    assert report.sha256 == sha256_file(unsw_files[kind])
    assert report.warnings == []


def test_bom_is_not_part_of_the_first_column_name(unsw_files):
    assert unsw_files["bom"].read_bytes()[:3] == b"\xef\xbb\xbf"
    frame, report = read_table(unsw_files["bom"])
    assert frame.columns[0] == "id"
    assert report.encoding == "utf-8"


def test_bytes_and_file_objects_read_like_paths(unsw_files, unsw_frame):
    data = unsw_files["gz"].read_bytes()
    from_bytes, report = read_table(data, name="upload.csv.gz")
    from_handle, _ = read_table(io.BytesIO(data), name="upload.csv.gz")
    assert from_bytes.shape == from_handle.shape == unsw_frame.shape
    assert report.source == "upload.csv.gz"
    assert report.sha256 == sha256_bytes(data)
    # gzip is recognised from its magic bytes even under a plain name
    assert read_table(data)[0].shape == unsw_frame.shape


def test_header_names_are_stripped_and_reported():
    frame, report = read_table(b" a ,b,  c \n1,2,3\n", name="x.csv")
    assert list(frame.columns) == ["a", "b", "c"]
    # leading and trailing spaces are both stripped and reported (CIC-IDS2017 headers start with a space)
    assert report.renamed_columns == {" a ": "a", "  c ": "c"}


def test_windows_1252_fallback_is_reported():
    frame, report = read_table("name,value\ncaf\xe9,1\n".encode("cp1252"), name="x.csv")
    assert frame.loc[0, "name"] == "café"
    assert report.encoding == "windows-1252"
    assert any("Windows-1252" in w for w in report.warnings)


def test_headerless_with_names():
    frame, _ = read_table(b"0,tcp,1\n1,udp,2\n", name="x.txt", header=False, names=["a", "b", "c"])
    assert list(frame.columns) == ["a", "b", "c"]
    assert frame["b"].tolist() == ["tcp", "udp"]


def test_header_only_file_is_an_empty_table_with_its_columns(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("id,dur,proto\n")
    frame, _ = read_table(path)
    assert list(frame.columns) == ["id", "dur", "proto"]
    assert len(frame) == 0


@pytest.mark.parametrize("content", [b"", b"   \n\n", b"\n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(BadInputError, match=r"empty\.csv: the file is empty; expected a CSV table"):
        read_table(path)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(BadInputError, match=r"expected a file, found nothing at .*nope\.csv"):
        read_table(tmp_path / "nope.csv")


def test_binary_garbage(tmp_path):
    path = tmp_path / "image.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    with pytest.raises(BadInputError, match="expected a text CSV table of flows, found binary content"):
        read_table(path)


def test_multi_member_zip(tmp_path):
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", "x,y\n1,2\n")
        archive.writestr("b.csv", "x,y\n3,4\n")
    with pytest.raises(BadInputError, match=r"expected a zip with exactly one member, found 2: \['a.csv', 'b.csv'\]"):
        read_table(path)


def test_empty_zip(tmp_path):
    path = tmp_path / "none.zip"
    with zipfile.ZipFile(path, "w"):
        pass
    with pytest.raises(BadInputError, match="expected a zip with exactly one member, found 0"):
        read_table(path)


def test_broken_zip(tmp_path):
    path = tmp_path / "broken.zip"
    path.write_bytes(b"this is not a zip archive at all\n")
    with pytest.raises(BadInputError, match="expected a zip archive"):
        read_table(path)


def _truncated_gzip() -> bytes:
    return gzip.compress(b"a,b\n1,2\n" * 50)[:20]


def _corrupt_gzip() -> bytes:
    good = gzip.compress(b"a,b\n1,2\n" * 50)
    return good[:10] + b"\xff" * 20 + good[30:]


def test_gzip_with_a_bad_header():
    with pytest.raises(BadInputError, match="expected gzip-compressed CSV"):
        read_table(b"\x1f\x8b not really gzip", name="bad.csv.gz")


@pytest.mark.parametrize("make", [_truncated_gzip, _corrupt_gzip], ids=["truncated", "corrupt"])
def test_broken_gzip_body(tmp_path, make):
    # gzip.decompress raises EOFError (truncated) or zlib.error (corrupt deflate data), neither an OSError
    path = tmp_path / "broken.csv.gz"
    path.write_bytes(make())
    with pytest.raises(BadInputError, match="expected gzip-compressed CSV"):
        read_table(path)


def test_broken_parquet(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 definitely not parquet")
    with pytest.raises(BadInputError, match="expected a Parquet file"):
        read_table(path)


def test_ragged_csv_is_a_clear_error():
    with pytest.raises(BadInputError, match="could not be parsed"):
        read_table(b"a,b\n1,2\n3,4,5,6\n", name="ragged.csv")


def test_errors_are_nids_errors():
    assert issubclass(BadInputError, NidsError)


def test_parquet_roundtrip_keeps_dtypes(tmp_path, unsw_frame):
    path = tmp_path / "t.parquet"
    unsw_frame.to_parquet(path, index=False)
    frame, _ = read_table(path)
    pd.testing.assert_frame_equal(frame, unsw_frame, check_dtype=False)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_text_is_read_with_a_warning(codec):
    text = "dur,proto,label\n0.5,tcp,0\n1.5,udp,1\n"
    frame, report = read_table(text.encode(codec), name="excel.csv")
    assert list(frame.columns) == ["dur", "proto", "label"] and len(frame) == 2
    assert frame["proto"].tolist() == ["tcp", "udp"]
    assert any("UTF-16" in w for w in report.warnings)

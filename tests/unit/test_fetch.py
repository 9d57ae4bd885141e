"""The downloader against a local HTTP server on 127.0.0.1 serving tiny generated files.

No test here touches the internet: a fixture refuses every socket connection that is not to
localhost.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from nids.datasets import sources
from nids.datasets.fetch import fetch, sha256_file
from nids.datasets.sources import RawFile, files_for, missing_files_message
from nids.errors import ChecksumError, DataNotFoundError, NidsError, UnknownNameError

GOOD = b"".join(b"0,tcp,http,SF,%d,normal,21\n" % i for i in range(30))
GOOD_SHA = hashlib.sha256(GOOD).hexdigest()


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch):
    real_connect = socket.socket.connect

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"test tried to reach {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


class _Server:
    """Serves ``routes`` (path -> bytes); every other path is a 404. Records requested paths."""

    def __init__(self) -> None:
        self.routes: dict[str, bytes] = {}
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits.append(self.path)
                body = server.routes.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture
def server():
    srv = _Server()
    srv.thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


def _raw(*mirrors: str, sha256: str | None = GOOD_SHA, records: int = 30) -> RawFile:
    return RawFile("toy", "toy/flows.txt", sha256, records, "toy flows", tuple(mirrors))


def _all_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_downloads_and_verifies(server, tmp_path):
    server.routes["/flows.txt"] = GOOD
    paths = fetch("toy", tmp_path, files=[_raw(server.url("/flows.txt"))], progress=True)
    assert paths == [tmp_path / "toy" / "flows.txt"]
    assert paths[0].read_bytes() == GOOD
    assert sha256_file(paths[0]) == GOOD_SHA
    assert _all_files(tmp_path) == ["toy/flows.txt"]  # no temp file left


def test_first_mirror_404_then_second(server, tmp_path):
    server.routes["/b/flows.txt"] = GOOD
    raw = _raw(server.url("/a/flows.txt"), server.url("/b/flows.txt"))
    (path,) = fetch("toy", tmp_path, files=[raw], progress=False)
    assert path.read_bytes() == GOOD
    assert server.hits == ["/a/flows.txt", "/b/flows.txt"]


def test_checksum_mismatch_raises_and_leaves_nothing(server, tmp_path):
    server.routes["/flows.txt"] = GOOD + b"tampered\n"
    url = server.url("/flows.txt")
    with pytest.raises(ChecksumError) as err:
        fetch("toy", tmp_path, files=[_raw(url)], progress=False)
    message = str(err.value)
    assert url in message and "checksum mismatch" in message and GOOD_SHA in message
    assert str(tmp_path / "toy" / "flows.txt") in message
    assert _all_files(tmp_path) == []


def test_bad_bytes_then_good_mirror(server, tmp_path):
    server.routes["/bad.txt"] = b"not it\n"
    server.routes["/good.txt"] = GOOD
    (path,) = fetch(
        "toy",
        tmp_path,
        files=[_raw(server.url("/bad.txt"), server.url("/good.txt"))],
        progress=False,
    )
    assert path.read_bytes() == GOOD
    assert _all_files(tmp_path) == ["toy/flows.txt"]


def test_all_mirrors_fail_lists_every_url(server, tmp_path):
    urls = [server.url("/x.txt"), server.url("/y.txt"), "file:///etc/passwd"]
    with pytest.raises(DataNotFoundError) as err:
        fetch("toy", tmp_path, files=[_raw(*urls)], progress=False)
    message = str(err.value)
    for url in urls:
        assert url in message
    assert message.count("HTTP 404") == 2
    assert "unsupported URL scheme 'file'" in message
    assert server.hits == ["/x.txt", "/y.txt"]
    assert _all_files(tmp_path) == []


def test_present_file_is_not_downloaded_again(server, tmp_path):
    server.routes["/flows.txt"] = GOOD
    dest = tmp_path / "toy" / "flows.txt"
    dest.parent.mkdir()
    dest.write_bytes(GOOD)
    raw = _raw(server.url("/flows.txt"))
    assert fetch("toy", tmp_path, files=[raw], progress=False) == [dest]
    assert server.hits == []
    fetch("toy", tmp_path, files=[raw], progress=False, force=True)
    assert server.hits == ["/flows.txt"]


def test_corrupt_present_file_is_replaced(server, tmp_path):
    server.routes["/flows.txt"] = GOOD
    dest = tmp_path / "toy" / "flows.txt"
    dest.parent.mkdir()
    dest.write_bytes(b"truncated")
    fetch("toy", tmp_path, files=[_raw(server.url("/flows.txt"))], progress=False)
    assert dest.read_bytes() == GOOD
    assert server.hits == ["/flows.txt"]


def test_mirrors_argument_and_env_override_catalogue(server, tmp_path, monkeypatch):
    server.routes["/env.txt"] = GOOD
    server.routes["/arg.txt"] = GOOD
    raw = _raw(server.url("/catalogue.txt"))
    config = tmp_path / "mirrors.json"
    config.write_text(json.dumps({"toy/flows.txt": [server.url("/env.txt")]}))
    monkeypatch.setenv("NIDS_MIRRORS", str(config))
    data = tmp_path / "data"
    fetch("toy", data, files=[raw], progress=False)
    assert server.hits == ["/env.txt"]
    fetch(
        "toy",
        data,
        files=[raw],
        progress=False,
        force=True,
        mirrors={"toy/flows.txt": [server.url("/arg.txt")]},
    )
    assert server.hits == ["/env.txt", "/arg.txt"]


def test_malformed_mirrors_env_is_a_clear_error(tmp_path, monkeypatch):
    config = tmp_path / "mirrors.json"
    config.write_text('{"toy/flows.txt": "http://127.0.0.1/not-a-list"}')
    monkeypatch.setenv("NIDS_MIRRORS", str(config))
    with pytest.raises(NidsError, match="NIDS_MIRRORS"):
        fetch("toy", tmp_path, files=[_raw()], progress=False)


def test_unpinned_file_is_checked_by_record_count(server, tmp_path):
    server.routes["/flows.txt"] = GOOD
    (path,) = fetch("toy", tmp_path, files=[_raw(server.url("/flows.txt"), sha256=None)], progress=False)
    assert path.read_bytes() == GOOD
    with pytest.raises(ChecksumError, match="30 records, expected 31"):
        fetch(
            "toy",
            tmp_path / "other",
            files=[_raw(server.url("/flows.txt"), sha256=None, records=31)],
            progress=False,
        )


def test_catalogue_pins_the_shared_files():
    pinned = {f.relpath: (f.sha256, f.records) for f in sources.CATALOGUE if f.sha256}
    assert pinned == {
        "unsw-nb15/UNSW_NB15_training-set.zip": (
            "f623e048a697d64a41a351bf43109795e6291bbdb654b46b55d0d5fe60a848b8",
            82_332,
        ),
        "nsl-kdd/KDDTrain+_20Percent.txt": (
            "1a1559ff163a1dfa7ad1fba6b00ac6a408cc16741588831b66f043b918881e53",
            25_192,
        ),
        "nsl-kdd/KDDTest+.txt": (
            "86b5ec03d20c040bdbeeb7eb68ae7df37e27a16c5b66a6ba2b62b8fed0e5cdfa",
            22_544,
        ),
        "nsl-kdd/KDDTest-21.txt": (
            "746993ac9e25868827cacf09eab450050a2a1056e1ce48a1ad39f5dc801d531d",
            11_850,
        ),
    }
    assert [f.relpath for f in files_for("nsl-kdd")] == [
        "nsl-kdd/KDDTrain+_20Percent.txt",
        "nsl-kdd/KDDTest+.txt",
        "nsl-kdd/KDDTest-21.txt",
    ]
    full = files_for("nsl-kdd", include_optional=True)[-1]
    assert (full.relpath, full.sha256, full.records, full.optional) == (
        "nsl-kdd/KDDTrain+.txt",
        None,
        125_973,
        True,
    )
    for f in sources.CATALOGUE:
        assert f.mirrors and all(u.startswith("https://github.com/") for u in f.mirrors)
    kdd_test = files_for("nsl-kdd")[1]
    assert {u.split("/raw/")[1].split("/")[0] for u in kdd_test.mirrors} == {"master", "main"}
    with pytest.raises(UnknownNameError, match="unsw-nb15"):
        files_for("kdd99")


def test_missing_files_message_names_paths_hashes_and_sources(tmp_path):
    message = missing_files_message("nsl-kdd", tmp_path)
    for f in files_for("nsl-kdd"):
        assert str(tmp_path / f.relpath) in message
        assert f.sha256 in message
        assert all(url in message for url in f.mirrors)
    assert "https://www.unb.ca/cic/datasets/nsl.html" in message
    assert "nids data fetch --dataset nsl-kdd" in message
    assert "KDDTrain+.txt" not in message  # the optional full training file is not demanded

    present = tmp_path / "nsl-kdd" / "KDDTest+.txt"
    present.parent.mkdir()
    present.write_text("x\n")
    message = missing_files_message("nsl-kdd", tmp_path)
    assert str(present) not in message and "2 raw file(s) missing" in message


def test_missing_files_message_for_unsw(tmp_path, monkeypatch):
    monkeypatch.setenv("NIDS_DATA_DIR", str(tmp_path))
    message = missing_files_message("unsw-nb15")
    assert str(tmp_path / "unsw-nb15" / "UNSW_NB15_training-set.zip") in message
    assert "f623e048a697d64a41a351bf43109795e6291bbdb654b46b55d0d5fe60a848b8" in message
    assert "https://research.unsw.edu.au/projects/unsw-nb15-dataset" in message
    mirror = "https://github.com/vincentlemaire-labs/CAID2025/raw/main/UNSW_NB15_training-set.zip"
    assert mirror in message
    assert "TESTING partition" in message

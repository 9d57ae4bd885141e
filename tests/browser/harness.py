"""Starting the two app servers on free 127.0.0.1 ports and a headless Debian Chromium driven by Selenium.

Shared by the browser tests and ``benchmarks/bench_apps.py``. The browser is Debian's ``chromium``
with its ``chromium-driver`` (never downloaded by a test).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SLICE_ROWS = 200  # rows of the real file uploaded by the browser tests
CHROMIUM = os.environ.get("NIDS_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("NIDS_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROME_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1400,1000",
)  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = 120.0) -> None:
    """Poll ``url`` until it answers; fail with the server's output if it exits or never answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out = process.stdout.read() if process.stdout else ""
            raise RuntimeError(f"server exited with {process.returncode} before answering {url}:\n{out[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"no answer from {url} within {timeout:.0f} s")


@contextlib.contextmanager
def server(kind: str, models_dir: Path, env: dict | None = None, max_upload_mb: float = 100) -> Iterator[str]:
    """``nids serve`` (kind ``flask``) or ``nids app`` (kind ``voila``) on a free port; yields its base URL."""
    port = free_port()
    command = "serve" if kind == "flask" else "app"
    argv = [sys.executable, "-m", "nids.cli", command, "--port", str(port), "--models-dir", str(models_dir),
            "--max-upload-mb", str(max_upload_mb)]  # fmt: skip
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]), **(env or {})}
    log = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen(argv, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)  # fmt: skip
    process.stdout = log
    url = f"http://127.0.0.1:{port}/"
    try:
        try:
            wait_for_http(url, process)
        except RuntimeError:
            log.seek(0)
            raise
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 15)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()
        log.close()


def server_log(process_log) -> str:
    process_log.seek(0)
    return process_log.read()


def chromium(download_dir: Path):
    """A headless Chromium (Selenium) that saves downloads to ``download_dir`` without asking."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='nids-chromium-')}")
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(download_dir), "download.prompt_for_download": False,
         "safebrowsing.enabled": False},
    )  # fmt: skip
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(download_dir)})
    driver.set_page_load_timeout(120)
    return driver


def wait_for_download(folder: Path, name: str, timeout: float = 30.0) -> Path:
    path = folder / name
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.is_file() and not list(folder.glob("*.crdownload")):
            return path
        time.sleep(0.2)
    raise AssertionError(f"no download {name} in {folder} within {timeout:.0f} s: {sorted(p.name for p in folder.iterdir())}")


_CATCH_FILE_INPUT = """
if (!window.__nidsFileInput) {
  const click = HTMLInputElement.prototype.click;
  HTMLInputElement.prototype.click = function () {
    if (this.type !== 'file') return click.call(this);
    this.classList.add('nids-test-file-input');
    if (!this.isConnected) document.body.appendChild(this);
    window.__nidsFileInput = this;
  };
}"""


def upload_through_widget(driver, button_css: str, path: Path) -> None:
    """Choose ``path`` in an ipywidgets 8 FileUpload.

    The widget keeps its ``<input type=file>`` out of the page and clicks it from its button (which
    would open the system's file dialog); here that click instead attaches the input to the page,
    where Selenium types the path into it and the widget's own change handler reads the file.
    """
    from selenium.webdriver.common.by import By

    driver.execute_script(_CATCH_FILE_INPUT)
    driver.find_element(By.CSS_SELECTOR, button_css).click()
    driver.find_element(By.CSS_SELECTOR, "input.nids-test-file-input").send_keys(str(path))

"""Time from the Predict click to the results table shown, in both prediction apps, in headless Chromium.

A 10,000-row upload drawn from the real UNSW-NB15 file (written to a temporary folder, never kept),
scored by a Random Forest detector (target: table within 5 s of the click) and by the BiGRU extension
(target: 10 s). Flask: the click submits the form, so the time includes sending the file. Voila: the
file is sent when chosen, so the click starts scoring. The first click also loads the detector (and,
for the deep model, builds its inference function); later clicks reuse it. Both apps show the first
200 rows and offer every row as a CSV download (the download is built before the table is shown).

Train the two detectors first, e.g.::

    nids train --model rf --out /tmp/bench/unsw-nb15/rf
    nids train --model bigru_seq2seq_convlstm --epochs 1 --max-train-rows 5000 --out /tmp/bench/unsw-nb15/bigru
    NIDS_DATA_DIR=/path/to/data .venv/bin/python benchmarks/bench_apps.py --rf /tmp/bench/unsw-nb15/rf \\
        --deep /tmp/bench/unsw-nb15/bigru

Prints one table; needs Debian's ``chromium`` and ``chromium-driver``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

import harness  # noqa: E402
import numpy as np  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

from nids import config  # noqa: E402
from nids.datasets.io import read_table  # noqa: E402

TARGETS = {"rf": 5.0, "deep": 10.0}


def _upload_file(rows: int, folder: Path) -> Path:
    frame, _ = read_table(config.data_dir() / "unsw-nb15" / "UNSW_NB15_training-set.zip")
    chosen = np.sort(np.random.default_rng(1).choice(len(frame), size=rows, replace=False))
    path = folder / f"upload_{rows}.csv"
    frame.iloc[chosen].to_csv(path, index=False)
    return path


def _flask(driver, url: str, detector: str, upload: Path, repeats: int, rows: int) -> list[float]:
    wait = WebDriverWait(driver, 300)
    driver.get(url + "login")
    if driver.find_elements(By.ID, "password"):
        driver.find_element(By.ID, "password").send_keys("bench")
        driver.find_element(By.ID, "login").click()
        wait.until(ec.presence_of_element_located((By.ID, "detector")))
    times = []
    for _ in range(repeats):
        driver.get(url + "predict")
        Select(driver.find_element(By.ID, "detector")).select_by_value(detector)
        driver.find_element(By.ID, "file").send_keys(str(upload))
        button = driver.find_element(By.ID, "predict")
        start = time.perf_counter()
        button.click()
        wait.until(ec.staleness_of(button))
        table = wait.until(ec.presence_of_element_located((By.ID, "results")))
        times.append(time.perf_counter() - start)
        assert f"{rows:,} rows scored" in driver.find_element(By.ID, "summary").text, "wrong row count"
        assert table.find_elements(By.CSS_SELECTOR, "tbody tr"), "empty table"
    return times


def _voila(driver, url: str, detector: str, upload: Path, repeats: int, rows: int, clicks: list[int]) -> list[float]:
    wait = WebDriverWait(driver, 300)
    if clicks[0] == 0:
        driver.get(url)
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "button.nids-upload")))
        harness.upload_through_widget(driver, "button.nids-upload", upload)
        wait.until(lambda d: f"{upload.name} (" in d.find_element(By.CSS_SELECTOR, ".nids-message").text)
    Select(driver.find_element(By.CSS_SELECTOR, ".nids-detector select")).select_by_value(detector)
    times = []
    for _ in range(repeats):
        clicks[0] += 1
        button = driver.find_element(By.CSS_SELECTOR, "button.nids-predict")
        start = time.perf_counter()
        button.click()
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, f".nids-results table#nids-run-{clicks[0]}")))
        times.append(time.perf_counter() - start)
        assert f"{rows:,} rows scored" in driver.find_element(By.CSS_SELECTOR, ".nids-message").text, "wrong row count"
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rf", required=True, type=Path, help="a Random Forest detector directory")
    parser.add_argument("--deep", required=True, type=Path, help="a deep (BiGRU extension) detector directory")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3, help="clicks per app and detector (the first loads it)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nids-bench-apps-"))
    models = work / "models"
    for name, source in (("rf", args.rf), ("deep", args.deep)):
        shutil.copytree(source, models / name)  # the apps only load from their own models path
    upload = _upload_file(args.rows, work)
    downloads = work / "downloads"
    downloads.mkdir()
    print(f"upload: {args.rows:,} rows, {upload.stat().st_size / 2**20:.1f} MB; load average {os.getloadavg()}")
    results = []
    driver = harness.chromium(downloads)
    try:
        with harness.server("flask", models, {"NIDS_APP_PASSWORD": "bench"}) as url:
            for name in ("rf", "deep"):
                results.append(("flask", name, _flask(driver, url, name, upload, args.repeats, args.rows)))
        with harness.server("voila", models) as url:
            clicks = [0]
            for name in ("rf", "deep"):
                results.append(("voila", name, _voila(driver, url, name, upload, args.repeats, args.rows, clicks)))
    finally:
        driver.quit()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{'app':6} {'detector':8} {'first click s':>13} {'later clicks s (median)':>24} {'target s':>9}  met")
    for app, name, times in results:
        later = statistics.median(times[1:]) if len(times) > 1 else float("nan")
        met = "yes" if max(times) <= TARGETS[name] else "NO"
        print(f"{app:6} {name:8} {times[0]:13.2f} {later:24.2f} {TARGETS[name]:9.1f}  {met}")
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

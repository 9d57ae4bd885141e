"""Both prediction apps in a real headless Chromium, each server started here on 127.0.0.1: upload a
slice of the real UNSW-NB15 file, click Predict, read the table, download the CSV and compare it
with ``nids predict``; upload a bad file and read the message."""

from __future__ import annotations

import io
from pathlib import Path

import harness
import pandas as pd
import pytest
from harness import SLICE_ROWS
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow]
CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad_inputs"
PASSWORD = "browser-test-password"


_READ_TABLE = """const t = arguments[0];
return [Array.from(t.querySelectorAll('thead th')).map(e => e.textContent),
        Array.from(t.querySelectorAll('tbody tr')).map(r => Array.from(r.children).map(c => c.textContent))];"""


def _table(element) -> pd.DataFrame:
    """The rendered table's header and cells, as the browser shows them."""
    header, rows = element.parent.execute_script(_READ_TABLE, element)
    return pd.DataFrame(rows, columns=header)


def _assert_table_matches_cli(table: pd.DataFrame, cli_verdicts: bytes) -> None:
    """The page's table has every row of the slice, with the verdicts and statuses of ``nids predict``."""
    expected = pd.read_csv(io.BytesIO(cli_verdicts), keep_default_na=False)
    assert len(table) == SLICE_ROWS
    assert table["predicted"].tolist() == expected["predicted"].tolist()
    assert table["status"].tolist() == expected["status"].tolist()


def _fresh(download_dir: Path) -> None:
    for path in download_dir.iterdir():
        path.unlink()


def test_flask_page(real_models, real_slice, cli_verdicts, browser, download_dir):
    env = {"NIDS_APP_PASSWORD": PASSWORD}
    with harness.server("flask", real_models, env) as url:
        wait = WebDriverWait(browser, 60)
        browser.get(url + "predict")
        assert "/login" in browser.current_url
        browser.find_element(By.ID, "password").send_keys("wrong")
        browser.find_element(By.ID, "login").click()
        assert wait.until(ec.text_to_be_present_in_element((By.ID, "message"), "wrong password"))  # the form posts, then loads
        browser.find_element(By.ID, "password").send_keys(PASSWORD)
        browser.find_element(By.ID, "login").click()
        wait.until(ec.presence_of_element_located((By.ID, "detector")))
        assert [o.text for o in Select(browser.find_element(By.ID, "detector")).options] == ["unsw-nb15/rf_multiclass"]
        browser.find_element(By.ID, "file").send_keys(str(real_slice))
        browser.find_element(By.ID, "predict").click()
        table = _table(wait.until(ec.presence_of_element_located((By.ID, "results"))))
        _assert_table_matches_cli(table, cli_verdicts)
        assert f"{SLICE_ROWS} rows scored" in browser.find_element(By.ID, "summary").text
        _fresh(download_dir)
        browser.find_element(By.ID, "download").click()
        assert harness.wait_for_download(download_dir, "predictions.csv").read_bytes() == cli_verdicts

        browser.find_element(By.ID, "file").send_keys(str(CORPUS / "png_bytes.csv"))
        browser.find_element(By.ID, "predict").click()
        message = wait.until(ec.presence_of_element_located((By.ID, "message"))).text
        assert "png_bytes.csv: expected a text CSV table of flows, found binary content" in message
        assert not browser.find_elements(By.ID, "results") and "Traceback" not in browser.page_source


def _voila_upload(browser, path: Path) -> None:
    harness.upload_through_widget(browser, "button.nids-upload", path)
    WebDriverWait(browser, 60).until(
        lambda b: (
            f"{path.name} (" in b.find_element(By.CSS_SELECTOR, ".nids-message").text
            or "nids-error" in b.find_element(By.CSS_SELECTOR, ".nids-message").get_attribute("innerHTML")
        )
    )


def test_voila_app(real_models, real_slice, cli_verdicts, browser, download_dir):
    with harness.server("voila", real_models) as url:
        wait = WebDriverWait(browser, 180)
        browser.get(url)
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "button.nids-upload")))
        assert "unsw-nb15/rf_multiclass" in browser.find_element(By.CSS_SELECTOR, ".nids-detector select").text
        _voila_upload(browser, real_slice)
        browser.find_element(By.CSS_SELECTOR, ".nids-predict").click()
        table = _table(wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".nids-results table#nids-run-1"))))
        _assert_table_matches_cli(table, cli_verdicts)
        assert f"{SLICE_ROWS} rows scored" in browser.find_element(By.CSS_SELECTOR, ".nids-message").text
        assert browser.find_element(By.CSS_SELECTOR, "img.nids-chart").get_attribute("src").startswith("blob:")
        _fresh(download_dir)
        browser.find_element(By.CSS_SELECTOR, "a.nids-download").click()
        assert harness.wait_for_download(download_dir, "predictions.csv").read_bytes() == cli_verdicts

        _voila_upload(browser, CORPUS / "png_bytes.csv")
        browser.find_element(By.CSS_SELECTOR, ".nids-predict").click()
        wait.until(lambda b: "found binary content" in b.find_element(By.CSS_SELECTOR, ".nids-message").text)
        message = browser.find_element(By.CSS_SELECTOR, ".nids-message").text
        assert "png_bytes.csv: expected a text CSV table of flows, found binary content" in message
        assert not browser.find_elements(By.CSS_SELECTOR, ".nids-results table") and "Traceback" not in browser.page_source


def _big_file(folder: Path) -> Path:
    """50 MB that are not a table (the app says so after receiving all of it)."""
    path = folder / "big_50mb.csv"
    with path.open("wb") as handle:
        handle.write(b"\x89PNG\r\n\x1a\n")
        handle.truncate(50 * 2**20)
    return path


def test_voila_app_takes_a_50_mb_upload_and_says_when_a_file_is_over_the_limit(real_models, browser, tmp_path):
    big = _big_file(tmp_path)
    with harness.server("voila", real_models) as url:  # default limit 100 MB: the 50 MB file reaches the app
        browser.get(url)
        WebDriverWait(browser, 180).until(ec.presence_of_element_located((By.CSS_SELECTOR, "button.nids-upload")))
        _voila_upload(browser, big)
        assert "big_50mb.csv (50.0 MB) uploaded" in browser.find_element(By.CSS_SELECTOR, ".nids-message").text
        browser.find_element(By.CSS_SELECTOR, ".nids-predict").click()
        WebDriverWait(browser, 60).until(
            lambda b: "found binary content" in b.find_element(By.CSS_SELECTOR, ".nids-message").text
        )
    with harness.server("voila", real_models, max_upload_mb=20) as url:
        browser.get(url)
        WebDriverWait(browser, 180).until(ec.presence_of_element_located((By.CSS_SELECTOR, "button.nids-upload")))
        _voila_upload(browser, big)
        message = browser.find_element(By.CSS_SELECTOR, ".nids-message").text
        assert "big_50mb.csv: the file is 50.0 MB; expected at most 20 MB (the upload limit)" in message
        browser.find_element(By.CSS_SELECTOR, ".nids-predict").click()
        WebDriverWait(browser, 60).until(lambda b: "the upload limit" in b.find_element(By.CSS_SELECTOR, ".nids-message").text)
        assert not browser.find_elements(By.CSS_SELECTOR, ".nids-results table")

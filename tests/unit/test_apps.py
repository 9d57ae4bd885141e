"""The prediction apps without a browser: the shared upload layer, the Flask page through its test
client (login, CSRF, 413, escaping, models-path confinement, the whole bad-input corpus), and the
ipywidgets app driven from Python. Detectors: a small forest on synthetic UNSW-NB15-shaped rows.
"""

from __future__ import annotations

import datetime
import io
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from nids.apps import core
from nids.cli import main
from nids.errors import NidsError

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad_inputs"
MANIFEST = json.loads((CORPUS / "expected.json").read_text())["files"]
PASSWORD = "correct horse battery"
EPOCH = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def _expected_upload(name: str) -> dict:
    return MANIFEST[name].get("upload", MANIFEST[name]["predict"])


@pytest.fixture(scope="session")
def models_root(tmp_path_factory, small_rf_detector) -> Path:
    """A models path holding one detector, ``synth/rf``, and a detector outside it, linked in by a symlink."""
    base = tmp_path_factory.mktemp("apps")
    root = base / "models"
    shutil.copytree(small_rf_detector, root / "synth" / "rf")
    shutil.copytree(small_rf_detector, base / "outside" / "rf")
    (root / "escape").symlink_to(base / "outside", target_is_directory=True)
    return root


@pytest.fixture
def synth_csv(make_unsw) -> bytes:
    return make_unsw({"Normal": 6, "Exploits": 4, "DoS": 3}, seed=7, duplicates=False).to_csv(index=False).encode()


# -- the shared layer ---------------------------------------------------------------------------
def test_only_detectors_inside_the_models_path_are_listed(models_root):
    assert core.list_detectors(models_root) == ["synth/rf"]
    assert core.resolve_detector("synth/rf", models_root) == (models_root / "synth" / "rf").resolve()


@pytest.mark.parametrize(
    "name",
    [
        "../outside/rf",
        "escape/rf",
        "/etc",
        str(Path("/tmp").resolve()),
        "synth/../../outside/rf",
        "",
        "C:rf",
        "synth",
        "synth/rf\x00",
        "a" * 5000,
    ],
)
def test_detector_names_that_leave_the_models_path_are_rejected(models_root, name):
    with pytest.raises(NidsError, match="detector"):
        core.resolve_detector(name, models_root)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, 100.0),
        ("", 100.0),
        ("2.5", 2.5),
        (" 30 ", 30.0),
        ("abc", None),
        ("-1", None),
        ("0", None),
        ("inf", None),
        ("nan", None),
    ],
)
def test_numeric_app_settings_are_checked(value, expected):
    settings = {} if value is None else {"NIDS_APP_MAX_UPLOAD_MB": value}
    if expected is None:
        with pytest.raises(NidsError, match=r"NIDS_APP_MAX_UPLOAD_MB=.*expected a positive number"):
            core.positive_setting(settings, "NIDS_APP_MAX_UPLOAD_MB", 100.0, float)
    else:
        assert core.positive_setting(settings, "NIDS_APP_MAX_UPLOAD_MB", 100.0, float) == expected
    with pytest.raises(NidsError, match="expected a positive whole number"):
        core.positive_setting({"NIDS_APP_DISPLAY_ROWS": "1.5"}, "NIDS_APP_DISPLAY_ROWS", 200, int)


def test_upload_equals_nids_predict(models_root, synth_csv, tmp_path):
    detector = core.load_detector("synth/rf", models_root)
    prediction = core.predict_upload(detector, synth_csv, "flows.csv")
    assert prediction.csv_bytes() == _cli_with_input(models_root, synth_csv, tmp_path)
    assert len(prediction.verdicts) == 13
    assert list(prediction.table().columns[-5:]) == list(core.VERDICT_COLUMNS)


def test_upload_over_the_limit_is_a_message(models_root, synth_csv):
    detector = core.load_detector("synth/rf", models_root)
    with pytest.raises(NidsError, match=r"expected at most 0 MB \(the upload limit\)"):
        core.predict_upload(detector, synth_csv, "big.csv", max_bytes=100)


def test_uploaded_name_is_reduced_to_a_base_name(models_root, synth_csv):
    detector = core.load_detector("synth/rf", models_root)
    assert core.predict_upload(detector, synth_csv, "../../etc/flows.csv").name == "flows.csv"


# -- the Flask page -----------------------------------------------------------------------------
@pytest.fixture
def flask_app(models_root):
    from nids.apps.flask_app import create_app

    settings = {"NIDS_APP_PASSWORD": PASSWORD, "NIDS_MODELS_DIR": str(models_root), "NIDS_APP_MAX_UPLOAD_MB": "1"}
    app = create_app({**settings, "NIDS_APP_PRELOAD": "0"})
    app.config["TESTING"] = True
    return app


def _cli_with_input(models_root: Path, data: bytes, tmp_path: Path) -> bytes:
    """What ``nids predict --with-input`` writes for ``data`` with the ``synth/rf`` detector."""
    source, out = tmp_path / "flows.csv", tmp_path / "cli.csv"
    source.write_bytes(data)
    argv = ["predict", "--model", str(models_root / "synth/rf"), "--input", str(source), "--output", str(out)]
    assert main([*argv, "--with-input"]) == 0
    return out.read_bytes()


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def _login(client, password=PASSWORD):
    token = _token(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"csrf_token": token, "password": password})


def _upload(client, data: bytes, name: str, detector: str = "synth/rf"):
    token = _token(client.get("/predict").get_data(as_text=True))
    form = {"csrf_token": token, "detector": detector, "file": (io.BytesIO(data), name)}
    return client.post("/predict", data=form, content_type="multipart/form-data")


def test_no_default_password_a_generated_one_is_printed_once(models_root, capsys, monkeypatch):
    from nids.apps.flask_app import create_app

    for name in ("NIDS_APP_PASSWORD", "NIDS_APP_PASSWORD_HASH"):
        monkeypatch.delenv(name, raising=False)
    app = create_app({"NIDS_MODELS_DIR": str(models_root)})
    printed = capsys.readouterr().err
    generated = re.search(r"the password for this run is: (\S+)", printed).group(1)
    assert printed.count(generated) == 1
    assert generated not in app.config["NIDS_PASSWORD_HASH"] and app.config["NIDS_PASSWORD_HASH"].startswith(
        ("scrypt:", "pbkdf2:")
    )
    client = app.test_client()
    app.config["WTF_CSRF_ENABLED"] = False
    assert client.post("/login", data={"password": "admin"}).status_code == 401
    assert client.post("/login", data={"password": generated}).status_code == 302
    other = create_app({"NIDS_MODELS_DIR": str(models_root)})
    assert other.config["SECRET_KEY"] != app.config["SECRET_KEY"]  # a new key per start unless configured


def test_a_configured_hash_is_used(models_root):
    from werkzeug.security import generate_password_hash

    from nids.apps.flask_app import create_app

    app = create_app({"NIDS_APP_PASSWORD_HASH": generate_password_hash("s3cret"), "NIDS_MODELS_DIR": str(models_root)})
    client = app.test_client()
    assert _login(client, "wrong").status_code == 401
    assert _login(client, "s3cret").status_code == 302


def test_login_guards_the_prediction_page(flask_app):
    client = flask_app.test_client()
    response = client.get("/predict")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/").status_code == 200
    wrong = _login(client, "nope")
    assert wrong.status_code == 401 and "wrong password" in wrong.get_data(as_text=True)
    assert client.get("/predict").status_code == 302
    ok = _login(client)
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/predict")
    page = client.get("/predict").get_data(as_text=True)
    assert '<option value="synth/rf">' in page and "escape/rf" not in page


def test_session_cookie_flags(flask_app):
    cookie = _login(flask_app.test_client()).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie  # plain http on localhost
    remote = flask_app.test_client()
    token = _token(remote.get("/login", base_url="http://nids.example.org").get_data(as_text=True))
    response = remote.post("/login", data={"csrf_token": token, "password": PASSWORD}, base_url="http://nids.example.org")
    assert "Secure" in response.headers["Set-Cookie"]
    secure = flask_app.test_client()
    token = _token(secure.get("/login", base_url="https://127.0.0.1").get_data(as_text=True))
    response = secure.post(
        "/login",
        data={"csrf_token": token, "password": PASSWORD},
        base_url="https://127.0.0.1",
        headers={"Referer": "https://127.0.0.1/login"},  # Flask-WTF checks the referrer over https
    )
    assert "Secure" in response.headers["Set-Cookie"]


def test_every_form_needs_its_csrf_token(flask_app, synth_csv):
    client = flask_app.test_client()
    response = client.post("/login", data={"password": PASSWORD})
    assert response.status_code == 400 and "Form rejected" in response.get_data(as_text=True)
    assert _login(client).status_code == 302
    form = {"detector": "synth/rf", "file": (io.BytesIO(synth_csv), "flows.csv")}
    response = client.post("/predict", data=form, content_type="multipart/form-data")
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)
    form = {"detector": "synth/rf", "file": (io.BytesIO(synth_csv), "flows.csv"), "csrf_token": "forged"}
    response = client.post("/predict", data=form, content_type="multipart/form-data")
    assert response.status_code == 400
    assert client.post("/logout").status_code == 400


def test_upload_over_the_limit_gets_a_friendly_413(flask_app):
    client = flask_app.test_client()
    _login(client)
    response = _upload(client, b"a,b\n" + b"1,2\n" * 400_000, "big.csv")  # 1.6 MB > 1 MB
    text = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "larger than this server&#39;s upload limit of 1 MB" in text and "Traceback" not in text


def test_predict_page_matches_nids_predict_and_downloads_every_row(flask_app, models_root, synth_csv, tmp_path):
    flask_app.config["NIDS_DISPLAY_ROWS"] = 5
    client = flask_app.test_client()
    _login(client)
    response = _upload(client, synth_csv, "flows.csv")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert page.count("<tr>") == 1 + 5 and "the table shows the first 5 of\n13 rows" in page
    link = re.search(r'id="download" href="([^"]+)"', page).group(1)
    download = client.get(link)
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert download.data == _cli_with_input(models_root, synth_csv, tmp_path)
    assert flask_app.test_client().get(link).status_code == 302  # another browser, not logged in
    stranger = flask_app.test_client()
    _login(stranger)
    assert stranger.get(link).status_code == 404  # logged in, but not the owner


def test_uploaded_values_are_escaped(flask_app, make_unsw):
    frame = make_unsw({"Normal": 2, "DoS": 1}, duplicates=False)
    frame["attack_cat"] = frame["attack_cat"].astype(object)
    frame.loc[0, "attack_cat"] = "<script>alert(1)</script>"
    frame.loc[1, "service"] = '"><img src=x onerror=alert(2)>'
    client = flask_app.test_client()
    _login(client)
    page = _upload(client, frame.to_csv(index=False).encode(), "<b>x</b>.csv").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "<b>x</b>" not in page


@pytest.mark.parametrize("name", ["../outside/rf", "escape/rf", "/etc/passwd", "synth", "synth/rf\x00", "a" * 5000])
def test_only_detectors_on_the_models_path_load(flask_app, synth_csv, name):
    client = flask_app.test_client()
    _login(client)
    response = _upload(client, synth_csv, "flows.csv", detector=name)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="message"' in page and "detector" in page and 'id="results"' not in page
    assert "could not be scored" not in page and "a" * 100 not in page  # names the detector, not the file


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_bad_input_corpus_through_the_upload(flask_app, name):
    expected = _expected_upload(name)
    client = flask_app.test_client()
    _login(client)
    response = _upload(client, (CORPUS / name).read_bytes(), name)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Traceback" not in page
    if expected["outcome"] == "error":
        message = re.search(r'<p class="error" id="message">(.*?)</p>', page, re.S).group(1)
        assert expected["message"].replace("'", "&#39;") in message
        assert 'id="results"' not in page
        return
    rows = expected["rows"]
    download = client.get(re.search(r'id="download" href="([^"]+)"', page).group(1))
    table = pd.read_csv(io.BytesIO(download.data), keep_default_na=False)
    assert len(table) == rows and table["row"].tolist() == list(range(1, rows + 1))
    assert f"{rows:,} rows scored" in page
    if "status" in expected:
        assert table["status"].str.contains(expected["status"], regex=False).any()
    if "imputed_rows" in expected:
        assert int((table["status"] != "ok").sum()) == expected["imputed_rows"]
    for note in expected.get("notes", []):
        assert note.replace("'", "&#39;") in page, note


def test_no_detector_page_says_how_to_make_one(tmp_path):
    from nids.apps.flask_app import create_app

    app = create_app({"NIDS_APP_PASSWORD": PASSWORD, "NIDS_MODELS_DIR": str(tmp_path / "empty")})
    client = app.test_client()
    _login(client)
    page = client.get("/predict").get_data(as_text=True)
    assert "No trained detector" in page and "nids train --model rf" in page


# -- the ipywidgets app -------------------------------------------------------------------------
def _set_upload(app, name: str, data: bytes) -> None:
    app.upload.value = (
        {"name": name, "type": "text/csv", "size": len(data), "content": memoryview(data), "last_modified": EPOCH},
    )


def test_widget_app_predicts_like_nids_predict(models_root, synth_csv, tmp_path):
    from nids.apps.widgets import predict_app

    app = predict_app(str(models_root), display_rows=4)
    assert app.detector.options == ("synth/rf",) and not app.predict_button.disabled
    _set_upload(app, "flows.csv", synth_csv)
    prediction = app.on_predict()
    cli = _cli_with_input(models_root, synth_csv, tmp_path)
    assert prediction.csv_bytes() == cli
    assert app.results.value.count("<tr") == 1 + 4 and "first 4 of 13 rows" in app.results.value
    assert core.csv_data_uri(cli) in app.results.value
    assert "13 rows scored" in app.message.value and bytes(app.chart.value).startswith(b"\x89PNG")


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_bad_input_corpus_through_the_widget_app(models_root, name):
    from nids.apps.widgets import predict_app

    expected = _expected_upload(name)
    app = predict_app(str(models_root))
    _set_upload(app, name, (CORPUS / name).read_bytes())
    prediction = app.on_predict()
    if expected["outcome"] == "error":
        assert prediction is None and "nids-error" in app.message.value
        assert expected["message"].replace("'", "&#x27;") in app.message.value
        assert app.results.value == ""
        return
    assert len(prediction.verdicts) == expected["rows"] and "nids-table" in app.results.value
    if "imputed_rows" in expected:
        assert int((prediction.verdicts["status"] != "ok").sum()) == expected["imputed_rows"]


def test_widget_app_messages(models_root, synth_csv):
    from nids.apps.widgets import predict_app

    app = predict_app(str(models_root), max_upload_mb=0.0001)
    assert app.on_predict() is None and "Upload a flow table first" in app.message.value
    _set_upload(app, "flows.csv", synth_csv)
    assert "expected at most 0.0001 MB" in app.message.value  # told on upload, before Predict
    assert app.on_predict() is None and "the upload limit" in app.message.value


def test_widget_app_without_detectors_offers_training(tmp_path, monkeypatch, models_root):
    from nids.apps import widgets

    root = tmp_path / "models"
    app = widgets.predict_app(str(root))
    assert app.detector.options == () and app.predict_button.disabled
    assert app.train_button in app.setup.children and "nids train --model rf" in app.setup.children[0].value

    def fake_train(target):  # the real one trains on UNSW-NB15 (covered by the browser test's data)
        import shutil

        shutil.copytree(models_root / "synth" / "rf", Path(target) / "unsw-nb15" / "rf_multiclass")
        return Path(target) / "unsw-nb15" / "rf_multiclass"

    monkeypatch.setattr(widgets.core, "train_default_detector", fake_train)
    app.on_train()
    assert app.detector.options == ("unsw-nb15/rf_multiclass",) and app.detector.value == "unsw-nb15/rf_multiclass"
    assert app.setup.children == () and not app.predict_button.disabled


def test_cli_has_the_app_commands(capsys):
    from nids.cli import build_parser

    args = build_parser().parse_args(["serve", "--port", "5001"])
    assert (args.host, args.port, args.max_upload_mb) == ("127.0.0.1", 5001, 100)
    args = build_parser().parse_args(["app"])
    assert (args.host, args.port) == ("127.0.0.1", 8866)
    assert main(["app", "--max-upload-mb", "0"]) == 2
    assert "expected a positive size in MB" in capsys.readouterr().err


def test_preload_loads_and_warms_in_the_background(models_root):
    core.preload(["synth/rf", "no/such"], models_root).join(timeout=60)
    assert core.load_detector("synth/rf", models_root) is core.load_detector("synth/rf", models_root)
    core.warm_detector(core.load_detector("synth/rf", models_root), rows=3)  # a table of defaults scores without error

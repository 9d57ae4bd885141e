"""The minimal, safe Flask page: index, login, upload-and-predict, results table with a download link.

    nids serve                                  # 127.0.0.1:5000
    flask --app nids.apps.flask_app run         # the same app through Flask's own runner

Configuration (environment variables, read when the app is created):

| variable                  | meaning                                                              |
|---------------------------|----------------------------------------------------------------------|
| NIDS_APP_PASSWORD_HASH    | a werkzeug password hash (``werkzeug.security.generate_password_hash``) |
| NIDS_APP_PASSWORD         | a plain password (hashed at start, the plain text is not kept)       |
| NIDS_APP_SECRET_KEY       | session signing key (default: a new random key at every start)       |
| NIDS_APP_MAX_UPLOAD_MB    | upload size limit in MB (default 100); larger uploads get a 413 page |
| NIDS_APP_DISPLAY_ROWS     | rows shown in the page's table (default 200; the download has all)   |
| NIDS_APP_PRELOAD          | ``0``: do not load and warm up the detectors in the background at start |
| NIDS_MODELS_DIR           | the models path: the only place detectors are loaded from            |

There are no default credentials: with neither password variable set, a random password is
generated at start and printed once (as Jupyter prints its token). Uploads are read in memory and
never written to disk; results are kept in memory (the last few per server) for their download.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import secrets
import sys
import threading
import time
from collections import OrderedDict

from flask import Flask, Response, abort, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError, CSRFProtect
from flask_wtf.file import FileField, FileRequired
from jinja2 import DictLoader
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import PasswordField, SelectField, SubmitField
from wtforms.validators import DataRequired

from nids.apps import core

log = logging.getLogger(__name__)
KEPT_RESULTS = 8  # results held in memory for download

_BASE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{% block title %}NIDS{% endblock %} · nids-workbook</title>
<style>
 body{font-family:system-ui,sans-serif;margin:2em;max-width:100%} table{border-collapse:collapse;font-size:12px}
 td,th{border:1px solid #ccc;padding:2px 6px;white-space:nowrap} th{background:#eee;position:sticky;top:0}
 .error{color:#a00;background:#fee;border:1px solid #a00;padding:.6em} .note{color:#555}
 .scroll{overflow:auto;max-height:70vh} nav a,nav form{margin-right:1em;display:inline}
</style></head><body>
<nav><a href="{{ url_for('index') }}">Home</a><a href="{{ url_for('predict') }}">Intrusion Threat Prediction</a>
{% if session.get('user') %}<form method="post" action="{{ url_for('logout') }}">
<input type="hidden" name="csrf_token" value="{{ csrf_token() }}"><button id="logout">Log out</button></form>
{% else %}<a href="{{ url_for('login') }}">Log in</a>{% endif %}</nav>
{% block body %}{% endblock %}</body></html>"""

_TEMPLATES = {
    "base.html": _BASE,
    "index.html": """{% extends "base.html" %}{% block body %}
<h1>Network intrusion detection</h1>
<p>Upload a table of network flows (CSV, .csv.gz, one-member .zip or Parquet, at most {{ limit_mb }} MB) and see
each flow's predicted threat type, with a trained detector from this server's models directory.</p>
<p><a href="{{ url_for('predict') }}">Intrusion Threat Prediction</a></p>{% endblock %}""",
    "login.html": """{% extends "base.html" %}{% block title %}Log in{% endblock %}{% block body %}
<h1>Log in</h1>{% if error %}<p class="error" id="message">{{ error }}</p>{% endif %}
<form method="post" action="{{ url_for('login', next=next) }}">{{ form.hidden_tag() }}
{{ form.password.label }} {{ form.password(id="password", autofocus=true) }} {{ form.submit(id="login") }}</form>
{% endblock %}""",
    "predict.html": """{% extends "base.html" %}{% block title %}Prediction{% endblock %}{% block body %}
<h1>Intrusion Threat Prediction</h1>
{% if not detectors %}<p class="error" id="message">No trained detector in the models directory {{ models_dir }}.
Make one with <code>nids train --model rf --out {{ models_dir }}/rf</code> and reload this page.</p>{% else %}
<form method="post" enctype="multipart/form-data" action="{{ url_for('predict') }}">{{ form.hidden_tag() }}
<p>{{ form.detector.label }} {{ form.detector(id="detector") }}</p>
<p>{{ form.file.label }} {{ form.file(id="file", accept=".csv,.gz,.zip,.parquet") }}
<span class="note">at most {{ limit_mb }} MB</span></p><p>{{ form.submit(id="predict") }}</p></form>{% endif %}
{% if error %}<p class="error" id="message">{{ error }}</p>{% endif %}
{% if result %}<h2>Results: {{ result.name }}</h2>
<p id="summary">{{ result.summary }} with detector <code>{{ result.detector }}</code>.
Predicted: {% for cls, n in result.counts %}{{ cls }} {{ n }}{% if not loop.last %}, {% endif %}{% endfor %}.</p>
{% for note in result.notes %}<p class="note">note: {{ note }}</p>{% endfor %}
<p><a id="download" href="{{ url_for('download', token=result.token) }}">Download all {{ result.rows }} rows as CSV</a>
{% if result.shown < result.rows %}<span id="truncated"> — the table shows the first {{ result.shown }} of
{{ result.rows }} rows; the download has every row.</span>{% endif %}</p>
<div class="scroll"><table id="results"><thead><tr>{% for c in result.columns %}<th>{{ c }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in result.cells %}<tr>{% for v in row %}<td>{{ v }}</td>{% endfor %}</tr>{% endfor %}</tbody></table></div>
{% endif %}{% endblock %}""",
    "error.html": """{% extends "base.html" %}{% block title %}{{ title }}{% endblock %}{% block body %}
<h1>{{ title }}</h1><p class="error" id="message">{{ message }}</p>
<p><a href="{{ url_for('predict') }}">Back to the prediction page</a></p>{% endblock %}""",
}


class LoginForm(FlaskForm):
    password = PasswordField("Password", validators=[DataRequired()])
    submit = SubmitField("Log in")


class PredictForm(FlaskForm):
    detector = SelectField("Detector", validate_choice=False)  # checked against the models path, not trusted
    file = FileField("Flows file", validators=[FileRequired("choose a file of flows to upload")])
    submit = SubmitField("Predict")


def _is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    name = name.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class _SessionInterface(SecureCookieSessionInterface):
    """Session cookies are ``Secure`` except over plain http on the loopback address (where a browser would drop them)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        if app.config.get("SESSION_COOKIE_SECURE"):
            return True
        return request.is_secure or not _is_loopback(request.host)


def _password_hash(config: dict) -> tuple[str, str | None]:
    """The configured password hash, or a hash of a newly generated password (returned so it can be printed once)."""
    if config.get("NIDS_APP_PASSWORD_HASH"):
        return config["NIDS_APP_PASSWORD_HASH"], None
    if config.get("NIDS_APP_PASSWORD"):
        return generate_password_hash(config["NIDS_APP_PASSWORD"]), None
    generated = secrets.token_urlsafe(12)
    return generate_password_hash(generated), generated


def create_app(settings: dict | None = None) -> Flask:
    """The Flask app (an app factory, for ``flask --app nids.apps.flask_app run`` and tests).

    Args:
        settings: overrides of the environment variables above (same names) and of Flask config keys.
    """
    env = {k: v for k, v in os.environ.items() if k.startswith("NIDS_APP_") or k == "NIDS_MODELS_DIR"}
    settings = {**env, **(settings or {})}
    app = Flask(__name__)
    app.jinja_loader = DictLoader(_TEMPLATES)  # .html names: Flask autoescapes every value
    limit_mb = core.positive_setting(settings, "NIDS_APP_MAX_UPLOAD_MB", core.DEFAULT_MAX_UPLOAD_MB, float)
    app.config.update(
        SECRET_KEY=settings.get("NIDS_APP_SECRET_KEY") or secrets.token_hex(32),
        MAX_CONTENT_LENGTH=int(limit_mb * 2**20) + 64 * 1024,  # the form's other fields and multipart overhead
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=False,  # decided per request by _SessionInterface
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        NIDS_MODELS_DIR=str(core.models_root(settings.get("NIDS_MODELS_DIR"))),
        NIDS_MAX_UPLOAD_BYTES=int(limit_mb * 2**20),
        NIDS_DISPLAY_ROWS=core.positive_setting(settings, "NIDS_APP_DISPLAY_ROWS", core.DEFAULT_DISPLAY_ROWS, int),
    )
    app.config.update({k: v for k, v in settings.items() if k.isupper() and not k.startswith("NIDS_")})
    app.session_interface = _SessionInterface()
    password_hash, generated = _password_hash(settings)
    app.config["NIDS_PASSWORD_HASH"] = password_hash
    if generated:
        print(f"nids serve: no password configured (NIDS_APP_PASSWORD or NIDS_APP_PASSWORD_HASH); "
              f"the password for this run is: {generated}", file=sys.stderr, flush=True)  # fmt: skip
    CSRFProtect(app)
    if str(settings.get("NIDS_APP_PRELOAD", "1")) != "0":  # the first upload should not wait for TensorFlow
        core.preload(core.list_detectors(app.config["NIDS_MODELS_DIR"]), app.config["NIDS_MODELS_DIR"])
    results: OrderedDict[str, tuple[str, bytes]] = OrderedDict()
    lock = threading.Lock()

    def page(template: str, **context) -> str:
        return render_template(template, limit_mb=f"{limit_mb:g}", models_dir=app.config["NIDS_MODELS_DIR"], **context)

    def logged_in() -> bool:
        return bool(session.get("user"))

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    @app.get("/")
    def index():
        return page("index.html")

    @app.route("/login", methods=["GET", "POST"])
    def login():
        form = LoginForm()
        error = None
        target = request.args.get("next", "")
        if not target.startswith("/") or target.startswith("//"):  # no open redirect
            target = url_for("predict")
        if form.validate_on_submit():
            if check_password_hash(app.config["NIDS_PASSWORD_HASH"], form.password.data):
                session.clear()
                session["user"] = secrets.token_hex(8)
                return redirect(target)
            time.sleep(0.5)  # slows guessing a little
            error = "wrong password"
        elif request.method == "POST":
            error = "please enter the password"
        return page("login.html", form=form, error=error, next=target), 401 if error else 200

    @app.post("/logout")
    def logout():
        session.clear()
        return redirect(url_for("index"))

    @app.route("/predict", methods=["GET", "POST"])
    def predict():
        if not logged_in():
            return redirect(url_for("login", next=url_for("predict")))
        detectors = core.list_detectors(app.config["NIDS_MODELS_DIR"])
        form = PredictForm()
        form.detector.choices = detectors
        error = result = None
        if request.method == "POST":
            if not form.validate_on_submit():
                error = "; ".join(m for messages in form.errors.values() for m in messages)
            else:
                try:
                    detector = core.load_detector(form.detector.data, app.config["NIDS_MODELS_DIR"])
                    upload = form.file.data
                    data = upload.read()  # in memory; the uploaded name is only shown, never used as a path
                    prediction = core.predict_upload(detector, data, upload.filename or "upload.csv",
                                                     app.config["NIDS_MAX_UPLOAD_BYTES"])  # fmt: skip
                except Exception as exc:  # a bad file is a message on the page, never a 500
                    if not isinstance(exc, core.NidsError):
                        log.exception("scoring an upload failed")
                    error = core.describe_error(exc)
                else:
                    result = _result_context(prediction, form.detector.data, app.config["NIDS_DISPLAY_ROWS"])
                    with lock:
                        results[result["token"]] = (session["user"], prediction.csv_bytes())
                        while len(results) > KEPT_RESULTS:
                            results.popitem(last=False)
        return page("predict.html", form=form, detectors=detectors, error=error, result=result)

    @app.get("/download/<token>")
    def download(token: str):
        if not logged_in():
            return redirect(url_for("login"))
        with lock:
            owner, data = results.get(token, (None, b""))
        if owner is None or not hmac.compare_digest(owner, session["user"]):
            abort(404)
        return Response(data, mimetype="text/csv", headers={"Content-Disposition": "attachment; filename=predictions.csv"})

    @app.errorhandler(413)
    def too_large(_exc):
        message = f"The file is larger than this server's upload limit of {limit_mb:g} MB. Upload a smaller file."
        return page("error.html", title="File too large", message=message), 413

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        message = f"The form expired or did not come from this site ({exc.description}). Reload the page and try again."
        return page("error.html", title="Form rejected", message=message), 400

    @app.errorhandler(404)
    def not_found(_exc):
        return page("error.html", title="Not found", message="There is nothing at this address."), 404

    @app.errorhandler(500)
    def server_error(_exc):
        return page("error.html", title="Something went wrong", message="The server could not finish this request."), 500

    return app


def _result_context(prediction: core.Prediction, detector: str, display_rows: int) -> dict:
    table = prediction.table()
    shown = table.head(display_rows)
    return {
        "token": secrets.token_urlsafe(16),
        "name": prediction.name,
        "detector": detector,
        "summary": prediction.summary(),
        "notes": prediction.notes,
        "counts": list(prediction.class_counts().items()),
        "rows": len(table),
        "shown": len(shown),
        "columns": [str(c) for c in table.columns],
        "cells": shown.astype(object).where(shown.notna(), "").values.tolist(),
    }


def serve(host: str = "127.0.0.1", port: int = 5000, settings: dict | None = None) -> None:
    """Run the app with Flask's threaded server (for a workbook; put a TLS proxy in front on a network)."""
    app = create_app(settings)
    if not _is_loopback(host):
        app.config["SESSION_COOKIE_SECURE"] = True
        print(f"nids serve: listening on {host}: session cookies are Secure, so log in through https "
              "(a TLS-terminating proxy in front of this server)", file=sys.stderr)  # fmt: skip
    app.run(host=host, port=port, threaded=True, debug=False, use_reloader=False)

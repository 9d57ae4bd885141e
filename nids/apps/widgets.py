"""The ipywidgets app behind ``notebooks/08_predict_app.ipynb`` (served by ``nids app`` through Voila).

Upload a flow table, choose a trained detector from the models directory, press Predict: a
progress bar, then the verdicts table (the flow's values, then predicted threat type, confidence
and per-row status), a bar chart of the predicted classes and a CSV download of every row. A file
that cannot be scored gives one visible message. With no detector in the models directory the app
says how to make one and offers a button that trains the fast Random Forest on the default dataset.
"""

from __future__ import annotations

import html
import logging

import ipywidgets as widgets
import pandas as pd

from nids.apps import core

log = logging.getLogger(__name__)
_STYLE = """<style>
.nids-scroll{overflow:auto;max-height:60vh} .nids-scroll table{border-collapse:collapse;font-size:12px}
.nids-scroll td,.nids-scroll th{border:1px solid #ccc;padding:2px 6px;white-space:nowrap}
.nids-error{color:#a00;background:#fee;border:1px solid #a00;padding:.5em} .nids-note{color:#555}
</style>"""


class PredictApp:
    """The upload-and-predict app; ``app.widget`` is what the notebook displays.

    Args:
        models_dir: where detectors are listed from (default: :func:`nids.config.models_dir`).
        max_upload_mb: uploads above this size get a message instead of being scored.
        display_rows: rows shown in the table (the download keeps every row).
    """

    def __init__(
        self,
        models_dir: str | None = None,
        max_upload_mb: float = core.DEFAULT_MAX_UPLOAD_MB,
        display_rows: int = core.DEFAULT_DISPLAY_ROWS,
    ) -> None:
        self.models_dir = core.models_root(models_dir)
        self.max_bytes = int(max_upload_mb * 2**20)
        self.max_upload_mb = max_upload_mb
        self.display_rows = display_rows
        self.runs = 0
        import matplotlib.figure  # noqa: F401  (now, rather than on the first Predict)

        self.prediction: core.Prediction | None = None
        self.upload = widgets.FileUpload(accept=".csv,.gz,.zip,.parquet", multiple=False, description="Upload flows")
        self.upload.add_class("nids-upload")
        self.detector = widgets.Dropdown(description="Detector", layout=widgets.Layout(width="420px"))
        self.detector.add_class("nids-detector")
        self.predict_button = widgets.Button(description="Predict", button_style="primary", icon="play")
        self.predict_button.add_class("nids-predict")
        self.train_button = widgets.Button(description="Train the fast Random Forest", icon="cogs")
        self.train_button.add_class("nids-train")
        self.progress = widgets.IntProgress(value=0, min=0, max=3, description="", layout=widgets.Layout(width="300px"))
        self.progress.layout.visibility = "hidden"
        self.message = widgets.HTML()
        self.message.add_class("nids-message")
        self.results = widgets.HTML()
        self.results.add_class("nids-results")
        self.chart = widgets.Image(format="png", layout=widgets.Layout(max_width="640px"))
        self.chart.add_class("nids-chart")
        self.upload.observe(self._on_upload, names="value")
        self.predict_button.on_click(self.on_predict)
        self.train_button.on_click(self.on_train)
        self.setup = widgets.VBox([])
        self.widget = widgets.VBox(
            [
                widgets.HTML(_STYLE + "<h2>Intrusion Threat Prediction</h2>"),
                self.setup,
                widgets.HBox([self.upload, self.detector, self.predict_button, self.progress]),
                self.message,
                self.chart,
                self.results,
            ]
        )
        self.refresh_detectors()
        self.detector.observe(self._on_choose, names="value")
        self._on_choose()

    def _on_choose(self, _change=None) -> None:
        """Load and warm the chosen detector in the background, so that Predict does not wait for it."""
        if self.detector.value:
            core.preload([self.detector.value], self.models_dir)

    def _ipython_display_(self):  # pragma: no cover - display hook in a notebook
        from IPython.display import display

        display(self.widget)

    # -- detectors ----------------------------------------------------------------------------
    def refresh_detectors(self) -> list[str]:
        names = core.list_detectors(self.models_dir)
        current = self.detector.value
        self.detector.options = names
        self.detector.value = current if current in names else (names[0] if names else None)
        self.predict_button.disabled = not names
        if names:
            self.setup.children = []
        else:
            self.setup.children = [
                widgets.HTML(
                    f"<p class='nids-error'>No trained detector in the models directory <code>{html.escape(str(self.models_dir))}"
                    "</code>. Make one from a terminal with <code>nids train --model rf --out "
                    f"{html.escape(str(self.models_dir))}/rf</code> (any model of <code>nids train --help</code>), "
                    "or train the fast Random Forest on the default dataset (UNSW-NB15) here (about a minute):</p>"
                ),
                self.train_button,
            ]
        return names

    def on_train(self, _button=None) -> None:
        self.train_button.disabled = True
        self._say("Training the fast Random Forest on UNSW-NB15 ...", note=True)
        try:
            path = core.train_default_detector(self.models_dir)
        except Exception as exc:
            if not isinstance(exc, core.NidsError):
                log.exception("training failed")
            self._say(core.describe_error(exc))
        else:
            self.refresh_detectors()
            self.detector.value = path.relative_to(self.models_dir).as_posix()
            self._say(f"Detector saved to {path}. Upload a file and press Predict.", note=True)
        finally:
            self.train_button.disabled = False

    # -- prediction ---------------------------------------------------------------------------
    def _uploaded(self) -> tuple[str, bytes] | None:
        value = self.upload.value
        if not value:
            return None
        item = value[0]  # ipywidgets 8: a tuple of dicts with name, type, size, content (memoryview), last_modified
        return item["name"], bytes(item["content"])

    def _on_upload(self, _change=None) -> None:
        uploaded = self._uploaded()
        if uploaded:
            name, data = uploaded
            if len(data) > self.max_bytes:
                self._say(self._too_large(name, len(data)))
            else:
                self._say(f"{name} ({len(data) / 2**20:.1f} MB) uploaded: press Predict.", note=True)

    def _too_large(self, name: str, size: int) -> str:
        return f"{name}: the file is {size / 2**20:.1f} MB; expected at most {self.max_upload_mb:g} MB (the upload limit)"

    def _say(self, text: str, note: bool = False) -> None:
        css = "nids-note" if note else "nids-error"
        self.message.value = f"<p class='{css}'>{html.escape(text)}</p>"

    def on_predict(self, _button=None) -> core.Prediction | None:
        """Score the uploaded file with the chosen detector and show the outcome."""
        self.runs += 1
        self.results.value = ""
        self.chart.value = b""
        self.prediction = None
        uploaded = self._uploaded()
        if uploaded is None:
            self._say("Upload a flow table first (.csv, .csv.gz, .zip with one CSV, or .parquet).")
            return None
        if not self.detector.value:
            self._say("Choose a detector first.")
            return None
        name, data = uploaded
        self.progress.layout.visibility = "visible"
        self.progress.value, self.progress.description = 1, "loading"
        self.predict_button.disabled = True
        try:
            detector = core.load_detector(self.detector.value, self.models_dir)
            self.progress.value, self.progress.description = 2, "scoring"
            prediction = core.predict_upload(detector, data, name, self.max_bytes)
        except Exception as exc:  # one visible message, never a traceback
            if not isinstance(exc, core.NidsError):
                log.exception("scoring an upload failed")
            self._say(core.describe_error(exc))
            return None
        finally:
            self.progress.layout.visibility = "hidden"
            self.predict_button.disabled = False
        self.prediction = prediction
        self.progress.value = 3
        self._show(prediction)
        return prediction

    def _show(self, prediction: core.Prediction) -> None:
        table = prediction.table()
        shown = table.head(self.display_rows)
        notes = "".join(f"<p class='nids-note'>note: {html.escape(n)}</p>" for n in prediction.notes)
        counts = ", ".join(f"{html.escape(str(k))} {v}" for k, v in prediction.class_counts().items())
        truncated = (
            f"<span class='nids-truncated'> The table shows the first {len(shown):,} of {len(table):,} rows; "
            "the download has every row.</span>"
            if len(shown) < len(table)
            else ""
        )
        link = (
            f"<a class='nids-download' download='predictions.csv' href='{core.csv_data_uri(prediction.csv_bytes())}'>"
            f"Download all {len(table):,} rows as CSV</a>"
        )
        self._say(f"{prediction.name}: {prediction.summary()}. Predicted: {counts}.", note=True)
        body = shown.to_html(index=False, escape=True, na_rep="", classes="nids-table", table_id=f"nids-run-{self.runs}")
        self.results.value = f"{notes}<p>{link}{truncated}</p><div class='nids-scroll'>{body}</div>"
        self._chart(prediction.class_counts())

    def _chart(self, counts: pd.Series) -> None:
        """The bar chart of predicted classes, as a PNG (works in Voila, papermill and tests alike)."""
        import io

        from matplotlib.figure import Figure

        fig = Figure(figsize=(6, 0.35 * len(counts) + 1.2))
        ax = fig.subplots()
        ax.barh([str(k) for k in counts.index[::-1]], counts.to_numpy()[::-1], color="#4878a8")
        ax.set_xlabel("rows")
        ax.set_title("Predicted classes")
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=80)
        self.chart.value = buffer.getvalue()


def predict_app(models_dir: str = "", max_upload_mb: float = 0, display_rows: int = 0) -> PredictApp:
    """Build the app (the notebook's one call); empty / zero arguments take ``NIDS_MODELS_DIR``,
    ``NIDS_APP_MAX_UPLOAD_MB`` and ``NIDS_APP_DISPLAY_ROWS`` (as ``nids app`` sets them), else the defaults."""
    import os

    max_upload_mb = max_upload_mb or core.positive_setting(
        os.environ, "NIDS_APP_MAX_UPLOAD_MB", core.DEFAULT_MAX_UPLOAD_MB, float
    )
    display_rows = display_rows or core.positive_setting(os.environ, "NIDS_APP_DISPLAY_ROWS", core.DEFAULT_DISPLAY_ROWS, int)
    return PredictApp(models_dir or None, max_upload_mb, display_rows)

"""Results recorded as data: ``reports/metrics.json`` (a list of records) and ``reports/summary.md``.

A record is keyed by (dataset, protocol, task, model, variant, seed, test_partition): writing a
record with the same key replaces the old one, so rerunning a notebook never duplicates rows.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pandas as pd

from nids import config

KEY = ("dataset", "protocol", "task", "model", "variant", "seed", "test_partition")
REQUIRED = (
    "dataset", "protocol", "task", "model", "seed", "accuracy", "precision_macro", "recall_macro",
    "f1_macro", "f1_weighted", "far", "roc_auc", "train_seconds", "n_train", "n_test",
)  # fmt: skip
SUMMARY_COLUMNS = ["accuracy", "f1_macro", "f1_weighted", "far", "roc_auc", "train_seconds", "n_train", "n_test"]


def metrics_path() -> Path:
    return config.reports_dir() / "metrics.json"


def _key(record: dict) -> tuple:
    return tuple(record.get(k) or "" if k in ("variant", "test_partition") else record.get(k) for k in KEY)


def load_records(path: str | Path | None = None) -> list[dict]:
    """All records in ``metrics.json`` (an empty list when there is none yet)."""
    path = Path(path) if path else metrics_path()
    return json.loads(path.read_text()) if path.is_file() else []


def _write_json(path: Path, payload) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as handle:
        json.dump(payload, handle, indent=1, default=str)
    os.replace(handle.name, path)


def upsert_records(records: list[dict], path: str | Path | None = None) -> list[dict]:
    """Add ``records`` to ``metrics.json``, replacing records with the same key; returns all records."""
    path = Path(path) if path else metrics_path()
    for record in records:
        missing = [k for k in REQUIRED if k not in record]
        if missing:
            raise ValueError(f"metric record lacks required fields {missing}")
    new_keys = {_key(r) for r in records}
    merged = [r for r in load_records(path) if _key(r) not in new_keys] + list(records)
    merged.sort(key=lambda r: tuple(str(v) for v in _key(r)))
    _write_json(path, merged)
    return merged


def write_json_report(name: str, payload) -> Path:
    """Write ``reports/<name>.json`` (e.g. an audit) and return its path."""
    path = config.reports_dir() / f"{name}.json"
    _write_json(path, payload)
    return path


def summary_frame(records: list[dict]) -> pd.DataFrame:
    """Mean (and std over seeds, where several) of the headline metrics per model and setting."""
    if not records:
        return pd.DataFrame()
    frame = pd.DataFrame(records)
    for column in ("variant", "test_partition"):
        frame[column] = frame[column].fillna("").astype(str) if column in frame else ""
    group = ["dataset", "protocol", "test_partition", "task", "model", "variant"]
    agg = frame.groupby(group, dropna=False)[SUMMARY_COLUMNS].mean()
    agg.insert(0, "seeds", frame.groupby(group, dropna=False)["seed"].nunique())
    agg[["n_train", "n_test"]] = agg[["n_train", "n_test"]].round().astype(int)
    return agg.reset_index().sort_values(group)


def write_summary(records: list[dict] | None = None, path: str | Path | None = None) -> Path:
    """Regenerate ``reports/summary.md``: one comparison table per dataset, protocol and task."""
    records = load_records() if records is None else records
    path = Path(path) if path else config.reports_dir() / "summary.md"
    lines = ["# Results summary", "", "Generated from `reports/metrics.json`; means over seeds.", ""]
    table = summary_frame(records)
    for (dataset, protocol, part, task), block in table.groupby(["dataset", "protocol", "test_partition", "task"]):
        title = f"{dataset} / {protocol}{' -> ' + part if part else ''} / {task}"
        shown = block.drop(columns=["dataset", "protocol", "test_partition", "task"]).sort_values("f1_macro", ascending=False)
        lines += [f"## {title}", "", shown.to_markdown(index=False, floatfmt=".4f"), ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    return path


def comparison(
    records: list[dict], dataset: str, protocol: str, seed: int, task: str, models: list[str] | None = None
) -> pd.DataFrame:
    """Headline numbers of several models on the same dataset, split, seed and task, best macro-F1 first."""
    chosen = [
        r
        for r in records
        if r["dataset"] == dataset
        and r["protocol"] == protocol
        and r["seed"] == seed
        and r["task"] == task
        and not r.get("variant")
        and (models is None or r["model"] in models)
    ]
    columns = ["model", "accuracy", "f1_macro", "f1_weighted", "far", "roc_auc", "train_seconds", "n_train", "n_test"]
    frame = pd.DataFrame(chosen, columns=[*columns, "split_fingerprint"])
    return frame.sort_values("f1_macro", ascending=False).reset_index(drop=True)


def compare_sentence(table: pd.DataFrame, model: str, reference: str = "rf") -> str:
    """A plain statement of how ``model`` compares with ``reference`` in ``table`` (same split and seed)."""
    rows = {r["model"]: r for _, r in table.iterrows()}
    if model not in rows or reference not in rows:
        return f"No {reference} record on the same split and seed to compare {model} with: run notebook 03 first."
    a, b = rows[model], rows[reference]
    if a["split_fingerprint"] != b["split_fingerprint"]:
        return f"{model} and {reference} were scored on different splits (fingerprints differ): not comparable."
    diff = a["f1_macro"] - b["f1_macro"]
    verdict = "higher than" if diff > 0 else "lower than" if diff < 0 else "equal to"
    return (
        f"{model}: macro-F1 {a['f1_macro']:.4f} vs {reference} {b['f1_macro']:.4f} ({diff:+.4f}, {verdict}); "
        f"accuracy {a['accuracy']:.4f} vs {b['accuracy']:.4f}; "
        f"training {a['train_seconds']:.0f} s vs {b['train_seconds']:.0f} s. "
        "One seed on one split: whether a difference is significant is tested in notebook 06."
    )

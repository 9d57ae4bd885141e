"""Every numbered notebook, executed by ``run_all.py --quick`` (papermill) with all outputs in a
temporary folder; plus static checks of the committed notebooks (the STYLE guide's notebook rules).

Notebooks are discovered, not listed, so notebooks added later are executed and checked too.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys

import nbformat
import pytest

from nids.config import PROJECT_ROOT
from nids.reports import REQUIRED

NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
METRICS = ("accuracy", "precision_macro", "recall_macro", "f1_macro", "f1_weighted", "far", "detection_rate", "roc_auc")
PARAMETER_LINE = re.compile(r"^[A-Z][A-Z0-9_]*: [A-Za-z][\w\[\], |]* = .+  # \S.*$")

pytestmark = pytest.mark.notebooks


def test_the_first_three_notebooks_exist():
    assert [p.name for p in NOTEBOOKS[:3]] == ["01_eda.ipynb", "02_preprocessing.ipynb", "03_random_forest.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_notebook_follows_the_style(path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), "starts with an H1 title"
    assert "**Writes:**" in first.source or "Writes" in first.source, "says what it writes"
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    for line in tagged[0].source.splitlines():
        if line.strip():
            assert PARAMETER_LINE.match(line), f"parameter line is not 'NAME: type = literal  # comment': {line!r}"
    assert "QUICK" in tagged[0].source, "declares QUICK so run_all.py --quick reaches it"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.get("outputs", []) == [], f"committed with outputs: {cell.source[:60]!r}"
            assert cell.get("execution_count") is None, f"committed with an execution count: {cell.source[:60]!r}"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """One ``run_all.py --quick`` over every notebook, outputs under a temporary folder."""
    root = tmp_path_factory.mktemp("notebooks-run")
    dirs = {name: root / name.lower() for name in ("REPORTS", "FIGURES", "MODELS")}
    env = {**os.environ, **{f"NIDS_{k}_DIR": str(v) for k, v in dirs.items()}, "MPLBACKEND": "Agg"}
    executed = root / "executed"
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "run_all.py"), "--quick", "--no-progress", "--output-dir", str(executed)],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=3000,
    )  # fmt: skip
    return done, executed, dirs


@pytest.mark.slow
def test_run_all_quick_succeeds(quick_run, real_data_dir):
    done, executed, _ = quick_run
    assert done.returncode == 0, f"run_all.py failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    assert "total (quick mode)" in done.stdout
    for path in NOTEBOOKS:
        copy = executed / path.name
        assert copy.is_file(), f"no executed copy of {path.name}"
        nb = nbformat.read(copy, as_version=4)
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert errors == [], f"{path.name} has error outputs"
        assert nb.metadata.get("papermill", {}).get("parameters", {}).get("QUICK") is True


@pytest.mark.slow
def test_figures_written(quick_run):
    done, _, dirs = quick_run
    assert done.returncode == 0
    figures = sorted(p for p in dirs["FIGURES"].rglob("*.png"))
    assert figures, "no figure written"
    assert all(p.stat().st_size > 1000 for p in figures)
    # each notebook whose intro says it writes figures/<dataset>/NN_*.png does write such files
    broken = []
    for path in NOTEBOOKS:
        writes = nbformat.read(path, as_version=4).cells[0].source
        number = path.stem.split("_")[0]
        if "figures/" in writes and not [p for p in figures if p.name.startswith(f"{number}_")]:
            broken.append(f"{path.name} says it writes figures/<dataset>/{number}_*.png, but none exists")
    assert not broken, "\n".join([*broken, f"figures written: {sorted(p.name for p in figures)}"])


@pytest.mark.slow
def test_metrics_recorded(quick_run):
    done, _, dirs = quick_run
    assert done.returncode == 0
    records = json.loads((dirs["REPORTS"] / "metrics.json").read_text())
    rf = {(r["task"], r["protocol"]): r for r in records if r["model"] == "rf" and r["dataset"] == "unsw-nb15"}
    assert set(rf) >= {("binary", "dedup"), ("binary", "random"), ("multiclass", "dedup"), ("multiclass", "random")}
    for key, record in rf.items():
        missing = [k for k in REQUIRED if k not in record]
        assert not missing, f"{key}: record lacks {missing}"
        for metric in METRICS:
            value = record[metric]
            assert isinstance(value, float) and not math.isnan(value) and 0.0 <= value <= 1.0, f"{key} {metric} = {value!r}"
        assert record["n_train"] <= 8_100, "quick mode subsamples the training split"
        assert record["n_test"] > 10_000
    assert (dirs["REPORTS"] / "summary.md").read_text().count("## unsw-nb15 /") >= 4
    for record in records:  # every notebook's records, not only the forest's, carry the required fields
        assert not [k for k in REQUIRED if k not in record], f"{record['model']} {record['task']}: lacks required fields"


@pytest.mark.slow
def test_reports_and_detectors_written(quick_run):
    done, _, dirs = quick_run
    assert done.returncode == 0
    audit = json.loads((dirs["REPORTS"] / "audit_unsw-nb15.json").read_text())
    assert audit["audit"]["duplicate_rows"] == 28_386
    prep = json.loads((dirs["REPORTS"] / "preprocessing_unsw-nb15.json").read_text())
    assert prep["splits"]["dedup"]["test_rows_with_train_twin"] == 0
    assert prep["splits"]["random"]["test_rows_with_train_twin"] > 0
    for task in ("binary", "multiclass"):
        info = json.loads((dirs["MODELS"] / "unsw-nb15" / f"rf_{task}" / "detector.json").read_text())
        assert info["task"] == task and info["model_name"] == "rf"

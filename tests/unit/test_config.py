"""Paths in one place, and a cheap import: no TensorFlow on the Random Forest path."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nids import config


def test_env_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("NIDS_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("NIDS_MODELS_DIR", str(tmp_path / "m"))
    assert config.data_dir() == (tmp_path / "d").resolve()
    assert config.models_dir() == (tmp_path / "m").resolve()
    assert config.data_dir(tmp_path / "explicit") == (tmp_path / "explicit").resolve()
    monkeypatch.delenv("NIDS_DATA_DIR")
    assert config.data_dir() == config.PROJECT_ROOT / "data" / "raw"
    monkeypatch.setenv("NIDS_DATA_DIR", "")
    assert config.data_dir() == config.PROJECT_ROOT / "data" / "raw"


def test_outputs_are_redirected_for_every_test(_outputs_in_tmp):
    for function, name in ((config.reports_dir, "reports"), (config.figures_dir, "figures"), (config.models_dir, "models")):
        assert function() == (_outputs_in_tmp / name).resolve()
        assert config.PROJECT_ROOT not in function().parents


def test_project_root():
    assert (config.PROJECT_ROOT / "pyproject.toml").is_file()
    assert (config.PROJECT_ROOT / "nids" / "config.py").is_file()


@pytest.mark.parametrize(
    ("name", "expected"),
    [("unsw-nb15", "unsw-nb15"), ("csv:/a/b/flows.csv.gz", "csv-flows"), ("a b/c", "a-b-c"), ("///", "unnamed")],
)
def test_slug(name, expected):
    assert config.slug(name) == expected


def test_ensure_dir(tmp_path):
    path = config.ensure_dir(tmp_path / "x" / "y")
    assert path.is_dir()
    assert config.ensure_dir(path) == path


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_importing_the_package_is_cheap(tmp_path):
    done = _python(
        """
        import sys
        import nids, nids.config, nids.datasets, nids.audit, nids.splits, nids.features, nids.evaluation
        import nids.models, nids.models.forest, nids.training, nids.detector, nids.experiments, nids.reports, nids.cli
        heavy = sorted(m for m in ("tensorflow", "keras", "torch") if m in sys.modules)
        print("heavy:", heavy)
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "heavy: []" in done.stdout
    assert list(tmp_path.iterdir()) == [], "importing created files"


def test_random_forest_path_never_loads_tensorflow(synth_data_dir, tmp_path):
    done = _python(
        f"""
        import sys
        from nids.cli import main
        assert main(["train", "--model", "rf", "--data-dir", {str(synth_data_dir)!r}, "--trees", "5",
                     "--out", {str(tmp_path / "rf")!r}]) == 0
        assert main(["predict", "--model", {str(tmp_path / "rf")!r},
                     "--input", {str(next(synth_data_dir.rglob("*.csv")))!r}, "--output", {str(tmp_path / "o.csv")!r}]) == 0
        print("tensorflow loaded:", "tensorflow" in sys.modules)
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "tensorflow loaded: False" in done.stdout

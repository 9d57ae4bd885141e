"""run_all.py against tiny notebooks built here: parameter checks, failures named by notebook and
cell, notebook selection, typed ``-p`` literals."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from nids.config import PROJECT_ROOT


@pytest.fixture(scope="module")
def run_all():
    spec = importlib.util.spec_from_file_location("run_all", PROJECT_ROOT / "run_all.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _notebook(path: Path, parameters: str, *cells: str) -> Path:
    nb = new_notebook(
        cells=[
            new_markdown_cell(f"# {path.stem}\n\nA tiny notebook for the run_all tests."),
            new_code_cell("import json"),
            new_code_cell(parameters, metadata={"tags": ["parameters"]}),
            *[new_code_cell(c) for c in cells],
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


ALPHA_PARAMS = """DATASET: str = "unsw-nb15"  # dataset
QUICK: bool = False  # smoke mode
N: int = 1  # a count
NAME: str = "x"  # a name"""


@pytest.fixture
def good_dir(tmp_path) -> Path:
    folder = tmp_path / "nbs"
    _notebook(folder / "01_alpha.ipynb", ALPHA_PARAMS,
              'print(json.dumps({"DATASET": DATASET, "QUICK": QUICK, "N": N, "NAME": NAME}))')  # fmt: skip
    _notebook(folder / "02_gamma.ipynb", "SEED: int = 0  # seed\nRATES: list = [0.1]  # rates",
              'print(json.dumps({"SEED": SEED, "RATES": RATES}))')  # fmt: skip
    _notebook(folder / "scratch.ipynb", "X: int = 1", "raise RuntimeError('never run: not numbered')")
    return folder


def _printed(notebook: Path) -> dict:
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("text", "").startswith("{"):
                return json.loads(output["text"])
    raise AssertionError(f"no JSON printed in {notebook}")


def test_discover_sorted_numbered_only(run_all, good_dir):
    _notebook(good_dir / "10_last.ipynb", "A: int = 1")
    names = [p.name for p in run_all.discover(good_dir, None)]
    assert names == ["01_alpha.ipynb", "02_gamma.ipynb", "10_last.ipynb"]


@pytest.mark.parametrize(
    ("only", "expected"),
    [
        ("01", ["01_alpha"]),
        ("2", ["02_gamma"]),
        ("01,02", ["01_alpha", "02_gamma"]),
        ("02_g", ["02_gamma"]),
        (" 1 , ", ["01_alpha"]),
    ],
)
def test_only_selects_by_number_or_prefix(run_all, good_dir, only, expected):
    assert [p.stem for p in run_all.discover(good_dir, only)] == expected


def test_only_with_no_match_is_an_error(run_all, good_dir):
    with pytest.raises(run_all.RunError, match=r"--only 07: no notebook matches \['07'\]; available: \['01_alpha', '02_gamma'\]"):
        run_all.discover(good_dir, "07")


def test_no_notebooks_is_an_error(run_all, tmp_path):
    with pytest.raises(run_all.RunError, match="no notebooks found"):
        run_all.discover(tmp_path, None)


def test_parse_parameters_typed_literals(run_all):
    params = run_all.parse_parameters(
        ["EPOCHS=5", "RATE=0.5", "QUICK=True", "MODELS=['rf', 'bigru']", "DATASET=nsl-kdd", "NAME='quoted'", "EMPTY=",
         "EXPR=a=b", "NONE=None", "SIZES=(1, 2)"]
    )  # fmt: skip
    assert params == {
        "EPOCHS": 5,
        "RATE": 0.5,
        "QUICK": True,
        "MODELS": ["rf", "bigru"],
        "DATASET": "nsl-kdd",
        "NAME": "quoted",
        "EMPTY": "",
        "EXPR": "a=b",
        "NONE": None,
        "SIZES": (1, 2),
    }
    assert type(params["EPOCHS"]) is int and type(params["QUICK"]) is bool


@pytest.mark.parametrize("pair", ["EPOCHS", "1X=2", "=3", "A B=1"])
def test_parse_parameters_rejects_malformed_pairs(run_all, pair):
    with pytest.raises(run_all.RunError, match="expected NAME=VALUE"):
        run_all.parse_parameters([pair])


def test_unknown_parameter_is_rejected_before_running(run_all, good_dir, tmp_path, capsys):
    out = tmp_path / "executed"
    code = run_all.main(
        ["--notebooks-dir", str(good_dir), "--output-dir", str(out), "--no-progress", "-p", "BOGUS=1", "-p", "N=2"]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "run_all: FAILED: unknown parameter(s) ['BOGUS']: no selected notebook declares them" in err
    assert "Declared: ['DATASET', 'N', 'NAME', 'QUICK', 'RATES', 'SEED']" in err
    assert not out.exists() or not list(out.iterdir())


def test_parameter_of_an_unselected_notebook_is_rejected(run_all, good_dir, tmp_path, capsys):
    code = run_all.main(["--notebooks-dir", str(good_dir), "--output-dir", str(tmp_path / "o"), "--only", "02", "-p", "N=2"])
    assert code == 1
    assert "unknown parameter(s) ['N']" in capsys.readouterr().err


def test_run_passes_declared_parameters_only(run_all, good_dir, tmp_path, capsys):
    out = tmp_path / "executed"
    argv = ["--notebooks-dir", str(good_dir), "--output-dir", str(out), "--no-progress", "--quick",
            "--dataset", "nsl-kdd", "--seed", "7", "-p", "N=3", "-p", "NAME=hello", "-p", "RATES=[0.5, 1]"]  # fmt: skip
    code = run_all.main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert sorted(p.name for p in out.iterdir()) == ["01_alpha.ipynb", "02_gamma.ipynb"]
    assert _printed(out / "01_alpha.ipynb") == {"DATASET": "nsl-kdd", "QUICK": True, "N": 3, "NAME": "hello"}
    assert _printed(out / "02_gamma.ipynb") == {"SEED": 7, "RATES": [0.5, 1]}
    assert "total (quick mode)" in captured.out
    assert run_all.error_outputs(out / "01_alpha.ipynb") == []


def test_failing_cell_names_notebook_and_cell_and_stops(run_all, tmp_path, capsys):
    folder = tmp_path / "nbs"
    _notebook(folder / "01_broken.ipynb", "QUICK: bool = False  # smoke mode",
              "x = 1", "raise ValueError('boom in broken')", "print('after')")  # fmt: skip
    _notebook(folder / "02_never.ipynb", "QUICK: bool = False  # smoke mode", "print('ran')")
    out = tmp_path / "executed"
    code = run_all.main(["--notebooks-dir", str(folder), "--output-dir", str(out), "--no-progress", "--quick"])
    err = capsys.readouterr().err
    assert code == 1
    assert "run_all: FAILED: 01_broken.ipynb failed in cell" in err
    assert "ValueError: boom in broken" in err
    assert str(out / "01_broken.ipynb") in err
    # the executed copy with the traceback is kept; later notebooks do not run
    assert (out / "01_broken.ipynb").is_file()
    assert not (out / "02_never.ipynb").exists()


def test_error_outputs_are_found(run_all, tmp_path):
    path = _notebook(tmp_path / "01_x.ipynb", "A: int = 1", "print(1)", "1/0")
    nb = nbformat.read(path, as_version=4)
    nb.cells[-1].outputs = [new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])]
    nbformat.write(nb, path)
    # code cells: 1 imports, 2 parameters, 3 print, 4 the error
    assert run_all.error_outputs(path) == [(4, "ZeroDivisionError: division by zero")]

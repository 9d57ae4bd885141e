#!/usr/bin/env python
"""Execute the workbook's notebooks in order with papermill.

    python run_all.py                      # every notebook, full budget, default dataset
    python run_all.py --quick              # small budget (smoke run)
    python run_all.py --only 01,03         # a subset, by number or name prefix
    python run_all.py --dataset nsl-kdd    # another dataset
    python run_all.py --dataset csv:flows.csv --label-column Label   # any flow table
    python run_all.py -p EPOCHS=5          # set a declared parameter (typed literal)

Executed copies go to ``notebooks/executed/``; figures to ``figures/``; results to
``reports/metrics.json`` and ``reports/summary.md``. The run stops at the first failing notebook and
names the notebook and the cell. A parameter that no selected notebook declares is an error
(papermill itself would only warn), and so is any error output left in an executed notebook.
"""

from __future__ import annotations

import argparse
import ast
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
KERNEL = "python3"


class RunError(Exception):
    """A notebook failed, or the run was asked for something the notebooks do not declare."""


def _matches(notebook: Path, wanted: str) -> bool:
    """``01`` or ``1`` matches ``01_eda``; a longer prefix such as ``01_e`` or ``03_random`` too."""
    if wanted.isdigit():
        return notebook.stem.split("_", 1)[0] == wanted.zfill(2)
    return notebook.stem.startswith(wanted)


def discover(directory: Path, only: str | None) -> list[Path]:
    notebooks = sorted(p for p in directory.glob("[0-9][0-9]_*.ipynb"))
    if only:
        wanted = [w.strip() for w in only.split(",") if w.strip()]
        chosen = [p for p in notebooks if any(_matches(p, w) for w in wanted)]
        unmatched = [w for w in wanted if not any(_matches(p, w) for p in notebooks)]
        if unmatched:
            raise RunError(f"--only {only}: no notebook matches {unmatched}; available: {[p.stem for p in notebooks]}")
        notebooks = chosen
    if not notebooks:
        raise RunError(f"no notebooks found in {directory}")
    return notebooks


def parse_parameters(pairs: list[str]) -> dict:
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.isidentifier():
            raise RunError(f"-p {pair!r}: expected NAME=VALUE")
        try:
            params[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[name] = value  # a bare word is a string
    return params


def declared_parameters(notebook: Path) -> dict:
    import papermill as pm

    return pm.inspect_notebook(str(notebook))


def error_outputs(notebook: Path) -> list[tuple[int, str]]:
    """(cell number, message) of every error output left in an executed notebook."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    found = []
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for number, cell in enumerate(code_cells, start=1):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                found.append((number, f"{output.get('ename')}: {output.get('evalue')}"))
    return found


def run(args: argparse.Namespace) -> list[tuple[str, float]]:
    import papermill as pm

    notebooks = discover(args.notebooks_dir, args.only)
    extra = parse_parameters(args.parameter or [])
    declared = {nb: declared_parameters(nb) for nb in notebooks}
    unknown = [name for name in extra if not any(name in d for d in declared.values())]
    if unknown:
        raise RunError(
            f"unknown parameter(s) {unknown}: no selected notebook declares them. "
            f"Declared: {sorted({n for d in declared.values() for n in d})}"
        )
    args.output_dir.mkdir(parents=True, exist_ok=True)
    timings = []
    for notebook in notebooks:
        names = declared[notebook]
        params = {k: v for k, v in extra.items() if k in names}
        if "QUICK" in names:
            params["QUICK"] = args.quick
        if args.dataset and "DATASET" in names:
            params["DATASET"] = args.dataset
        for flag, name in ((args.label_column, "LABEL_COLUMN"), (args.normal_label, "NORMAL_LABEL")):
            if flag is not None and name in names:
                params[name] = flag
        if args.seed is not None and "SEED" in names:
            params["SEED"] = args.seed
        output = args.output_dir / notebook.name
        print(f"==> {notebook.name} {params}", flush=True)
        start = time.perf_counter()
        try:
            pm.execute_notebook(
                str(notebook), str(output), parameters=params, kernel_name=args.kernel,
                cwd=str(ROOT), progress_bar=not args.no_progress, report_mode=False,
            )  # fmt: skip
        except pm.PapermillExecutionError as exc:
            raise RunError(
                f"{notebook.name} failed in cell {exc.exec_count} (code cell {exc.cell_index}): "
                f"{exc.ename}: {exc.evalue}\n  executed copy with the traceback: {output}"
            ) from exc
        errors = error_outputs(output)
        if errors:
            cell, message = errors[0]
            raise RunError(f"{notebook.name}: code cell {cell} left an error output: {message}\n  see {output}")
        timings.append((notebook.name, time.perf_counter() - start))
        print(f"    done in {timings[-1][1]:.1f} s", flush=True)
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small budget: subsampled training, fewer epochs/trees")
    parser.add_argument("--dataset", help="dataset for every notebook that declares DATASET (default: each notebook's own)")
    parser.add_argument("--label-column", help="with --dataset csv:PATH: the label column (default: detected)")
    parser.add_argument("--normal-label", help="with --dataset csv:PATH: the label of benign traffic (default: detected)")
    parser.add_argument("--seed", type=int, help="seed for every notebook that declares SEED")
    parser.add_argument("--only", help="comma-separated notebook numbers or name prefixes, e.g. 01,03")
    parser.add_argument("-p", "--parameter", action="append", metavar="NAME=VALUE", help="set a declared parameter")
    parser.add_argument("--kernel", default=KERNEL, help=f"Jupyter kernel name (default: {KERNEL})")
    parser.add_argument("--notebooks-dir", type=Path, default=ROOT / "notebooks")
    parser.add_argument("--output-dir", type=Path, default=ROOT / "notebooks" / "executed")
    parser.add_argument("--no-progress", action="store_true", help="no per-cell progress bar")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        timings = run(args)
    except RunError as exc:
        print(f"run_all: FAILED: {exc}", file=sys.stderr)
        return 1
    for name, seconds in timings:
        print(f"{seconds:8.1f} s  {name}")
    print(f"{time.perf_counter() - start:8.1f} s  total ({'quick' if args.quick else 'full'} mode)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

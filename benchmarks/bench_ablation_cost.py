"""What one run of notebook 06 costs here, and the full notebook's time estimated from it.

    NIDS_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_ablation_cost.py [--rows 15000] [--epochs 4]

Trains each ablation model once (seed 0, UNSW-NB15 dedup split, the notebook's budget, the task
given) and times the whole ``run_experiment`` call (preprocessing, graph tracing, training,
validation and test scoring). Then it counts the runs notebook 06 makes with its default
parameters (read from the notebook's ``parameters`` cell; ``-p NAME=VALUE`` overrides) and
multiplies: the intermediate ablation rungs in ``SINGLE_SEED_MODELS`` once, the others once per
seed, plus the random-split, no-TTL and NSL-KDD runs (NSL-KDD runs scaled by training rows), plus
the latency section and a fixed start-up cost. Early stopping is assumed never to fire (an upper
bound). Timings on a shared machine: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import ast
import os
import time
from pathlib import Path

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "06_ablation_latency.ipynb"
NSL_TRAIN_ROWS = 22_672  # KDDTrain+_20Percent minus its dedup validation carve-out
START_UP_S = 30.0  # imports (TensorFlow), loading both datasets, the audit


def notebook_parameters(overrides: list[str]) -> dict:
    import papermill as pm

    params = {name: ast.literal_eval(info["default"]) for name, info in pm.inspect_notebook(str(NOTEBOOK)).items()}
    for pair in overrides:
        name, _, value = pair.partition("=")
        params[name] = ast.literal_eval(value)
    return params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, help="training rows (default: the notebook's MAX_TRAIN_ROWS)")
    parser.add_argument("--epochs", type=int, help="epochs, no early stopping (default: the notebook's EPOCHS)")
    parser.add_argument("--task", default="multiclass")
    parser.add_argument("--models", help="comma-separated (default: the notebook's MODELS)")
    parser.add_argument("-p", action="append", default=[], metavar="NAME=VALUE", help="override a notebook parameter")
    args = parser.parse_args()
    params = notebook_parameters(args.p)
    rows, epochs = args.rows or params["MAX_TRAIN_ROWS"] or None, args.epochs or params["EPOCHS"]
    models = args.models.split(",") if args.models else params["MODELS"]

    import pandas as pd

    from nids import ablation
    from nids.datasets import load_dataset
    from nids.experiments import run_experiment
    from nids.models.forest import ForestConfig
    from nids.training import TrainConfig

    ablation.fix_process_threads(params["THREADS"])
    dataset = load_dataset("unsw-nb15")
    cfg = TrainConfig(epochs=epochs, patience=epochs, batch_size=params["BATCH_SIZE"], progress=False,
                      forest=ForestConfig(n_estimators=params["N_ESTIMATORS"]))  # fmt: skip
    measured = []
    for name in models:
        load = os.getloadavg()[0]
        start = time.perf_counter()
        result = run_experiment(dataset, name, args.task, "dedup", 0, cfg, max_train_rows=rows)
        wall = time.perf_counter() - start
        rec = result.record
        measured.append(
            {"model": name, "wall_s": wall, "train_s": rec["train_seconds"], "s/epoch": rec["seconds_per_epoch"],
             "epochs": rec["epochs"], "n_train": rec["n_train"], "f1_macro": rec["f1_macro"], "load_1min": load}
        )  # fmt: skip
        print(measured[-1], flush=True)
    table = pd.DataFrame(measured).set_index("model")
    print(f"\nmeasured: {rows or 'all'} training rows, {epochs} epochs, task {args.task}, threads {params['THREADS']}")
    print(table.to_markdown(floatfmt=".2f"))

    def cost(model: str, train_rows: float | None = None) -> float:
        row = table.loc[model] if model in table.index else table.loc["bigru_seq2seq_convlstm"]
        scale = 1.0 if train_rows is None else train_rows / row["n_train"]
        return row["wall_s"] - row["train_s"] + row["train_s"] * scale

    tasks, seeds = params["TASKS"], params["SEEDS"]
    plan = []
    for model in models:
        n = len(tasks) * (1 if model in params["SINGLE_SEED_MODELS"] else len(seeds))
        plan.append(("ablation (dedup)", model, n, n * cost(model)))
    for model in params["PROTOCOL_MODELS"]:
        plan.append(("random split", model, len(tasks), len(tasks) * cost(model)))
    for model in ("bigru_seq2seq_convlstm", "rf"):  # the best deep model is chosen at run time; assume the extension
        plan.append(("no TTL", model, len(params["SHORTCUT_TASKS"]), len(params["SHORTCUT_TASKS"]) * cost(model)))
    nsl_rows = NSL_TRAIN_ROWS if params["NSL_FULL_TRAIN"] else min(rows or NSL_TRAIN_ROWS, NSL_TRAIN_ROWS)
    for model in params["NSL_MODELS"]:
        n = len(tasks) * len(params["NSL_SEEDS"])
        plan.append(("NSL-KDD", model, n, n * cost(model, nsl_rows)))
    latency_s = len(models) * (params["LATENCY_SINGLE"] + params["LATENCY_WARMUP"]) * 0.006 + len(models) * 3
    plan.append(("latency", "all", len(models), latency_s))
    plan.append(("start-up", "-", 1, START_UP_S))
    estimate = pd.DataFrame(plan, columns=["section", "model", "runs", "seconds"])
    print("\nestimate for notebook 06 with these parameters (no early stopping):")
    print(estimate.groupby("section", sort=False)[["runs", "seconds"]].sum().to_markdown(floatfmt=".0f"))
    print(f"total: {estimate['seconds'].sum() / 60:.1f} min; load average now {os.getloadavg()}")


if __name__ == "__main__":
    main()

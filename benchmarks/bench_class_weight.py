"""Does class weighting lift the extension's macro-F1 on UNSW-NB15 to the Random Forest's? Per seed, side by side.

    NIDS_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_class_weight.py \
        [--weights none,sqrt,balanced] [--seeds 0,1,2] [--epochs 35] [--patience 4] [--model NAME]

For every seed, trains the Random Forest (notebook 03's settings, unweighted) and the deep model
once per class-weight setting on the real ``dedup`` split (10-class; the seed picks the split and the
model, so each seed's rows are compared on the same split): ``none``; ``sqrt``, the square root of
the "balanced" weights (``TrainConfig(class_weight=True, class_weight_power=0.5)``); ``balanced``,
the full capped weights (see ``nids.training.balanced_class_weights``). Deep models use
``TrainConfig``'s batch size and learning rate, ``--epochs`` at most and early stopping on the
validation split. Prints accuracy, macro-F1, validation macro-F1, epochs and wall time of every
run, then the mean and standard deviation over the seeds and the mean macro-F1 difference from the
forest of the same seed.
"""

from __future__ import annotations

import argparse
import time

SETTINGS = {"none": (False, 1.0), "sqrt": (True, 0.5), "balanced": (True, 1.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", default="none,sqrt", help=f"comma-separated, from {', '.join(SETTINGS)}")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--epochs", type=int, default=35)
    parser.add_argument("--patience", type=int, default=4)
    parser.add_argument("--model", default="bigru_seq2seq_convlstm")
    args = parser.parse_args()

    import pandas as pd

    from nids.datasets import load_dataset
    from nids.experiments import run_experiment
    from nids.training import TrainConfig

    dataset = load_dataset("unsw-nb15")
    rows = []

    def run(model: str, seed: int, setting: str, cfg: TrainConfig) -> None:
        start = time.perf_counter()
        record = run_experiment(dataset, model, "multiclass", "dedup", seed, cfg).record
        rows.append(
            {
                "model": model,
                "class weights": setting,
                "seed": seed,
                "accuracy": record["accuracy"],
                "macro-F1": record["f1_macro"],
                "val macro-F1": record["val_f1_macro"],
                "epochs": record["epochs"],
                "wall_s": time.perf_counter() - start,
            }
        )
        print(pd.DataFrame(rows[-1:]).to_markdown(index=False, floatfmt=".4f", tablefmt="plain"), flush=True)

    for seed in map(int, args.seeds.split(",")):
        run("rf", seed, "none", TrainConfig(progress=False))
        for setting in args.weights.split(","):
            weighted, power = SETTINGS[setting]
            cfg = TrainConfig(
                epochs=args.epochs, patience=args.patience, class_weight=weighted, class_weight_power=power, progress=False
            )
            run(args.model, seed, setting, cfg)

    table = pd.DataFrame(rows)
    print(table.to_markdown(index=False, floatfmt=".4f"))
    forest = table[table["model"] == "rf"].set_index("seed")["macro-F1"]
    table["macro-F1 - rf"] = table["macro-F1"] - table["seed"].map(forest)
    summary = table.groupby(["model", "class weights"], sort=False).agg(
        seeds=("seed", "count"),
        accuracy=("accuracy", "mean"),
        accuracy_std=("accuracy", "std"),
        macro_f1=("macro-F1", "mean"),
        macro_f1_std=("macro-F1", "std"),
        minus_rf=("macro-F1 - rf", "mean"),
        minus_rf_min=("macro-F1 - rf", "min"),
        minus_rf_max=("macro-F1 - rf", "max"),
    )
    print(summary.reset_index().to_markdown(index=False, floatfmt=".4f"))


if __name__ == "__main__":
    main()

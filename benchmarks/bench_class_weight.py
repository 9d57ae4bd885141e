"""Does class weighting lift the extension's macro-F1 on UNSW-NB15? Both settings, back to back.

    NIDS_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_class_weight.py [--epochs 15] [--model NAME]

Trains the model twice on the real ``dedup`` split (10-class, seed 0, the budget of notebooks 04-05:
``TrainConfig``'s batch size and learning rate, early stopping patience 3), with and without "balanced" class weights (capped, see
``nids.training``), and prints accuracy, macro-F1, epochs run and wall time of each. The Random Forest
on the same split and seed (notebook 03) is the bar the issue sets for macro-F1.
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--model", default="bigru_seq2seq_convlstm")
    args = parser.parse_args()

    import pandas as pd

    from nids.datasets import load_dataset
    from nids.experiments import run_experiment
    from nids.training import TrainConfig

    dataset = load_dataset("unsw-nb15")
    rows = []
    for weighted in (True, False):
        cfg = TrainConfig(epochs=args.epochs, patience=3, class_weight=weighted, progress=False)
        start = time.perf_counter()
        result = run_experiment(dataset, args.model, "multiclass", "dedup", 0, cfg)
        rows.append(
            {
                "model": args.model,
                "class_weight": weighted,
                "accuracy": result.record["accuracy"],
                "macro-F1": result.record["f1_macro"],
                "epochs": result.fit.epochs,
                "wall_s": time.perf_counter() - start,
            }
        )
    print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".4f"))


if __name__ == "__main__":
    main()

"""Deep models on the real UNSW-NB15 dedup split: epoch time, batched throughput, single-flow latency.

    NIDS_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_deep_real.py [--epochs 2]

Both models are trained in the same process, back to back, on the same split (seed 0, 10-class), so
the extension / baseline epoch-time ratio compares like with like. Reported:

- seconds per epoch: median over the epochs after the first (the first includes graph tracing), with
  the validation pass (as recorded in ``metrics.json``) and without it (the training pass alone);
- batched inference: flows/s of ``Detector.predict_proba_features`` over the whole test split
  (frame layout included, preprocessing excluded), best of 3;
- single-flow latency: ``Detector.predict`` on a one-row DataFrame (preprocessing included),
  p50 / p99 over 300 calls after 20 warm-up calls.

Targets from the issue: extension epoch <= 10 s, >= 20,000 flows/s, single-flow p99 <= 10 ms.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs per model (>= 2)")
    parser.add_argument("--models", default="seq2seq_convlstm,bigru_seq2seq_convlstm")
    parser.add_argument(
        "--deep", action="append", default=[], metavar="KEY=VALUE",
        help="DeepConfig override, e.g. --deep fused=false (repeatable; values parsed as Python literals)",
    )  # fmt: skip
    parser.add_argument(
        "--train", action="append", default=[], metavar="KEY=VALUE",
        help="TrainConfig override, e.g. --train batch_size=2048 (repeatable; Python literals)",
    )  # fmt: skip
    args = parser.parse_args()

    from nids.datasets import load_dataset
    from nids.experiments import run_experiment
    from nids.training import TrainConfig

    deep = _overrides(args.deep)
    train = {"epochs": args.epochs, "patience": args.epochs, "progress": False, **_overrides(args.train)}
    dataset = load_dataset("unsw-nb15")
    rows = []
    for name in args.models.split(","):
        cfg = TrainConfig(**train, deep=deep)
        result = run_experiment(dataset, name, "multiclass", "dedup", 0, cfg)
        detector, fit = result.detector, result.fit
        timer = fit.seconds_per_epoch
        X_test = dataset.features.iloc[result.split.test]
        from nids.features import transform

        X = transform(detector.preprocessor, X_test)
        detector.predict_proba_features(X[:4096])  # warm-up
        best = min(_timed(detector.predict_proba_features, X) for _ in range(3))
        one = X_test.iloc[[0]]
        for _ in range(20):
            detector.predict(one)
        latencies = [_timed(detector.predict, one) for _ in range(300)]
        rows.append(
            {
                "model": name,
                "params": result.record["n_params"],
                "epochs": fit.epochs,
                "s/epoch (median, excl. 1st)": _median_after_first(fit.epoch_seconds),
                "train pass s/epoch": _median_after_first(np.subtract(fit.epoch_seconds, fit.validation_seconds)),
                "s/epoch (median all)": timer,
                "flows/s batched": len(X) / best,
                "p50 ms": 1000 * float(np.percentile(latencies, 50)),
                "p99 ms": 1000 * float(np.percentile(latencies, 99)),
                "acc": result.record["accuracy"],
                "macro-F1": result.record["f1_macro"],
            }
        )
    import pandas as pd

    table = pd.DataFrame(rows)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"DeepConfig overrides: {deep or 'none'}; TrainConfig: {train}")
    print(f"train rows {result.record['n_train']:,}, test rows {result.record['n_test']:,}")
    print(table.to_markdown(index=False, floatfmt=".3f"))
    if len(rows) == 2:
        ratio = rows[1]["s/epoch (median, excl. 1st)"] / rows[0]["s/epoch (median, excl. 1st)"]
        print(f"epoch-time ratio {rows[1]['model']} / {rows[0]['model']}: {ratio:.2f}")


def _overrides(items: list[str]) -> dict:
    """``KEY=VALUE`` strings as a dict, values parsed as Python literals (``true``/``false`` too)."""
    import ast

    parsed = {}
    for item in items:
        key, _, value = item.partition("=")
        parsed[key] = ast.literal_eval(value.capitalize() if value.lower() in ("true", "false") else value)
    return parsed


def _timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def _median_after_first(seconds) -> float:
    return float(np.median(seconds[1:] if len(seconds) > 1 else seconds))


if __name__ == "__main__":
    main()

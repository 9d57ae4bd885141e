"""Training-step time of the ConvLSTM models: stock vs fused ConvLSTM2D, by batch size, interleaved.

    .venv/bin/python benchmarks/bench_train_step.py [--batch-sizes 1024,2048] [--rounds 5]

Whole-epoch timings on a 2-core machine swing by +-20% from one epoch to the next, which hides a
10-20% change. This benchmark instead builds every (layer, batch size) variant of one model in the
same process and times ``train_on_batch`` on a fixed random batch, taking turns: each round times
``--steps`` steps of every variant in a row, so a slow spell of the machine hits all variants alike.
Reported per variant: the median step time over all rounds, and the "epoch equivalent", that step
time times the steps of one epoch of the UNSW-NB15 ``dedup`` training split (57,566 flows; the
validation pass, ~0.5 s, is not included). Writes nothing.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

TRAIN_ROWS = 57_566  # UNSW-NB15 dedup training split, seed 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="bigru_seq2seq_convlstm")
    parser.add_argument("--batch-sizes", default="1024,2048")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per variant per round")
    parser.add_argument(
        "--frames", default="4x4x6",
        help="comma-separated TxHxW layouts (UNSW-NB15's 78 preprocessed features give 4x4x6)",
    )  # fmt: skip
    parser.add_argument("--fused", default="false,true", help="which ConvLSTM2D layers to time")
    args = parser.parse_args()

    import keras
    import pandas as pd

    from nids.models.convlstm import DeepConfig, build_deep_model

    shapes = [(*map(int, layout.split("x")), 1) for layout in args.frames.split(",")]
    fused_options = [value.strip().lower() == "true" for value in args.fused.split(",")]
    rng = np.random.default_rng(0)
    variants = {}
    for shape, fused, batch in itertools.product(shapes, fused_options, map(int, args.batch_sizes.split(","))):
        keras.utils.set_random_seed(0)
        model = build_deep_model(args.model, shape, 10, DeepConfig(fused=fused))
        model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy")
        x = rng.normal(size=(batch, *shape)).astype("float32")
        y = rng.integers(0, 10, batch)
        for _ in range(3):  # tracing and warm-up
            model.train_on_batch(x, y)
        variants[("x".join(map(str, shape[:3])), "fused" if fused else "stock", batch)] = (model, x, y, [])
    for _ in range(args.rounds):
        for model, x, y, seconds in variants.values():
            for _ in range(args.steps):
                start = time.perf_counter()
                model.train_on_batch(x, y)
                seconds.append(time.perf_counter() - start)
    rows = []
    for (layout, layer, batch), (*_, seconds) in variants.items():
        step = float(np.median(seconds))
        rows.append(
            {
                "frames": layout,
                "ConvLSTM2D": layer,
                "batch": batch,
                "ms/step (median)": 1000 * step,
                "epoch equivalent s": step * np.ceil(TRAIN_ROWS / batch),
                "p90 epoch equivalent s": float(np.percentile(seconds, 90)) * np.ceil(TRAIN_ROWS / batch),
            }
        )
    table = pd.DataFrame(rows)
    print(f"{args.model}, {os.cpu_count()} cores, {args.rounds} rounds x {args.steps} steps per variant")
    print(table.to_markdown(index=False, floatfmt=".2f"))
    first = table.iloc[0]
    for _, row in table.iloc[1:].iterrows():
        print(
            f"{row['frames']} {row['ConvLSTM2D']} batch {row['batch']} / {first['frames']} {first['ConvLSTM2D']} "
            f"batch {first['batch']}: epoch-equivalent ratio {row['epoch equivalent s'] / first['epoch equivalent s']:.2f}"
        )


if __name__ == "__main__":
    main()

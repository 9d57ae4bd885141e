"""Epoch times of the extension fed by Keras' per-epoch array pipeline vs ``nids.deep.training_batches``.

    NIDS_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_input_pipeline.py [--rounds 2] [--epochs 6]

``model.fit(x, y)`` on numpy arrays makes Keras build a new autotuned tf.data pipeline for every
epoch and every validation pass; on a 2-core machine tearing one down sometimes stalls the process,
idle, for ~3 s, so epochs of the same model take ~7 s or ~10 s at random. ``nids.deep.fit_deep``
feeds one pipeline without autotuning, read through one iterator for the whole fit. This script
trains the same model (UNSW-NB15 ``dedup`` split, seed 0, 10-class, the ``TrainConfig`` defaults)
both ways in one process, taking turns for ``--rounds`` rounds, and reports per variant the epoch
times after the first (the first also traces the graphs), how many of them exceed 10 s, and the
ratio of the medians. Both variants run the same compiled model, loss, batch size and validation
split; only the input pipeline differs. Writes nothing.
"""

from __future__ import annotations

import argparse
import os
import platform

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="bigru_seq2seq_convlstm")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=6, help="epochs per fit (>= 2)")
    args = parser.parse_args()

    import pandas as pd

    from nids.datasets import load_dataset
    from nids.deep import EpochTimer, build_training_state, compiled_model, evaluation_batches, frame_config_for, training_batches
    from nids.features import fit_preprocessor, transform
    from nids.frames import to_frames
    from nids.splits import make_split
    from nids.training import TrainConfig

    dataset = load_dataset("unsw-nb15")
    split = make_split(dataset, "dedup", 0)
    target = dataset.target("multiclass").to_numpy().astype(str)
    classes = sorted(set(target))
    codes = np.searchsorted(classes, target)
    pre = fit_preprocessor(dataset.features.iloc[split.train], dataset.categorical)
    cfg = TrainConfig(epochs=args.epochs, progress=False)
    X_train = transform(pre, dataset.features.iloc[split.train])
    frames = frame_config_for(X_train.shape[1], cfg)
    x_train, y_train = to_frames(X_train, frames), codes[split.train]
    x_val, y_val = to_frames(transform(pre, dataset.features.iloc[split.val]), frames), codes[split.val]

    def fit(variant: str) -> list[float]:
        model = compiled_model(args.model, frames, len(classes), cfg)
        build_training_state(model, x_train[:1], y_train[:1])
        timer = EpochTimer()
        if variant == "keras arrays":
            model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=cfg.epochs, batch_size=cfg.batch_size,
                      callbacks=[timer], verbose=0)  # fmt: skip
        else:
            data, steps = training_batches(x_train, y_train, cfg.batch_size, cfg.epochs, cfg.seed)
            model.fit(data, steps_per_epoch=steps, validation_data=evaluation_batches(x_val, y_val, cfg.batch_size),
                      epochs=cfg.epochs, shuffle=False, callbacks=[timer], verbose=0)  # fmt: skip
        return timer.seconds

    variants = ["keras arrays", "nids training_batches"]
    seconds: dict[str, list[float]] = {v: [] for v in variants}
    first: dict[str, list[float]] = {v: [] for v in variants}
    for r in range(args.rounds):
        for variant in variants if r % 2 == 0 else variants[::-1]:
            epochs = fit(variant)
            first[variant].append(epochs[0])
            seconds[variant] += epochs[1:]
            print(f"round {r + 1} {variant}: " + ", ".join(f"{s:.2f}" for s in epochs), flush=True)
    rows = [
        {
            "input pipeline": v,
            "epochs timed": len(seconds[v]),
            "median s": np.median(seconds[v]),
            "p90 s": np.percentile(seconds[v], 90),
            "max s": max(seconds[v]),
            "epochs > 10 s": int(sum(s > 10 for s in seconds[v])),
            "first epoch s (median)": np.median(first[v]),
        }
        for v in variants
    ]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    sizes = f"{len(x_train):,} training / {len(x_val):,} validation flows, batch {cfg.batch_size}"
    print(f"{args.model}, UNSW-NB15 dedup seed 0, {sizes}, {args.rounds} rounds x {args.epochs} epochs per variant")
    print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".2f"))
    print(f"median epoch ratio, training_batches / keras arrays: {rows[1]['median s'] / rows[0]['median s']:.2f}")


if __name__ == "__main__":
    main()

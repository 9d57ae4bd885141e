"""Training-epoch time, batched throughput and single-flow latency of the ConvLSTM models.

Random data shaped like the real task (about 50,000 training flows, F = 60 preprocessed features,
10 classes), tensorized with ``nids.frames``. Prints one table; nothing is written.

Targets on the project's 2-core CPU machine: one training epoch of ``bigru_seq2seq_convlstm``
<= 10 s; batched inference >= 20,000 flows/s; single-flow latency (``make_predict_fn``) p99 <= 10 ms.
The baseline's epoch is timed in the same run for the extension/baseline ratio. A final sanity
check trains each model on a separable synthetic problem and reports held-out accuracy.

Usage::

    .venv/bin/python benchmarks/bench_deep_epoch.py            # defaults: 50k flows, batch 512
    .venv/bin/python benchmarks/bench_deep_epoch.py --no-jit   # without XLA, for comparison
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from nids.frames import default_frame_config, to_frames  # noqa: E402


def _epoch_times(model, x, y, batch_size: int, epochs: int, jit: bool) -> list[float]:
    import keras

    class _Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t0)

    times: list[float] = []
    model.compile(
        optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=jit
    )
    model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0, callbacks=[_Timer()])
    return times


def _throughput(predict, x: np.ndarray, chunk: int) -> float:
    predict(x[:chunk])  # compile for this batch size
    if len(x) % chunk:
        predict(x[-(len(x) % chunk) :])
    t0 = time.perf_counter()
    for i in range(0, len(x), chunk):
        predict(x[i : i + chunk])
    return len(x) / (time.perf_counter() - t0)


def _latency_ms(predict, x: np.ndarray, n_calls: int) -> tuple[float, float]:
    for i in range(20):
        predict(x[i : i + 1])
    times = []
    for i in range(n_calls):
        row = x[i % len(x) : i % len(x) + 1]
        t0 = time.perf_counter()
        predict(row)
        times.append((time.perf_counter() - t0) * 1e3)
    return float(np.percentile(times, 50)), float(np.percentile(times, 99))


def _separable(n: int, n_features: int, n_classes: int, rng: np.random.Generator):
    """Classes differ by a mean shift on a few class-specific features, plus noise."""
    y = rng.integers(0, n_classes, size=n)
    X = rng.normal(size=(n, n_features)).astype(np.float32)
    for k in range(n_classes):
        cols = rng.choice(n_features, size=4, replace=False)
        X[np.ix_(y == k, cols)] += 1.5
    return X, y


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=50_000)
    parser.add_argument("--n-features", type=int, default=60)
    parser.add_argument("--n-classes", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs (the first compiles)")
    parser.add_argument("--predict-chunk", type=int, default=4096)
    parser.add_argument("--latency-calls", type=int, default=500)
    parser.add_argument("--no-jit", action="store_true", help="disable XLA (jit_compile)")
    parser.add_argument("--models", default="seq2seq_convlstm,bigru_seq2seq_convlstm")
    parser.add_argument("--sanity-epochs", type=int, default=2)
    parser.add_argument("--sanity-n", type=int, default=20_000)
    args = parser.parse_args(argv)

    import keras
    import tensorflow as tf

    from nids.models.convlstm import DEEP_BUILDERS, DeepConfig, make_predict_fn

    jit = not args.no_jit
    cfg = DeepConfig(jit_compile=jit)
    rng = np.random.default_rng(0)
    fcfg = default_frame_config(args.n_features)
    x = to_frames(rng.normal(size=(args.n_train, args.n_features)), fcfg)
    y = rng.integers(0, args.n_classes, size=args.n_train)
    print(
        f"tensorflow {tf.__version__}, keras {keras.__version__}, cpus {os.cpu_count()}, "
        f"intra/inter threads {tf.config.threading.get_intra_op_parallelism_threads()}/"
        f"{tf.config.threading.get_inter_op_parallelism_threads()} (0 = default)"
    )
    print(
        f"{args.n_train} flows x {args.n_features} features -> frames {fcfg.shape}, "
        f"{args.n_classes} classes, batch {args.batch_size}, jit_compile={jit}, {cfg}"
    )

    names = [n.strip() for n in args.models.split(",") if n.strip()]
    rows = []
    epoch_steady: dict[str, float] = {}
    for name in names:
        keras.utils.set_random_seed(0)
        model = DEEP_BUILDERS[name](fcfg.shape, args.n_classes, cfg)
        times = _epoch_times(model, x, y, args.batch_size, args.epochs, jit)
        predict = make_predict_fn(model, jit_compile=jit)
        flows_s = _throughput(predict, x, args.predict_chunk)
        p50, p99 = _latency_ms(predict, x, args.latency_calls)
        steady = min(times[1:]) if len(times) > 1 else times[0]
        epoch_steady[name] = steady
        rows.append((name, model.count_params(), times[0], steady, flows_s, p50, p99))

    header = (
        f"{'model':<38}{'params':>8}{'epoch1 s':>10}{'epoch s':>9}"
        f"{'infer flows/s':>15}{'1-flow p50 ms':>15}{'1-flow p99 ms':>15}"
    )
    print()
    print(header)
    print("-" * len(header))
    for name, params, first, steady, flows_s, p50, p99 in rows:
        print(
            f"{name:<38}{params:>8}{first:>10.2f}{steady:>9.2f}{flows_s:>15,.0f}"
            f"{p50:>15.2f}{p99:>15.2f}"
        )
    print("(epoch1 includes tracing/XLA compilation; 'epoch s' is the fastest later epoch)")
    if "seq2seq_convlstm" in epoch_steady and "bigru_seq2seq_convlstm" in epoch_steady:
        ratio = epoch_steady["bigru_seq2seq_convlstm"] / epoch_steady["seq2seq_convlstm"]
        print(f"extension / baseline epoch-time ratio: {ratio:.2f}")

    if args.sanity_epochs > 0:
        print()
        print(f"sanity: separable synthetic problem, {args.sanity_n} flows, {args.sanity_epochs} epoch(s)")
        X, ys = _separable(args.sanity_n + 5_000, args.n_features, args.n_classes, rng)
        xs = to_frames(X, fcfg)
        for name in names:
            keras.utils.set_random_seed(0)
            model = DEEP_BUILDERS[name](fcfg.shape, args.n_classes, cfg)
            model.compile(
                optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                jit_compile=jit,
            )
            model.fit(
                xs[: args.sanity_n], ys[: args.sanity_n], batch_size=args.batch_size,
                epochs=args.sanity_epochs, verbose=0,
            )
            proba = make_predict_fn(model, jit_compile=jit)(xs[args.sanity_n :])
            acc = float((proba.argmax(1) == ys[args.sanity_n :]).mean())
            print(f"  {name:<38} held-out accuracy {acc:.3f} (chance {1 / args.n_classes:.3f})")


if __name__ == "__main__":
    main()

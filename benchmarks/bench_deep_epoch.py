"""Training-epoch time, batched throughput and single-flow latency of the ConvLSTM models.

Synthetic data shaped like the real task: 50,000 training flows with F = 60 preprocessed features
and 10 classes (plus 10,000 held-out flows), laid out as frames by ``nids.frames``. The classes
are separable (each shifts the mean of a few class-specific features; logistic regression scores
~0.88), so the same run also checks that the models learn: held-out accuracy after the timed
epochs must be clearly above chance (0.10). Prints one table; writes nothing.

Targets on the project's 2-core CPU machine (checked against the measured numbers):

- one training epoch of ``bigru_seq2seq_convlstm`` <= 10 s (the baseline's epoch is timed in the
  same run, for the extension/baseline ratio);
- batched inference >= 20,000 flows/s;
- single-flow latency p99 <= 10 ms with ``make_predict_fn`` (``model.predict`` shown for contrast).

The training recipe mirrors ``nids.deep.fit_deep``: Adam, sparse categorical cross-entropy,
``jit_compile=DeepConfig().jit_compile``, batches from ``nids.deep.training_batches``. Other
processes on the machine slow every number here; the 1-minute load average is printed before and after.

Usage::

    .venv/bin/python benchmarks/bench_deep_epoch.py                 # batch 2048, 2 epochs
    .venv/bin/python benchmarks/bench_deep_epoch.py --batch-size 512
    .venv/bin/python benchmarks/bench_deep_epoch.py --models bigru_seq2seq_convlstm,gru_seq2seq_convlstm
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from nids.frames import default_frame_config, to_frames

BASELINE, EXTENSION = "seq2seq_convlstm", "bigru_seq2seq_convlstm"
TARGET_EPOCH_S, TARGET_FLOWS_S, TARGET_P99_MS = 10.0, 20_000.0, 10.0


def separable_problem(n: int, n_features: int, n_classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random flows whose class shifts the mean of 4 class-specific features by 1.5 standard deviations."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, size=n)
    X = rng.normal(size=(n, n_features)).astype(np.float32)
    for k in range(n_classes):
        cols = rng.choice(n_features, size=4, replace=False)
        X[np.ix_(y == k, cols)] += 1.5
    return X, y


def time_epochs(model, x, y, batch_size: int, epochs: int, lr: float, jit: bool) -> list[tuple[float, float]]:
    """Compile like ``nids.deep.fit_deep`` and fit; (wall-clock, process CPU) seconds of each epoch."""
    import keras

    times: list[tuple[float, float]] = []

    class _Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = (time.perf_counter(), time.process_time())

        def on_epoch_end(self, epoch, logs=None):
            times.append((time.perf_counter() - self.start[0], time.process_time() - self.start[1]))

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=lr),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=jit,
    )
    from nids.deep import training_batches

    data, steps = training_batches(x, y, batch_size, epochs, seed=0)
    model.fit(data, steps_per_epoch=steps, epochs=epochs, shuffle=False, verbose=0, callbacks=[_Timer()])
    return times


def throughput(predict, x: np.ndarray, chunk: int, repeats: int = 3) -> tuple[float, float]:
    """Best flows per wall-clock second and per process-CPU second over ``repeats`` passes of ``x``."""
    predict(x[:chunk])
    if len(x) % chunk:
        predict(x[-(len(x) % chunk) :])
    best, best_cpu = 0.0, 0.0
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        for i in range(0, len(x), chunk):
            predict(x[i : i + chunk])
        best = max(best, len(x) / (time.perf_counter() - start))
        best_cpu = max(best_cpu, len(x) / (time.process_time() - start_cpu))
    return best, best_cpu


def latency_ms(predict, x: np.ndarray, n_calls: int) -> tuple[float, float]:
    """p50 and p99 milliseconds of one-row calls (after 20 warm-up calls)."""
    for i in range(20):
        predict(x[i : i + 1])
    times = np.empty(n_calls)
    for i in range(n_calls):
        row = x[i % len(x) : i % len(x) + 1]
        start = time.perf_counter()
        predict(row)
        times[i] = (time.perf_counter() - start) * 1e3
    return float(np.percentile(times, 50)), float(np.percentile(times, 99))


def _parse_override(item: str) -> tuple[str, object]:
    """``"encoder_filters=8,16"`` -> ``("encoder_filters", (8, 16))``; ints, floats, bools and strings."""
    field, _, raw = item.partition("=")

    def value(text: str) -> object:
        for kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                pass
        return {"true": True, "false": False}.get(text.lower(), text)

    return field, tuple(value(v) for v in raw.split(",")) if "," in raw or field == "encoder_filters" else value(raw)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=50_000)
    parser.add_argument("--n-test", type=int, default=10_000)
    parser.add_argument("--n-features", type=int, default=60)
    parser.add_argument("--n-classes", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=2048)
    parser.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate (nids.deep uses 2e-3)")
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs; the first includes graph tracing")
    parser.add_argument("--predict-chunk", type=int, default=4096)
    parser.add_argument("--latency-calls", type=int, default=1000)
    parser.add_argument("--models", default=f"{BASELINE},{EXTENSION}")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a DeepConfig field, e.g. --set encoder_filters=8,8 --set kernel_size=2",
    )
    args = parser.parse_args(argv)

    import keras
    import tensorflow as tf

    from nids.models.convlstm import DEEP_BUILDERS, DeepConfig, make_predict_fn

    cfg = DeepConfig(**dict(_parse_override(item) for item in args.set))
    frames = default_frame_config(args.n_features)
    X, y = separable_problem(args.n_train + args.n_test, args.n_features, args.n_classes)
    x = to_frames(X, frames)
    x_train, y_train, x_test, y_test = x[: args.n_train], y[: args.n_train], x[args.n_train :], y[args.n_train :]
    load_before = os.getloadavg()[0]
    print(
        f"tensorflow {tf.__version__}, keras {keras.__version__}, {os.cpu_count()} CPUs, "
        f"threads intra/inter {tf.config.threading.get_intra_op_parallelism_threads()}/"
        f"{tf.config.threading.get_inter_op_parallelism_threads()} (0 = TF default), load average {load_before:.2f}"
    )
    print(
        f"{args.n_train} training flows x {args.n_features} features -> frames {frames.shape}, {args.n_classes} classes, "
        f"batch {args.batch_size}, Adam lr {args.lr}, {args.epochs} epochs"
    )
    print(f"{cfg}")

    rows = []
    for name in [n.strip() for n in args.models.split(",") if n.strip()]:
        keras.utils.set_random_seed(0)
        model = DEEP_BUILDERS[name](frames.shape, args.n_classes, cfg)
        epochs = time_epochs(model, x_train, y_train, args.batch_size, args.epochs, args.lr, cfg.jit_compile)
        graph = make_predict_fn(model, jit_compile=False)
        xla = make_predict_fn(model, jit_compile=True)
        auto = make_predict_fn(model)  # what the detector uses: XLA for small batches only
        accuracy = float((graph(x_test).argmax(axis=1) == y_test).mean())
        flows_graph = throughput(graph, x_train, args.predict_chunk)
        flows_xla = throughput(xla, x_train, args.predict_chunk)
        p50, p99 = latency_ms(auto, x_test, args.latency_calls)
        keras_p50, _ = latency_ms(lambda row, m=model: m.predict(row, verbose=0), x_test, 30)
        rows.append(
            {
                "name": name,
                "params": model.count_params(),
                "epoch1": epochs[0][0],
                "epoch": min(epochs[1:] or epochs)[0],
                "epoch_cpu": min(epochs[1:] or epochs)[1],
                "flows_graph": flows_graph[0],
                "flows_graph_cpu": flows_graph[1],
                "flows_xla": flows_xla[0],
                "p50": p50,
                "p99": p99,
                "keras_p50": keras_p50,
                "accuracy": accuracy,
            }
        )

    print()
    header = (
        f"{'model':<36}{'params':>7}{'epoch 1 s':>10}{'epoch s':>8}{'(CPU s)':>8}{'graph flows/s':>14}{'(/CPU s)':>9}"
        f"{'XLA flows/s':>12}{'1-flow p50':>11}{'p99 ms':>7}{'predict() p50':>14}{'test acc':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['name']:<36}{r['params']:>7}{r['epoch1']:>10.2f}{r['epoch']:>8.2f}{r['epoch_cpu']:>8.2f}"
            f"{r['flows_graph']:>14,.0f}{r['flows_graph_cpu']:>9,.0f}{r['flows_xla']:>12,.0f}{r['p50']:>11.2f}"
            f"{r['p99']:>7.2f}{r['keras_p50']:>14.1f}{r['accuracy']:>9.3f}"
        )
    print(
        "epoch 1 includes graph tracing; 'epoch s' is the fastest later epoch, '(CPU s)' its process CPU seconds "
        "(both cores: up to 2x wall). Flows/s: best of 3 passes over the training set in chunks; '(/CPU s)' per "
        "process CPU second, which other processes on the machine disturb less than wall time. Latency: "
        "make_predict_fn(model) (XLA for <= 64 rows); predict() p50: keras model.predict on one row, for "
        f"contrast. Chance accuracy {1 / args.n_classes:.2f}."
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")

    by_name = {r["name"]: r for r in rows}
    if EXTENSION in by_name:
        ext = by_name[EXTENSION]

        def verdict(ok: bool) -> str:
            return "met" if ok else "NOT met"

        print()
        print(f"targets for {EXTENSION} (this run, load average {load_before:.2f} before):")
        print(
            f"  training epoch {ext['epoch']:.2f} s (first epoch, with tracing, {ext['epoch1']:.2f} s) "
            f"<= {TARGET_EPOCH_S:.0f} s: {verdict(ext['epoch'] <= TARGET_EPOCH_S)}"
        )
        print(
            f"  batched inference {ext['flows_graph']:,.0f} flows/s (the path make_predict_fn uses for > 64 rows) "
            f">= {TARGET_FLOWS_S:,.0f}: {verdict(ext['flows_graph'] >= TARGET_FLOWS_S)}"
        )
        print(f"  single-flow p99 {ext['p99']:.2f} ms <= {TARGET_P99_MS:.0f} ms: {verdict(ext['p99'] <= TARGET_P99_MS)}")
        chance = 1 / args.n_classes
        print(f"  held-out accuracy {ext['accuracy']:.3f} vs chance {chance:.2f}: {verdict(ext['accuracy'] > 2 * chance)}")
        if BASELINE in by_name:
            base = by_name[BASELINE]
            print(
                f"extension / baseline epoch-time ratio: {ext['epoch'] / base['epoch']:.2f} "
                f"(CPU seconds: {ext['epoch_cpu'] / base['epoch_cpu']:.2f}; first epochs: {ext['epoch1'] / base['epoch1']:.2f})"
            )


if __name__ == "__main__":
    main()

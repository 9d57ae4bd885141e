"""Metrics, metric records, latency measurement and the Pareto front of a cost/score trade-off.

Every model in the project is scored by :func:`evaluate`, so records are comparable: accuracy,
precision / recall / F1 (macro, weighted, per class), false-alarm rate, detection rate, ROC-AUC and
the confusion matrix.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
)


def evaluate(y_true, proba: np.ndarray, classes: list[str], normal_class: str) -> dict:
    """Score predicted class probabilities against true labels.

    Args:
        y_true: true class names, one per row.
        proba: (n_rows, n_classes) probabilities, columns in the order of ``classes``.
        classes: class names of the model's output columns.
        normal_class: the class that means benign traffic; every other class is an attack.

    Returns:
        A JSON-ready dict. ``far`` (false-alarm rate) is the share of benign flows flagged as any
        attack; ``detection_rate`` the share of attack flows flagged as any attack.
    """
    y_true = np.asarray(y_true).astype(str)
    classes = [str(c) for c in classes]
    y_pred = np.asarray(classes)[np.argmax(proba, axis=1)]
    labels = [c for c in classes]
    p, r, f, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    macro = precision_recall_fscore_support(y_true, y_pred, labels=labels, average="macro", zero_division=0)
    weighted = precision_recall_fscore_support(y_true, y_pred, labels=labels, average="weighted", zero_division=0)
    true_attack, pred_attack = y_true != normal_class, y_pred != normal_class
    n_normal, n_attack = int((~true_attack).sum()), int(true_attack.sum())
    far = float((pred_attack & ~true_attack).sum() / n_normal) if n_normal else float("nan")
    detection = float((pred_attack & true_attack).sum() / n_attack) if n_attack else float("nan")
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "precision_macro": float(macro[0]),
        "recall_macro": float(macro[1]),
        "f1_macro": float(macro[2]),
        "precision_weighted": float(weighted[0]),
        "recall_weighted": float(weighted[1]),
        "f1_weighted": float(weighted[2]),
        "far": far,
        "detection_rate": detection,
        "roc_auc": roc_auc(y_true, proba, classes, normal_class),
        "per_class": {
            c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(support[i])}
            for i, c in enumerate(labels)
        },
        "confusion_matrix": {"labels": labels, "matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist()},
    }


def roc_auc(y_true: np.ndarray, proba: np.ndarray, classes: list[str], normal_class: str) -> float:
    """ROC-AUC: attack-vs-normal for two classes, one-vs-rest macro over present classes otherwise."""
    if len(classes) == 2:
        attack_col = 1 - classes.index(normal_class) if normal_class in classes else 1
        positive = y_true == classes[attack_col]
        if positive.all() or (~positive).all():
            return float("nan")
        return float(roc_auc_score(positive, proba[:, attack_col]))
    present = [i for i, c in enumerate(classes) if 0 < (y_true == c).sum() < len(y_true)]
    if len(present) < 2:
        return float("nan")
    aucs = [roc_auc_score(y_true == classes[i], proba[:, i]) for i in present]
    return float(np.mean(aucs))


# -- latency and throughput ---------------------------------------------------------------------
LATENCY_KEYS = (
    "model", "task", "kind", "n_single", "warmup", "single_p50_ms", "single_p99_ms", "single_mean_ms",
    "batch_rows", "batch_repeats", "batch_seconds", "batch_flows_per_s", "threads", "machine",
)  # fmt: skip


def machine_info() -> dict:
    """What the numbers were measured on: CPU model, cores, OS, Python and library versions.

    TensorFlow's version is listed only when TensorFlow is already imported (this function never
    imports it: the Random Forest path stays TensorFlow-free).
    """
    import os
    import platform
    import sys
    from importlib import metadata

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            names = [line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    info = {
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    for package in ("numpy", "scikit-learn", "keras"):
        try:
            info[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    if "tensorflow" in sys.modules:
        info["tensorflow"] = sys.modules["tensorflow"].__version__
    try:
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    return info


def fix_tf_threads(threads: int) -> dict:
    """Set TensorFlow's intra- and inter-op thread pools to ``threads`` (if TensorFlow is imported).

    TensorFlow accepts this only before its runtime starts (before the first model is built or
    loaded); later calls cannot change the pools, so the result says what is actually in force
    (``0`` is TensorFlow's default: one thread per core).

    Returns:
        ``{"tf_intra_op": n, "tf_inter_op": n, "tf_fixed": bool}``, or ``{}`` without TensorFlow.
    """
    import sys

    tf = sys.modules.get("tensorflow")
    if tf is None:
        return {}
    threading = tf.config.threading
    if threading.get_intra_op_parallelism_threads() != threads or threading.get_inter_op_parallelism_threads() != threads:
        try:
            threading.set_intra_op_parallelism_threads(threads)
            threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # runtime already initialised: keep what is in force and say so
            pass
    intra, inter = threading.get_intra_op_parallelism_threads(), threading.get_inter_op_parallelism_threads()
    return {"tf_intra_op": intra, "tf_inter_op": inter, "tf_fixed": intra == threads and inter == threads}


class fixed_threads:
    """Cap every CPU thread pool a prediction can use at ``threads`` while the block runs.

    - numpy/scipy BLAS and OpenMP pools: ``threadpoolctl.threadpool_limits``;
    - joblib (the Random Forest's ``n_jobs=-1`` on large batches): ``LOKY_MAX_CPU_COUNT``, which
      joblib reads when it counts usable CPUs;
    - TensorFlow: :func:`fix_tf_threads` (effective only before TensorFlow's runtime starts).

    ``as_dict()`` says what was fixed, for the output of a benchmark.
    """

    def __init__(self, threads: int):
        from nids.errors import NidsError

        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise NidsError(f"threads must be a positive int; got {threads!r}")
        self.threads = threads
        self.info: dict = {}

    def __enter__(self) -> fixed_threads:
        import os

        from threadpoolctl import threadpool_limits

        self._limits = threadpool_limits(limits=self.threads)
        self._loky = os.environ.get("LOKY_MAX_CPU_COUNT")
        os.environ["LOKY_MAX_CPU_COUNT"] = str(self.threads)
        self.info = {"threads": self.threads, "blas_openmp": self.threads, "joblib": self.threads, **fix_tf_threads(self.threads)}
        return self

    def __exit__(self, *exc) -> None:
        import os

        self._limits.restore_original_limits()
        if self._loky is None:
            os.environ.pop("LOKY_MAX_CPU_COUNT", None)
        else:
            os.environ["LOKY_MAX_CPU_COUNT"] = self._loky

    def as_dict(self) -> dict:
        return dict(self.info)


def measure_latency(
    detector,
    frame,
    n_single: int = 300,
    warmup: int = 20,
    batch_rows: int = 8192,
    batch_repeats: int = 3,
    threads: int = 2,
) -> dict:
    """Single-flow latency and batched throughput of ``detector.predict`` (preprocessing included).

    Single flow: ``warmup`` untimed calls, then ``n_single`` timed calls of ``detector.predict`` on
    one-row DataFrames (row ``i`` of ``frame``, cycling), reported as p50 / p99 / mean in ms.
    Batched: the first ``batch_rows`` rows of ``frame`` (fewer if ``frame`` is shorter) in one
    ``predict`` call, one untimed warm-up call, then the best of ``batch_repeats`` timed calls, as
    flows per second. Thread pools are capped at ``threads`` for the measurement (see
    :class:`fixed_threads`). This is a benchmark: its numbers depend on the machine and its load.

    Args:
        detector: a :class:`nids.detector.Detector`.
        frame: raw flows with (at least) the detector's feature columns.
        n_single: timed single-flow calls.
        warmup: untimed single-flow calls before them.
        batch_rows: rows in the batched call.
        batch_repeats: timed batched calls (the fastest counts).
        threads: CPU threads allowed.

    Returns:
        A dict with the keys of :data:`LATENCY_KEYS`.

    Raises:
        NidsError: an empty ``frame`` or non-positive counts.
    """
    import time

    from nids.errors import NidsError

    if len(frame) == 0:
        raise NidsError("measure_latency: expected a frame with at least one flow, found none")
    for name, value in (("n_single", n_single), ("batch_rows", batch_rows), ("batch_repeats", batch_repeats)):
        if value < 1:
            raise NidsError(f"measure_latency: {name} must be >= 1, got {value}")
    if warmup < 0:
        raise NidsError(f"measure_latency: warmup must be >= 0, got {warmup}")
    rows = [frame.iloc[[i % len(frame)]] for i in range(max(n_single, warmup))]
    batch = frame.iloc[: min(batch_rows, len(frame))]
    with fixed_threads(threads) as fixed:
        for i in range(warmup):
            detector.predict(rows[i])
        single = np.empty(n_single)
        for i in range(n_single):
            start = time.perf_counter()
            detector.predict(rows[i])
            single[i] = time.perf_counter() - start
        detector.predict(batch)
        batched = []
        for _ in range(batch_repeats):
            start = time.perf_counter()
            detector.predict(batch)
            batched.append(time.perf_counter() - start)
    best = max(min(batched), 1e-9)
    return {
        "model": detector.model_name,
        "task": detector.task,
        "kind": detector.kind,
        "n_single": int(n_single),
        "warmup": int(warmup),
        "single_p50_ms": float(np.percentile(single, 50) * 1000),
        "single_p99_ms": float(np.percentile(single, 99) * 1000),
        "single_mean_ms": float(single.mean() * 1000),
        "batch_rows": len(batch),
        "batch_repeats": int(batch_repeats),
        "batch_seconds": float(best),
        "batch_flows_per_s": float(len(batch) / best),
        "threads": fixed.as_dict(),
        "machine": machine_info(),
    }


def pareto_front(cost, score) -> np.ndarray:
    """Boolean mask of the points no other point beats on both axes (lower cost, higher score).

    A point is on the front unless another point has cost <= and score >= with at least one strict
    (ties on both axes stay on the front together).
    """
    cost, score = np.asarray(cost, dtype=float), np.asarray(score, dtype=float)
    if cost.shape != score.shape:
        raise ValueError(f"pareto_front: cost and score differ in shape: {cost.shape} vs {score.shape}")
    on = np.ones(len(cost), dtype=bool)
    for i in range(len(cost)):
        dominated = (cost <= cost[i]) & (score >= score[i]) & ((cost < cost[i]) | (score > score[i]))
        on[i] = not dominated.any()
    return on

"""Ablation, protocol and shortcut comparisons, NSL-KDD cross-partition scoring and significance tests.

Notebook 06 calls these functions; each one is a small step on top of
:func:`nids.experiments.run_experiment`:

- :class:`RunCache` trains each (dataset, protocol, task, model, variant, seed) experiment once,
  so that the ablation, latency, protocol and shortcut sections share trained detectors;
- :func:`aggregate` turns metric records into mean ± standard deviation per model and task;
- :func:`mcnemar` (exact binomial test on the discordant pairs) and :func:`paired_seed_test`
  (paired t-test over seeds) back every "A beats B" in :func:`compare` / :func:`verdict_sentence`,
  so the notebook's prose is generated from numbers;
- :func:`gru_vs_lstm` puts the training-time and latency ratios of the extension and its
  LSTM-decoder twin next to their F1 difference;
- :func:`score_partition` scores an NSL-KDD detector trained once on ``KDDTrain+_20Percent`` on a
  second test partition (``KDDTest-21``) without retraining;
- :data:`LITERATURE` holds published reference numbers, each with its citation (they are the
  papers' results, not this workbook's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from nids.datasets.base import Dataset
from nids.errors import NidsError
from nids.evaluation import evaluate
from nids.experiments import HEADLINE, ExperimentResult, run_experiment
from nids.splits import Split
from nids.training import TrainConfig

#: The ablation ladder of issue 5, from the classic baseline to the full extension and its twin.
ABLATION_MODELS = (
    "rf",
    "seq2seq_convlstm",
    "seq2seq_convlstm_gru_decoder",
    "seq2seq_convlstm_bigru",
    "bigru_seq2seq_convlstm",
    "bigru_seq2seq_convlstm_lstm_decoder",
)
MAIN_MODELS = ("rf", "seq2seq_convlstm", "bigru_seq2seq_convlstm")
GRU_MODEL, LSTM_TWIN = "bigru_seq2seq_convlstm", "bigru_seq2seq_convlstm_lstm_decoder"
#: UNSW-NB15's TTL features: near-proxies for the label in this testbed (see the data README).
TTL_FEATURES = ("sttl", "dttl", "ct_state_ttl")
#: Numbers aggregated by :func:`aggregate` (mean and standard deviation over seeds).
AGGREGATED = (
    "accuracy", "f1_macro", "f1_weighted", "far", "detection_rate", "roc_auc",
    "n_params", "seconds_per_epoch", "train_seconds", "epochs",
)  # fmt: skip
GROUP = ("dataset", "protocol", "test_partition", "task", "model", "variant")


# -- running experiments once -------------------------------------------------------------------
@dataclass
class RunCache:
    """Trains each experiment once and hands the same result to every section that needs it.

    Attributes:
        train_cfg: training settings shared by every run (the seed is set per run).
        max_train_rows: training rows per run (``None``: the whole training split).
        variant: tag recorded with every result (e.g. ``"ablation"``), so that these budgeted runs
            never replace the headline records of notebooks 03-05 in ``reports/metrics.json``;
            a shortcut run's tag gets ``+no_ttl`` appended.
        results: the results so far, by key.
    """

    train_cfg: TrainConfig
    max_train_rows: int | None = None
    variant: str = ""
    results: dict[tuple, ExperimentResult] = field(default_factory=dict)

    def tag(self, drop_features: tuple[str, ...] = (), suffix: str = "") -> str:
        parts = [self.variant] if self.variant else []
        if suffix:
            parts.append(suffix)
        elif drop_features:
            parts.append("no_" + "_".join(drop_features))
        return "+".join(parts)

    def run(
        self,
        dataset: Dataset,
        model: str,
        task: str,
        protocol: str = "dedup",
        seed: int = 0,
        drop_features: tuple[str, ...] = (),
        suffix: str = "",
        test_partition: str | None = None,
    ) -> ExperimentResult:
        """The result of this experiment: trained now, or the one trained earlier in this process."""
        variant = self.tag(tuple(drop_features), suffix)
        key = (dataset.name, protocol, task, model, variant, seed, test_partition or "")
        if key not in self.results:
            result = run_experiment(
                dataset, model, task, protocol, seed, self.train_cfg, max_train_rows=self.max_train_rows,
                test_partition=test_partition, variant=variant, drop_features=tuple(drop_features),
            )  # fmt: skip
            result.record["max_epochs"] = self.train_cfg.epochs
            result.record["max_train_rows"] = self.max_train_rows
            self.results[key] = result
        return self.results[key]

    def grid(
        self,
        dataset: Dataset,
        models: list[str],
        tasks: list[str],
        seeds: list[int],
        protocol: str = "dedup",
        single_seed_models: list[str] | tuple[str, ...] = (),
        **kwargs,
    ) -> list[ExperimentResult]:
        """models x tasks x seeds (models in ``single_seed_models`` on the first seed only), with a progress bar."""
        from tqdm.auto import tqdm

        combos = [(t, m, s) for t in tasks for m in models for s in seeds if s == seeds[0] or m not in single_seed_models]
        return [self.run(dataset, m, t, protocol, s, **kwargs) for t, m, s in tqdm(combos, desc=f"{protocol} runs", unit="run")]

    def select(self, **where) -> list[ExperimentResult]:
        """Results whose record matches every ``field=value`` given (``variant`` compared as a string)."""
        return [r for r in self.results.values() if all((r.record.get(k) or "") == (v or "") for k, v in where.items())]

    def records(self) -> list[dict]:
        return [r.record for r in self.results.values()]


# -- aggregation --------------------------------------------------------------------------------
def aggregate(records: list[dict], metrics: tuple[str, ...] = AGGREGATED, per_class: bool = True) -> pd.DataFrame:
    """Mean and standard deviation over seeds per (dataset, protocol, test partition, task, model, variant).

    Args:
        records: metric records (from :func:`nids.experiments.run_experiment`).
        metrics: record fields to aggregate; missing or ``None`` values are skipped.
        per_class: also aggregate ``f1_per_class`` into ``f1[<class>]`` columns.

    Returns:
        One row per group: ``seeds`` (how many), then ``<metric>_mean`` and ``<metric>_std`` for each
        metric (sample standard deviation, ``ddof=1``; NaN for a single seed).
    """
    if not records:
        return pd.DataFrame(columns=[*GROUP, "seeds"])
    rows = []
    for record in records:
        row = {k: record.get(k) or "" if k in ("variant", "test_partition") else record.get(k) for k in GROUP}
        row["seed"] = record.get("seed")
        row.update({m: record.get(m) for m in metrics})
        if per_class:
            row.update({f"f1[{c}]": v for c, v in (record.get("f1_per_class") or {}).items()})
        rows.append(row)
    frame = pd.DataFrame(rows)
    values = [c for c in frame.columns if c not in (*GROUP, "seed")]
    frame[values] = frame[values].apply(pd.to_numeric, errors="coerce")
    grouped = frame.groupby(list(GROUP), dropna=False, sort=False)
    out = grouped[values].agg(["mean", "std"])
    out.columns = [f"{name}_{stat}" for name, stat in out.columns]
    out.insert(0, "seeds", grouped["seed"].nunique())
    return out.reset_index()


def mean_std_table(table: pd.DataFrame, metrics: tuple[str, ...], digits: int = 4) -> pd.DataFrame:
    """``"mean ± std"`` strings (``"mean"`` alone for one seed) for display, keeping the group columns."""
    shown = table[[c for c in (*GROUP, "seeds") if c in table]].copy()
    for metric in metrics:
        mean, std = table[f"{metric}_mean"], table[f"{metric}_std"]
        shown[metric] = [
            "" if pd.isna(m) else f"{m:.{digits}f}" if pd.isna(s) else f"{m:.{digits}f} ± {s:.{digits}f}"
            for m, s in zip(mean, std, strict=True)
        ]
    return shown


# -- significance -------------------------------------------------------------------------------
@dataclass(frozen=True)
class McNemar:
    """Exact McNemar test on paired predictions of the same rows.

    Attributes:
        n: rows compared.
        a_only: rows model A got right and model B wrong.
        b_only: rows model B got right and model A wrong.
        p_value: two-sided exact binomial p-value of ``a_only`` out of ``a_only + b_only`` under p = 1/2
            (1.0 when the models never disagree on correctness).
        accuracy_a: A's accuracy on these rows.
        accuracy_b: B's accuracy on these rows.
    """

    n: int
    a_only: int
    b_only: int
    p_value: float
    accuracy_a: float
    accuracy_b: float


def mcnemar(y_true, pred_a, pred_b) -> McNemar:
    """McNemar's exact test of two classifiers' correctness on the same rows.

    Cites: Q. McNemar, "Note on the sampling error of the difference between correlated proportions
    or percentages", Psychometrika 12(2), 1947; T. G. Dietterich, "Approximate statistical tests
    for comparing supervised classification learning algorithms", Neural Computation 10(7), 1998.

    Raises:
        NidsError: the three arrays differ in length, or are empty.
    """
    from scipy.stats import binomtest

    y_true, pred_a, pred_b = (np.asarray(v).astype(str) for v in (y_true, pred_a, pred_b))
    if not len(y_true) == len(pred_a) == len(pred_b) or len(y_true) == 0:
        raise NidsError(
            f"mcnemar: expected three equally long, non-empty arrays; got {len(y_true)}, {len(pred_a)}, {len(pred_b)}"
        )
    right_a, right_b = pred_a == y_true, pred_b == y_true
    a_only, b_only = int((right_a & ~right_b).sum()), int((~right_a & right_b).sum())
    p = 1.0 if a_only + b_only == 0 else float(binomtest(a_only, a_only + b_only, 0.5).pvalue)
    return McNemar(len(y_true), a_only, b_only, p, float(right_a.mean()), float(right_b.mean()))


def paired_seed_test(a, b) -> float:
    """Two-sided p-value of a paired t-test of per-seed scores ``a`` vs ``b`` (NaN below 2 pairs).

    Identical differences on every seed give p = 0 when they are not all zero, 1 when they are.
    """
    from scipy.stats import ttest_rel

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise NidsError(f"paired_seed_test: expected as many scores for A as for B; got {len(a)} and {len(b)}")
    if len(a) < 2:
        return float("nan")
    diff = a - b
    if np.allclose(diff, diff[0]):
        return 1.0 if np.isclose(diff[0], 0) else 0.0
    return float(ttest_rel(a, b).pvalue)


def predicted_labels(result: ExperimentResult) -> np.ndarray:
    """Predicted class names of a result's test rows."""
    return np.asarray(result.detector.classes)[np.argmax(result.proba_test, axis=1)]


def paired_predictions(a: ExperimentResult, b: ExperimentResult) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(true labels, A's predictions, B's predictions) on the test rows both results scored.

    Rows are matched by their index in the dataset, so two runs on different splits (e.g. with and
    without some features, where the dedup split differs) are compared on their common test rows.

    Raises:
        NidsError: the two results share no test row.
    """
    common, ia, ib = np.intersect1d(a.split.test, b.split.test, return_indices=True)
    if len(common) == 0:
        raise NidsError(f"{a.record['model']} and {b.record['model']} share no test row: nothing to pair")
    if not np.array_equal(a.y_test[ia], b.y_test[ib]):
        raise NidsError("the two results disagree on the true labels of their common test rows (different tasks?)")
    return a.y_test[ia], predicted_labels(a)[ia], predicted_labels(b)[ib]


@dataclass
class Comparison:
    """A against B on paired test predictions, seed by seed (see :func:`compare`)."""

    a: str
    b: str
    task: str
    seeds: list[int]
    tests: list[McNemar]
    f1_a: list[float]
    f1_b: list[float]
    p_f1_seeds: float
    alpha: float

    @property
    def max_p(self) -> float:
        return max(t.p_value for t in self.tests)

    @property
    def accuracy_diff(self) -> float:
        return float(np.mean([t.accuracy_a - t.accuracy_b for t in self.tests]))

    @property
    def f1_diff(self) -> float:
        return float(np.mean(self.f1_a) - np.mean(self.f1_b))

    @property
    def winner(self) -> str | None:
        """A or B when McNemar rejects equal accuracy (p < alpha) on every seed in the same direction; else None."""
        if self.max_p >= self.alpha:
            return None
        signs = {np.sign(t.a_only - t.b_only) for t in self.tests}
        if len(signs) != 1:
            return None
        return self.a if signs == {1} else self.b

    def as_dict(self) -> dict:
        return {
            "a": self.a, "b": self.b, "task": self.task, "seeds": self.seeds, "alpha": self.alpha,
            "mcnemar": [t.__dict__ for t in self.tests], "max_p": self.max_p, "winner": self.winner,
            "accuracy_diff": self.accuracy_diff, "f1_macro_a": self.f1_a, "f1_macro_b": self.f1_b,
            "f1_diff": self.f1_diff, "p_f1_seeds": self.p_f1_seeds, "sentence": verdict_sentence(self),
        }  # fmt: skip


def compare(results_a: list[ExperimentResult], results_b: list[ExperimentResult], alpha: float = 0.05) -> Comparison:
    """Pair the runs of A and B seed by seed and test them.

    Each seed gets McNemar's exact test on the test rows both runs scored (see
    :func:`paired_predictions`); macro-F1 is compared across seeds with :func:`paired_seed_test`.

    Raises:
        NidsError: no seed in common, or A and B are on different tasks.
    """
    by_seed_a = {r.record["seed"]: r for r in results_a}
    by_seed_b = {r.record["seed"]: r for r in results_b}
    seeds = sorted(set(by_seed_a) & set(by_seed_b))
    if not seeds:
        raise NidsError(f"compare: no seed in common (A: {sorted(by_seed_a)}, B: {sorted(by_seed_b)})")
    tasks = {by_seed_a[s].record["task"] for s in seeds} | {by_seed_b[s].record["task"] for s in seeds}
    if len(tasks) != 1:
        raise NidsError(f"compare: expected runs of one task, found {sorted(tasks)}")
    tests = [mcnemar(*paired_predictions(by_seed_a[s], by_seed_b[s])) for s in seeds]
    f1_a = [by_seed_a[s].record["f1_macro"] for s in seeds]
    f1_b = [by_seed_b[s].record["f1_macro"] for s in seeds]
    return Comparison(
        a=_label(by_seed_a[seeds[0]].record), b=_label(by_seed_b[seeds[0]].record), task=tasks.pop(), seeds=seeds,
        tests=tests, f1_a=f1_a, f1_b=f1_b, p_f1_seeds=paired_seed_test(f1_a, f1_b), alpha=alpha,
    )  # fmt: skip


def _label(record: dict) -> str:
    variant = record.get("variant") or ""
    extra = [p for p in variant.split("+") if p.startswith("no_")]
    return record["model"] + (f" ({', '.join(extra)})" if extra else "")


def _p(p: float) -> str:
    if math.isnan(p):
        return "n/a"
    return "<1e-300" if p == 0 else f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}"


def verdict_sentence(c: Comparison) -> str:
    """The sentence the notebook prints for a comparison, generated from its numbers.

    ``"A beats B ..."`` only when McNemar rejects equal accuracy at ``alpha`` on every seed, in the
    same direction; otherwise ``"the difference ... is not significant"``.
    """
    seeds = f"{len(c.seeds)} seed{'s' if len(c.seeds) > 1 else ''}"
    ps = ", ".join(_p(t.p_value) for t in c.tests)
    f1 = f"macro-F1 {np.mean(c.f1_a):.4f} vs {np.mean(c.f1_b):.4f} ({c.f1_diff:+.4f}"
    f1 += f", paired t-test over seeds p={_p(c.p_f1_seeds)})" if len(c.seeds) > 1 else ", one seed: no test across seeds)"
    acc = f"accuracy {np.mean([t.accuracy_a for t in c.tests]):.4f} vs {np.mean([t.accuracy_b for t in c.tests]):.4f}"
    if c.winner is None:
        return f"{c.task}: the difference between {c.a} and {c.b} is not significant (McNemar p={ps} over {seeds}; {acc}; {f1}."
    loser = c.b if c.winner == c.a else c.a
    return f"{c.task}: {c.winner} beats {loser}, McNemar p={ps} over {seeds} ({acc}; {f1}."


# -- GRU vs LSTM --------------------------------------------------------------------------------
def gru_vs_lstm(
    results: list[ExperimentResult], latency: pd.DataFrame | None = None, gru: str = GRU_MODEL, lstm: str = LSTM_TWIN
) -> pd.DataFrame:
    """Training-time and latency ratios of ``gru`` over ``lstm`` (same process, same splits), with the F1 difference.

    A ratio below 1 means the GRU model is faster. ``latency`` is a table of
    :func:`nids.evaluation.measure_latency` results (columns ``model``, ``task``,
    ``single_p50_ms``, ``single_p99_ms``, ``batch_flows_per_s``).
    """
    rows = []
    for task in sorted({r.record["task"] for r in results}):
        a = {r.record["seed"]: r.record for r in results if r.record["model"] == gru and r.record["task"] == task}
        b = {r.record["seed"]: r.record for r in results if r.record["model"] == lstm and r.record["task"] == task}
        seeds = sorted(set(a) & set(b))
        if not seeds:
            continue

        def mean(recs, key, chosen=seeds):
            return float(np.mean([recs[s][key] for s in chosen]))

        row = {
            "task": task,
            "seeds": len(seeds),
            "train_seconds_ratio": mean(a, "train_seconds") / mean(b, "train_seconds"),
            "seconds_per_epoch_ratio": mean(a, "seconds_per_epoch") / mean(b, "seconds_per_epoch"),
            "epochs_gru": mean(a, "epochs"),
            "epochs_lstm": mean(b, "epochs"),
            "n_params_gru": a[seeds[0]]["n_params"],
            "n_params_lstm": b[seeds[0]]["n_params"],
            "f1_macro_gru": mean(a, "f1_macro"),
            "f1_macro_lstm": mean(b, "f1_macro"),
            "f1_macro_diff": mean(a, "f1_macro") - mean(b, "f1_macro"),
        }
        if latency is not None and len(latency):
            la = latency[(latency["model"] == gru) & (latency["task"] == task)]
            lb = latency[(latency["model"] == lstm) & (latency["task"] == task)]
            if len(la) and len(lb):
                row["p50_latency_ratio"] = float(la["single_p50_ms"].iloc[0] / lb["single_p50_ms"].iloc[0])
                row["p99_latency_ratio"] = float(la["single_p99_ms"].iloc[0] / lb["single_p99_ms"].iloc[0])
                row["batch_time_ratio"] = float(lb["batch_flows_per_s"].iloc[0] / la["batch_flows_per_s"].iloc[0])
        rows.append(row)
    return pd.DataFrame(rows)


def ratio_sentence(row: pd.Series | dict, gru: str = GRU_MODEL, lstm: str = LSTM_TWIN, claimed_cut: float = 0.25) -> str:
    """What the measured ratios say about the claim that GRU layers cut training time by ``claimed_cut``."""
    ratio = row["seconds_per_epoch_ratio"]
    change = 1 - ratio
    verb = "cuts" if change > 0 else "adds"
    text = (
        f"{row['task']}: {gru} vs {lstm}: seconds per epoch x{ratio:.2f} ({verb} {abs(change):.0%}; the claim is a "
        f"{claimed_cut:.0%} cut), total training time x{row['train_seconds_ratio']:.2f} "
        f"({row['epochs_gru']:.1f} vs {row['epochs_lstm']:.1f} epochs to early stop)"
    )
    if "p50_latency_ratio" in row and not pd.isna(row["p50_latency_ratio"]):
        text += f", single-flow p50 latency x{row['p50_latency_ratio']:.2f}, batched time per flow x{row['batch_time_ratio']:.2f}"
    return text + f"; macro-F1 {row['f1_macro_gru']:.4f} vs {row['f1_macro_lstm']:.4f} ({row['f1_macro_diff']:+.4f})."


# -- protocol comparison and choices ------------------------------------------------------------
def protocol_table(records: list[dict], models: list[str] | tuple[str, ...] | None = None) -> pd.DataFrame:
    """Accuracy and macro-F1 per model and task under each protocol, with the inflation ``random - dedup``."""
    table = aggregate([r for r in records if models is None or r["model"] in models], ("accuracy", "f1_macro"), per_class=False)
    if table.empty:
        return table
    wide = table.pivot_table(index=["task", "model"], columns="protocol", values=["accuracy_mean", "f1_macro_mean"])
    wide.columns = [f"{metric.replace('_mean', '')}_{protocol}" for metric, protocol in wide.columns]
    for metric in ("accuracy", "f1_macro"):
        if f"{metric}_random" in wide and f"{metric}_dedup" in wide:
            wide[f"{metric}_inflation"] = wide[f"{metric}_random"] - wide[f"{metric}_dedup"]
    return wide.reset_index()


def best_deep_model(records: list[dict], task: str = "multiclass") -> str:
    """The deep model with the highest mean *validation* macro-F1 on ``task`` (the test split plays no part)."""
    frame = pd.DataFrame([r for r in records if r["task"] == task and r.get("n_params")])
    if frame.empty:
        raise NidsError(f"best_deep_model: no deep-model record for task {task!r}")
    return str(frame.groupby("model")["val_f1_macro"].mean().idxmax())


# -- scoring a detector on another test partition (NSL-KDD) --------------------------------------
def score_partition(result: ExperimentResult, dataset: Dataset, partition: str) -> ExperimentResult:
    """Score a trained result's detector on another test partition of ``dataset``, without retraining.

    For NSL-KDD, one model trained on ``KDDTrain+_20Percent`` is scored on ``KDDTest+`` by
    :func:`nids.experiments.run_experiment` and on ``KDDTest-21`` here; the training and validation
    rows (hence the model) are the same, only the test rows differ.

    Raises:
        NidsError: ``partition`` is not a partition of ``dataset``.
    """
    import time

    from nids.features import transform

    rows = np.flatnonzero(dataset.partition.to_numpy() == partition)
    if len(rows) == 0:
        raise NidsError(f"{dataset.name} has no partition {partition!r}; found: {sorted(set(dataset.partition))}")
    detector, task = result.detector, result.record["task"]
    target = dataset.target(task).to_numpy().astype(str)
    features = dataset.features[detector.features].iloc[rows]
    X = transform(detector.preprocessor, features)
    start = time.perf_counter()
    proba = detector.predict_proba_features(X)
    seconds = time.perf_counter() - start
    metrics = evaluate(target[rows], proba, detector.classes, detector.normal_class)
    split = Split(result.split.protocol, result.split.seed, result.split.train, result.split.val, rows, partition)
    record = {
        **result.record,
        **{k: round(metrics[k], 6) for k in HEADLINE},
        "predict_seconds": round(seconds, 4),
        "n_test": len(rows),
        "test_partition": partition,
        "split_fingerprint": split.fingerprint(),
        "f1_per_class": {c: round(v["f1"], 6) for c, v in metrics["per_class"].items()},
        "scored_without_retraining": True,
    }
    return ExperimentResult(detector, record, split, target[rows], proba, result.fit, metrics)


# -- published reference numbers ---------------------------------------------------------------
TAVALLAEE_2009 = (
    "Tavallaee et al., 'A detailed analysis of the KDD CUP 99 data set', IEEE CISDA 2009 (Table: KDDTest+ / KDDTest-21)"
)
YIN_2017 = "Yin et al., 'A deep learning approach for intrusion detection using recurrent neural networks', IEEE Access 5, 2017"
DATA_README = "usual published range, shared/data/README.md"


def _cite(dataset: str, task: str, part: str, model: str, accuracy, train: str, source: str) -> dict:
    return {"dataset": dataset, "task": task, "test_partition": part, "model": model, "accuracy": accuracy, "train": train,
            "source": source}  # fmt: skip


_TAVALLAEE = {
    "J48 decision tree": (0.8105, 0.6397), "Naive Bayes": (0.7656, 0.5577), "NB tree": (0.8202, 0.6616),
    "Random Forest": (0.8067, 0.6326), "Random Tree": (0.8159, 0.5851), "Multi-layer perceptron": (0.7741, 0.5734),
    "SVM": (0.6952, 0.4229),
}  # fmt: skip
_YIN = {"binary": (0.8328, 0.6855), "multiclass": (0.8129, 0.6467)}
_PARTS = ("KDDTest+", "KDDTest-21")

#: Published results, for orientation beside ours. These are the cited papers' numbers, on their
#: own training sets (field ``train``), not results of this workbook. A tuple is a (low, high) range.
LITERATURE: list[dict] = [
    *[
        _cite("nsl-kdd", "binary", part, model, acc, "KDDTrain+ (full)", TAVALLAEE_2009)
        for model, accs in _TAVALLAEE.items()
        for part, acc in zip(_PARTS, accs, strict=True)
    ],
    *[
        _cite("nsl-kdd", task, part, "RNN-IDS", acc, "KDDTrain+ (full)", YIN_2017)
        for task, accs in _YIN.items()
        for part, acc in zip(_PARTS, accs, strict=True)
    ],
    _cite("nsl-kdd", "binary", "KDDTest+", "classic ML (range)", (0.77, 0.82), "KDDTrain+", DATA_README),
    _cite("nsl-kdd", "binary", "KDDTest+", "deep models (range)", (0.80, 0.86), "KDDTrain+", DATA_README),
    _cite("nsl-kdd", "binary", "KDDTest-21", "published models (range)", (0.55, 0.70), "KDDTrain+", DATA_README),
    _cite("unsw-nb15", "binary", "official-test", "classic ML (range)", (0.82, 0.90), "official train", DATA_README),
    _cite("unsw-nb15", "multiclass", "official-test", "classic ML (range)", (0.70, 0.78), "official train", DATA_README),
    _cite("unsw-nb15", "multiclass", "random split", "many papers (range)", (0.95, 0.99), "one file, random split",
          DATA_README + " (inflated by duplicate rows)"),
]  # fmt: skip


def literature_table(dataset: str) -> pd.DataFrame:
    """The :data:`LITERATURE` entries of ``dataset``, accuracy ranges written as ``lo-hi``."""
    rows = [
        {
            **r,
            "accuracy": f"{r['accuracy'][0]:.2f}-{r['accuracy'][1]:.2f}"
            if isinstance(r["accuracy"], tuple)
            else f"{r['accuracy']:.4f}",
        }
        for r in LITERATURE
        if r["dataset"] == dataset
    ]
    return pd.DataFrame(rows, columns=["task", "test_partition", "model", "accuracy", "train", "source"])


def nslkdd_table(records: list[dict]) -> pd.DataFrame:
    """Our NSL-KDD results (mean over seeds) beside the published ones, one row per model, task and test file."""
    ours = aggregate([r for r in records if r["dataset"] == "nsl-kdd"], ("accuracy", "f1_macro", "far"), per_class=False)
    ours = ours.assign(
        source="this workbook (KDDTrain+_20Percent)",
        accuracy=ours["accuracy_mean"].map("{:.4f}".format),
        f1_macro=ours["f1_macro_mean"].map("{:.4f}".format),
        far=ours["far_mean"].map("{:.4f}".format),
    )[["task", "test_partition", "model", "seeds", "accuracy", "f1_macro", "far", "source"]]
    published = literature_table("nsl-kdd").drop(columns="train")
    table = pd.concat([ours, published.assign(seeds="", f1_macro="", far="")], ignore_index=True)
    return table.sort_values(["task", "test_partition", "source"], kind="stable").reset_index(drop=True)


# -- notebook sections ----------------------------------------------------------------------------
#: The "A beats B" questions of the ablation ladder: each rung against the one below it, the
#: extension against the baseline and the forest, and the GRU decoder against its LSTM twin.
CLAIMS = (
    ("bigru_seq2seq_convlstm", "seq2seq_convlstm"),
    ("bigru_seq2seq_convlstm", "rf"),
    ("seq2seq_convlstm", "rf"),
    ("seq2seq_convlstm_gru_decoder", "seq2seq_convlstm"),
    ("seq2seq_convlstm_bigru", "seq2seq_convlstm"),
    ("bigru_seq2seq_convlstm", "bigru_seq2seq_convlstm_lstm_decoder"),
)


def claims(
    cache: RunCache, dataset: str, task: str, protocol: str = "dedup", pairs=CLAIMS, alpha: float = 0.05
) -> list[Comparison]:
    """:func:`compare` for each (A, B) in ``pairs`` whose runs are in ``cache`` (same dataset, task and protocol,
    no dropped features)."""
    out = []
    for a, b in pairs:
        where = {"dataset": dataset, "task": task, "protocol": protocol, "variant": cache.variant}
        runs_a, runs_b = cache.select(model=a, **where), cache.select(model=b, **where)
        if runs_a and runs_b:
            out.append(compare(runs_a, runs_b, alpha))
    return out


def latency_table(results: list[ExperimentResult], dataset: Dataset, **options) -> pd.DataFrame:
    """:func:`nids.evaluation.measure_latency` of each result's detector on its own test flows (raw rows).

    Returns one row per result: model, task, test accuracy and macro-F1, the latency numbers, and
    ``pareto`` (on the accuracy / single-flow p50 front). ``options`` go to ``measure_latency``.
    """
    from tqdm.auto import tqdm

    from nids.evaluation import measure_latency, pareto_front

    rows = []
    for result in tqdm(results, desc="latency", unit="model"):
        flows = dataset.features.iloc[result.split.test]
        measured = measure_latency(result.detector, flows, **options)
        rows.append(
            {
                "model": result.record["model"],
                "task": result.record["task"],
                "accuracy": result.record["accuracy"],
                "f1_macro": result.record["f1_macro"],
                **{
                    k: measured[k]
                    for k in ("single_p50_ms", "single_p99_ms", "single_mean_ms", "batch_rows", "batch_flows_per_s")
                },
                "threads": measured["threads"],
                "machine": measured["machine"],
            }
        )
    table = pd.DataFrame(rows)
    if len(table):
        table["pareto"] = pareto_front(table["single_p50_ms"], table["accuracy"])
        table["label"] = table["model"]
    return table


def shortcut_table(pairs: list[tuple[ExperimentResult, ExperimentResult]], alpha: float = 0.05) -> tuple[pd.DataFrame, list[str]]:
    """Each (with features, without features) pair side by side, and the verdict sentence of each.

    The two runs of a pair may have different dedup splits (dropping features merges rows that
    differed only in them), so they are compared on their common test rows.
    """
    rows, sentences = [], []
    for full, reduced in pairs:
        comparison = compare([full], [reduced], alpha)
        sentences.append(verdict_sentence(comparison))
        rows.append(
            {
                "task": full.record["task"],
                "model": full.record["model"],
                "accuracy_with": full.record["accuracy"],
                "accuracy_without": reduced.record["accuracy"],
                "f1_macro_with": full.record["f1_macro"],
                "f1_macro_without": reduced.record["f1_macro"],
                "far_with": full.record["far"],
                "far_without": reduced.record["far"],
                "common_test_rows": comparison.tests[0].n,
                "mcnemar_p": comparison.tests[0].p_value,
            }
        )
    return pd.DataFrame(rows), sentences


def fix_process_threads(threads: int, with_tensorflow: bool = True) -> dict:
    """Fix this process's CPU thread pools for the rest of its life (notebook 06 calls it first).

    TensorFlow's intra/inter-op pools can only be set before its runtime starts, so this imports
    TensorFlow (when ``with_tensorflow``) and sets them at once; BLAS/OpenMP pools are capped with
    threadpoolctl and joblib's CPU count with ``LOKY_MAX_CPU_COUNT``.

    Returns:
        What is in force (see :func:`nids.evaluation.fix_tf_threads`).
    """
    import os

    from threadpoolctl import threadpool_limits

    from nids.evaluation import fix_tf_threads

    if with_tensorflow:  # imported now so that its thread pools can be set before its runtime starts
        import tensorflow  # noqa: F401
    threadpool_limits(limits=threads)
    os.environ["LOKY_MAX_CPU_COUNT"] = str(threads)
    return {"threads": threads, "blas_openmp": threads, "joblib": threads, **fix_tf_threads(threads)}

"""Every figure of the workbook: one function per figure kind, each returning a matplotlib Figure.

:func:`save` writes a figure to ``figures/`` (PNG) so that batch runs regenerate them all.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from sklearn.metrics import auc, roc_curve

from nids import config
from nids.audit import AuditReport
from nids.datasets.base import Dataset


def save(fig: plt.Figure, name: str, dataset: str | None = None) -> Path:
    """Save ``fig`` as ``figures/[<dataset>/]<name>.png`` and return the path."""
    folder = config.figures_dir() / config.slug(dataset) if dataset else config.figures_dir()
    path = config.ensure_dir(folder) / f"{name}.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def log_transform_effect(frame: pd.DataFrame, columns: list[str]) -> plt.Figure:
    """Histograms of heavy-tailed columns before and after the signed log1p transform."""
    from nids.features import signed_log1p, to_finite_float

    fig, axes = plt.subplots(2, len(columns), figsize=(3 * len(columns), 5))
    values = to_finite_float(frame[columns])
    for j, column in enumerate(columns):
        finite = values[:, j][~np.isnan(values[:, j])]
        axes[0, j].hist(finite, bins=50, color="grey")
        axes[0, j].set_title(column, fontsize=9)
        axes[1, j].hist(signed_log1p(finite), bins=50, color="teal")
    axes[0, 0].set_ylabel("raw")
    axes[1, 0].set_ylabel("signed log1p")
    fig.tight_layout()
    return fig


def class_distribution(dataset: Dataset) -> plt.Figure:
    """Records per class (log scale, so that 44 Worms stay visible next to 37,000 Normal)."""
    counts = dataset.labels.value_counts()
    fig, ax = plt.subplots(figsize=(8, 4))
    sns.barplot(x=counts.values, y=counts.index.astype(str), ax=ax, color="steelblue")
    ax.set_xscale("log")
    ax.set(xlabel="records (log scale)", ylabel="", title=f"{dataset.name}: class distribution ({len(dataset):,} records)")
    for i, v in enumerate(counts.values):
        ax.text(v, i, f" {v:,}", va="center", fontsize=8)
    return fig


def duplicates_and_ceiling(report: AuditReport) -> plt.Figure:
    """Unique vs duplicate rows, and the achievable-accuracy ceiling next to the majority baseline."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    left.bar(
        ["distinct vectors", "duplicate rows"], [report.distinct_vectors, report.duplicate_rows], color=["steelblue", "indianred"]
    )
    left.set(title=f"{report.dataset}: {report.duplicate_rows / report.records:.1%} of rows are duplicates", ylabel="records")
    names = ["majority class", "ceiling (multiclass)", "ceiling (binary)"]
    values = [report.majority_class_accuracy, report.ceiling_accuracy, report.ceiling_accuracy_binary]
    right.barh(names, values, color=["grey", "darkorange", "seagreen"])
    right.set(xlim=(0, 1), xlabel="accuracy", title="best accuracy any model can reach on these records")
    for i, v in enumerate(values):
        right.text(v, i, f" {v:.4f}", va="center")
    fig.tight_layout()
    return fig


def shortcut_scores(report: AuditReport, top: int = 12) -> plt.Figure:
    """Binary accuracy of a one-feature lookup, strongest features first."""
    frame = pd.DataFrame(report.shortcuts[:top])
    fig, ax = plt.subplots(figsize=(7, 4))
    sns.barplot(data=frame, x="binary_accuracy", y="feature", ax=ax, color="slateblue")
    ax.axvline(report.ceiling_accuracy_binary, color="seagreen", ls="--", label="ceiling")
    ax.set(xlim=(0.4, 1.0), xlabel="binary accuracy of a lookup on this feature alone", ylabel="")
    ax.legend(loc="lower right")
    return fig


def feature_correlations(dataset: Dataset, top: int = 20) -> plt.Figure:
    """Spearman correlations among the numeric features with the highest variance rank."""
    numeric = dataset.features[dataset.numeric].apply(pd.to_numeric, errors="coerce")
    chosen = numeric.rank(pct=True).std().sort_values(ascending=False).index[:top]
    corr = numeric[chosen].corr(method="spearman")
    fig, ax = plt.subplots(figsize=(9, 7.5))
    sns.heatmap(corr, cmap="vlag", center=0, vmin=-1, vmax=1, square=True, ax=ax, cbar_kws={"shrink": 0.7})
    ax.set_title(f"{dataset.name}: Spearman correlation of {len(chosen)} numeric features")
    return fig


def confusion(metrics: dict, title: str, normalize: bool = True) -> plt.Figure:
    """Confusion matrix from an :func:`nids.evaluation.evaluate` result (rows: true class)."""
    labels = metrics["confusion_matrix"]["labels"]
    matrix = np.asarray(metrics["confusion_matrix"]["matrix"], dtype=float)
    shown = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1) if normalize else matrix
    size = 3 + 0.55 * len(labels)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    sns.heatmap(
        shown,
        annot=True,
        fmt=".2f" if normalize else ".0f",
        cmap="Blues",
        xticklabels=labels,
        yticklabels=labels,
        ax=ax,
        cbar=False,
        annot_kws={"size": 7},
    )
    ax.set(xlabel="predicted", ylabel="true", title=title)
    return fig


def roc_curves(y_true: np.ndarray, proba: np.ndarray, classes: list[str], title: str) -> plt.Figure:
    """One-vs-rest ROC curve per class (one curve, attack vs normal, for binary models)."""
    fig, ax = plt.subplots(figsize=(6, 5))
    shown = classes[1:] if len(classes) == 2 else classes
    for name in shown:
        i = classes.index(name)
        positive = np.asarray(y_true) == name
        if positive.all() or not positive.any():
            continue
        fpr, tpr, _ = roc_curve(positive, proba[:, i])
        ax.plot(fpr, tpr, lw=1.2, label=f"{name} (AUC {auc(fpr, tpr):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", ls=":")
    ax.set(xlabel="false-positive rate", ylabel="true-positive rate", title=title)
    ax.legend(fontsize=7, loc="lower right")
    return fig


def feature_importance(importances: pd.Series, title: str, top: int = 20) -> plt.Figure:
    """Horizontal bars of the ``top`` largest importances."""
    shown = importances.sort_values(ascending=False).head(top)[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(shown) + 1))
    ax.barh(shown.index, shown.values, color="teal")
    ax.set(xlabel="importance", title=title)
    return fig


def per_class_f1(records: list[dict], title: str) -> plt.Figure:
    """Heat map of per-class F1: one row per model record."""
    frame = pd.DataFrame({f"{r['model']}{'/' + r['variant'] if r.get('variant') else ''}": r["f1_per_class"] for r in records}).T
    fig, ax = plt.subplots(figsize=(1 + 0.8 * frame.shape[1], 1 + 0.45 * frame.shape[0]))
    sns.heatmap(frame, annot=True, fmt=".2f", cmap="viridis", vmin=0, vmax=1, ax=ax, annot_kws={"size": 7})
    ax.set_title(title)
    return fig


def training_curves(history: dict[str, list[float]], title: str) -> plt.Figure:
    """Loss and accuracy per epoch on the training and validation splits."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for ax, metric in zip(axes, ["loss", "accuracy"], strict=True):
        for prefix, style in (("", "-"), ("val_", "--")):
            values = history.get(prefix + metric)
            if values:
                ax.plot(
                    range(1, len(values) + 1), values, style, marker="o", label=("validation " if prefix else "train ") + metric
                )
        ax.set(xlabel="epoch", title=f"{title}: {metric}")
        ax.legend()
    fig.tight_layout()
    return fig


def architecture(layers: pd.DataFrame, title: str) -> plt.Figure:
    """A block diagram of a functional model from :func:`nids.deep.layer_table` (inputs -> softmax).

    Layers are stacked top to bottom in build order; an arrow joins each layer to those feeding it,
    so skip connections (the encoder features merged with the decoder's) show as side arcs.
    """
    n = len(layers)
    fig, ax = plt.subplots(figsize=(8, 0.55 * n + 1))
    position = {name: n - 1 - i for i, name in enumerate(layers["layer"])}
    for _, row in layers.iterrows():
        y = position[row["layer"]]
        ax.add_patch(plt.Rectangle((0.05, y - 0.35), 0.6, 0.7, facecolor="aliceblue", edgecolor="steelblue"))
        ax.text(0.35, y + 0.05, f"{row['type']}", ha="center", va="center", fontsize=8, weight="bold")
        ax.text(0.35, y - 0.2, f"{row['output_shape']}  ·  {row['params']:,} params", ha="center", va="center", fontsize=6.5)
        for source in filter(None, (s.strip() for s in row["inputs"].split(","))):
            if source in position:
                y0 = position[source]
                if y0 - y == 1:
                    ax.annotate("", (0.35, y + 0.35), (0.35, y0 - 0.35), arrowprops={"arrowstyle": "->", "color": "grey"})
                else:
                    ax.annotate(
                        "",
                        (0.65, y),
                        (0.65, y0),
                        arrowprops={"arrowstyle": "->", "color": "darkorange", "connectionstyle": "arc3,rad=-0.4"},
                    )
    ax.set(xlim=(0, 1), ylim=(-0.6, n - 0.4), title=title)
    ax.axis("off")
    return fig


# -- SHAP explanations (nids.explain) ---------------------------------------------------------
from typing import TYPE_CHECKING  # noqa: E402

if TYPE_CHECKING:
    from nids.explain import ExplanationResult


def _top_features(result: ExplanationResult, top: int) -> list[str]:
    return list(result.importance().index[:top])


def shap_importance(result: ExplanationResult, title: str, top: int = 15) -> plt.Figure:
    """Global SHAP importance: mean |contribution| to each class probability, stacked per class.

    The bar length is the sum over classes, the feature order of :meth:`ExplanationResult.importance`.
    """
    table = result.class_importance().loc[_top_features(result, top)][::-1]
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(table) + 1.5))
    colors = sns.color_palette("tab10" if table.shape[1] <= 10 else "tab20", table.shape[1])
    left = np.zeros(len(table))
    for color, name in zip(colors, table.columns, strict=True):
        ax.barh(table.index, table[name], left=left, color=color, label=name)
        left += table[name].to_numpy()
    ax.set(xlabel="mean |SHAP value| (probability), summed over classes", title=title)
    ax.legend(fontsize=7, loc="lower right", ncol=2 if table.shape[1] > 5 else 1)
    return fig


def shap_beeswarm(result: ExplanationResult, title: str, top: int = 15) -> plt.Figure:
    """Each explained flow's contribution of each top feature to P(attack) = 1 - P(normal class).

    Points are coloured by the feature's value (its preprocessed, log-scaled value); categorical
    features, which have no order, are grey.
    """
    import warnings

    import shap

    color = result.encoded.astype(float).copy()
    color[:, [j for j, name in enumerate(result.feature_names) if name in result.categorical]] = np.nan
    explanation = shap.Explanation(values=result.attack_values(), data=color, feature_names=list(result.feature_names))
    fig, ax = plt.subplots(figsize=(8, 0.35 * min(top, len(result.feature_names)) + 1.5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN colour columns (categorical features)
        shap.plots.beeswarm(explanation, max_display=top, ax=ax, show=False, plot_size=None)
    ax.set_xlabel(f"SHAP value: contribution to P(attack) = 1 - P({result.normal_class})")
    ax.set_title(title)
    return fig


def shap_class_importance(result: ExplanationResult, title: str, top: int = 15) -> plt.Figure:
    """Per-class SHAP importance: each class's mean |contribution| per feature, as a share of the class total.

    Normalising each column lets a rare class (Worms) be read next to a common one (Normal).
    """
    table = result.class_importance()
    share = table / table.sum(axis=0).replace(0, np.nan)
    shown = share.loc[_top_features(result, top)]
    fig, ax = plt.subplots(figsize=(1.5 + 0.7 * shown.shape[1], 0.35 * len(shown) + 1.5))
    sns.heatmap(shown, annot=True, fmt=".2f", cmap="rocket_r", ax=ax, cbar=False, annot_kws={"size": 7})
    ax.set(xlabel="class probability explained", ylabel="", title=title)
    ax.tick_params(axis="x", rotation=45)
    return fig


def _format_value(value) -> str:
    if isinstance(value, float | np.floating):
        return f"{value:.4g}"
    return str(value)


def shap_waterfall(result: ExplanationResult, row: int, y_true: str | None = None, top: int = 10) -> plt.Figure:
    """How one flow's features move its predicted class's probability from the base value to the prediction.

    Bars are stacked from the base value (bottom) to the explained probability (top); the
    ``top`` largest contributions are shown one by one and the rest as one bar.
    """
    k = int(result.predicted[row])
    contributions = result.values[row, :, k]
    order = np.argsort(-np.abs(contributions), kind="stable")[:top]
    rest = float(contributions.sum() - contributions[order].sum())
    labels = [f"{result.feature_names[j]} = {_format_value(result.data.iloc[row, j])}" for j in order]
    # bottom: the other features together; then the shown features, the largest at the top
    items = [
        (f"{len(contributions) - len(order)} other features", rest),
        *list(zip(labels, contributions[order], strict=True))[::-1],
    ]
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(items) + 1.5))
    x = float(result.base_values[k])
    for y, (_, value) in enumerate(items):
        ax.barh(y, value, left=x, color="crimson" if value >= 0 else "steelblue", height=0.6)
        ax.text(x + value, y, f" {value:+.3f}", va="center", ha="left" if value >= 0 else "right", fontsize=7)
        x += value
    ax.set_yticks(range(len(items)), [label for label, _ in items], fontsize=8)
    ax.axvline(float(result.base_values[k]), color="grey", ls=":", lw=1)
    ax.axvline(x, color="black", ls="--", lw=1)
    name = result.classes[k]
    truth = "" if y_true is None else f"true {y_true}, "
    verdict = "" if y_true is None else (" (correct)" if y_true == name else " (WRONG)")
    ax.set(
        xlabel=f"P({name}): base {result.base_values[k]:.3f} -> {x:.3f} (model: {result.proba[row, k]:.3f})",
        title=f"{result.model_name}: {truth}predicted {name}{verdict}",
    )
    return fig


def shap_rank_agreement(
    first: pd.Series, second: pd.Series, names: tuple[str, str], agreement: dict, top: int = 10
) -> plt.Figure:
    """Ranks of the top features of two global SHAP importances, joined by lines (a slope chart).

    ``agreement`` is :func:`nids.explain.rank_agreement` of the two; its correlations go in the title.
    """
    rank_a = first.rank(ascending=False)
    rank_b = second.reindex(first.index).fillna(0.0).rank(ascending=False)
    leaders = [*first.sort_values(ascending=False).index[:top], *second.sort_values(ascending=False).index[:top]]
    union = list(dict.fromkeys(leaders))
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(union) + 2))
    for feature in union:
        a, b = rank_a[feature], rank_b[feature]
        both = a <= top and b <= top
        ax.plot([0, 1], [a, b], marker="o", color="seagreen" if both else "grey", alpha=0.9 if both else 0.5)
        ax.text(-0.03, a, f"{feature} ({a:.0f})", ha="right", va="center", fontsize=7)
        ax.text(1.03, b, f"({b:.0f}) {feature}", ha="left", va="center", fontsize=7)
    ax.set_xlim(-0.6, 1.6)
    ax.invert_yaxis()
    ax.set_xticks([0, 1], [f"{names[0]} rank", f"{names[1]} rank"])
    ax.set_yticks([])
    ax.set_title(
        f"top-{top} features: {agreement['top_overlap']} shared; Spearman {agreement['spearman_all']:+.2f} (all features), "
        f"{agreement['spearman_top_union']:+.2f} (top union)",
        fontsize=9,
    )
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    return fig


# -- ablation, latency and protocol comparison (notebook 06) ------------------------------------
def _bar_positions(groups: list[str], hues: list[str], width: float = 0.8) -> dict[tuple[str, str], float]:
    step = width / max(len(hues), 1)
    return {(g, h): i - width / 2 + step * (j + 0.5) for i, g in enumerate(groups) for j, h in enumerate(hues)}


def grouped_bars(table: pd.DataFrame, metric: str, title: str, group: str = "model", hue: str = "task") -> plt.Figure:
    """Bars of ``<metric>_mean`` per ``group`` (one colour per ``hue``), error bars ± ``<metric>_std``.

    ``table`` is an :func:`nids.ablation.aggregate` table; a single seed draws no error bar.
    """
    groups = list(dict.fromkeys(table[group]))
    hues = list(dict.fromkeys(table[hue]))
    where = _bar_positions(groups, hues)
    fig, ax = plt.subplots(figsize=(1.4 * len(groups) + 2, 4))
    colors = dict(zip(hues, sns.color_palette("tab10", len(hues)), strict=True))
    width = 0.8 / max(len(hues), 1)
    for h in hues:
        block = table[table[hue] == h]
        x = [where[(g, h)] for g in block[group]]
        std = block[f"{metric}_std"].fillna(0).to_numpy()
        ax.bar(x, block[f"{metric}_mean"], width=width, yerr=std, capsize=3, color=colors[h], label=str(h))
    ax.set_xticks(range(len(groups)), groups, rotation=25, ha="right", fontsize=8)
    ax.set(ylabel=f"{metric} (mean ± std over seeds)", title=title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def accuracy_latency(points: pd.DataFrame, title: str, score: str = "accuracy", cost: str = "single_p50_ms") -> plt.Figure:
    """Score against latency, one point per model; the Pareto front (column ``pareto``) joined by a line.

    ``points`` has columns ``label``, ``score``, ``cost`` and a boolean ``pareto`` (see
    :func:`nids.evaluation.pareto_front`).
    """
    fig, ax = plt.subplots(figsize=(7, 4.5))
    front = points[points["pareto"]].sort_values(cost)
    ax.plot(front[cost], front[score], color="darkorange", lw=1.5, zorder=1, label="Pareto front")
    for on, marker, color in ((False, "o", "grey"), (True, "D", "darkorange")):
        block = points[points["pareto"] == on]
        ax.scatter(block[cost], block[score], marker=marker, color=color, zorder=2, s=40)
    for _, row in points.iterrows():
        ax.annotate(str(row["label"]), (row[cost], row[score]), fontsize=7, xytext=(4, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set(xlabel=f"{cost} (log scale)", ylabel=score, title=title)
    ax.legend(fontsize=8, loc="lower right")
    return fig


def training_time_bars(table: pd.DataFrame, title: str) -> plt.Figure:
    """Total training seconds (mean ± std) per model and task, with seconds per epoch and epochs in the labels."""
    fig = grouped_bars(table, "train_seconds", title)
    ax = fig.axes[0]
    groups = list(dict.fromkeys(table["model"]))
    where = _bar_positions(groups, list(dict.fromkeys(table["task"])))
    for _, row in table.iterrows():
        if pd.notna(row.get("seconds_per_epoch_mean")):
            x = where[(row["model"], row["task"])]
            ax.text(
                x, row["train_seconds_mean"], f"{row['seconds_per_epoch_mean']:.1f}s/ep\n{row['epochs_mean']:.1f} ep",
                ha="center", va="bottom", fontsize=6,
            )  # fmt: skip
    ax.set_ylabel("training seconds (mean ± std over seeds)")
    return fig


def per_class_f1_means(table: pd.DataFrame, title: str) -> plt.Figure:
    """Heat map of mean per-class F1 (columns ``f1[<class>]_mean`` of an aggregate table), one row per model."""
    columns = [c for c in table.columns if c.startswith("f1[") and c.endswith("]_mean")]
    frame = table.set_index("model")[columns].dropna(axis=1, how="all")
    frame.columns = [c[3:-6] for c in frame.columns]
    fig, ax = plt.subplots(figsize=(1.5 + 0.8 * frame.shape[1], 1 + 0.5 * frame.shape[0]))
    sns.heatmap(frame, annot=True, fmt=".2f", cmap="viridis", vmin=0, vmax=1, ax=ax, annot_kws={"size": 7})
    ax.set(title=title, ylabel="", xlabel="class (mean F1 over seeds)")
    return fig


def protocol_comparison(table: pd.DataFrame, ceilings: dict[str, float], title: str) -> plt.Figure:
    """Accuracy under the ``random`` and ``dedup`` splits per model, one panel per task, the audit ceiling as a line.

    ``table`` is :func:`nids.ablation.protocol_table`; ``ceilings`` maps a task to the audit's
    achievable-accuracy ceiling (the accuracy of a lookup table that memorised every row).
    """
    tasks = list(dict.fromkeys(table["task"]))
    fig, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 4), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        block = table[table["task"] == task]
        models = list(block["model"])
        x = np.arange(len(models))
        for offset, protocol, color in ((-0.2, "random", "indianred"), (0.2, "dedup", "steelblue")):
            column = f"accuracy_{protocol}"
            if column in block:
                ax.bar(x + offset, block[column], width=0.4, color=color, label=protocol)
        if task in ceilings:
            ax.axhline(ceilings[task], color="seagreen", ls="--", label=f"audit ceiling {ceilings[task]:.4f}")
        low = np.nanmin(block[[c for c in block.columns if c.startswith("accuracy_") and "inflation" not in c]].to_numpy())
        ax.set_ylim(max(0.0, low - 0.1), 1.0)
        ax.set_xticks(x, models, rotation=25, ha="right", fontsize=8)
        ax.set(title=f"{task}", ylabel="test accuracy")
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    return fig

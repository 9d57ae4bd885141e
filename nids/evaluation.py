"""Metrics, metric records and latency measurement.

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

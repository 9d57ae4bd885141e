"""evaluate(): every metric checked against values computed by hand on tiny inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nids.evaluation import evaluate, roc_auc


def test_binary_metrics_by_hand():
    # classes in model-output order; rows: true label, P(attack)
    classes = ["attack", "normal"]
    y_true = ["normal", "normal", "normal", "normal", "attack", "attack", "attack", "attack"]
    p_attack = np.array([0.1, 0.2, 0.7, 0.3, 0.9, 0.8, 0.4, 0.6])
    proba = np.column_stack([p_attack, 1 - p_attack])
    m = evaluate(y_true, proba, classes, normal_class="normal")
    # predicted: n n A n | A A n A  -> TP=3 FN=1 FP=1 TN=3
    assert m["accuracy"] == pytest.approx(6 / 8)
    assert m["far"] == pytest.approx(1 / 4)
    assert m["detection_rate"] == pytest.approx(3 / 4)
    assert m["per_class"]["attack"] == {"precision": 0.75, "recall": 0.75, "f1": 0.75, "support": 4}
    assert m["per_class"]["normal"] == {"precision": 0.75, "recall": 0.75, "f1": 0.75, "support": 4}
    assert m["f1_macro"] == pytest.approx(0.75)
    assert m["f1_weighted"] == pytest.approx(0.75)
    # AUC: of the 16 (attack, normal) pairs, the attack scores higher in 14
    assert m["roc_auc"] == pytest.approx(14 / 16)
    assert m["confusion_matrix"] == {"labels": ["attack", "normal"], "matrix": [[3, 1], [1, 3]]}


def test_binary_auc_does_not_depend_on_column_order():
    y_true = np.array(["normal", "attack", "attack", "normal"])
    p_attack = np.array([0.2, 0.9, 0.4, 0.5])
    a = roc_auc(y_true, np.column_stack([p_attack, 1 - p_attack]), ["attack", "normal"], "normal")
    b = roc_auc(y_true, np.column_stack([1 - p_attack, p_attack]), ["normal", "attack"], "normal")
    assert a == b == pytest.approx(3 / 4)


def test_multiclass_metrics_by_hand():
    classes = ["DoS", "Exploits", "Normal"]
    y_true = ["Normal", "Normal", "Normal", "DoS", "DoS", "Exploits", "Exploits", "Exploits"]
    predicted = ["Normal", "Normal", "DoS", "DoS", "Exploits", "Exploits", "Exploits", "Normal"]
    proba = np.zeros((8, 3))
    for i, name in enumerate(predicted):
        proba[i] = 0.1
        proba[i, classes.index(name)] = 0.8
    m = evaluate(y_true, proba, classes, normal_class="Normal")
    assert m["accuracy"] == pytest.approx(5 / 8)
    # per class: DoS P=1/2 R=1/2; Exploits P=2/3 R=2/3; Normal P=2/3 R=2/3
    assert m["per_class"]["DoS"]["precision"] == pytest.approx(0.5)
    assert m["per_class"]["Exploits"]["recall"] == pytest.approx(2 / 3)
    assert m["per_class"]["Normal"]["f1"] == pytest.approx(2 / 3)
    assert m["precision_macro"] == pytest.approx((1 / 2 + 2 / 3 + 2 / 3) / 3)
    assert m["f1_macro"] == pytest.approx((1 / 2 + 2 / 3 + 2 / 3) / 3)
    assert m["f1_weighted"] == pytest.approx((2 * 1 / 2 + 3 * 2 / 3 + 3 * 2 / 3) / 8)
    # benign flagged as any attack: 1 of 3; attacks flagged as any attack (even the wrong one): 4 of 5
    assert m["far"] == pytest.approx(1 / 3)
    assert m["detection_rate"] == pytest.approx(4 / 5)
    assert m["confusion_matrix"]["labels"] == classes
    assert m["confusion_matrix"]["matrix"] == [[1, 1, 0], [0, 2, 1], [1, 0, 2]]
    assert sum(v["support"] for v in m["per_class"].values()) == 8


def test_multiclass_auc_is_the_mean_one_vs_rest_auc():
    classes = ["a", "b", "c"]
    y_true = np.array(["a", "a", "b", "b", "c", "c"])
    proba = np.eye(3)[[0, 0, 1, 1, 2, 2]] * 0.9 + 0.05  # a perfect ranking
    assert roc_auc(y_true, proba, classes, "a") == pytest.approx(1.0)
    proba[0] = [0.05, 0.9, 0.05]  # one "a" now ranked below every other row for class a
    # class a: positives {0.05, 0.95} vs negatives {0.05 x4}: pairs 0.5*4 + 1*4 = 6 of 8
    # class b: positives {0.95, 0.95} vs negatives {0.9, 0.05, 0.05, 0.05}: 8 of 8 -> 1
    assert roc_auc(y_true, proba, classes, "a") == pytest.approx((6 / 8 + 1 + 1) / 3)


def test_auc_skips_absent_classes_and_is_nan_when_undefined():
    classes = ["a", "b", "c"]
    y_true = np.array(["a", "a", "b", "b"])  # no "c" in the test rows
    proba = np.array([[0.8, 0.1, 0.1], [0.7, 0.2, 0.1], [0.2, 0.7, 0.1], [0.3, 0.6, 0.1]])
    assert roc_auc(y_true, proba, classes, "a") == pytest.approx(1.0)
    assert math.isnan(roc_auc(np.array(["a", "a"]), proba[:2], classes, "a"))
    assert math.isnan(roc_auc(np.array(["attack", "attack"]), np.array([[0.9, 0.1], [0.2, 0.8]]), ["attack", "normal"], "normal"))


def test_far_and_detection_rate_are_nan_without_their_class():
    m = evaluate(["attack", "attack"], np.array([[0.9, 0.1], [0.2, 0.8]]), ["attack", "normal"], "normal")
    assert math.isnan(m["far"])
    assert m["detection_rate"] == pytest.approx(0.5)
    m = evaluate(["normal", "normal"], np.array([[0.9, 0.1], [0.2, 0.8]]), ["attack", "normal"], "normal")
    assert math.isnan(m["detection_rate"])
    assert m["far"] == pytest.approx(0.5)


def test_a_perfect_model():
    classes = ["DoS", "Normal"]
    y_true = ["DoS", "Normal", "Normal"]
    m = evaluate(y_true, np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]), classes, "Normal")
    for key in ("accuracy", "precision_macro", "recall_macro", "f1_macro", "f1_weighted", "detection_rate", "roc_auc"):
        assert m[key] == pytest.approx(1.0), key
    assert m["far"] == 0.0


def test_result_is_json_ready():
    import json

    m = evaluate(["a", "b"], np.array([[0.6, 0.4], [0.3, 0.7]]), ["a", "b"], "a")
    assert json.loads(json.dumps(m))["accuracy"] == 1.0

"""SHAP explanations of a detector's class probabilities, on the features a user knows.

Every explainer here explains the detector's *probability of each class*, computed on the
preprocessed feature space, and every attribution is then summed back to the original input
feature it came from (the one-hot columns of ``proto``, ``service``, ``state``... count as one
feature each, see :func:`nids.features.original_feature`). The result is one
:class:`ExplanationResult`: values of shape ``(n_rows, n_features, n_classes)`` that add up, with
the base values, to the probabilities they explain.

Random Forest (``kind == "sklearn"``): ``shap.TreeExplainer`` with ``tree_path_dependent``
perturbation (no background needed: the trees' own training covers stand in for it, and the
values add up exactly to ``predict_proba``). Its cost grows with the number of leaves times their
depth: about 0.4 s per row and 10 classes for 100 fully grown trees on UNSW-NB15 (depth ~37,
~7,600 nodes per tree) on a 2-core machine, so a few thousand rows take tens of minutes. When the
estimated cost of the requested rows exceeds a time budget, the *same forest cut at a depth cap*
is explained instead: every tree is truncated at depth ``d`` and each cut node predicts the class
fractions of the training records that reached it (stored by scikit-learn at every node). That
depth-capped surrogate needs no data to build, its SHAP values are exact for it, and its fidelity
to the full forest (top-class agreement, mean absolute probability difference) is measured on the
explained rows and recorded.

Deep models (``kind == "keras"``): SHAP's ``DeepExplainer`` fails on TensorFlow >= 2.16 / Keras 3
and on recurrent layers (on the ConvLSTM models it stops at ``LookupError: gradient registry has
no entry for: shap_AvgPool3D``, and leaves TensorFlow's gradient recording patched: restored
here). ``GradientExplainer`` (expected gradients) works on a flat-input Keras wrapper of the model
(``(n, F)`` preprocessed features -> frames -> model), so it is the first choice; its per-class
gradient functions are replaced by slices of one shared batch Jacobian (one trace instead of one
per class, same values). Whenever the chosen gradient explainer fails, ``PermutationExplainer``
over the model's prediction function takes over automatically, and
:attr:`ExplanationResult.explainer` and ``details["attempts"]`` record what ran and what failed.
The permutation explainer masks whole original features (a categorical feature is one code,
decoded back to its one-hot block), so it never builds impossible inputs with two categories on.

Importing this module is cheap: SHAP and TensorFlow are imported only when something is explained.
"""

from __future__ import annotations

import json
import time
import warnings
import weakref
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from nids.errors import NidsError

# Seconds of path-dependent Tree SHAP per explained row, per unit of "sum over all leaves of the
# leaf's depth" in the forest; measured for 10 classes on the project's 2-core machine
# (3.5e-8 .. 5.6e-8 from depth caps 8 .. uncapped), rounded up so the estimate errs long.
TREE_SHAP_SECONDS_PER_LEAF_DEPTH = 6e-8
# Depth caps tried, deepest first, when the uncapped forest does not fit the budget.
DEPTH_CAPS = (24, 20, 16, 14, 12, 10, 8, 6)
DEEP_METHODS = ("auto", "gradient", "deep", "permutation")
# Largest inference batch of nids.deep.make_predictor: permutation evaluations are sized to fill it.
_INFERENCE_BATCH = 4096


@dataclass
class ExplanationResult:
    """SHAP values of one detector on some flows, summed back to the original features.

    Attributes:
        values: ``(n_rows, n_features, n_classes)`` contribution of each original feature to each
            class probability. With ``outputs="predicted"`` only each row's predicted class is
            explained and the other classes hold NaN.
        base_values: ``(n_classes,)`` the expected probabilities the contributions start from.
        proba: ``(n_rows, n_classes)`` the detector's own probabilities for the rows.
        explained: ``(n_rows, n_classes)`` ``base_values + values.sum(features)``: equal to
            ``proba`` for exact explainers, the surrogate's probabilities for a depth-capped
            forest, close to ``proba`` for expected gradients.
        feature_names: the original features, in the detector's input order.
        classes: class names, in the order of the last axis.
        normal_class: the class that means benign traffic.
        data: the explained rows' input values (aligned to ``feature_names``).
        encoded: ``(n_rows, n_features)`` numeric view of ``data``: numeric features as their
            preprocessed (log-scaled, standardised) value, categorical ones as a category code.
        explainer: the SHAP explainer that produced ``values`` (e.g. ``"GradientExplainer"``).
        model_name: the detector's model name.
        seconds: wall-clock seconds spent explaining (fallback attempts included).
        details: what was chosen and measured: sizes, depth cap, fidelity, failed attempts.
        categorical: the categorical features among ``feature_names``.
    """

    values: np.ndarray
    base_values: np.ndarray
    proba: np.ndarray
    explained: np.ndarray
    feature_names: list[str]
    classes: list[str]
    normal_class: str
    data: pd.DataFrame
    encoded: np.ndarray
    explainer: str
    model_name: str
    seconds: float
    details: dict = field(default_factory=dict)
    categorical: list[str] = field(default_factory=list)

    @property
    def n_rows(self) -> int:
        return int(self.values.shape[0])

    @property
    def predicted(self) -> np.ndarray:
        """Index of each row's predicted class (the detector's, not a surrogate's)."""
        return np.argmax(self.proba, axis=1)

    def predicted_values(self) -> np.ndarray:
        """``(n_rows, n_features)``: each row's contributions to its own predicted class."""
        return self.values[np.arange(self.n_rows), :, self.predicted]

    def attack_values(self) -> np.ndarray:
        """``(n_rows, n_features)``: contributions to P(attack) = 1 - P(normal class)."""
        return -self.values[:, :, self.classes.index(self.normal_class)]

    def class_importance(self) -> pd.DataFrame:
        """Mean absolute contribution of each feature (rows) to each class probability (columns).

        With ``outputs="predicted"`` the mean is over the rows predicted as that class (0 if none).
        """
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a class no row was explained for
            mean = np.nan_to_num(np.nanmean(np.abs(self.values), axis=0))
        return pd.DataFrame(mean, index=self.feature_names, columns=self.classes)

    def importance(self) -> pd.Series:
        """Global importance: mean absolute contribution summed over classes, largest first."""
        return self.class_importance().sum(axis=1).sort_values(ascending=False)

    def additivity_gap(self, mean: bool = False) -> float:
        """Largest (or mean) ``|explained - proba|`` over the explained entries."""
        gap = np.abs(self.explained - self.proba)
        if not np.isfinite(gap).any():
            return float("nan")
        return float(np.nanmean(gap) if mean else np.nanmax(gap))

    def describe(self) -> str:
        """One line: what explained how many rows in how long, with the fallback or the surrogate's fidelity."""
        d = self.details
        text = f"{self.model_name}: {self.explainer} on {self.n_rows} flows in {self.seconds:.1f} s"
        if d.get("depth_cap") is not None:
            text += (
                f"; the full forest would take about {d['estimated_seconds_full_forest']:g} s (budget {d['budget_s']:g} s), "
                f"so it was cut at depth {d['depth_cap']} (of {d['max_tree_depth']}): the cut forest agrees with the full one "
                f"on the top class of {d['fidelity_top_class_agreement']:.1%} of the flows, mean |delta p| "
                f"{d['fidelity_mean_abs_proba_diff']:.4f}"
            )
        elif "estimated_seconds_full_forest" in d:
            text += f" (exact; estimated {d['estimated_seconds_full_forest']:g} s)"
        if d.get("background_rows"):
            text += f"; background {d['background_rows']} flows"
        for attempt in d.get("attempts", []):
            text += f"; {attempt['explainer']} failed first ({attempt['error']})"
        gaps = f"{self.additivity_gap(mean=True):.4f} mean, {self.additivity_gap():.4f} max"
        return text + f"; |base + sum of contributions - model probability|: {gaps}"

    def summary(self, top: int = 10) -> dict:
        """A JSON-ready record of what was explained, how, and the top features."""
        importance = self.importance()
        return {
            "model": self.model_name,
            "explainer": self.explainer,
            "rows": self.n_rows,
            "seconds": round(self.seconds, 2),
            "max_gap_to_model_proba": round(self.additivity_gap(), 6),
            "mean_gap_to_model_proba": round(self.additivity_gap(mean=True), 6),
            "top_features": {k: round(float(v), 6) for k, v in importance.head(top).items()},
            **self.details,
        }


# -- original features ------------------------------------------------------------------------
class FeatureCodec:
    """Maps preprocessed columns to the original features they came from, and back.

    ``encode`` turns ``(n, F)`` preprocessed rows into ``(n, M)`` original-feature codes (numeric
    features keep their preprocessed value; a categorical feature becomes the index of its active
    one-hot column, or -1 when none is active) and ``decode`` inverts it, so a model-agnostic
    explainer can mask whole original features.
    """

    def __init__(self, preprocessor, features: list[str], categorical: list[str]) -> None:
        from nids.features import original_feature

        origin = original_feature(preprocessor)
        width = len(preprocessor.get_feature_names_out())
        if len(origin) != width or set(origin) - set(features):
            raise NidsError(
                f"cannot map the {width} preprocessed columns back to the {len(features)} input features "
                f"(mapped {len(origin)} columns to {sorted(set(origin) - set(features)) or 'known features'})"
            )
        self.features = list(features)
        self.categorical = set(categorical)
        self.origin = np.asarray(origin, dtype=object)
        self.columns = [np.flatnonzero(self.origin == f) for f in self.features]
        self.membership = np.zeros((width, len(self.features)))
        for j, columns in enumerate(self.columns):
            self.membership[columns, j] = 1.0

    def to_original(self, values: np.ndarray) -> np.ndarray:
        """Sum attributions ``(n, F, k)`` over the columns of each original feature -> ``(n, M, k)``."""
        return np.einsum("nfk,fm->nmk", values, self.membership)

    def encode(self, X: np.ndarray) -> np.ndarray:
        Z = np.zeros((len(X), len(self.features)))
        for j, (name, columns) in enumerate(zip(self.features, self.columns, strict=True)):
            if not len(columns):
                continue
            if name in self.categorical:
                block = X[:, columns]
                Z[:, j] = np.where(block.max(axis=1) > 0.5, block.argmax(axis=1), -1)
            else:
                Z[:, j] = X[:, columns[0]]
        return Z

    def decode(self, Z: np.ndarray) -> np.ndarray:
        X = np.zeros((len(Z), len(self.origin)), dtype=np.float32)
        for j, (name, columns) in enumerate(zip(self.features, self.columns, strict=True)):
            if not len(columns):
                continue
            if name in self.categorical:
                code = np.rint(Z[:, j]).astype(int)
                active = np.flatnonzero((code >= 0) & (code < len(columns)))
                X[active, columns[code[active]]] = 1.0
            else:
                X[:, columns[0]] = Z[:, j]
        return X


def _prepare(detector, flows: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    from nids.features import transform

    aligned, _ = detector.align(flows)
    if aligned.empty:
        raise NidsError("nothing to explain: the table has no rows")
    return aligned.reset_index(drop=True), transform(detector.preprocessor, aligned)


def _result(detector, codec, aligned, X, values, base, explainer, seconds, details, proba=None) -> ExplanationResult:
    proba = detector.predict_proba_features(X) if proba is None else proba
    base = np.asarray(base, dtype=np.float64).reshape(-1)
    explained = base[None, :] + values.sum(axis=1)
    return ExplanationResult(
        values=values,
        base_values=base,
        proba=proba,
        explained=explained,
        feature_names=list(detector.features),
        classes=list(detector.classes),
        normal_class=detector.normal_class,
        data=aligned,
        encoded=codec.encode(X),
        explainer=explainer,
        model_name=detector.model_name,
        seconds=seconds,
        details=details,
        categorical=list(detector.categorical),
    )


# -- Random Forest ----------------------------------------------------------------------------
def _node_depths(tree) -> np.ndarray:
    depth = np.zeros(tree.node_count, dtype=np.int64)
    frontier = np.array([0])
    while len(frontier):
        internal = frontier[tree.children_left[frontier] != -1]
        children = np.concatenate([tree.children_left[internal], tree.children_right[internal]])
        depth[children] = np.concatenate([depth[internal], depth[internal]]) + 1
        frontier = children
    return depth


def forest_cost_per_row(model, depth_cap: int | None = None) -> float:
    """Estimated seconds of path-dependent Tree SHAP per explained row (all classes).

    The estimate is deterministic (the same forest always gets the same choice, whatever the
    machine's load): the sum over the leaves of the forest, cut at ``depth_cap``, of their depth,
    times :data:`TREE_SHAP_SECONDS_PER_LEAF_DEPTH`.
    """
    total = 0
    for estimator in model.estimators_:
        tree = estimator.tree_
        depth = _node_depths(tree)
        is_leaf = tree.children_left == -1
        if depth_cap is not None:
            kept = depth <= depth_cap
            is_leaf = kept & (is_leaf | (depth == depth_cap))
        total += int(depth[is_leaf].sum())
    return total * TREE_SHAP_SECONDS_PER_LEAF_DEPTH


def choose_depth_cap(model, n_rows: int, budget_s: float | None) -> int | None:
    """``None`` (explain the full forest) when it fits ``budget_s``, else the deepest cap that fits."""
    deepest = max(e.tree_.max_depth for e in model.estimators_)
    if budget_s is None or forest_cost_per_row(model) * n_rows <= budget_s:
        return None
    for cap in DEPTH_CAPS:
        if cap < deepest and forest_cost_per_row(model, cap) * n_rows <= budget_s:
            return cap
    return min(DEPTH_CAPS)


def truncated_forest(model, depth_cap: int) -> dict:
    """``model`` with every tree cut at ``depth_cap``, in SHAP's dictionary tree format.

    A cut node becomes a leaf that predicts the class fractions of the training records that
    reached it (what scikit-learn stores at every node), so the result is the forest's own
    depth-capped approximation, built without any data.
    """
    scale = 1.0 / len(model.estimators_)
    trees = []
    for estimator in model.estimators_:
        tree = estimator.tree_
        depth = _node_depths(tree)
        kept = np.flatnonzero(depth <= depth_cap)
        new_index = np.full(tree.node_count, -1, dtype=np.int32)
        new_index[kept] = np.arange(len(kept), dtype=np.int32)
        leaf = (tree.children_left[kept] == -1) | (depth[kept] == depth_cap)
        left = np.where(leaf, -1, new_index[tree.children_left[kept]]).astype(np.int32)
        right = np.where(leaf, -1, new_index[tree.children_right[kept]]).astype(np.int32)
        value = tree.value[kept][:, 0, :].astype(np.float64)
        trees.append(
            {
                "children_left": left,
                "children_right": right,
                "children_default": left.copy(),
                "features": np.where(leaf, -2, tree.feature[kept]).astype(np.int32),
                "thresholds": np.where(leaf, -2.0, tree.threshold[kept]).astype(np.float64),
                "values": value / np.maximum(value.sum(axis=1, keepdims=True), 1e-300) * scale,
                "node_sample_weight": tree.weighted_n_node_samples[kept].astype(np.float64),
            }
        )
    return {"trees": trees, "tree_output": "probability", "input_dtype": np.float32, "internal_dtype": np.float64}


def explain_forest(
    detector,
    flows: pd.DataFrame,
    *,
    depth_cap: int | str | None = "auto",
    budget_s: float | None = 60.0,
) -> ExplanationResult:
    """Tree SHAP values of a Random Forest detector's class probabilities.

    Args:
        detector: a detector of kind ``"sklearn"`` (Random Forest).
        flows: the flows to explain (input columns; extra columns are ignored).
        depth_cap: ``None`` explains the full forest; an int explains the forest cut at that
            depth; ``"auto"`` explains the full forest when its estimated cost fits ``budget_s``
            and otherwise the deepest cap that fits (:func:`choose_depth_cap`).
        budget_s: seconds the ``"auto"`` choice may spend (``None``: no limit).

    Returns:
        The explanation; ``details`` records the depth cap, the cost estimate and, for a capped
        forest, its fidelity to the full one on these rows.

    Raises:
        NidsError: the detector is not a Random Forest, or ``depth_cap`` is not valid.
    """
    import shap

    if detector.kind != "sklearn" or not hasattr(detector.model, "estimators_"):
        raise NidsError(f"explain_forest expects a Random Forest detector; got a {detector.kind} model {detector.model_name!r}")
    aligned, X = _prepare(detector, flows)
    codec = FeatureCodec(detector.preprocessor, detector.features, detector.categorical)
    model = detector.model
    if depth_cap == "auto":
        cap = choose_depth_cap(model, len(X), budget_s)
    elif depth_cap is None or (isinstance(depth_cap, int) and not isinstance(depth_cap, bool) and depth_cap >= 1):
        cap = depth_cap
    else:
        raise NidsError(f"depth_cap must be None, a positive int or 'auto'; got {depth_cap!r}")
    if cap is not None and cap >= max(e.tree_.max_depth for e in model.estimators_):
        cap = None  # cutting below the deepest leaf changes nothing
    start = time.perf_counter()
    if cap is None:
        explainer = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
        name = "TreeExplainer"
    else:
        explainer = shap.TreeExplainer(truncated_forest(model, cap), feature_perturbation="tree_path_dependent")
        name = f"TreeExplainer (depth-{cap} surrogate)"
    raw = np.asarray(explainer.shap_values(X, check_additivity=False), dtype=np.float64)
    seconds = time.perf_counter() - start
    if raw.ndim == 2:  # a single-class forest
        raw = raw[:, :, None]
    present = model.classes_.astype(int)
    values = np.zeros((len(X), X.shape[1], len(detector.classes)))
    values[:, :, present] = raw
    base = np.zeros(len(detector.classes))
    base[present] = np.asarray(explainer.expected_value, dtype=np.float64).reshape(-1)
    details = {
        "feature_perturbation": "tree_path_dependent",
        "background_rows": 0,
        "depth_cap": cap,
        "trees": len(model.estimators_),
        "max_tree_depth": int(max(e.tree_.max_depth for e in model.estimators_)),
        "estimated_seconds_full_forest": round(forest_cost_per_row(model) * len(X), 1),
        "budget_s": budget_s,
    }
    result = _result(detector, codec, aligned, X, codec.to_original(values), base, name, seconds, details)
    if cap is not None:
        surrogate = result.explained
        result.details["fidelity_top_class_agreement"] = round(float(np.mean(surrogate.argmax(1) == result.predicted)), 4)
        result.details["fidelity_mean_abs_proba_diff"] = round(float(np.mean(np.abs(surrogate - result.proba))), 5)
    return result


# -- deep models ------------------------------------------------------------------------------
@contextmanager
def _quiet_tensorflow():
    """Silence Keras input-structure warnings and tf.function retracing notices while explaining."""
    import logging

    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def flat_keras_model(detector):
    """A Keras model from preprocessed features ``(n, F)`` to class probabilities.

    It lays the features out as the detector's frames (zero padding, then ``(T, H, W, 1)``) with
    built-in layers in front of the detector's model, so gradient explainers see a flat input.
    """
    import keras
    from keras import layers

    cfg = detector.frame_config or {}
    n_features = int(cfg["n_features"])
    shape = (int(cfg["timesteps"]), int(cfg["height"]), int(cfg["width"]), 1)
    capacity = int(np.prod(shape))
    inputs = keras.Input(shape=(n_features,), name="features")
    x = layers.Reshape((n_features, 1))(inputs)
    if capacity > n_features:
        x = layers.ZeroPadding1D((0, capacity - n_features))(x)
    x = layers.Reshape(shape)(x)
    return keras.Model(inputs, detector.model(x), name=f"flat_{detector.model.name}")


def _check_values(values: np.ndarray, n_rows: int, n_columns: int, n_classes: int, outputs: str) -> None:
    if values.shape != (n_rows, n_columns, n_classes):
        raise NidsError(f"explainer returned shape {values.shape}, expected {(n_rows, n_columns, n_classes)}")
    finite = np.isfinite(values).all(axis=1)  # (rows, classes): every feature explained
    explained = finite.all() if outputs == "all" else (finite.sum(axis=1) == 1).all()
    if not explained:
        raise NidsError("explainer returned non-finite values")


# Per Keras model: its flat wrapper and traced batch Jacobian, so that a second explanation of the
# same detector (the notebook's local flows) does not trace again (seconds per trace).
_FLAT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _flat_model_and_jacobian(detector):
    """The flat wrapper of ``detector.model`` and a batch-Jacobian function of it, built once per model."""
    if detector.model not in _FLAT:
        import tensorflow as tf

        model = flat_keras_model(detector)
        spec = tf.TensorSpec(shape=(None, model.input_shape[-1]), dtype=tf.float32)

        @tf.function(input_signature=[spec])
        def jacobian(x):
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(x)
                out = model(x, training=False)
            return tape.batch_jacobian(out, x)

        _FLAT[detector.model] = (model, jacobian)
    return _FLAT[detector.model]


def _shared_jacobian(jacobian, n_classes: int) -> list:
    """Per-class gradient functions for ``shap.GradientExplainer`` that share one traced Jacobian.

    SHAP's explainer traces one ``tf.function`` per class (about 2 s each for the ConvLSTM models
    on a 2-core CPU: 20 s of tracing for 10 classes) and runs one backward pass per class. It
    draws the same expected-gradients samples for every class (it reseeds per class), so one
    batch Jacobian per sample batch serves all classes: traced once, run once, cached, and sliced
    per class. The attributions are unchanged (``tests/unit/test_explain.py`` compares them).
    """
    import tensorflow as tf

    cache: dict[bytes, np.ndarray] = {}

    def gradient_of(i: int):
        def run(inputs):
            x = np.asarray(inputs[0], dtype=np.float32)
            key = x.tobytes()
            if key not in cache:
                cache[key] = jacobian(tf.constant(x)).numpy()
            return [cache[key][:, i, :]]

        return run

    return [gradient_of(i) for i in range(n_classes)]


def _gradient_values(detector, X, background, nsamples, seed, predicted, jacobian, forward):
    """Expected gradients on the flat wrapper; ``predicted``: the class index to explain per row, or None for all."""
    import shap

    model, batch_jacobian = _flat_model_and_jacobian(detector)
    explainer = shap.GradientExplainer(model, background, batch_size=nsamples)
    k = len(detector.classes)
    inner = getattr(explainer, "explainer", None)
    if jacobian and isinstance(getattr(inner, "gradients", None), list) and len(inner.gradients) == k:
        inner.gradients = _shared_jacobian(batch_jacobian, k)
    if predicted is not None:
        ranks = np.asarray(predicted, dtype=int).reshape(-1, 1)
        raw, _ = explainer.shap_values(X, nsamples=nsamples, ranked_outputs=ranks, output_rank_order="custom", rseed=seed)
        values = np.full((len(X), X.shape[1], k), np.nan)
        values[np.arange(len(X)), :, ranks[:, 0]] = np.asarray(raw, dtype=np.float64).reshape(len(X), X.shape[1])
    else:
        values = np.asarray(explainer.shap_values(X, nsamples=nsamples, rseed=seed), dtype=np.float64)
        if values.ndim == 2:
            values = values[:, :, None]
    return values, forward(background).mean(axis=0)


def _deep_values(detector, X, background):
    import shap
    from tensorflow.python.eager import execute as tf_execute

    # DeepExplainer patches TensorFlow's eager gradient recording and does not undo it when the
    # model contains an op it has no rule for; put it back so later gradients still work.
    recorder = tf_execute.record_gradient
    try:
        explainer = shap.DeepExplainer(flat_keras_model(detector), background)
        raw = explainer.shap_values(X, check_additivity=False)
    finally:
        tf_execute.record_gradient = recorder
    values = np.asarray(raw, dtype=np.float64)
    if values.ndim == 2:
        values = values[:, :, None]
    return values, np.asarray(explainer.expected_value, dtype=np.float64)


def _frames_predictor(detector):
    """Preprocessed features -> probabilities, in graph mode (no XLA, no padding).

    The detector's own inference path XLA-compiles small batch shapes (seconds per new shape)
    and pads batches; explaining sends a handful of large, odd-sized batches (the permutation
    explainer one batch of ``(2M + 1) x background`` rows per explained row), for which the
    plain traced graph is as fast and compiles nothing. Probabilities agree with
    ``Detector.predict_proba_features`` to float32 rounding.
    """
    from nids.frames import FrameConfig, to_frames
    from nids.models.convlstm import make_predict_fn

    cfg = detector.frame_config
    frames = FrameConfig(int(cfg["timesteps"]), int(cfg["height"]), int(cfg["width"]))
    forward = make_predict_fn(detector.model, jit_compile=False)
    return lambda X: np.asarray(forward(to_frames(X, frames)), dtype=np.float64)


def _permutation_values(codec, X, background, seed, permutations, background_rows, forward):
    import shap

    Z = codec.encode(X)
    rng = np.random.default_rng(seed)
    reference = codec.encode(background[rng.permutation(len(background))[:background_rows]])
    masker = shap.maskers.Independent(reference, max_samples=len(reference))

    def predict(codes: np.ndarray) -> np.ndarray:
        return forward(codec.decode(codes))

    explainer = shap.PermutationExplainer(predict, masker, seed=seed)
    explanation = explainer(Z, max_evals=permutations * (2 * Z.shape[1] + 1), silent=True)
    values = np.asarray(explanation.values, dtype=np.float64)
    if values.ndim == 2:
        values = values[:, :, None]
    base = np.asarray(explanation.base_values, dtype=np.float64).reshape(len(Z), -1)[0]
    return values, base, len(reference)


def explain_deep(
    detector,
    flows: pd.DataFrame,
    background: pd.DataFrame,
    *,
    method: str = "auto",
    outputs: str = "all",
    nsamples: int = 64,
    background_rows: int = 50,
    permutations: int = 1,
    permutation_background: int = 24,
    jacobian: bool = True,
    seed: int = 0,
) -> ExplanationResult:
    """SHAP values of a deep (Keras) detector's class probabilities, with automatic fallback.

    Args:
        detector: a detector of kind ``"keras"``.
        flows: the flows to explain.
        background: reference flows the explanation integrates over (e.g. training rows); at most
            ``background_rows`` of them are used.
        method: ``"auto"`` or ``"gradient"`` (GradientExplainer, falling back to permutation),
            ``"deep"`` (DeepExplainer, falling back to permutation) or ``"permutation"``.
        outputs: ``"all"`` classes, or only each row's ``"predicted"`` class (one gradient pass
            per row instead of one per class; the permutation explainer always gives all).
        nsamples: expected-gradients samples per row (all classes share them). Completeness
            (values + base = probability) holds up to sampling noise that shrinks as
            ``1/sqrt(nsamples)``: on UNSW-NB15 the mean gap on the predicted class was 0.31 with
            32 samples, 0.18 with 64 and 0.08 with 256.
        background_rows: background rows used by the gradient explainers.
        permutations: antithetic permutations per row for the permutation explainer; each costs
            ``(2M + 1) x permutation_background`` model evaluations for ``M`` features.
        permutation_background: background rows of the permutation explainer (a subset of the
            gradient explainers' background, smaller because of that cost).
        jacobian: let GradientExplainer take all classes' gradients from one shared batch
            Jacobian (:func:`_shared_jacobian`; same values, several times faster).
        seed: seeds the background choice and the explainers' sampling.

    Returns:
        The explanation; ``details["attempts"]`` lists explainers that failed, with the error.

    Raises:
        NidsError: not a deep detector, an unknown ``method``/``outputs``, an empty background,
            or every explainer failed.
    """
    if detector.kind != "keras":
        raise NidsError(f"explain_deep expects a deep (keras) detector; got a {detector.kind} model {detector.model_name!r}")
    if method not in DEEP_METHODS:
        raise NidsError(f"unknown deep explainer method {method!r}; expected one of: {', '.join(DEEP_METHODS)}")
    if outputs not in ("all", "predicted"):
        raise NidsError(f"outputs must be 'all' or 'predicted'; got {outputs!r}")
    aligned, X = _prepare(detector, flows)
    if background is None or len(background) == 0:
        raise NidsError("explain_deep needs background flows to explain against; got none")
    _, B = _prepare(detector, background)
    rng = np.random.default_rng(seed)
    B = B[rng.permutation(len(B))[:background_rows]]
    codec = FeatureCodec(detector.preprocessor, detector.features, detector.categorical)
    n_classes = len(detector.classes)
    attempts: list[dict] = []
    first = {"auto": "gradient", "gradient": "gradient", "deep": "deep", "permutation": None}[method]
    start = time.perf_counter()
    forward = _frames_predictor(detector)
    proba = forward(X)
    with _quiet_tensorflow():
        if first is not None:
            name = {"gradient": "GradientExplainer", "deep": "DeepExplainer"}[first]
            try:
                if first == "gradient":
                    predicted = proba.argmax(axis=1) if outputs == "predicted" else None
                    values, base = _gradient_values(detector, X, B, nsamples, seed, predicted, jacobian, forward)
                    _check_values(values, len(X), X.shape[1], n_classes, outputs)
                else:
                    values, base = _deep_values(detector, X, B)
                    _check_values(values, len(X), X.shape[1], n_classes, "all")
            except Exception as exc:  # any failure of a gradient-based explainer means: fall back
                message = str(exc).strip().splitlines()[-1].strip() if str(exc).strip() else ""
                error = f"{type(exc).__name__}: {message}"[:300]
                attempts.append({"explainer": name, "error": error, "seconds": round(time.perf_counter() - start, 2)})
            else:
                details = {"background_rows": len(B), "outputs": outputs if first == "gradient" else "all", "attempts": attempts}
                if first == "gradient":
                    details["nsamples"] = nsamples
                    details["shared_jacobian"] = jacobian
                values = codec.to_original(values)
                return _result(detector, codec, aligned, X, values, base, name, time.perf_counter() - start, details, proba)
        try:
            values, base, used = _permutation_values(codec, X, B, seed, permutations, permutation_background, forward)
        except Exception as exc:
            failed = f"{attempts}; PermutationExplainer: {exc}"
            raise NidsError(f"every SHAP explainer failed for {detector.model_name}: {failed}") from exc
    details = {"background_rows": used, "outputs": "all", "permutations": permutations, "attempts": attempts}
    return _result(detector, codec, aligned, X, values, base, "PermutationExplainer", time.perf_counter() - start, details, proba)


def explain(detector, flows: pd.DataFrame, background: pd.DataFrame | None = None, **options) -> ExplanationResult:
    """Explain any detector: :func:`explain_forest` for forests, :func:`explain_deep` for deep models.

    For deep models without a ``background``, up to 50 of the explained flows themselves serve as
    the reference (the contributions are then relative to this batch's mean prediction).
    """
    if detector.kind == "sklearn":
        options = {k: v for k, v in options.items() if k in ("depth_cap", "budget_s")}
        return explain_forest(detector, flows, **options)
    options = {k: v for k, v in options.items() if k not in ("depth_cap", "budget_s")}
    return explain_deep(detector, flows, flows if background is None else background, **options)


# -- tables -----------------------------------------------------------------------------------
def top_contributions(result: ExplanationResult, top: int = 5) -> pd.DataFrame:
    """Per explained row, the ``top`` features that moved its predicted class's probability most.

    Columns: ``predicted``, ``confidence`` (the detector's probability), ``base_value``,
    ``explained_probability`` (what the contributions add up to with the base value),
    ``feature_<i>``, ``value_<i>`` (the input value), ``contribution_<i>`` for ``i = 1..top``
    (largest absolute contribution first) and ``other_contribution`` (all remaining features).
    """
    if top < 1:
        raise NidsError(f"top must be a positive number of features; got {top}")
    top = min(top, len(result.feature_names))
    predicted = result.predicted
    rows = np.arange(result.n_rows)
    contributions = result.predicted_values()
    order = np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :top]
    names = np.asarray(result.feature_names, dtype=object)
    data = result.data.to_numpy(dtype=object)
    table = {
        "predicted": np.asarray(result.classes, dtype=object)[predicted],
        "confidence": result.proba[rows, predicted],
        "base_value": result.base_values[predicted],
        "explained_probability": result.explained[rows, predicted],
    }
    for i in range(top):
        column = order[:, i]
        table[f"feature_{i + 1}"] = names[column]
        table[f"value_{i + 1}"] = data[rows, column]
        table[f"contribution_{i + 1}"] = contributions[rows, column]
    table["other_contribution"] = contributions.sum(axis=1) - np.take_along_axis(contributions, order, axis=1).sum(axis=1)
    return pd.DataFrame(table)


def local_table(result: ExplanationResult, rows, y_true, top: int = 3) -> pd.DataFrame:
    """:func:`top_contributions` of some explained rows, with their true class and whether the verdict is right."""
    rows = list(rows)
    table = top_contributions(result, top).iloc[rows].reset_index(drop=True)
    table.insert(0, "true", np.asarray(y_true).astype(str))
    table.insert(2, "correct", table["true"] == table["predicted"])
    return table


def rank_agreement(first: pd.Series, second: pd.Series, top: int = 10) -> dict:
    """How far two global importance rankings agree.

    Returns Spearman's rank correlation over all features, Spearman and Kendall correlations over
    the union of the two top-``top`` lists, the size of their overlap, and both top lists.
    """
    from scipy.stats import kendalltau, spearmanr

    features = list(first.index)
    second = second.reindex(features).fillna(0.0)
    rank_a = first.rank(ascending=False)
    rank_b = second.rank(ascending=False)
    top_a = list(first.sort_values(ascending=False).index[:top])
    top_b = list(second.sort_values(ascending=False).index[:top])
    union = list(dict.fromkeys(top_a + top_b))
    return {
        "top": top,
        "spearman_all": round(float(spearmanr(rank_a, rank_b).statistic), 4),
        "spearman_top_union": round(float(spearmanr(rank_a[union], rank_b[union]).statistic), 4),
        "kendall_top_union": round(float(kendalltau(rank_a[union], rank_b[union]).statistic), 4),
        "top_overlap": len(set(top_a) & set(top_b)),
        "first_top": top_a,
        "second_top": top_b,
    }


def pick_flows(result: ExplanationResult, y_true: np.ndarray, n: int = 4) -> list[int]:
    """Positions of up to ``n`` explained flows worth a local plot, of different classes.

    In order: a correctly classified attack (most common correct attack class), a wrongly
    classified flow (a missed attack if there is one; of a class not chosen yet if possible), a
    correctly classified normal flow, then correctly classified flows of further classes, each
    of a true class not chosen yet.
    """
    y_true = np.asarray(y_true).astype(str)
    predicted = np.asarray(result.classes, dtype=object)[result.predicted].astype(str)
    correct = predicted == y_true
    attack = y_true != result.normal_class
    chosen: list[int] = []

    def take(mask: np.ndarray, new_class: bool = True) -> None:
        used = {y_true[j] for j in chosen}
        candidates = [i for i in np.flatnonzero(mask) if i not in chosen and not (new_class and y_true[i] in used)]
        if candidates and len(chosen) < n:
            chosen.append(int(candidates[0]))

    if (correct & attack).any():
        common = pd.Series(y_true[correct & attack]).value_counts().index[0]
        take(correct & (y_true == common))
    before = len(chosen)
    missed = ~correct & attack & (predicted == result.normal_class)
    for wrong, new_class in ((missed, True), (~correct, True), (~correct, False)):  # a wrong verdict above all
        if len(chosen) == before:
            take(wrong, new_class)
    take(correct & ~attack)
    for label in pd.Series(y_true[correct]).value_counts().index:
        take(correct & (y_true == label))
    return chosen


# -- notebook helpers -------------------------------------------------------------------------
@dataclass
class ExplanationSample:
    """Test-split flows to explain and training-split flows to use as background."""

    flows: pd.DataFrame
    labels: np.ndarray
    rows: np.ndarray
    background: pd.DataFrame
    note: str

    def class_counts(self) -> pd.Series:
        """Explained flows per true class."""
        return pd.Series(self.labels).value_counts()


def class_floor_sample(labels: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Positions of ``n`` rows: at least ``n // (2k)`` of each of the ``k`` classes, the rest in proportion.

    The floor keeps rare attack classes (Worms, Backdoor...) in a small sample so that per-class
    importance means something; the proportional rest keeps the sample close to the real mix.
    """
    labels = np.asarray(labels).astype(str)
    rng = np.random.default_rng(seed)
    if n >= len(labels):
        return rng.permutation(len(labels))
    classes, counts = np.unique(labels, return_counts=True)
    floor = np.minimum(counts, n // (2 * len(classes)))
    rest = n - floor.sum()
    extra = np.floor(rest * (counts - floor) / max((counts - floor).sum(), 1)).astype(int)
    quota = np.minimum(counts, floor + extra)
    for i in np.argsort(-(counts - quota)):  # hand out what rounding left over
        if quota.sum() >= n:
            break
        quota[i] += min(counts[i] - quota[i], n - quota.sum())
    chosen = [rng.choice(np.flatnonzero(labels == c), size=q, replace=False) for c, q in zip(classes, quota, strict=True)]
    return rng.permutation(np.concatenate(chosen))


def explanation_sample(dataset, detectors, n_rows: int, background_rows: int, seed: int = 0) -> ExplanationSample:
    """Flows from the detectors' test split (never seen in training) and background from their training split.

    The split is rebuilt from the protocol and seed recorded in the first detector; the note says
    whether each detector's recorded split fingerprint matches it (if one does not, some explained
    flows may have been in that detector's training data).

    Args:
        dataset: the dataset the detectors were trained on.
        detectors: one detector or a list of them.
        n_rows: flows to explain (:func:`class_floor_sample` of the test split).
        background_rows: training flows drawn at random as background.
        seed: seeds both draws.
    """
    from nids.splits import make_split

    detectors = detectors if isinstance(detectors, list | tuple) else [detectors]
    info = (detectors[0].metadata or {}).get("split", {})
    protocol, split_seed = info.get("protocol", "dedup"), int(info.get("seed", seed))
    split = make_split(dataset, protocol, split_seed)
    fingerprint = split.fingerprint()
    note = f"{protocol} split, seed {split_seed}, fingerprint {fingerprint}"
    for detector in detectors:
        recorded = (detector.metadata or {}).get("split", {}).get("fingerprint")
        if recorded and recorded != fingerprint:
            note += f"; WARNING: {detector.model_name} was trained on another split ({recorded}), it may have seen these flows"
    target = dataset.target(detectors[0].task).to_numpy().astype(str)
    rows = split.test[class_floor_sample(target[split.test], n_rows, seed)]
    rng = np.random.default_rng(seed + 1)
    background = split.train[rng.choice(len(split.train), size=min(background_rows, len(split.train)), replace=False)]
    features = dataset.features
    return ExplanationSample(
        flows=features.iloc[rows].reset_index(drop=True),
        labels=target[rows],
        rows=rows,
        background=features.iloc[background].reset_index(drop=True),
        note=note,
    )


def load_or_train(dataset, model_name: str, task: str = "multiclass", seed: int = 0, train_rows: int = 3000):
    """The detector saved for ``dataset`` under ``models/<dataset>/<model>_<task>/``, else a quick one.

    When the directory is missing, unreadable or holds a detector of another dataset, a small
    detector is trained with :func:`nids.experiments.run_experiment` (``train_rows`` training rows,
    one epoch or 30 trees) so that a notebook never stops for want of a model.

    Returns:
        ``(detector, note)``: the note says which of the two happened.
    """
    from nids import config
    from nids.detector import Detector

    directory = config.models_dir() / config.slug(dataset.name) / f"{model_name}_{task}"
    reason = f"no detector in {directory}"
    if (directory / "detector.json").is_file():
        try:
            detector = Detector.load(directory)
            same = detector.metadata.get("dataset", dataset.name) == dataset.name
            if same and set(detector.features) <= set(dataset.features.columns):
                return detector, f"loaded {directory}"
            reason = f"{directory} holds a detector for {detector.metadata.get('dataset')!r}, not {dataset.name!r}"
        except Exception as exc:  # a broken or incompatible directory: train instead of stopping
            reason = f"could not load {directory} ({type(exc).__name__}: {exc})"
    from nids.experiments import run_experiment
    from nids.models.forest import ForestConfig
    from nids.training import TrainConfig

    cfg = TrainConfig(epochs=1, progress=False, forest=ForestConfig(n_estimators=30))
    result = run_experiment(dataset, model_name, task, "dedup", seed, cfg, max_train_rows=train_rows)
    return result.detector, f"{reason}: trained a quick {model_name} {task} ({train_rows} training rows) instead"


def report(
    dataset: str,
    results: dict[str, ExplanationResult],
    agreement: dict | None = None,
    sample: ExplanationSample | None = None,
    local: dict | None = None,
    notes: list[str] | None = None,
) -> dict:
    """The JSON record of a notebook's explanations: per model the summary, plus the agreement."""
    payload = {"dataset": dataset, "models": {key: r.summary() for key, r in results.items()}}
    if sample is not None:
        payload["sample"] = {
            "rows": len(sample.rows),
            "background_rows": len(sample.background),
            "classes": pd.Series(sample.labels).value_counts().to_dict(),
            "split": sample.note,
        }
    if agreement is not None:
        payload["rank_agreement"] = agreement
    if local is not None:  # tables of local explanations -> plain records
        payload["local"] = {key: json.loads(table.to_json(orient="records")) for key, table in local.items()}
    if notes:
        payload["notes"] = list(notes)
    return payload

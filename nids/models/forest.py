"""Random Forest baseline (Breiman, "Random Forests", Machine Learning 45, 2001)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sklearn.ensemble import RandomForestClassifier

from nids.errors import NidsError


@dataclass(frozen=True)
class ForestConfig:
    """Random Forest settings (sklearn defaults apart from the tree count and thread use).

    Attributes:
        n_estimators: number of trees.
        max_depth: depth cap (None grows trees fully).
        min_samples_leaf: minimum records per leaf.
        class_weight: None, or ``"balanced"`` to up-weight rare classes.
        n_jobs: worker threads (-1: all cores).
    """

    n_estimators: int = 100
    max_depth: int | None = None
    min_samples_leaf: int = 1
    class_weight: str | None = None
    n_jobs: int = -1

    def __post_init__(self) -> None:
        if self.n_estimators < 1 or self.min_samples_leaf < 1 or (self.max_depth is not None and self.max_depth < 1):
            raise NidsError(f"ForestConfig: expected positive sizes, got {self}")
        if self.class_weight not in (None, "balanced", "balanced_subsample"):
            raise NidsError(f"ForestConfig: class_weight must be None or 'balanced', got {self.class_weight!r}")


def build_random_forest(cfg: ForestConfig, seed: int = 0) -> RandomForestClassifier:
    """An unfitted Random Forest, the workbook's classic-ML baseline.

    Cites: L. Breiman, "Random Forests", Machine Learning 45(1), 2001. On UNSW-NB15 it is the
    reference the deep models are compared with (Moustafa & Slay, MilCIS 2015).
    """
    return RandomForestClassifier(
        n_estimators=cfg.n_estimators,
        max_depth=cfg.max_depth,
        min_samples_leaf=cfg.min_samples_leaf,
        class_weight=cfg.class_weight,
        n_jobs=cfg.n_jobs,
        random_state=seed,
    )


def forest_importances(model: RandomForestClassifier, origin: list[str]) -> pd.Series:
    """Impurity importances summed back to the original features (one-hot columns -> ``proto``)."""

    return pd.Series(model.feature_importances_, index=origin).groupby(level=0).sum().sort_values(ascending=False)

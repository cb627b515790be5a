"""Models this project defines: any class with scikit-learn's ``fit``, ``predict`` (and for
classification ``predict_proba``) and ``get_params``, named in params.yaml by import path::

    model:
      estimator: project.models:BalancedForest
      hyperparameters: {n_estimators: 300}

Every hyperparameter is a constructor argument with a default (scikit-learn's convention), so
`make repro` can check the names in params.yaml before any work. A model from a package works the
same way (``xgboost:XGBClassifier``); its package goes in pyproject.toml's `project` group.
"""

from __future__ import annotations

from sklearn.ensemble import RandomForestClassifier


class BalancedForest(RandomForestClassifier):
    """A random forest that weighs each tree's sample to even classes: a worked example of a
    project model, for skewed targets where the rarer class is the one that matters."""

    def __init__(
        self,
        n_estimators: int = 200,
        max_depth: int | None = 12,
        min_samples_leaf: int = 5,
        random_state: int | None = None,
        n_jobs: int | None = None,
    ) -> None:
        super().__init__(
            n_estimators=n_estimators,
            max_depth=max_depth,
            min_samples_leaf=min_samples_leaf,
            class_weight="balanced_subsample",
            random_state=random_state,
            n_jobs=n_jobs,
        )

"""Predictions of a loaded model for a validated frame, in the columns `make predict` writes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def fill_absent_features(frame: pd.DataFrame, card: dict[str, Any]) -> list[str]:
    """Add the model's features the frame lacks as all-missing columns, in place; return their names.

    Only optional contract columns can be absent here (the contract refuses a missing required
    one), and the model imputes missing values, as it does for a null in a present column.
    """
    absent = [f for f in card["features"] if f["name"] not in frame.columns]
    for feature in absent:
        # Text features need missing *text* (object None): a float NaN column meets the encoder's
        # string categories on its float path and fails.
        missing = None if feature.get("kind") == "categorical" else np.nan
        frame[feature["name"]] = pd.Series(
            missing, index=frame.index, dtype=object if missing is None else float
        )
    return [f["name"] for f in absent]


def predict_frame(model: Any, card: dict[str, Any], frame: pd.DataFrame) -> pd.DataFrame:
    """Predictions (and class probabilities), beside the ids."""
    features = [f["name"] for f in card["features"]]
    out = pd.DataFrame(index=frame.index)
    if card.get("id_column") and card["id_column"] in frame.columns:
        out[card["id_column"]] = frame[card["id_column"]]
    x = frame[features]
    if card["task"] == "classification":
        proba = model.predict_proba(x)
        out["prediction"] = np.asarray(model.classes_)[np.argmax(proba, axis=1)]
        for i, cls in enumerate(model.classes_):
            out[f"proba_{cls}"] = proba[:, i].round(6)
    else:
        out["prediction"] = model.predict(x).round(6)
    return out

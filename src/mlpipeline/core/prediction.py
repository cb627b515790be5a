"""Predictions of a loaded model for a validated frame, in the columns `make predict` writes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


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

"""The project's own code inside the model: features it derives and estimators it names, by import
path (``project.features:charges_per_month``, ``xgboost:XGBClassifier``).

Derived features run as the first step of the saved Pipeline (``DerivedFeatures``), so training,
evaluation, `make predict`, `make serve`, the container and `make monitor` all compute them with
the same code from the same raw columns: the data contract stays about raw inputs. A function is
stateless, one row's value from that row (``frame -> Series | DataFrame``); a class is a
scikit-learn transformer, fitted on the training rows. Whatever they do wrong is said in one line
naming the step, the function, and, where it raised, the first row it raised on.
"""

from __future__ import annotations

import importlib
import inspect
import re
from typing import Any

import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone

from mlpipeline.errors import PipelineError

IMPORT_PATH = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")


def resolve(path: str, where: str) -> Any:
    """The object an import path ``package.module:name`` names; a ``PipelineError`` naming
    ``where`` (the params.yaml key) and what is wrong otherwise."""
    if not IMPORT_PATH.match(path):
        raise PipelineError(f"params.yaml: {where}: '{path}' is not an import path like package.module:name")
    module_name, name = path.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        hint = (
            "declare the package in pyproject.toml's `project` group, then `make lock` and `make setup`"
            if exc.name == module_name.split(".")[0] and not module_name.startswith("project")
            else "the project's own code lives in src/project/"
        )
        raise PipelineError(f"params.yaml: {where}: no module {exc.name!r} ({hint})") from None
    except Exception as exc:  # the module itself failed: it is the project's code, said in one line
        raise PipelineError(
            f"params.yaml: {where}: importing {module_name} failed: {type(exc).__name__}: {exc}"
        ) from None
    if not hasattr(module, name):
        raise PipelineError(f"params.yaml: {where}: module {module_name} has no {name!r}")
    return getattr(module, name)


def _name(step: Any) -> str:
    return getattr(step, "__qualname__", type(step).__name__)


class DerivedFeatures(TransformerMixin, BaseEstimator):
    """The project's derived columns added to the raw frame, first step of the model's Pipeline.

    ``steps``: (import path, function or transformer instance) in order; each sees the raw
    columns and the columns earlier steps derived. A function runs as it is; a transformer is
    fitted on the training rows. ``id_column`` is only named in messages.
    """

    def __init__(self, steps: list[tuple[str, Any]], id_column: str | None = None) -> None:
        self.steps = steps
        self.id_column = id_column

    def fit(self, x: pd.DataFrame, y: Any = None) -> DerivedFeatures:
        frame = x
        self.origins_: dict[str, str] = {}
        for i, (path, step) in enumerate(self.steps):
            if hasattr(step, "transform"):  # a transformer learns from the training rows
                self._run(i, path, lambda f, s=step: s.fit(f, y), frame, fitting=True)
            added = self._added(i, path, step, frame)
            self.origins_.update(dict.fromkeys(map(str, added.columns), path))
            frame = pd.concat([frame, added], axis=1)
        self.derived_names_ = list(self.origins_)
        return self

    def transform(self, x: pd.DataFrame) -> pd.DataFrame:
        frame = x
        for i, (path, step) in enumerate(self.steps):
            frame = pd.concat([frame, self._added(i, path, step, frame)], axis=1)
        return frame

    def get_feature_names_out(self, input_features: Any = None) -> Any:
        import numpy as np

        return np.asarray([*(input_features or []), *self.derived_names_], dtype=object)

    # What each step returns, checked: the same rows, in order, new columns of plain values.

    def _added(self, i: int, path: str, step: Any, frame: pd.DataFrame) -> pd.DataFrame:
        call = step.transform if hasattr(step, "transform") else step
        out = self._run(i, path, call, frame)
        where = f"features.derived[{i}] {path}"
        if isinstance(out, pd.Series):
            if out.name is None:
                raise PipelineError(f"{where}: returned a Series without a name; name it (.rename('...'))")
            if out.name in frame.columns:
                raise PipelineError(
                    f"{where}: returned a Series named {out.name!r}, a raw column; a derived feature adds"
                    " new columns: rename it (.rename('...'))"
                )
            out = out.to_frame()
        if not isinstance(out, pd.DataFrame):
            raise PipelineError(
                f"{where}: returned {type(out).__name__}; a derived feature returns a named Series or"
                " a DataFrame"
            )
        if len(out) != len(frame) or not out.index.equals(frame.index):
            raise PipelineError(
                f"{where}: returned {len(out)} rows for {len(frame)}, or in another order: a derived"
                " feature returns one value per row, in the rows' order (no filtering, no sorting)"
            )
        overlap = [c for c in out.columns if c in frame.columns]
        dropped = [c for c in frame.columns if c not in out.columns]
        if overlap and dropped and len(overlap) < len(frame.columns) / 2:
            raise PipelineError(
                f"{where}: returned {', '.join(map(str, overlap[:3]))}, which the frame already has; a"
                " derived feature adds new columns: return only them, or the whole frame with them added"
            )
        if overlap and dropped:  # most of the frame came back, less some columns
            which = "the id column " if self.id_column in dropped else ""
            raise PipelineError(
                f"{where}: dropped {which}{', '.join(map(str, dropped[:3]))}: a derived feature adds"
                " columns; features.drop keeps columns out of the model"
            )
        if overlap:  # the whole frame came back (frame.assign(...)): keep what is new
            out = out[[c for c in out.columns if c not in frame.columns]]
        for column in out.columns:
            values = out[column]
            plain = (
                pd.api.types.is_numeric_dtype(values)
                or pd.api.types.is_bool_dtype(values)
                or pd.api.types.is_datetime64_any_dtype(values)
                or isinstance(values.dtype, pd.CategoricalDtype)
                or values.dropna().map(lambda v: isinstance(v, str)).all()
            )
            if not plain:
                kinds = sorted({type(v).__name__ for v in values.dropna().head(1000)})
                raise PipelineError(
                    f"{where}: column {column!r} holds {', '.join(kinds)}: a derived column holds numbers,"
                    " booleans, dates or text"
                )
        return out

    def _run(self, i: int, path: str, call: Any, frame: pd.DataFrame, fitting: bool = False) -> Any:
        try:
            return call(frame.copy(deep=False))
        except PipelineError:
            raise
        except Exception as exc:
            verb = "fitting" if fitting else "computing"
            row = _first_failing_row(call, frame)
            at = ""
            if row is not None:
                ident = (
                    f" ({self.id_column} {frame[self.id_column].iloc[row]})"
                    if self.id_column and self.id_column in frame.columns
                    else ""
                )
                at = f" at row {row}{ident}"
            raise PipelineError(
                f"features.derived[{i}] {path}: {verb} raised {type(exc).__name__}: {exc}{at}"
            ) from None


def _first_failing_row(call: Any, frame: pd.DataFrame) -> int | None:
    """The first row ``call`` raises on, by halving: log2(rows) calls. None when no single row
    does (a failure that needs rows together)."""
    low, high = 0, len(frame)  # ``call`` fails on frame[low:high]
    while high - low > 1:
        mid = (low + high) // 2
        if not _ok(call, frame.iloc[low:mid]):
            high = mid
        elif not _ok(call, frame.iloc[mid:high]):
            low = mid
        else:
            return None
    return low if high - low == 1 and not _ok(call, frame.iloc[low:high]) else None


def _ok(call: Any, part: pd.DataFrame) -> bool:
    try:
        call(part.copy(deep=False))
    except Exception:  # any failure is what is being searched for
        return False
    return True


def derived_steps(specs: list[Any]) -> list[tuple[str, Any]]:
    """(path, function or transformer instance) for each ``features.derived`` entry."""
    steps = []
    for i, spec in enumerate(specs):
        found = resolve(spec.path, f"features.derived[{i}]")
        if inspect.isclass(found):
            if not hasattr(found, "fit") or not hasattr(found, "transform"):
                raise PipelineError(
                    f"params.yaml: features.derived[{i}]: {spec.path} is a class without fit and transform;"
                    " a derived feature is a function or a scikit-learn transformer"
                )
            try:
                found = found(**spec.args)
            except TypeError as exc:
                raise PipelineError(f"params.yaml: features.derived[{i}].args: {exc}") from None
        elif spec.args:
            raise PipelineError(
                f"params.yaml: features.derived[{i}].args: {spec.path} is a function; args are for"
                " transformer classes"
            )
        elif not callable(found):
            raise PipelineError(f"params.yaml: features.derived[{i}]: {spec.path} is not a function or class")
        steps.append((spec.path, found))
    return steps


def fitted_steps(steps: list[tuple[str, Any]]) -> list[str]:
    """The paths of steps that are fitted transformers (everything a cluster's partitions cannot
    run apart: a function sees one partition's rows, a fitted step would need them all)."""
    return [path for path, step in steps if hasattr(step, "transform")]


def derived_step(model: Any) -> DerivedFeatures | None:
    """The model's derived-features step, when it has one."""
    steps = getattr(model, "named_steps", {})
    return steps.get("derive") if isinstance(steps.get("derive"), DerivedFeatures) else None


class EncodedLabels(ClassifierMixin, BaseEstimator):
    """A classifier named by import path, given class codes 0..k-1 and answering in the classes:
    XGBoost's and others' scikit-learn wrappers refuse text labels ("Invalid classes inferred"),
    which every adopted table has. ``classes_`` are the labels, sorted as scikit-learn sorts them.

    With two classes the ``positive`` one (data.positive_class, else the rarer) is code 1, so a
    weight of "the positive class" (XGBoost's ``scale_pos_weight``) weighs the class the metrics
    are about, whichever way its label sorts."""

    def __init__(self, estimator: Any, positive: Any = None) -> None:
        self.estimator = estimator
        self.positive = positive

    def fit(self, x: Any, y: Any, **fit_params: Any) -> EncodedLabels:
        import numpy as np

        self.classes_ = np.unique(np.asarray(y))
        order = list(range(len(self.classes_)))
        if len(order) == 2 and self.positive is not None and self.classes_[0] == self.positive:
            order = [1, 0]
        self.order_ = np.asarray(order)  # code i is classes_[order_[i]]
        codes = np.argsort(self.order_)[np.searchsorted(self.classes_, np.asarray(y))]
        self.estimator_ = clone(self.estimator).fit(x, codes, **fit_params)
        return self

    def predict_proba(self, x: Any) -> Any:
        import numpy as np

        proba = np.asarray(self.estimator_.predict_proba(x), dtype=np.float64)
        return proba[:, np.argsort(self.order_)]  # columns in classes_' order

    def predict(self, x: Any) -> Any:
        import numpy as np

        return self.classes_[self.order_[np.asarray(self.estimator_.predict(x)).astype(int)]]

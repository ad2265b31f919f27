"""The allow-list of scikit-learn estimators a spec may name, and the check of their hyper-parameters.

Names map to a fixed (module, class) table: nothing outside it is ever imported. Parameters are
checked against the estimator's ``get_params()`` and its own parameter constraints (scikit-learn's
``_validate_params``), so types and ranges are scikit-learn's, not a copy of them.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.core.training.errors import EstimatorNotAllowedError, EstimatorParamsError


@dataclass(frozen=True)
class Allowed:
    module: str
    cls: str
    task: str  # "classification" | "regression"


ALLOWED: dict[str, Allowed] = {
    name: Allowed(module, name, task)
    for name, module, task in (
        ("LogisticRegression", "sklearn.linear_model", "classification"),
        ("RandomForestClassifier", "sklearn.ensemble", "classification"),
        ("ExtraTreesClassifier", "sklearn.ensemble", "classification"),
        ("GradientBoostingClassifier", "sklearn.ensemble", "classification"),
        ("HistGradientBoostingClassifier", "sklearn.ensemble", "classification"),
        ("DecisionTreeClassifier", "sklearn.tree", "classification"),
        ("KNeighborsClassifier", "sklearn.neighbors", "classification"),
        ("LinearRegression", "sklearn.linear_model", "regression"),
        ("Ridge", "sklearn.linear_model", "regression"),
        ("Lasso", "sklearn.linear_model", "regression"),
        ("ElasticNet", "sklearn.linear_model", "regression"),
        ("RandomForestRegressor", "sklearn.ensemble", "regression"),
        ("ExtraTreesRegressor", "sklearn.ensemble", "regression"),
        ("GradientBoostingRegressor", "sklearn.ensemble", "regression"),
        ("HistGradientBoostingRegressor", "sklearn.ensemble", "regression"),
        ("DecisionTreeRegressor", "sklearn.tree", "regression"),
        ("KNeighborsRegressor", "sklearn.neighbors", "regression"),
    )
}

# Set by sluice itself (seed, resources, reproducibility), never by a spec.
RESERVED_PARAMS = frozenset({"random_state", "n_jobs", "verbose", "warm_start"})
# A run has Lambda's 15 minutes and 10 GB: sizes past these cannot finish, so they are refused up front.
COST_LIMITS: dict[str, int] = {"n_estimators": 5_000, "max_iter": 100_000, "n_neighbors": 10_000,
                               "max_depth": 1_000, "max_leaf_nodes": 1_000_000, "max_bins": 255}


def allowed_names(task: str | None = None) -> list[str]:
    return sorted(n for n, a in ALLOWED.items() if task is None or a.task == task)


def estimator_class(name: str) -> type:
    """The class of an allow-listed estimator (:class:`EstimatorNotAllowedError` otherwise)."""
    entry = ALLOWED.get(name)
    if entry is None:
        raise EstimatorNotAllowedError(
            f"estimator {name!r} is not allowed; allowed: {', '.join(allowed_names())}",
            details={"allowed": allowed_names()})
    cls: type = getattr(importlib.import_module(entry.module), entry.cls)
    return cls


def settable_params(name: str) -> list[str]:
    """The hyper-parameters a spec may set for ``name``."""
    return sorted(set(estimator_class(name)().get_params()) - RESERVED_PARAMS)


def check_estimator(name: str, params: Mapping[str, object], task: str | None = None) -> list[str]:
    """Problems with ``name`` + ``params`` for ``task`` (empty when fine); raises for a name off the list."""
    cls = estimator_class(name)
    problems: list[str] = []
    if task is not None and ALLOWED[name].task != task:
        problems.append(f"estimator {name} is for {ALLOWED[name].task}, the spec's task is {task}; "
                        f"allowed for {task}: {', '.join(allowed_names(task))}")
    allowed = settable_params(name)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        problems.append(f"unknown or reserved parameter(s) {', '.join(unknown)} for {name}; "
                        f"allowed: {', '.join(allowed)}")
    bad_values = sorted(k for k, v in params.items() if not _json_plain(v))
    if bad_values:
        problems.append(f"parameter(s) {', '.join(bad_values)} must be numbers, strings, booleans, null, "
                        "or lists/maps of those")
    too_costly = sorted(k for k, v in params.items() if k in COST_LIMITS and isinstance(v, int | float)
                        and not isinstance(v, bool) and v > COST_LIMITS[k])
    if too_costly:
        problems.append("parameter(s) past what a training run in Lambda can afford: " + ", ".join(
            f"{k} ≤ {COST_LIMITS[k]:,}" for k in too_costly))
    if not unknown and not bad_values:
        problems.extend(_constraint_problems(cls, params))
    return problems


def raise_for_estimator(name: str, params: Mapping[str, object], task: str | None = None) -> None:
    problems = check_estimator(name, params, task)
    if problems:
        raise EstimatorParamsError("; ".join(problems),
                                   details={"problems": problems, "allowed": settable_params(name)})


def make_estimator(name: str, params: Mapping[str, object], seed: int) -> Any:
    """A fresh estimator with ``params``; ``random_state`` is the spec's seed where the estimator has one."""
    cls = estimator_class(name)
    estimator = cls(**params)
    if "random_state" in estimator.get_params():
        estimator.set_params(random_state=seed)
    return estimator


def _constraint_problems(cls: type, params: Mapping[str, object]) -> list[str]:
    from sklearn.utils._param_validation import InvalidParameterError

    try:
        cls(**params)._validate_params()
    except InvalidParameterError as exc:  # scikit-learn quotes the value back: keep the rule, not the value
        return [re.sub(r"\s*Got .* instead\.?\s*$", "", str(exc), flags=re.DOTALL)]
    return []


def _json_plain(value: object, depth: int = 0) -> bool:
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if depth > 0:
        return False
    if isinstance(value, list):
        return all(_json_plain(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_plain(v, depth + 1) for k, v in value.items())
    return False

"""Pure: the features a spec trains on, and whether a spec can be trained on a contract's data.

Light on purpose (no pandas, no scikit-learn at import): ``PUT /models/{model}/spec`` checks a spec with
:func:`check_spec` in the API function.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.core.training import estimators
from chalicelib.core.training.errors import EstimatorParamsError, SpecInvalidError
from chalicelib.core.training.spec import TrainingSpec

if TYPE_CHECKING:
    from chalicelib.core.validation.contract import ColumnSpec, Contract

NUMERIC_TYPES = ("int", "float")
CATEGORICAL_TYPES = ("string", "category")
DATE_TYPES = ("date", "timestamp")


@dataclass(frozen=True)
class Feature:
    name: str
    type: str  # the contract's column type

    @property
    def kind(self) -> str:
        """numeric | categorical | bool | date."""
        if self.type in NUMERIC_TYPES:
            return "numeric"
        if self.type in CATEGORICAL_TYPES:
            return "categorical"
        return "bool" if self.type == "bool" else "date"

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "type": self.type}


# How monitoring profiles each date part the pipeline derives: a calendar cycle is a category (month 12
# follows 11 but is next to 1; a weekday has no order that matters), a running count is a number.
DATE_PART_KINDS = {"year": "numeric", "month": "categorical", "day": "numeric", "dayofweek": "categorical",
                   "hour": "categorical"}


@dataclass(frozen=True)
class DerivedFeature:
    """A column the pipeline derives from a feature (a date part), profiled and checked as the model sees
    it: ``pickup_ts.month`` is ``source`` ``pickup_ts``, ``part`` ``month``."""

    name: str
    source: str
    part: str
    kind: str  # drift profile kind: numeric | categorical

    def to_dict(self) -> dict[str, str]:
        return {"source": self.source, "part": self.part, "kind": self.kind}


def derived_features(features: list[Feature], parts: list[str]) -> list[DerivedFeature]:
    """The date parts the pipeline feeds the estimator, one per date/timestamp feature and part (a
    ``date`` has no hour: always 0, nothing to monitor). A name a real feature already has is skipped."""
    taken = {f.name for f in features}
    out = []
    for feature in features:
        if feature.kind != "date":
            continue
        for part in parts:
            name = f"{feature.name}.{part}"
            if name not in taken and not (part == "hour" and feature.type == "date"):
                out.append(DerivedFeature(name, feature.name, part, DATE_PART_KINDS[part]))
    return out


def _columns(contract: Contract) -> dict[str, ColumnSpec]:
    return {c.name: c for c in contract.columns}


def _in_curated(column: ColumnSpec) -> bool:
    return getattr(column, "pii", None) != "drop"


def resolve_features(spec: TrainingSpec, contract: Contract) -> list[Feature]:
    """The feature columns, in contract order for ``all_except`` and spec order for a list.

    ``all_except`` leaves out the target, the time-split column and every PII column (hashed or
    masked values make poor, privacy-sensitive features); a list is taken as written.
    """
    columns = _columns(contract)
    if isinstance(spec.features, list):
        return [Feature(n, columns[n].type) for n in spec.features if n in columns]
    skip = {spec.target, *spec.features.all_except}
    if spec.split.column:
        skip.add(spec.split.column)
    return [Feature(c.name, c.type) for c in contract.columns
            if c.name not in skip and getattr(c, "pii", None) is None]


def feasibility_problems(spec: TrainingSpec, contract: Contract) -> list[str]:
    """Everything that makes ``spec`` untrainable on data following ``contract`` (pure)."""
    columns = _columns(contract)
    return [*_target_problems(spec, columns), *_feature_problems(spec, contract, columns),
            *_split_problems(spec, columns)]


def _target_problems(spec: TrainingSpec, columns: dict[str, ColumnSpec]) -> list[str]:
    target = columns.get(spec.target)
    if target is None:
        return [f"target {spec.target!r} is not a contract column; columns: {', '.join(columns)}"]
    if not _in_curated(target):
        return [f"target {spec.target!r} is dropped as PII before curation"]
    if spec.task == "regression" and target.type not in NUMERIC_TYPES:
        return [f"regression needs a numeric target; {spec.target!r} is {target.type}"]
    if spec.task == "classification" and target.type in ("float", *DATE_TYPES):
        return [f"classification needs a discrete target; {spec.target!r} is {target.type}"]
    return []


def _feature_problems(spec: TrainingSpec, contract: Contract, columns: dict[str, ColumnSpec]) -> list[str]:
    problems: list[str] = []
    listed = spec.features if isinstance(spec.features, list) else spec.features.all_except
    missing = [n for n in listed if n not in columns]
    if missing:
        problems.append(f"feature column(s) not in the contract: {', '.join(missing)}")
    if isinstance(spec.features, list):
        if spec.target in spec.features:
            problems.append(f"the target {spec.target!r} is also listed as a feature")
        pii = [f"{n} (pii: {columns[n].pii})" for n in spec.features
               if n in columns and getattr(columns[n], "pii", None) is not None]
        if pii:
            problems.append(f"feature column(s) declared PII in the contract: {', '.join(pii)}; PII columns "
                            "cannot be features (serving would take and capture them in clear): remove them "
                            "from features")
    elif not missing and not resolve_features(spec, contract):
        problems.append("all_except leaves no feature column")
    return problems


def _split_problems(spec: TrainingSpec, columns: dict[str, ColumnSpec]) -> list[str]:
    problems: list[str] = []
    if spec.split.column:
        col = columns.get(spec.split.column)
        if col is None:
            problems.append(f"split.column {spec.split.column!r} is not a contract column")
        elif col.type not in (*DATE_TYPES, *NUMERIC_TYPES):
            problems.append(f"split.column {spec.split.column!r} must be a date, timestamp or number")
    if spec.split.method == "stratified" and spec.task != "classification":
        problems.append("split.method 'stratified' is for classification")
    return problems


def check_spec(spec: TrainingSpec, contract: Contract | None = None) -> None:
    """Every problem the spec has, raised at once: estimator and parameters, then (with a contract)
    feasibility. Raises :class:`EstimatorNotAllowedError`, :class:`EstimatorParamsError` or
    :class:`SpecInvalidError`."""
    estimator_problems = estimators.check_estimator(spec.estimator.name, spec.estimator.params, spec.task)
    problems = list(feasibility_problems(spec, contract)) if contract is not None else []
    if estimator_problems:
        raise EstimatorParamsError(
            "; ".join(estimator_problems + problems),
            details={"problems": estimator_problems + problems,
                     "allowed": estimators.settable_params(spec.estimator.name)})
    if problems:
        raise SpecInvalidError("the spec does not fit the dataset's contract: " + "; ".join(problems),
                               details={"problems": problems})

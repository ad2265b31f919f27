"""Pure: the input columns of an imported pipeline, checked against the dataset's contract."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from chalicelib.core.imports.errors import ImportInvalidError
from chalicelib.core.training.features import Feature

if TYPE_CHECKING:
    from chalicelib.core.validation.contract import Contract


def input_columns(pipeline_names: Sequence[str] | None, n_features: int | None,
                  given: Sequence[str] | None, given_by: str = "the request's features") -> list[str]:
    """The columns the pipeline is fed, in its order: its own ``feature_names_in_`` when it has them (and
    ``given`` must name the same columns), else ``given`` (as many as ``n_features_in_``)."""
    if pipeline_names is not None:
        names = [str(n) for n in pipeline_names]
        if given is not None and sorted(given) != sorted(names):
            raise ImportInvalidError(
                f"{given_by} ({', '.join(given)}) differ from the columns the pipeline was fitted on "
                f"({', '.join(names)})", code="import_schema_mismatch")
        return names
    if given is None:
        raise ImportInvalidError("the pipeline does not name its input columns (it was fitted on an array): "
                                 "give them as features", code="import_schema_required")
    if n_features is not None and len(given) != n_features:
        raise ImportInvalidError(f"{given_by} name {len(given)} column(s); the pipeline takes {n_features}",
                                 code="import_schema_mismatch")
    return list(given)


def contract_features(columns: Sequence[str], contract: Contract, target: str) -> list[Feature]:
    """Each column as a contract feature; every column the contract lacks, the target and PII columns
    are refused at once (``import_schema_mismatch``): serving takes features in clear."""
    known = {c.name: c for c in contract.columns}
    problems = []
    missing = [c for c in columns if c not in known]
    if missing:
        problems.append(f"not in the dataset's contract: {', '.join(missing)}")
    if target in columns:
        problems.append(f"the target {target!r} is an input column")
    pii = [c for c in columns if c in known and getattr(known[c], "pii", None) is not None]
    if pii:
        problems.append(f"declared PII in the contract (serving would take them in clear): {', '.join(pii)}")
    if len(set(columns)) != len(columns):
        problems.append("a column is named twice")
    if problems:
        raise ImportInvalidError("the pipeline's input columns do not fit the contract: "
                                 + "; ".join(problems), code="import_schema_mismatch",
                                 details={"problems": problems})
    return [Feature(c, known[c].type) for c in columns]

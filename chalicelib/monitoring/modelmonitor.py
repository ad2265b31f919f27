"""SageMaker Model Monitor-compatible files, so users of that tool can move over (pure).

``statistics.json`` (of the current window), ``constraints.json`` (suggested from the reference) and
``constraint_violations.json`` follow the shapes Model Monitor's built-in container writes:
``version``, ``dataset.item_count``, per feature ``inferred_type`` (Integral | Fractional | String)
with ``numerical_statistics`` (common counts, mean, sum, std_dev, min, max, a bucketed distribution)
or ``string_statistics`` (distinct_count, categorical buckets); violations use Model Monitor's check
types (``baseline_drift_check``, ``missing_column_check``, ``completeness_check``,
``categorical_values_check``).
"""

from __future__ import annotations

import math
from typing import Any

from chalicelib.drift.config import NUMERIC, OTHER

SCHEMA_VERSION = 0.0
_INFERRED = {"int": "Integral", "float": "Fractional", "bool": "String", "string": "String",
             "category": "String"}


def inferred_type(kind: str, contract_type: str | None) -> str:
    if contract_type in _INFERRED:
        return _INFERRED[contract_type]
    return "Fractional" if kind == NUMERIC else "String"


def statistics(profile: Any, contract_types: dict[str, str] | None = None) -> dict[str, Any]:
    """``statistics.json`` of a profile."""
    types = contract_types or {}
    return {"version": SCHEMA_VERSION, "dataset": {"item_count": int(profile.rows)},
            "features": [_feature_statistics(fp, types.get(name)) for name, fp in profile.features.items()]}


def _feature_statistics(fp: Any, contract_type: str | None) -> dict[str, Any]:
    common = {"num_present": int(fp.count), "num_missing": int(fp.missing)}
    out: dict[str, Any] = {"name": fp.name, "inferred_type": inferred_type(fp.kind, contract_type)}
    if fp.kind == NUMERIC:
        bounds = [fp.min, *fp.edges, fp.max]
        buckets = [{"lower_bound": _num(bounds[i]), "upper_bound": _num(bounds[i + 1]), "count": int(c)}
                   for i, c in enumerate(fp.bin_counts)]
        out["numerical_statistics"] = {
            "common": common, "mean": _num(fp.mean), "sum": _num((fp.mean or 0.0) * fp.count),
            "std_dev": _num(fp.std), "min": _num(fp.min), "max": _num(fp.max),
            "distribution": {"kll": {"buckets": buckets}},
        }
    else:
        out["string_statistics"] = {
            "common": common, "distinct_count": len([v for v in fp.frequencies if v != OTHER]),
            "distribution": {"categorical": {"buckets": [
                {"value": value, "count": int(count)} for value, count in fp.frequencies.items()]}},
        }
    return out


def constraints(reference: Any, contract_types: dict[str, str] | None = None, *,
                comparison_threshold: float = 0.1) -> dict[str, Any]:
    """``constraints.json`` suggested from the reference profile."""
    types = contract_types or {}
    features = []
    for name, fp in reference.features.items():
        total = fp.count + fp.missing
        feature: dict[str, Any] = {"name": name, "inferred_type": inferred_type(fp.kind, types.get(name)),
                                   "completeness": round(fp.count / total, 6) if total else 1.0}
        if fp.kind == NUMERIC:
            feature["num_constraints"] = {"is_non_negative": fp.min is not None and fp.min >= 0}
        else:
            feature["string_constraints"] = {"domains": [v for v in fp.frequencies if v != OTHER]}
        features.append(feature)
    return {"version": SCHEMA_VERSION, "features": features, "monitoring_config": {
        "evaluate_constraints": "Enabled", "emit_metrics": "Enabled",
        "datatype_check_threshold": 1.0, "domain_content_threshold": 1.0,
        "distribution_constraints": {"perform_comparison": "Enabled",
                                     "comparison_threshold": comparison_threshold,
                                     "comparison_method": "Robust",
                                     "categorical_comparison_threshold": comparison_threshold,
                                     "categorical_drift_method": "LInfinity"}}}


def violations(reference: Any, current: Any, drift_features: list[dict[str, Any]]) -> dict[str, Any]:
    """``constraint_violations.json``: drifted features, missing columns, completeness, new categories."""
    found: list[dict[str, Any]] = []
    for item in drift_features:
        if item.get("status") == "drift":
            found.append(_violation(item["name"], "baseline_drift_check",
                                    f"{item.get('method', 'distance')} {item.get('effect')} exceeds the "
                                    f"threshold (p-value {item.get('p_value')}, PSI {item.get('psi')})"))
    for name, ref in reference.features.items():
        cur = current.features.get(name) if current is not None else None
        if cur is None or cur.count + cur.missing == 0:
            found.append(_violation(name, "missing_column_check", f"no values of {name} in the window"))
            continue
        ref_total, cur_total = ref.count + ref.missing, cur.count + cur.missing
        if ref_total and cur.count / cur_total < ref.count / ref_total - 0.05:
            found.append(_violation(name, "completeness_check",
                                    f"completeness {cur.count / cur_total:.3f} below the baseline's "
                                    f"{ref.count / ref_total:.3f}"))
        if ref.kind != NUMERIC:
            known = set(ref.frequencies)
            new = sorted(v for v in cur.frequencies if v not in known and v != OTHER)
            if new:
                found.append(_violation(name, "categorical_values_check",
                                        f"{len(new)} value(s) not in the baseline's domain"))
    return {"violations": found}


def _violation(name: str, check: str, description: str) -> dict[str, Any]:
    return {"feature_name": name, "constraint_check_type": check, "description": description}


def _num(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None

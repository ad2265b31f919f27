"""SageMaker Model Monitor files, so users of that tool can move over (pure).

The three files follow the schemas AWS documents in the Amazon SageMaker AI developer guide:

- ``statistics.json``: "Schema for Statistics (statistics.json file)",
  https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-byoc-statistics.html
- ``constraints.json``: "Schema for Constraints (constraints.json file)",
  https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-byoc-constraints.html
- ``constraint_violations.json``: "Schema for Violations (constraint_violations.json file)",
  https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-interpreting-violations.html

JSON Schemas (Draft 2020-12) written from those pages live in ``tests/unit/drift/schemas/``; the tests check
every file against them.

``statistics.json`` (of the current window): per feature ``inferred_type`` (Integral | Fractional with
``numerical_statistics``, String with ``string_statistics``). Like Model Monitor's container, the numeric
distribution is materialised in 10 buckets of equal width from the window's min to its max (half-open,
the last one closed); the counts sum to ``num_present``. They are exact when the profile's sample holds
every value; otherwise each reference bin's exact count is spread over the buckets like its sampled
values (the page's KLL sketch is approximate too; no sketch is written, which the page allows). A
constant column has one bucket ``[v, v]``; a column without values has none and no mean/min/max. The
categorical buckets are the profile's categories, the ones beyond its top-K under ``__other__``.

``constraints.json`` (suggested from the reference): completeness, ``is_non_negative``, the categorical
domains. ``monitoring_config.distribution_constraints`` keeps Model Monitor's own settings, for its
container; sluice's ``baseline_drift_check`` applies the model's ``DriftConfig`` instead, and each
violation's description names the numbers it used (test statistic, p-value, effect size, PSI).
``domain_content_threshold`` and the completeness tolerance are the ones :func:`violations` applies.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, SupportsFloat, TypedDict, cast

from chalicelib.core.drift.config import NUMERIC, OTHER
from chalicelib.core.drift.result import describe

if TYPE_CHECKING:
    import numpy as np

    from chalicelib.core.drift.profile import FeatureProfile, Profile


class KllBucket(TypedDict):
    lower_bound: float
    upper_bound: float
    count: int


class Violation(TypedDict):
    """One entry of ``constraint_violations.json`` (Model Monitor's field names)."""

    feature_name: str
    constraint_check_type: str
    description: str

SCHEMA_VERSION = 0.0
BUCKETS = 10  # Model Monitor materialises a numeric distribution in 10 buckets
DOMAIN_CONTENT_THRESHOLD = 0.0  # share of values outside the baseline's domain above which it is flagged
DATATYPE_CHECK_THRESHOLD = 1.0  # sluice runs no data type check (the contract does): never flagged
COMPLETENESS_TOLERANCE = 0.05  # completeness this far below the baseline's is flagged


def inferred_type(kind: str, contract_type: str | None) -> str:
    """Model Monitor's type of a profiled feature: what the profile holds decides, the contract refines."""
    if kind == NUMERIC:
        return "Integral" if contract_type == "int" else "Fractional"
    return "String"


def statistics(profile: Profile, contract_types: Mapping[str, str | None] | None = None) -> dict[str, Any]:
    """``statistics.json`` of a profile."""
    types = contract_types or {}
    return {"version": SCHEMA_VERSION, "dataset": {"item_count": int(profile.rows)},
            "features": [_feature_statistics(fp, types.get(name)) for name, fp in profile.features.items()]}


def _feature_statistics(fp: FeatureProfile, contract_type: str | None) -> dict[str, Any]:
    common = {"num_present": int(fp.count), "num_missing": int(fp.missing)}
    out: dict[str, Any] = {"name": fp.name, "inferred_type": inferred_type(fp.kind, contract_type)}
    if fp.kind == NUMERIC:
        numbers: dict[str, Any] = {"common": common}
        if fp.count:
            numbers.update(mean=_num(fp.mean), sum=_num(math.fsum(fp.bin_sums)), std_dev=_num(fp.std),
                           min=_num(fp.min), max=_num(fp.max))
        numbers["distribution"] = {"kll": {"buckets": kll_buckets(fp)}}
        out["numerical_statistics"] = numbers
    else:
        known = [v for v in fp.frequencies if v != OTHER]
        out["string_statistics"] = {
            # the __other__ bucket holds at least one more distinct value
            "common": common, "distinct_count": len(known) + (OTHER in fp.frequencies),
            "distribution": {"categorical": {"buckets": [
                {"value": value, "count": int(count)} for value, count in fp.frequencies.items()]}},
        }
    return out


def kll_buckets(fp: FeatureProfile, buckets: int = BUCKETS) -> list[KllBucket]:
    """Equal-width buckets from ``fp.min`` to ``fp.max`` with the count of values in each."""
    import numpy as np

    if not fp.count:
        return []
    low, high = float(cast(float, fp.min)), float(cast(float, fp.max))  # set: count > 0
    if low == high:
        return [{"lower_bound": low, "upper_bound": high, "count": int(fp.count)}]
    t = np.linspace(0.0, 1.0, buckets + 1)
    # low*(1-t) + high*t cannot overflow; bounds a few ulps apart collapse into one
    bounds = np.unique(np.clip(low * (1.0 - t) + high * t, low, high))
    counts = _bucket_counts(fp, bounds)
    return [{"lower_bound": float(bounds[i]), "upper_bound": float(bounds[i + 1]), "count": int(c)}
            for i, c in enumerate(counts)]


def _bucket_counts(fp: FeatureProfile, bounds: np.ndarray) -> np.ndarray:
    import numpy as np

    inner, size = bounds[1:-1], len(bounds) - 1
    sample = np.asarray(fp.sample, dtype=float)
    bucket_of_sample = np.searchsorted(inner, sample, side="right")
    if len(sample) == fp.count:  # the sample is every value: exact counts
        exact: np.ndarray = np.bincount(bucket_of_sample, minlength=size)
        return exact
    fp_min, fp_max = cast(float, fp.min), cast(float, fp.max)  # set: count > 0
    edges = np.asarray(fp.edges, dtype=float)
    bin_of_sample = np.searchsorted(edges, sample, side="right")  # the profile's bins [e[i-1], e[i])
    counts = np.zeros(size, dtype=np.int64)
    for i, n in enumerate(fp.bin_counts):
        if not n:
            continue
        mine = bucket_of_sample[bin_of_sample == i]
        if len(mine):
            counts += _apportion(np.bincount(mine, minlength=size) * (n / len(mine)), int(n))
        else:  # no sampled value in this bin: its values lie in the bin clipped to [min, max]
            low = max(edges[i - 1], fp_min) if i > 0 else fp_min
            high = min(edges[i], fp_max) if i < len(edges) else fp_max
            counts[np.searchsorted(inner, (low + high) / 2, side="right")] += int(n)
    return counts


def _apportion(shares: np.ndarray, total: int) -> np.ndarray:
    """Whole counts summing to ``total`` in proportion to ``shares`` (largest remainders)."""
    import numpy as np

    whole = np.floor(shares).astype(np.int64)
    rest = total - int(whole.sum())
    if rest > 0:
        whole[np.argsort(-(shares - whole), kind="stable")[:rest]] += 1
    return whole


def constraints(reference: Profile, contract_types: Mapping[str, str | None] | None = None, *,
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
        "datatype_check_threshold": DATATYPE_CHECK_THRESHOLD,
        "domain_content_threshold": DOMAIN_CONTENT_THRESHOLD,
        "distribution_constraints": {"perform_comparison": "Enabled",
                                     "comparison_threshold": comparison_threshold,
                                     "comparison_method": "Robust",
                                     "categorical_comparison_threshold": comparison_threshold,
                                     "categorical_drift_method": "LInfinity"}}}


def violations(reference: Profile, current: Profile | None, drift_features: list[dict[str, Any]]
               ) -> dict[str, list[Violation]]:
    """``constraint_violations.json``: drifted features, missing columns, completeness, new categories."""
    found: list[Violation] = []
    for item in drift_features:
        if item.get("status") == "drift":
            found.append(_violation(str(item["name"]), "baseline_drift_check",
                                    f"drift: {item.get('description') or describe(item)}"))
    for name, ref in reference.features.items():
        cur = current.features.get(name) if current is not None else None
        if cur is None or cur.count + cur.missing == 0:
            found.append(_violation(name, "missing_column_check", f"no values of {name} in the window"))
            continue
        found.extend(_value_checks(name, ref, cur))
    return {"violations": found}


def _value_checks(name: str, ref: FeatureProfile, cur: FeatureProfile) -> list[Violation]:
    found = []
    ref_total, cur_total = ref.count + ref.missing, cur.count + cur.missing
    before, after = (ref.count / ref_total if ref_total else 1.0), cur.count / cur_total
    if ref_total and after < before - COMPLETENESS_TOLERANCE:
        found.append(_violation(name, "completeness_check",
                                f"completeness (share of non-missing values) {after:.3f} is below the "
                                f"baseline's {before:.3f} by more than {COMPLETENESS_TOLERANCE:g}"))
    if ref.kind != NUMERIC and cur.count:
        known = set(ref.frequencies)
        unknown = sum(n for v, n in cur.frequencies.items() if v not in known)
        distinct = len([v for v in cur.frequencies if v not in known and v != OTHER])
        share = unknown / cur.count
        if share > DOMAIN_CONTENT_THRESHOLD:
            found.append(_violation(name, "categorical_values_check",
                                    f"{unknown} value(s) ({distinct} distinct) outside the baseline's "
                                    f"domain: {share:.3g} of the present values > domain_content_threshold "
                                    f"{DOMAIN_CONTENT_THRESHOLD:g}"))
    return found


def _violation(name: str, check: str, description: str) -> Violation:
    return {"feature_name": name, "constraint_check_type": check, "description": description}


def _num(value: SupportsFloat | None) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None

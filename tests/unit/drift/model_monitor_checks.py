"""Checks of SageMaker Model Monitor files: the JSON Schemas written from AWS's pages, and the invariants
those pages imply (bucket bounds increasing and contiguous, counts summing to num_present, completeness a
share). Used by the drift tests and by the monitoring tests on the files a drift check writes."""

from __future__ import annotations

import functools
import itertools
import json
import math
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMAS = Path(__file__).parent / "schemas"
FILES = {"statistics": "statistics.schema.json", "constraints": "constraints.schema.json",
         "violations": "constraint_violations.schema.json"}


@functools.cache
def validator(kind: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / FILES[kind]).read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_errors(kind: str, document: dict[str, Any]) -> list[str]:
    """Every schema error of ``document`` (as written to S3: through JSON)."""
    plain = json.loads(json.dumps(document, allow_nan=False))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(kind).iter_errors(plain)]


def bucket_problems(numbers: dict[str, Any]) -> list[str]:
    """What is wrong with a numeric feature's KLL buckets (nothing: [])."""
    buckets = numbers["distribution"]["kll"]["buckets"]
    present = numbers["common"]["num_present"]
    problems = []
    if sum(b["count"] for b in buckets) != present:
        problems.append(f"counts sum to {sum(b['count'] for b in buckets)}, num_present is {present}")
    if not present:
        return problems + (["buckets without values"] if buckets else [])
    if not buckets:
        return [*problems, "no buckets"]
    if buckets[0]["lower_bound"] != numbers["min"] or buckets[-1]["upper_bound"] != numbers["max"]:
        problems.append("buckets do not span [min, max]")
    for a, b in itertools.pairwise(buckets):
        if a["upper_bound"] != b["lower_bound"]:
            problems.append(f"gap or overlap between {a} and {b}")
    constant = numbers["min"] == numbers["max"]
    for b in buckets:
        if not (b["lower_bound"] < b["upper_bound"] or (constant and b["lower_bound"] == b["upper_bound"])):
            problems.append(f"bounds not increasing: {b}")
    if constant and len(buckets) != 1:
        problems.append("a constant column has more than one bucket")
    return problems


def statistics_problems(document: dict[str, Any]) -> list[str]:
    """Schema errors and broken invariants of a ``statistics.json``."""
    problems = schema_errors("statistics", document)
    for feature in document["features"]:
        if "numerical_statistics" in feature:
            numbers = feature["numerical_statistics"]
            problems += [f"{feature['name']}: {p}" for p in bucket_problems(numbers)]
            if numbers["common"]["num_present"]:
                low, high, mean = numbers["min"], numbers["max"], numbers["mean"]
                slack = 1e-9 * max(1.0, abs(low), abs(high))
                if not (low - slack <= mean <= high + slack):
                    problems.append(f"{feature['name']}: mean {mean} outside [{low}, {high}]")
        else:
            strings = feature["string_statistics"]
            buckets = strings["distribution"]["categorical"]["buckets"]
            if sum(b["count"] for b in buckets) != strings["common"]["num_present"]:
                problems.append(f"{feature['name']}: category counts do not sum to num_present")
            if len({b["value"] for b in buckets}) != len(buckets):
                problems.append(f"{feature['name']}: a category appears twice")
    return problems


def constraints_problems(document: dict[str, Any]) -> list[str]:
    problems = schema_errors("constraints", document)
    for feature in document["features"]:
        completeness = feature.get("completeness")
        if completeness is None or not (0.0 <= completeness <= 1.0) or math.isnan(completeness):
            problems.append(f"{feature['name']}: completeness {completeness} is not a share")
    return problems


def violations_problems(document: dict[str, Any]) -> list[str]:
    return schema_errors("violations", document)

"""The feature schema of a model version, and request records checked against it (pure, no I/O).

A prediction request is ``{"records": [{name: value}, ...]}`` or ``{"columns": [...], "data": [[...]]}``.
Each record must carry every feature of the version; values must have the feature's contract type:

=========== ============================================================================
type        accepted JSON values (``null`` is a missing *value*, imputed by the pipeline)
=========== ============================================================================
int         integers (and floats with no fractional part); never booleans
float       numbers; never booleans or numeric strings
bool        ``true`` / ``false``
string      strings
category    strings
date        ISO-8601 date strings (``2026-11-26``)
timestamp   ISO-8601 date-time strings (``2026-11-26T16:33:47Z``; no offset means UTC)
=========== ============================================================================

Fields that are not features are ignored (the answer lists their names in ``ignored_fields``) and are
never captured: they may hold anything, PII included. Error details name the record index and the
field but never echo the offending value.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

from chalicelib.core.serving.errors import PredictBodyInvalidError, RecordsInvalidError, RecordsTooManyError

FEATURE_TYPES = ("int", "float", "bool", "string", "category", "date", "timestamp")
MAX_DETAILS = 50  # error details listed in one answer; the message says how many there were


# A checked value: None, or the Python value of the feature's type
Value = int | float | bool | str | dt.date | dt.datetime | None


class RecordProblem(TypedDict):
    """One entry of an invalid-records error's ``details`` (never the offending value)."""

    record: int
    field: str | None
    problem: str  # missing | wrong_type | not_an_object | bad_row | too_many_records
    message: str
    expected: NotRequired[str]  # the feature's type


@dataclass(frozen=True)
class Feature:
    """One input column of a model version."""

    name: str
    type: str


@dataclass(frozen=True)
class CheckedRecords:
    """Records reduced to the features, typed (dates as ``date``, timestamps as naive-UTC ``datetime``)."""

    rows: list[dict[str, Value]]
    ignored_fields: list[str]


def features_from_metadata(metadata: Mapping[str, Any]) -> tuple[Feature, ...]:
    """The ``features`` list of a model's metadata (``[{"name", "type"}]``) as :class:`Feature` values.

    ``metadata`` is a :class:`~chalicelib.core.training.metadata.ModelMetadata` as read back (JSON)."""
    features = []
    for item in metadata.get("features") or []:
        kind = str(item.get("type", "")).lower()
        if kind not in FEATURE_TYPES:
            raise ValueError(f"feature {item.get('name')!r} has unknown type {kind!r}")
        features.append(Feature(str(item["name"]), kind))
    return tuple(features)


def records_from_body(body: object) -> list[object]:
    """The records of a predict body, in either accepted shape."""
    if not isinstance(body, dict):
        raise PredictBodyInvalidError(
            'the body must be a JSON object with "records" (or "columns" and "data")')
    if "records" in body:
        if "columns" in body or "data" in body:
            raise PredictBodyInvalidError('give either "records" or "columns" + "data", not both')
        records = body["records"]
        if not isinstance(records, list):
            raise PredictBodyInvalidError('"records" must be a list of objects')
        return records
    if "columns" in body or "data" in body:
        return _records_from_columns(body.get("columns"), body.get("data"))
    raise PredictBodyInvalidError('the body needs "records" (or "columns" and "data")')


def _records_from_columns(columns: object, data: object) -> list[object]:
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise PredictBodyInvalidError('"columns" must be a list of field names')
    if len(set(columns)) != len(columns):
        raise PredictBodyInvalidError('"columns" names a field twice')
    if not isinstance(data, list):
        raise PredictBodyInvalidError('"data" must be a list of rows (lists of values)')
    details = [_detail(i, None, "bad_row", f"row {i} must be a list of {len(columns)} values")
               for i, row in enumerate(data) if not isinstance(row, list) or len(row) != len(columns)]
    if details:
        raise _invalid(details)
    return [dict(zip(columns, row, strict=True)) for row in data]


def check_records(records: Sequence[object], features: Sequence[Feature], *,
                  max_records: int) -> CheckedRecords:
    """Records reduced to ``features`` and typed; :class:`RecordsInvalidError` lists every problem."""
    check_count(records, max_records)
    names = {f.name for f in features}
    rows: list[dict[str, Value]] = []
    details: list[RecordProblem] = []
    ignored: set[str] = set()
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            details.append(_detail(index, None, "not_an_object", f"record {index} must be an object"))
            continue
        ignored.update(k for k in record if k not in names)
        row, problems = check_record(index, record, features)
        rows.append(row)
        details.extend(problems)
    if details:
        raise _invalid(details)
    return CheckedRecords(rows, sorted(str(k) for k in ignored))


def check_count(records: Sequence[object], max_records: int) -> None:
    """At least one record, at most ``max_records`` (checked before anything is read or loaded)."""
    if not records:
        raise PredictBodyInvalidError("there are no records to score")
    if len(records) > max_records:
        raise RecordsTooManyError(
            f"{len(records)} records exceed the limit of {max_records} per request",
            details=[_detail(max_records, None, "too_many_records",
                             f"record {max_records} is past the limit of {max_records}")])


def check_record(index: int, record: Mapping[str, object],
                 features: Iterable[Feature]) -> tuple[dict[str, Value], list[RecordProblem]]:
    """One record typed per ``features`` and the problems found (empty when the record is valid)."""
    row: dict[str, Value] = {}
    problems: list[RecordProblem] = []
    for feature in features:
        if feature.name not in record:
            problems.append(_detail(index, feature.name, "missing",
                                    f"record {index} has no field {feature.name!r}", feature.type))
            continue
        value = record[feature.name]
        if value is None:
            row[feature.name] = None
            continue
        try:
            row[feature.name] = CONVERTERS[feature.type](value)
        except (TypeError, ValueError):
            message = f"record {index} field {feature.name!r} must be {_EXPECTED[feature.type]}"
            problems.append(_detail(index, feature.name, "wrong_type", message, feature.type))
    return row, problems


def _to_int(value: object) -> int:
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    raise TypeError


def _to_float(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError
    number = float(value)
    if math.isinf(number):  # JSON has no infinity (Python's parser accepts one); NaN means missing
        raise ValueError
    return number


def _to_bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError
    return value


def _to_str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError
    return value


def _to_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise TypeError
    return dt.date.fromisoformat(value)


def _to_timestamp(value: object) -> dt.datetime:
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        parsed = dt.datetime.fromisoformat(value)
    else:
        raise TypeError
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


CONVERTERS: dict[str, Callable[[object], Value]] = {
    "int": _to_int, "float": _to_float, "bool": _to_bool, "string": _to_str, "category": _to_str,
    "date": _to_date, "timestamp": _to_timestamp,
}
_EXPECTED = {
    "int": "an integer", "float": "a number", "bool": "true or false", "string": "a string",
    "category": "a string", "date": "an ISO-8601 date (YYYY-MM-DD)",
    "timestamp": "an ISO-8601 timestamp (YYYY-MM-DDTHH:MM:SSZ)",
}


def _detail(index: int, field: str | None, problem: str, message: str,
            expected: str | None = None) -> RecordProblem:
    detail: RecordProblem = {"record": index, "field": field, "problem": problem, "message": message}
    if expected:
        detail["expected"] = expected
    return detail


def _invalid(details: list[RecordProblem]) -> RecordsInvalidError:
    shown = "; ".join(d["message"] for d in details[:3])
    more = f" (and {len(details) - 3} more)" if len(details) > 3 else ""
    return RecordsInvalidError(f"{len(details)} problem(s) in the records: {shown}{more}",
                               details=details[:MAX_DETAILS])

"""The data contract: what a dataset's files must look like, and what happens when they do not.

A contract is written in JSON or YAML and parsed with :func:`parse_contract`; the stored form is
``contract.model_dump(mode="json")``. Example (YAML)::

    dataset: rides
    format: {type: csv, delimiter: ",", encoding: utf-8, header: true}
    columns:
      - {name: ride_id, type: string, unique: true, pattern: "R[0-9A-F]{12}"}
      - {name: fare_amount, type: float, min: 0, max: 1000, nullable: false}
      - {name: rider_email, type: string, pii: hash, nullable: false}
      - {name: city, type: category, allowed: [Berlin, Hamburg], severity: warn}
      - {name: pickup_ts, type: timestamp, min: "2024-01-01", max: "2025-01-01", exclusive_max: true}
    rules:
      row_count: {min: 1000, max: 2000000}
      primary_key: {columns: [ride_id]}
      freshness: {column: pickup_ts, max_age: 36h, severity: warn}
    extra_columns: drop          # keep | drop | warn | error
    missing_columns: error       # error | warn (a missing column is then read as all-null)
    undeclared_pii: warn         # warn | error | off
    failure_policy: {action: quarantine_rows, max_invalid_fraction: 0.01}

Semantics (the engine implements exactly these):

- ``nullable`` defaults to **false** (a required column). Nulls are ignored by the range, allowed,
  pattern and length rules; only the ``not_null`` rule counts them. ``unique`` ignores nulls too.
  A null is a missing value: an empty CSV cell or one equal to a ``format.null_values`` token (CSV
  only: in JSONL and Parquet only a real null is null, and ``"NA"`` is text), a JSON ``null`` or absent
  key, a Parquet null, and a float NaN in any format (as pandas, pandera and Great Expectations have it).
- A value that cannot be coerced to the column's type fails ``<column>.type`` for that row and is
  treated as null by every other rule of the column (so they still run on the coercible values),
  except ``not_null``: the file holds a value there, so only ``type`` fails.
- Types read from text: ``int`` decimal integers (sign, leading zeros, surrounding blanks and integral
  floats such as ``3.0`` or ``1e3`` accepted; not hexadecimal); ``float`` decimal or exponent notation and
  ``inf``/``infinity`` (a value; ``nan`` is missing); ``bool`` true/false/t/f/yes/no/y/n/1/0 in any case;
  ``date`` ISO-8601 dates; ``timestamp`` ISO-8601 date-times (a date alone is its midnight; an offset
  is converted to UTC). Native Parquet/JSON values convert exactly (nanosecond timestamps are cut to
  the microsecond they fall in).
- Comparisons are exact, as in Python: an ``int`` column against a float bound, a ``float`` column
  against an int bound no float equals, ``-0.0 == 0.0``. A ``date`` compares as its midnight, so a
  date bound or ``allowed`` moment with a time of day admits that day only when the comparison holds
  for its midnight (``min: 2024-01-02T06:00`` excludes 2024-01-02). Timestamps compare as UTC instants.
- ``pattern`` must match the **whole** value: the meaning is Python's ``re.fullmatch`` on the text
  (``\\d``, ``\\w``, ``\\s`` are Unicode-aware). It always runs with RE2 (linear time: no value can
  make validation hang), so a pattern RE2 cannot run with exactly that meaning is **refused when the
  contract is parsed**, the message naming the construct: look-arounds, back-references, atomic
  groups and possessive quantifiers, ``\\b``/``\\B``, the flags ``i x a u L``, a ``$`` before more
  pattern, and what RE2 rejects (e.g. repetitions above 1000). Exact rewrites are made where they
  exist (``\\d``/``\\w``/``\\s`` as Python's code points, ``\\Z``, ``\\N{…}``, ``{,n}``, a final ``$``): see
  :mod:`chalicelib.core.validation.regex`. ``min_length``/``max_length`` count Unicode code points.
- ``min``/``max`` are inclusive unless ``exclusive_min``/``exclusive_max``; for ``date``/``timestamp``
  columns they are ISO-8601 strings (naive timestamps mean UTC).
- ``unique`` and ``primary_key`` compare the typed values (``1`` and ``1.0`` are one int; a key with
  a null part fails ``primary_key`` as a null key); every row of a repeated value or key fails.
- A rule's ``examples`` are its first (up to 20) failing rows, in file order.
- Every rule has a severity: the column's ``severity`` (default ``error``), overridden per rule kind
  by ``rule_severity`` (e.g. ``{range: warn}``); dataset rules carry their own ``severity``.
- Rule ids are stable: ``<column>.<kind>`` (kinds: type, not_null, unique, range, allowed, pattern,
  length, undeclared_pii) and ``dataset.<kind>`` (readable, row_count, primary_key, freshness,
  missing_columns, extra_columns). See :meth:`Contract.rule_plan`.
- ``undeclared_pii`` looks for e-mail addresses, phone numbers, Luhn-valid card numbers and
  mod-97-valid IBANs in **every** value of the string and category columns without a ``pii`` action
  (and of the extra columns when ``extra_columns: keep``), see :mod:`chalicelib.core.validation.pii`.
  ``error``: a finding is a dataset-level error (the file is rejected); ``warn``: the report names
  the columns and counts, and every value holding such PII is masked in place (``j***@***.com``)
  in the curated and quarantined rows; ``off``: no detection, values kept as they are (a bare YAML
  ``off``, which YAML reads as false, means ``off``).
- Failure policy: ``reject_file`` rejects the whole file on any error-severity failure;
  ``quarantine_rows`` keeps the valid rows and quarantines the invalid ones, unless the invalid
  fraction exceeds ``max_invalid_fraction`` or a dataset-level error rule failed (then the file is
  rejected). Warn-severity failures never reject anything.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from chalicelib.core.errors import InvalidInputError, from_pydantic
from chalicelib.core.validation import regex

ColumnType = Literal["int", "float", "bool", "string", "category", "date", "timestamp"]
Severity = Literal["error", "warn"]
PiiAction = Literal["hash", "mask", "drop"]
ColumnRuleKind = Literal["type", "not_null", "unique", "range", "allowed", "pattern", "length"]
FileFormat = Literal["csv", "parquet", "jsonl"]

NUMERIC_TYPES = frozenset({"int", "float"})
TEMPORAL_TYPES = frozenset({"date", "timestamp"})
TEXT_TYPES = frozenset({"string", "category"})
DEFAULT_NULL_VALUES = ("", "NA", "N/A", "NULL", "null", "NaN", "nan", "None")
NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_ISO_DURATION_RE = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")

_STRICT = ConfigDict(extra="forbid", frozen=True)
Bound = int | float | str | None
Scalar = bool | int | float | str


def parse_timestamp(value: str | dt.date) -> dt.datetime:
    """An ISO-8601 date or timestamp as a naive UTC ``datetime`` (aware values are converted)."""
    if isinstance(value, dt.datetime):
        ts = value
    elif isinstance(value, dt.date):
        ts = dt.datetime(value.year, value.month, value.day)
    else:
        ts = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if ts.tzinfo is not None:
        ts = ts.astimezone(dt.UTC).replace(tzinfo=None)
    return ts


def parse_duration(text: str) -> float:
    """``"36h"``, ``"7d"``, ``"90m"``, ``"1w"``, ``"3600s"`` or ISO-8601 ``"P1DT12H"`` → seconds."""
    match = _DURATION_RE.match(text)
    if match:
        return float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    iso = _ISO_DURATION_RE.match(text.strip())
    if iso and any(iso.groups()):
        weeks, days, hours, minutes, seconds = (float(g) if g else 0.0 for g in iso.groups())
        return weeks * 604800 + days * 86400 + hours * 3600 + minutes * 60 + seconds
    raise ValueError(f"not a duration: {text!r} (use e.g. 36h, 7d, 90m or ISO-8601 P1DT12H)")


class FormatSpec(BaseModel):
    """How the file is encoded. ``type`` None: taken from the file name's extension."""

    model_config = _STRICT

    type: FileFormat | None = None
    delimiter: str = ","
    encoding: str = "utf-8"
    header: bool = True
    quotechar: str = '"'
    null_values: tuple[str, ...] = DEFAULT_NULL_VALUES

    @field_validator("delimiter", "quotechar")
    @classmethod
    def _one_char(cls, value: str) -> str:
        if len(value) != 1 or value in "\r\n":
            raise ValueError("must be exactly one character (not a line break)")
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            return codecs.lookup(value).name
        except LookupError as exc:
            raise ValueError(f"unknown encoding {value!r}") from exc

    @model_validator(mode="after")
    def _distinct_chars(self) -> FormatSpec:
        if self.delimiter == self.quotechar:
            raise ValueError("delimiter and quotechar must differ")
        return self


class ColumnSpec(BaseModel):
    """One declared column, its type and its rules."""

    model_config = _STRICT

    name: str = Field(min_length=1, max_length=255)
    type: ColumnType
    nullable: bool = False
    unique: bool = False
    min: Bound = None
    max: Bound = None
    exclusive_min: bool = False
    exclusive_max: bool = False
    allowed: list[Scalar] | None = Field(default=None, min_length=1)
    pattern: str | None = None
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=0)
    pii: PiiAction | None = None
    severity: Severity = "error"
    rule_severity: dict[ColumnRuleKind, Severity] = Field(default_factory=dict)
    description: str = ""

    @field_validator("min", "max", mode="before")
    @classmethod
    def _bound_from_yaml(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("a bound must be a number or an ISO-8601 date/timestamp")
        if isinstance(value, dt.datetime | dt.date):
            return value.isoformat()
        return value

    @field_validator("allowed", mode="before")
    @classmethod
    def _allowed_from_yaml(cls, value: object) -> object:
        if isinstance(value, list):
            return [v.isoformat() if isinstance(v, dt.datetime | dt.date) else v for v in value]
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ColumnSpec:
        _raise_problems("ColumnSpec", self._problems())
        self._normalise_allowed()
        return self

    def _problems(self) -> list[tuple[str, str]]:
        problems = self._bound_problems()
        if self.pattern is not None:
            if self.type not in TEXT_TYPES:
                problems.append(("pattern", "pattern applies to string and category columns only"))
            try:
                re.compile(self.pattern)
            except re.error as exc:
                problems.append(("pattern", f"not a valid regular expression: {exc}"))
            else:
                refused = regex.refusal(self.pattern)
                if refused is not None:
                    problems.append(("pattern", f"RE2 cannot run it with Python's meaning: {refused}"))
        if (self.min_length is not None or self.max_length is not None) and self.type not in TEXT_TYPES:
            problems.append(("min_length", "min_length/max_length apply to string and category columns only"))
        if self.min_length is not None and self.max_length is not None and self.min_length > self.max_length:
            problems.append(("min_length", "min_length must be <= max_length"))
        if self.allowed is not None:
            problems += [("allowed", msg) for msg in self._allowed_problems()]
        active = {kind for kind, _ in self.rule_kinds()}
        for kind in self.rule_severity:
            if kind not in active:
                problems.append((f"rule_severity.{kind}", f"{kind!r} is not a rule of this column"))
        return problems

    def _bound_problems(self) -> list[tuple[str, str]]:
        if self.min is None and self.max is None:
            if self.exclusive_min or self.exclusive_max:
                return [("exclusive_min", "exclusive_min/exclusive_max need min/max")]
            return []
        if self.type not in NUMERIC_TYPES | TEMPORAL_TYPES:
            return [("min", "min/max apply to int, float, date and timestamp columns only")]
        problems: list[tuple[str, str]] = []
        for field in ("min", "max"):
            try:
                self._bound(getattr(self, field))
            except (TypeError, ValueError) as exc:
                problems.append((field, f"does not fit type {self.type}: {exc}"))
        if problems:
            return problems
        lo, hi = self.bounds()
        if lo is not None and hi is not None:
            if lo > hi:
                problems.append(("min", "min must be <= max"))
            elif lo == hi and (self.exclusive_min or self.exclusive_max):
                problems.append(("min", "min must be < max when a bound is exclusive"))
        return problems

    def _allowed_problems(self) -> list[str]:
        assert self.allowed is not None
        if self.type in NUMERIC_TYPES:
            bad = [v for v in self.allowed if isinstance(v, bool) or not isinstance(v, int | float)
                   or (self.type == "int" and isinstance(v, float) and not v.is_integer())]
            return [f"allowed values must be {self.type} numbers"] if bad else []
        if self.type == "bool":
            ok = all(isinstance(v, bool) for v in self.allowed)
            return [] if ok else ["allowed values must be true/false"]
        if self.type in TEMPORAL_TYPES:
            try:
                [parse_timestamp(str(v)) for v in self.allowed]
            except ValueError:
                return ["allowed values must be ISO-8601 dates/timestamps"]
        return []

    def _normalise_allowed(self) -> None:
        if self.allowed is None:
            return
        if self.type in TEXT_TYPES:
            values: list[Any] = [_as_text(v) for v in self.allowed]
        elif self.type == "int":
            values = [int(v) for v in self.allowed]
        elif self.type == "float":
            values = [float(v) for v in self.allowed]
        else:
            values = list(self.allowed)
        object.__setattr__(self, "allowed", values)

    def bounds(self) -> tuple[Any, Any]:
        """``(min, max)`` as values of the column's type (float/int, or naive UTC ``datetime``)."""
        return self._bound(self.min), self._bound(self.max)

    def _bound(self, value: Any) -> Any:
        if value is None:
            return None
        if self.type in TEMPORAL_TYPES:
            if not isinstance(value, str):
                raise TypeError("a date/timestamp bound must be an ISO-8601 string")
            return parse_timestamp(value)
        if isinstance(value, str):
            raise TypeError("a numeric bound must be a number")
        return value

    def rule_kinds(self) -> list[tuple[str, Severity]]:
        """The active rule kinds of this column with their severities, in report order."""
        kinds: list[ColumnRuleKind] = ["type"]
        if not self.nullable:
            kinds.append("not_null")
        if self.unique:
            kinds.append("unique")
        if self.min is not None or self.max is not None:
            kinds.append("range")
        if self.allowed is not None:
            kinds.append("allowed")
        if self.pattern is not None:
            kinds.append("pattern")
        if self.min_length is not None or self.max_length is not None:
            kinds.append("length")
        return [(k, self.rule_severity.get(k, self.severity)) for k in kinds]


def _raise_problems(title: str, problems: list[tuple[str, str]]) -> None:
    """Raise one pydantic ValidationError holding every problem at its own location."""
    if problems:
        raise ValidationError.from_exception_data(title, [
            InitErrorDetails(type=PydanticCustomError("value_error", msg), loc=_loc(loc), input=None)
            for loc, msg in problems])


def _loc(loc: str) -> tuple[str | int, ...]:
    return tuple(int(p) if p.isdigit() else p for p in loc.split(".") if p)


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class RowCountRule(BaseModel):
    """Bounds on the number of data rows (inclusive)."""

    model_config = _STRICT

    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)
    severity: Severity = "error"

    @model_validator(mode="after")
    def _ordered(self) -> RowCountRule:
        if self.min is None and self.max is None:
            _raise_problems("RowCountRule", [("min", "row_count needs min and/or max")])
        if self.min is not None and self.max is not None and self.min > self.max:
            _raise_problems("RowCountRule", [("min", "row_count min must be <= max")])
        return self


class PrimaryKeyRule(BaseModel):
    """One or several columns whose combined value is non-null and occurs once per file."""

    model_config = _STRICT

    columns: list[str] = Field(min_length=1)
    severity: Severity = "error"

    @field_validator("columns", mode="before")
    @classmethod
    def _one_as_list(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("columns")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("primary key columns must be distinct")
        return value


class FreshnessRule(BaseModel):
    """The newest value of a timestamp/date column is at most ``max_age`` old at validation time."""

    model_config = _STRICT

    column: str
    max_age: str
    severity: Severity = "error"

    @field_validator("max_age", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return f"{value}s"
        if isinstance(value, str):
            parse_duration(value)
        return value

    @property
    def max_age_seconds(self) -> float:
        return parse_duration(self.max_age)


class DatasetRules(BaseModel):
    """Rules over the whole file."""

    model_config = _STRICT

    row_count: RowCountRule | None = None
    primary_key: PrimaryKeyRule | None = None
    freshness: FreshnessRule | None = None


class FailurePolicy(BaseModel):
    """What a failing file turns into: rejected whole, or valid rows kept and invalid rows quarantined."""

    model_config = _STRICT

    action: Literal["reject_file", "quarantine_rows"] = "reject_file"
    max_invalid_fraction: float = Field(default=0.05, ge=0.0, le=1.0)


@dataclass(frozen=True)
class RuleRef:
    """One rule of a contract as the report names it."""

    id: str
    kind: str
    column: str | None
    severity: Severity
    level: Literal["row", "dataset"]


class Contract(BaseModel):
    """A dataset's data contract (see the module docstring for the semantics)."""

    model_config = _STRICT

    dataset: str = Field(pattern=NAME_RE)
    description: str = ""
    format: FormatSpec = Field(default_factory=FormatSpec)
    columns: list[ColumnSpec] = Field(min_length=1)
    rules: DatasetRules = Field(default_factory=DatasetRules)
    extra_columns: Literal["keep", "drop", "warn", "error"] = "drop"
    missing_columns: Literal["error", "warn"] = "error"
    undeclared_pii: Literal["warn", "error", "off"] = "warn"
    failure_policy: FailurePolicy = Field(default_factory=FailurePolicy)

    @field_validator("failure_policy", mode="before")
    @classmethod
    def _policy_shorthand(cls, value: object) -> object:
        return {"action": value} if isinstance(value, str) else value

    @field_validator("undeclared_pii", mode="before")
    @classmethod
    def _bare_yaml_off(cls, value: object) -> object:
        # YAML 1.1 reads a bare ``off`` (and ``no``) as false; the only level false can mean is "off"
        return "off" if value is False else value

    @model_validator(mode="after")
    def _cross_checks(self) -> Contract:
        _raise_problems("Contract", contract_problems(self))
        return self

    def column(self, name: str) -> ColumnSpec:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def rule_plan(self) -> list[RuleRef]:
        """Every rule this contract declares, in report order, with its stable id."""
        plan = [RuleRef("dataset.readable", "readable", None, "error", "dataset"),
                RuleRef("dataset.missing_columns", "missing_columns", None,
                        "error" if self.missing_columns == "error" else "warn", "dataset")]
        if self.extra_columns in ("warn", "error"):
            plan.append(RuleRef("dataset.extra_columns", "extra_columns", None,
                                "error" if self.extra_columns == "error" else "warn", "dataset"))
        rules = self.rules
        if rules.row_count:
            plan.append(RuleRef("dataset.row_count", "row_count", None, rules.row_count.severity, "dataset"))
        if rules.primary_key:
            plan.append(RuleRef("dataset.primary_key", "primary_key", None, rules.primary_key.severity,
                                "row"))
        if rules.freshness:
            plan.append(RuleRef("dataset.freshness", "freshness", rules.freshness.column,
                                rules.freshness.severity, "dataset"))
        for col in self.columns:
            plan += [RuleRef(f"{col.name}.{kind}", kind, col.name, sev, "row")
                     for kind, sev in col.rule_kinds()]
        return plan


def contract_problems(contract: Contract) -> list[tuple[str, str]]:
    """Cross-field problems of a contract whose fields are each valid: ``[(loc, message)]``."""
    problems: list[tuple[str, str]] = []
    names = [c.name for c in contract.columns]
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            problems.append((f"columns.{i}.name", f"duplicate column name {name!r}"))
        seen.add(name)
    pk = contract.rules.primary_key
    if pk is not None:
        for j, name in enumerate(pk.columns):
            if name not in seen:
                problems.append((f"rules.primary_key.columns.{j}",
                                 f"primary key column {name!r} is not declared"))
    fresh = contract.rules.freshness
    if fresh is not None:
        if fresh.column not in seen:
            problems.append(("rules.freshness.column", f"freshness column {fresh.column!r} is not declared"))
        elif contract.column(fresh.column).type not in TEMPORAL_TYPES:
            problems.append(("rules.freshness.column",
                             f"freshness column {fresh.column!r} must be of type timestamp or date"))
    if not contract.format.header and contract.extra_columns == "keep":
        problems.append(("extra_columns", "extra columns cannot be kept in a file without a header"))
    return problems


def parse_contract(data: Mapping[str, object] | str | bytes) -> Contract:
    """A :class:`Contract` from a dict or JSON/YAML text; InvalidInputError listing every field error."""
    document: object = data
    if isinstance(document, bytes):
        try:
            document = document.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _invalid("(root)", "a contract must be UTF-8 text") from exc
    if isinstance(document, str):
        document = _load_text(document)
    if not isinstance(document, dict):
        raise _invalid("(root)", "a contract must be a mapping (JSON object / YAML mapping)")
    try:
        return Contract.model_validate(document)
    except ValidationError as exc:
        raise from_pydantic(exc, "contract") from exc


def _load_text(text: str) -> object:
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        raise _invalid("(root)", "the contract is empty")
    if stripped[0] in "{[":
        try:
            return json.loads(stripped)
        except ValueError as exc:
            raise _invalid("(root)", f"invalid JSON: {exc}") from exc
    import yaml

    try:
        return yaml.safe_load(stripped)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise _invalid("(root)", f"invalid YAML{where}") from exc


def _invalid(loc: str, msg: str) -> InvalidInputError:
    return InvalidInputError(f"invalid contract: {loc}: {msg}", details=[{"loc": loc, "msg": msg,
                                                                          "type": "value_error"}])

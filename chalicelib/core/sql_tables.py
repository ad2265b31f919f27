"""The SQL tables over what sluice stores, defined once: the Glue tables of the template
(``infra/resources.yaml``, tested equal to these definitions) and the local engine's views
(``sluice query`` on DuckDB) read the same name, location, columns, types and partitions.

Every table is one-line JSON (the OpenX JSON SerDe; columns matched by name, keys case-sensitive so the
feature names in ``input`` keep their spelling) under a partitioned prefix, and partition projection
derives the partitions from the key, so no crawler and no ``MSCK REPAIR`` is needed:

==============================  ==========================================================================
``sluice_captures``             ``capture/{model}/date={day}/hour={hour}/{uuid}.jsonl``: sampled requests
                                (written by serving); ``model`` is injected: queries name it
``sluice_labels``               ``tables/labels/day={day}/…``: ground truth, one row per labelled record
``sluice_checks``               ``tables/checks/day={day}/…``: drift and performance checks
``sluice_check_features``       ``tables/check_features/day={day}/…``: each feature's drift verdict
``sluice_validations``          ``tables/validations/day={day}/…``: each dataset version's outcome
``sluice_validation_rules``     ``tables/validation_rules/day={day}/…``: each rule's outcome per version
``sluice_batch_outputs``        ``tables/batch_outputs/day={day}/…``: each batch output object
==============================  ==========================================================================

Curated datasets have their own Glue tables (one per dataset, registered by the upload path). The
``sluice_`` prefix keeps these names apart from theirs (a dataset's table is its name with ``-`` as
``_``). Times are ISO-8601 text in UTC (``2026-11-26T16:33:47.123Z``); ``from_iso8601_timestamp(time)``
reads them on Athena, and the local engine defines the same function.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

TABLES_PREFIX = "tables"  # sluice's own one-line JSON records (everything but captures)
SERDE = "org.openx.data.jsonserde.JsonSerDe"
SERDE_PARAMETERS = {"case.insensitive": "false"}  # keys as written: feature names keep their case
INPUT_FORMAT = "org.apache.hadoop.mapred.TextInputFormat"
OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
FIRST_DAY = "2025-01-01"  # the first day partition projection enumerates


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # a Glue (Hive) type: string, int, bigint, double, boolean, map<…>, struct<…>
    comment: str = ""


@dataclass(frozen=True)
class Partition:
    """A partition column and how projection finds its values."""

    name: str
    type: str  # string | int
    projection: str  # injected | date | integer

    def projection_parameters(self) -> dict[str, str]:
        key = f"projection.{self.name}"
        if self.projection == "date":
            return {f"{key}.type": "date", f"{key}.format": "yyyy-MM-dd", f"{key}.range": f"{FIRST_DAY},NOW",
                    f"{key}.interval": "1", f"{key}.interval.unit": "DAYS"}
        if self.projection == "integer":
            return {f"{key}.type": "integer", f"{key}.range": "0,23", f"{key}.digits": "2"}
        return {f"{key}.type": "injected"}


@dataclass(frozen=True)
class TableDef:
    name: str
    location: str  # key template below the bucket: ``${partition}`` where each partition's value goes
    columns: tuple[Column, ...]
    partitions: tuple[Partition, ...]
    description: str

    @property
    def prefix(self) -> str:
        """The fixed part of the location: every object of the table is under it."""
        return self.location.split("${", 1)[0]

    def parameters(self, bucket: str) -> dict[str, str]:
        """The Glue table parameters: JSON, and partition projection with the location template."""
        out = {"classification": "json", "projection.enabled": "true",
               "storage.location.template": f"s3://{bucket}/{self.location}"}
        for partition in self.partitions:
            out.update(partition.projection_parameters())
        return out

    def key_pattern(self) -> re.Pattern[str]:
        """A regular expression matching the keys of the table's objects, one group per partition."""
        pattern = re.escape(self.location)
        for partition in self.partitions:
            pattern = pattern.replace(re.escape("${" + partition.name + "}"), f"(?P<{partition.name}>[^/]+)")
        return re.compile(f"^{pattern}[^/]+$")

    def partition_values(self, key: str) -> dict[str, str | int] | None:
        """The partition values projection gives the object ``key``; None if the table does not hold it."""
        match = self.key_pattern().match(key)
        if match is None:
            return None
        out: dict[str, str | int] = {}
        for partition in self.partitions:
            value = match[partition.name]
            if partition.type == "int":
                if not value.isdigit():
                    return None
                out[partition.name] = int(value)
            elif partition.projection == "date" and not _is_day(value):
                return None
            else:
                out[partition.name] = value
        return out

    @property
    def injected(self) -> tuple[str, ...]:
        """Partitions Athena cannot enumerate: a query must name their value (``WHERE model = '…'``)."""
        return tuple(p.name for p in self.partitions if p.projection == "injected")


def _is_day(value: str) -> bool:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def _columns(spec: str) -> tuple[Column, ...]:
    """``name type, name type`` (types without spaces) as columns."""
    return tuple(Column(*part.split()) for part in spec.split(", "))


DAY = Partition("day", "string", "date")
PROBABILITIES = "map<string,double>"

TABLES: tuple[TableDef, ...] = (
    TableDef(
        "sluice_captures", "capture/${model}/date=${day}/hour=${hour}/",
        _columns("request_id string, record_index int, time string, version int, alias string, "
                 f"input map<string,string>, prediction string, probabilities {PROBABILITIES}, "
                 f"shadow struct<version:int,prediction:string,probabilities:{PROBABILITIES},error:string>"),
        (Partition("model", "string", "injected"), DAY, Partition("hour", "int", "integer")),
        "sampled prediction requests with the model's answers (serving's capture)"),
    TableDef(
        "sluice_labels", f"{TABLES_PREFIX}/labels/day=${{day}}/",
        _columns("model string, request_id string, record_index int, label string, labelled_at string, "
                 "labels_key string, labels_version_id string, check_id string"),
        (DAY,), "ground truth: one row per labelled record of each labels object"),
    TableDef(
        "sluice_checks", f"{TABLES_PREFIX}/checks/day=${{day}}/",
        _columns("model string, check_id string, kind string, checked_at string, version int, "
                 "status string, trigger string, rows bigint, window_start string, window_end string, "
                 "window_hours double, drift_share double, drifted_features int, dataset_drift boolean, "
                 "prediction_drift boolean, metric string, live double, holdout double, labels bigint, "
                 "matched bigint, unmatched bigint, run_id string, retrain string, report_key string"),
        (DAY,), "drift and performance checks of each model's production version"),
    TableDef(
        "sluice_check_features", f"{TABLES_PREFIX}/check_features/day=${{day}}/",
        _columns("model string, check_id string, checked_at string, version int, feature string, "
                 "kind string, status string, method string, statistic_name string, statistic double, "
                 "test string, p_value double, effect_name string, effect double, psi double, "
                 "psi_level string, n_reference bigint, n_current bigint, reason string"),
        (DAY,), "each feature's verdict in each drift check (the prediction's too)"),
    TableDef(
        "sluice_validations", f"{TABLES_PREFIX}/validations/day=${{day}}/",
        _columns("dataset string, version int, created_at string, status string, verdict string, "
                 "decision string, code string, rows bigint, invalid_rows bigint, contract_version int, "
                 "failed_rules int, raw_key string, raw_version_id string, report_key string"),
        (DAY,), "each dataset version's validation outcome"),
    TableDef(
        "sluice_validation_rules", f"{TABLES_PREFIX}/validation_rules/day=${{day}}/",
        _columns("dataset string, version int, created_at string, rule string, kind string, "
                 "column_name string, severity string, level string, status string, failing_rows bigint"),
        (DAY,), "each rule's outcome in each dataset version's validation"),
    TableDef(
        "sluice_batch_outputs", f"{TABLES_PREFIX}/batch_outputs/day=${{day}}/",
        _columns("model string, version int, scored_at string, status string, input_key string, "
                 "output_key string, rows bigint, error_rows bigint, code string"),
        (DAY,), "each batch input scored (or refused), with its output object"),
)
BY_NAME = {table.name: table for table in TABLES}


def table(name: str) -> TableDef:
    return BY_NAME[name]


# ---- types ---------------------------------------------------------------------------------------

type TypeTree = str | tuple[str, tuple[tuple[str, TypeTree], ...]]
"""A parsed type: a primitive name, ``("map", (("key", k), ("value", v)))`` or ``("struct", fields)``."""


def parse_type(text: str) -> TypeTree:
    """A Glue type string as a tree (``map<string,double>`` → ``("map", (("key", "string"), …))``)."""
    tree, rest = _parse(text.replace(" ", ""))
    if rest:
        raise ValueError(f"unexpected {rest!r} in type {text!r}")
    return tree


def _parse(text: str) -> tuple[TypeTree, str]:
    head = re.match(r"[a-z]+", text)
    if head is None:
        raise ValueError(f"no type at {text!r}")
    name, rest = head[0], text[head.end():]
    if name not in ("map", "struct", "array"):
        return name, rest
    if not rest.startswith("<"):
        raise ValueError(f"{name} needs <…>")
    rest = rest[1:]
    fields: list[tuple[str, TypeTree]] = []
    while True:
        if name == "struct":
            label, _, rest = rest.partition(":")
        else:
            label = ("key", "value")[len(fields)] if name == "map" else "element"
        sub, rest = _parse(rest)
        fields.append((label, sub))
        if rest.startswith(","):
            rest = rest[1:]
            continue
        if not rest.startswith(">"):
            raise ValueError(f"unclosed {name}<…>")
        return (name, tuple(fields)), rest[1:]


def coerce(value: Any, tree: TypeTree) -> Any:
    """A JSON value as the OpenX JSON SerDe reads it into a column of type ``tree``: a string column
    holds a number's or boolean's JSON text; a number that does not fit, or a value of another kind,
    is null; missing and null are null."""
    if value is None:
        return None
    if isinstance(tree, str):
        return _primitive(value, tree)
    kind, fields = tree
    if kind == "map":
        if not isinstance(value, Mapping):
            return None
        return {str(k): coerce(v, fields[1][1]) for k, v in value.items()}
    if kind == "struct":
        if not isinstance(value, Mapping):
            return None
        return {label: coerce(value.get(label), sub) for label, sub in fields}
    return [coerce(v, fields[0][1]) for v in value] if isinstance(value, list) else None


def _primitive(value: Any, kind: str) -> Any:
    if kind == "string":
        return value if isinstance(value, str) else json.dumps(value)
    if kind == "boolean":
        return value if isinstance(value, bool) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if kind in ("int", "bigint"):
        if isinstance(value, float) and not value.is_integer():
            return None
        bits = 31 if kind == "int" else 63
        return int(value) if -(2 ** bits) <= value < 2 ** bits else None
    return float(value) if math.isfinite(value) else None


def row(table_def: TableDef, record: Mapping[str, Any],
        partitions: Mapping[str, str | int]) -> dict[str, Any]:
    """One row of ``table_def`` from a parsed JSON line and the object's partition values."""
    out = {c.name: coerce(record.get(c.name), parse_type(c.type)) for c in table_def.columns}
    out.update(partitions)
    return out


def rows_of(table_def: TableDef, body: bytes, partitions: Mapping[str, str | int]
            ) -> Iterable[dict[str, Any]]:
    """The rows of one object's JSON lines (blank lines skipped, as the SerDe does)."""
    for line in body.decode("utf-8").splitlines():
        if line.strip():
            yield row(table_def, json.loads(line), partitions)


# ---- records -------------------------------------------------------------------------------------


def day_of(iso_time: str) -> str:
    """The ``day`` partition (``YYYY-MM-DD``, UTC) of a house timestamp."""
    return dt.datetime.fromisoformat(iso_time.replace("Z", "+00:00")).astimezone(dt.UTC).date().isoformat()


def object_key(name: str, day: str, record_id: str) -> str:
    """The key of one object of a ``tables/`` table (``record_id``: what makes it unique and stable, so
    writing it again replaces it)."""
    definition = BY_NAME[name]
    if definition.injected or [p.name for p in definition.partitions] != ["day"]:
        raise ValueError(f"{name} is not written by sluice's record writer")
    safe = re.sub(r"[^A-Za-z0-9_.=-]+", "_", record_id)
    return definition.location.replace("${day}", day) + f"{safe}.jsonl"


def jsonl(records: Iterable[Mapping[str, Any]]) -> bytes:
    """One-line JSON per record, non-finite numbers as null (JSON has no NaN)."""
    return "".join(json.dumps(_finite(dict(r)), allow_nan=False, default=str) + "\n"
                   for r in records).encode()


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value

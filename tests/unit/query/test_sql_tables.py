"""The SQL tables' definitions: keys as sluice writes them map to the partitions projection derives, JSON
values become what the JSON SerDe reads, and the query checks refuse what Athena refuses."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.core import sql_records
from chalicelib.core.sql_query import (
    PartitionFilterMissingError,
    UnknownTableError,
    check_injected,
    check_tables,
    injected_values,
)
from chalicelib.core.sql_tables import BY_NAME, TABLES, coerce, day_of, jsonl, object_key, parse_type, rows_of
from chalicelib.storage import layout

CAPTURES = BY_NAME["sluice_captures"]


@settings(max_examples=60, deadline=None)
@given(model=st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True),
       when=st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2030, 12, 31),
                         timezones=st.just(dt.UTC)))
def test_a_capture_key_gives_the_model_day_and_hour_it_was_written_under(model, when):
    key = layout.capture_key(model, when)
    assert CAPTURES.partition_values(key) == {"model": model, "day": f"{when:%Y-%m-%d}", "hour": when.hour}


def test_objects_outside_a_tables_layout_are_not_its_rows():
    assert CAPTURES.partition_values("capture/fare/date=2026-01-01/x.jsonl") is None  # no hour
    assert CAPTURES.partition_values("capture/fare/date=yesterday/hour=01/x.jsonl") is None
    assert CAPTURES.partition_values("capture/fare/date=2026-01-01/hour=1a/x.jsonl") is None
    checks = BY_NAME["sluice_checks"]
    assert checks.partition_values("tables/checks/day=2026-01-01/fare.x.jsonl") == {"day": "2026-01-01"}
    assert checks.partition_values("tables/checks/day=2026-01-01/sub/fare.x.jsonl") is None


def test_every_record_table_is_written_at_keys_its_own_layout_reads():
    for table in TABLES:
        if table.injected:
            continue
        key = object_key(table.name, "2026-02-03", "fare.check/1")
        assert table.partition_values(key) == {"day": "2026-02-03"}, key
    with pytest.raises(ValueError, match="not written"):
        object_key("sluice_captures", "2026-02-03", "x")


def test_types_parse_into_nested_trees():
    assert parse_type("map<string,double>") == ("map", (("key", "string"), ("value", "double")))
    assert parse_type("struct<version:int,p:map<string,double>>") == (
        "struct", (("version", "int"), ("p", ("map", (("key", "string"), ("value", "double"))))))
    with pytest.raises(ValueError):
        parse_type("map<string,double")


def test_json_values_become_what_the_json_serde_reads():
    assert coerce(1, "string") == "1" and coerce(2.5, "string") == "2.5" and coerce(True, "string") == "true"
    assert coerce("yes", "string") == "yes"
    assert coerce(3, "int") == 3 and coerce(3.0, "int") == 3 and coerce(3.5, "int") is None
    assert coerce(2 ** 31, "int") is None and coerce(2 ** 31, "bigint") == 2 ** 31
    assert coerce("3", "int") is None and coerce(True, "int") is None
    assert coerce(1, "double") == 1.0 and coerce(True, "boolean") is True and coerce(1, "boolean") is None
    assert coerce({"a": 1, "b": "x"}, parse_type("map<string,string>")) == {"a": "1", "b": "x"}
    assert coerce({"version": 4, "error": "boom"}, parse_type("struct<version:int,error:string,x:double>")) \
        == {"version": 4, "error": "boom", "x": None}


def test_a_capture_line_reads_as_one_row_with_its_partitions():
    line = {"request_id": "r1", "record_index": 0, "time": "2026-11-26T16:33:47.123Z", "model": "churn",
            "version": 3, "alias": "production", "input": {"tenure": 12.0, "Plan": "pro"}, "prediction": 1,
            "probabilities": {"0": 0.2, "1": 0.8}, "shadow": {"version": 4, "prediction": 0}}
    [row] = rows_of(CAPTURES, (json.dumps(line) + "\n\n").encode(),
                    {"model": "churn", "day": "2026-11-26", "hour": 16})
    assert row == {"request_id": "r1", "record_index": 0, "time": "2026-11-26T16:33:47.123Z", "version": 3,
                   "alias": "production", "input": {"tenure": "12.0", "Plan": "pro"}, "prediction": "1",
                   "probabilities": {"0": 0.2, "1": 0.8},
                   "shadow": {"version": 4, "prediction": "0", "probabilities": None, "error": None},
                   "model": "churn", "day": "2026-11-26", "hour": 16}


@settings(max_examples=80, deadline=None)
@given(label=st.one_of(st.integers(-5, 5), st.booleans(), st.text(min_size=1, max_size=5),
                       st.floats(allow_nan=False, allow_infinity=False, width=32)))
def test_a_label_reads_as_the_text_the_prediction_of_the_same_class_reads_as(label):
    """Serving captures ``prediction`` with json.dumps; the SerDe reads its JSON text into the string
    column. A label spelled as the class (as the performance check spells it) must read the same."""
    prediction_text = coerce(json.loads(json.dumps(label)), "string")
    if isinstance(label, float) and label.is_integer():  # the class of a whole float label is the integer
        prediction_text = coerce(int(label), "string")
    assert sql_records.label_text(label) == prediction_text


def test_records_hold_only_their_tables_columns_and_never_example_values():
    report = {"rules": [{"id": "fare.range", "kind": "range", "column": "fare", "severity": "error",
                         "level": "row", "status": "failed", "passed": False, "failing_rows": 3,
                         "examples": [{"row": 1, "value": -5}]},
                        {"id": "email.pii", "kind": "pii", "column": "email", "severity": "warn",
                         "level": "row", "passed": None, "failing_rows": None, "examples": []}]}
    record = {"dataset": "rides", "version": 2, "created_at": "2026-01-02T03:04:05.000Z", "status": "passed",
              "raw": {"key": "raw/rides/a.csv", "version_id": "v1"}, "failing_rules": ["fare.range"]}
    rules = sql_records.rule_rows(record, report)
    assert [set(r) for r in rules] == [{c.name for c in BY_NAME["sluice_validation_rules"].columns}] * 2
    assert [(r["rule"], r["column_name"], r["status"], r["failing_rows"]) for r in rules] == [
        ("fare.range", "fare", "failed", 3), ("email.pii", "email", "not_evaluated", None)]
    assert "-5" not in jsonl(rules).decode()
    row = sql_records.validation_row(record)
    assert (row["raw_key"], row["raw_version_id"], row["failed_rules"]) == ("raw/rides/a.csv", "v1", 1)


def test_a_drift_summary_gives_one_check_row_and_one_row_per_feature():
    summary = {"kind": "drift", "check_id": "c1", "checked_at": "2026-01-02T03:04:05.000Z", "model": "fare",
               "version": 2, "status": "drift", "rows": 600, "drift_share": 0.5, "drifted_features": 1,
               "retrain": {"status": "started"}, "reports": {"json": "reports/drift/fare/c1/report.json"},
               "features": [{"name": "distance", "kind": "numeric", "status": "drift", "psi": float("nan")},
                            {"name": "city", "kind": "categorical", "status": "ok", "psi": 0.01}]}
    check = sql_records.check_row(summary)
    assert (check["retrain"], check["report_key"], check["rows"]) == (
        "started", summary["reports"]["json"], 600)
    features = sql_records.feature_rows(summary)
    assert [(f["feature"], f["check_id"], f["status"]) for f in features] == [
        ("distance", "c1", "drift"), ("city", "c1", "ok")]
    assert json.loads(jsonl(features).decode().splitlines()[0])["psi"] is None  # JSON has no NaN


def test_the_day_of_a_house_timestamp_is_its_utc_date():
    assert day_of("2026-11-26T23:59:59.999Z") == "2026-11-26"
    assert day_of("2026-11-27T01:00:00+02:00") == "2026-11-26"


def test_a_query_naming_a_table_no_engine_holds_is_refused_with_the_tables_there_are():
    with pytest.raises(UnknownTableError, match="unknown table sluice_capture; the tables are: rides, s"):
        check_tables({"sluice_capture"}, ["rides", "sluice_checks"])
    check_tables({"rides", "sluice_checks"}, ["rides", "sluice_checks"])


def test_a_captures_query_must_name_its_model_as_athena_requires():
    with pytest.raises(PartitionFilterMissingError, match="WHERE model = "):
        check_injected("SELECT count(*) FROM sluice_captures WHERE day = '2026-01-01'", {"sluice_captures"})
    check_injected("SELECT * FROM sluice_captures c WHERE c.model = 'fare'", {"sluice_captures"})
    check_injected("select * from sluice_captures where MODEL in ('a','b')", {"sluice_captures"})
    check_injected("SELECT * FROM sluice_checks", {"sluice_checks"})  # model is a column there


def test_the_named_models_are_the_only_capture_folders_read():
    assert injected_values("SELECT 1 FROM t WHERE model = 'fare' AND x = 1", "model") == {"fare"}
    assert injected_values("WHERE model IN ('a', 'b') OR c.model = 'c'", "model") == {"a", "b", "c"}
    assert injected_values("WHERE model = other_column", "model") is None
    assert injected_values("WHERE model IN (SELECT m FROM t)", "model") is None

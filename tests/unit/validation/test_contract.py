"""The data contract model: parsing JSON/YAML, cross-field checks, every field error listed."""

from __future__ import annotations

import json

import pytest

from chalicelib.core.errors import InvalidInputError
from chalicelib.core.validation.contract import Contract, parse_contract, parse_duration

YAML = """
dataset: rides
format: {type: csv, delimiter: ";", encoding: latin-1}
columns:
  - {name: ride_id, type: string, unique: true, pattern: "R[0-9]+"}
  - {name: fare, type: float, min: 0, max: 1000, exclusive_min: true, rule_severity: {range: warn}}
  - {name: city, type: category, allowed: [Berlin, Bonn], nullable: true}
  - {name: email, type: string, pii: hash}
  - {name: pickup_ts, type: timestamp, min: 2024-01-01, max: "2025-01-01T00:00:00Z", exclusive_max: true}
rules:
  row_count: {min: 1, max: 10}
  primary_key: {columns: [ride_id, pickup_ts]}
  freshness: {column: pickup_ts, max_age: 36h, severity: warn}
failure_policy: {action: quarantine_rows, max_invalid_fraction: 0.1}
"""


def errors_of(data) -> dict[str, str]:
    with pytest.raises(InvalidInputError) as info:
        parse_contract(data)
    assert info.value.code == "invalid_input"
    return {d["loc"]: d["msg"] for d in info.value.details}


def test_a_yaml_contract_parses_and_its_stored_form_parses_back_identically():
    c = parse_contract(YAML)
    stored = c.model_dump(mode="json")
    assert json.loads(json.dumps(stored)) == stored
    assert parse_contract(stored) == c
    assert parse_contract(json.dumps(stored)) == c
    assert c.format.delimiter == ";" and c.format.encoding == "iso8859-1"
    assert c.column("fare").rule_kinds() == [("type", "error"), ("not_null", "error"), ("range", "warn")]


def test_rule_ids_are_stable_and_readable():
    ids = [r.id for r in parse_contract(YAML).rule_plan()]
    assert ids[:6] == ["dataset.readable", "dataset.missing_columns", "dataset.row_count",
                       "dataset.primary_key", "dataset.freshness", "ride_id.type"]
    assert {"ride_id.unique", "ride_id.pattern", "fare.range", "city.allowed", "pickup_ts.range",
            "email.not_null"} <= set(ids)
    assert "city.not_null" not in ids  # nullable


def test_yaml_dates_and_timestamps_become_iso_strings_and_bounds_parse_to_naive_utc():
    c = parse_contract(YAML)
    lo, hi = c.column("pickup_ts").bounds()
    assert (lo.isoformat(), hi.isoformat()) == ("2024-01-01T00:00:00", "2025-01-01T00:00:00")
    assert c.column("pickup_ts").min == "2024-01-01"


def test_every_field_error_is_listed_with_its_location():
    errors = errors_of({
        "dataset": "bad name!",
        "columns": [{"name": "a", "type": "int", "min": 5, "max": 1, "pattern": "x"},
                    {"name": "b", "type": "decimal"},
                    {"name": "c", "type": "float", "colour": "red"},
                    {"name": "d", "type": "string", "min_length": 5, "max_length": 2, "pii": "encrypt"}],
        "rules": {"row_count": {"min": 5, "max": 1}},
        "failure_policy": {"action": "quarantine_rows", "max_invalid_fraction": 2},
        "unknown_key": 1,
    })
    assert set(errors) >= {"dataset", "columns.0.min", "columns.0.pattern", "columns.1.type",
                           "columns.2.colour", "columns.3.pii", "rules.row_count.min",
                           "failure_policy.max_invalid_fraction", "unknown_key"}
    assert errors["columns.0.min"] == "min must be <= max"
    assert errors["columns.2.colour"] == "Extra inputs are not permitted"


def test_cross_field_checks_name_the_offending_field():
    errors = errors_of({
        "dataset": "x",
        "columns": [{"name": "a", "type": "int"}, {"name": "a", "type": "string"},
                    {"name": "s", "type": "string", "min": 1},
                    {"name": "f", "type": "float", "allowed": ["x"], "rule_severity": {"pattern": "warn"}},
                    {"name": "r", "type": "string", "pattern": "("}],
        "rules": {"primary_key": {"columns": ["a", "zzz"]}, "freshness": {"column": "a", "max_age": "1d"}},
    })
    assert errors["columns.2.min"] == "min/max apply to int, float, date and timestamp columns only"
    assert errors["columns.3.allowed"] == "allowed values must be float numbers"
    assert errors["columns.3.rule_severity.pattern"] == "'pattern' is not a rule of this column"
    assert errors["columns.4.pattern"].startswith("not a valid regular expression")
    # contract-level checks run once every column is valid
    errors = errors_of({
        "dataset": "x", "columns": [{"name": "a", "type": "int"}, {"name": "a", "type": "string"}],
        "rules": {"primary_key": {"columns": ["a", "zzz"]}, "freshness": {"column": "a", "max_age": "1d"}}})
    assert errors == {"columns.1.name": "duplicate column name 'a'",
                      "rules.primary_key.columns.1": "primary key column 'zzz' is not declared",
                      "rules.freshness.column": "freshness column 'a' must be of type timestamp or date"}


def test_exclusive_bounds_need_room_and_timestamp_bounds_must_be_dates():
    errors = errors_of({"dataset": "x", "columns": [
        {"name": "a", "type": "int", "min": 3, "max": 3, "exclusive_max": True},
        {"name": "t", "type": "timestamp", "min": "yesterday"}]})
    assert errors["columns.0.min"] == "min must be < max when a bound is exclusive"
    assert errors["columns.1.min"].startswith("does not fit type timestamp")


@pytest.mark.parametrize(("text", "message"), [
    ("", "the contract is empty"),
    ("dataset: [", "invalid YAML at line 1"),
    ("{not json", "invalid JSON"),
    ("[1, 2]", "a contract must be a mapping"),
])
def test_unparseable_text_is_an_invalid_input_error(text, message):
    errors = errors_of(text)
    assert errors["(root)"].startswith(message)


def test_failure_policy_accepts_a_shorthand_and_durations_parse():
    c = parse_contract({"dataset": "x", "columns": [{"name": "a", "type": "int"}],
                        "failure_policy": "quarantine_rows"})
    assert c.failure_policy.action == "quarantine_rows" and c.failure_policy.max_invalid_fraction == 0.05
    assert [parse_duration(t) for t in ("90m", "36h", "7d", "1w", "P1DT12H")] == \
        [5400, 129600, 604800, 604800, 129600]
    assert errors_of({"dataset": "x", "columns": [{"name": "t", "type": "timestamp"}],
                      "rules": {"freshness": {"column": "t", "max_age": "soon"}}})


def test_defaults_are_strict_columns_and_warnings_for_undeclared_pii():
    c = Contract.model_validate({"dataset": "x", "columns": [{"name": "a", "type": "int"}]})
    assert c.columns[0].nullable is False
    assert (c.extra_columns, c.missing_columns, c.undeclared_pii) == ("drop", "error", "warn")
    assert c.failure_policy.action == "reject_file"


def test_bare_yaml_off_for_undeclared_pii_means_off_not_false():
    import yaml

    text = "dataset: x\ncolumns: [{name: a, type: string}]\nundeclared_pii: off\n"
    assert yaml.safe_load(text)["undeclared_pii"] is False  # what YAML 1.1 makes of a bare off
    assert parse_contract(text).undeclared_pii == "off"
    assert parse_contract(yaml.safe_load(text)).undeclared_pii == "off"
    assert parse_contract(yaml.safe_load(text)).model_dump(mode="json")["undeclared_pii"] == "off"
    # true is no level: still refused
    assert "undeclared_pii" in errors_of({**yaml.safe_load(text), "undeclared_pii": True})

"""What the CLI shows and writes: every constraint a contract holds, each rule's real status, and contract
files that read back as the contract they were written from."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rich.console import Console

from sluice.cli.contracts import column_constraints, contract_document, contract_view
from sluice.cli.datasets import dataset_version_view, rule_status
from sluice.cli.training import run_view


def rendered(view, result) -> str:
    console = Console(record=True, width=200, color_system=None)
    view(console, result)
    return console.export_text()


def row_of(text: str, first_cell: str) -> list[str]:
    """The cells of the table row whose first cell is ``first_cell``."""
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃|]", line) if c.strip()]
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r} in:\n{text}")


def stored_column(**fields):
    """A column as the API returns a stored contract: every field, defaults included."""
    return {"name": "x", "type": "int", "nullable": False, "unique": False, "min": None, "max": None,
            "exclusive_min": False, "exclusive_max": False, "allowed": None, "pattern": None,
            "min_length": None, "max_length": None, "pii": None, "severity": "error", "rule_severity": {},
            "description": "", **fields}


def test_a_zero_false_or_empty_constraint_is_shown_and_defaults_are_not():
    assert column_constraints(stored_column(min=0, max=10)) == "min=0, max=10"
    assert column_constraints(stored_column(min=0.0, max=0)) == "min=0.0, max=0"
    assert column_constraints(stored_column(type="string", min_length=0, pattern="")) == \
        'pattern="", min_length=0'
    assert column_constraints(stored_column(type="bool", allowed=[False])) == "allowed=[false]"
    assert column_constraints(stored_column(type="string", allowed=["", "a"])) == 'allowed=["", a]'
    assert column_constraints(stored_column(unique=True, exclusive_min=True, min=0)) == \
        "unique=true, min=0, exclusive_min=true"
    assert column_constraints(stored_column()) == ""  # nothing but defaults: nothing to say
    assert column_constraints(stored_column(severity="warn")) == "severity=warn"


def test_the_contract_table_shows_min_zero():
    result = {"dataset": "rides", "version": 1, "created_at": "2026-11-26T16:33:47.123Z",
              "contract": {"dataset": "rides", "columns": [
                  stored_column(name="fare", type="float", min=0, max=500),
                  stored_column(name="passengers", type="int", min=1, max=8)]}}
    text = rendered(contract_view, result)
    assert row_of(text, "fare")[-1] == "min=0, max=500"
    assert row_of(text, "passengers")[-1] == "min=1, max=8"


REPORT_RULES = [
    # today's reports: passed true/false/null (null: the rule did not run)
    {"id": "fare.range", "column": "fare", "severity": "error", "passed": True, "failing_rows": 0},
    {"id": "fare.not_null", "column": "fare", "severity": "error", "passed": False, "failing_rows": 3},
    {"id": "city.allowed", "column": "city", "severity": "error", "passed": None, "failing_rows": 0},
    # reports with a status per rule
    {"id": "ride_id.unique", "column": "ride_id", "severity": "error", "status": "not_evaluated",
     "passed": None, "failing_rows": 0},
    {"id": "km.range", "column": "km", "severity": "warn", "status": "failed", "passed": False,
     "failing_rows": 2},
    {"id": "km.type", "column": "km", "severity": "error", "status": "passed", "passed": True,
     "failing_rows": 0},
]


def test_a_rules_status_comes_from_status_or_else_from_passed_with_null_not_evaluated():
    assert [rule_status(r) for r in REPORT_RULES] == ["passed", "failed", "not_evaluated", "not_evaluated",
                                                       "failed", "passed"]


def test_dataset_show_never_reports_failing_rows_for_a_rule_that_did_not_run():
    result = {"dataset": "rides", "version": 3, "status": "quarantined", "code": "unreadable_file",
              "raw": {"bucket": "b", "key": "raw/rides/a.csv", "sha256": "ab"},
              "report": {"rules": REPORT_RULES}}
    text = rendered(dataset_version_view, result)
    expected = {"city.allowed": ["not evaluated", "-"], "ride_id.unique": ["not evaluated", "-"],
                "fare.range": ["passed", "0"], "fare.not_null": ["failed", "3"],
                "km.range": ["failed", "2"], "km.type": ["passed", "0"]}
    for rule, (status, failing) in expected.items():
        assert row_of(text, rule)[-2:] == [status, failing], rule


# YAML's traps: text that reads as a bool, null, number or date unless quoted
TRICKY = st.sampled_from(["yes", "no", "on", "~", "null", "", "007", "1e3", "2026-11-26", "a: b", "# x",
                          "- x", "Berlin", "München", "'q'", '"q"', "0x1F", ".inf", "12:30"])
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-10**18, 10**18),
                   st.floats(allow_nan=False, allow_infinity=False), TRICKY, st.text(max_size=5))
COLUMN = st.fixed_dictionaries({"name": TRICKY, "type": st.sampled_from(["string", "int", "category"]),
                                "nullable": st.booleans()},
                               optional={"min": SCALAR, "allowed": st.lists(SCALAR, min_size=1, max_size=4),
                                         "pattern": TRICKY})


@settings(max_examples=80, deadline=None)
@given(columns=st.lists(COLUMN, min_size=1, max_size=4), description=TRICKY,
       suffix=st.sampled_from([".yaml", ".yml", ".json", ".contract"]))
@example(columns=[{"name": "yes", "type": "string", "nullable": False, "min": "\x85"}],
         description="b\u2028c", suffix=".yaml")  # YAML line breaks (NEL, LS) read back as spaces
def test_a_written_contract_file_reads_back_as_the_same_document(columns, description, suffix):
    contract = {"dataset": "rides", "description": description, "columns": columns,
                "rules": {"row_count": {"min": 0}}}
    path = Path("rides" + suffix)
    text = contract_document(contract, path, "rides.csv", [f"columns {description!r} and x\ncollide"])
    read = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    assert read == contract
    assert text.startswith("# Suggested by") != (suffix == ".json")  # JSON has no comments
    assert ("\n# WARNING: columns " in text) != (suffix == ".json")  # on one comment line, never in the data


def test_a_run_shows_each_warning_it_recorded_with_its_code():
    run = {"model": "m", "run_id": "r1", "status": "succeeded",
           "warnings": [{"code": "stratified_split_fallback", "reason": "1 class has a single row",
                         "message": "stratified split impossible: split at random instead"}]}
    text = rendered(run_view, run)
    assert "warning stratified_split_fallback: stratified split impossible: split at random instead" in text

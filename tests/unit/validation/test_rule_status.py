"""Each rule outcome says whether it passed, failed or was never evaluated; the summary counts the three."""

from __future__ import annotations

import collections

import pytest

from tests.unit.validation.helpers import contract, rule, run

COLUMNS = [{"name": "id", "type": "int", "unique": True}, {"name": "x", "type": "float", "min": 0},
           {"name": "day", "type": "date"}, {"name": "s", "type": "string", "pattern": "[a-z]+"}]
RULES = {"row_count": {"min": 1}, "primary_key": {"columns": ["id", "day"]},
         "freshness": {"column": "day", "max_age": "10000d"}}


def statuses(result) -> dict[str, str]:
    return {r["id"]: r["status"] for r in result.report["rules"]}


def assert_consistent(report: dict) -> None:
    """``status`` agrees with ``passed`` and ``failing_rows``, and the summary counts the statuses."""
    for r in report["rules"]:
        assert r["passed"] == {"passed": True, "failed": False, "not_evaluated": None}[r["status"]]
        if r["status"] == "not_evaluated":
            assert r.get("failing_rows") is None and not r["examples"]
        else:
            assert isinstance(r["failing_rows"], int)
    counts = collections.Counter(r["status"] for r in report["rules"])
    summary = report["summary"]
    assert (summary["passed"], summary["failed"], summary["not_evaluated"], summary["rules"]) == \
        (counts["passed"], counts["failed"], counts["not_evaluated"], len(report["rules"]))


@pytest.mark.parametrize(("name", "body"), [
    ("f.csv", b"\x1f\x8b\x08\x00compressed"),
    ("f.csv", b""),
    ("f.parquet", b"PAR1 but not really parquet"),
    ("f.csv", b"id,x,day,s\n" + bytes(range(256)) * 4),
])
def test_an_unreadable_file_reports_every_rule_but_readable_as_not_evaluated_without_failing_rows(
        write, name, body):
    result = run(write(name, body), contract(COLUMNS, rules=RULES))
    assert result.reason != "invalid_rows"
    assert {rid: s for rid, s in statuses(result).items() if s != "not_evaluated"} == \
        {"dataset.readable": "failed"}
    assert_consistent(result.report)
    assert result.report["summary"]["not_evaluated"] == len(result.report["rules"]) - 1


def test_a_missing_column_under_missing_columns_error_leaves_its_rules_the_key_and_freshness_unevaluated(
        write):
    result = run(write("f.csv", "id,x,s\n1,2.5,ab\n2,-1,cd\n"), contract(COLUMNS, rules=RULES))
    got = statuses(result)
    assert got["dataset.missing_columns"] == "failed"
    assert {rid for rid, s in got.items() if s == "not_evaluated"} == \
        {"day.type", "day.not_null", "dataset.primary_key", "dataset.freshness"}
    assert got["x.range"] == "failed" and rule(result, "x.range")["failing_rows"] == 1
    assert got["id.unique"] == "passed" and rule(result, "id.unique")["failing_rows"] == 0
    assert_consistent(result.report)


def test_a_missing_column_under_missing_columns_warn_is_evaluated_as_all_null(write):
    c = contract(COLUMNS, rules=RULES, missing_columns="warn")
    result = run(write("f.csv", "id,x,s\n1,2.5,ab\n2,3,cd\n"), c)
    got = statuses(result)
    assert "not_evaluated" not in got.values()
    assert (got["day.not_null"], got["dataset.primary_key"], got["dataset.freshness"]) == \
        ("failed", "failed", "failed")
    assert_consistent(result.report)


def test_a_file_that_becomes_unreadable_after_some_chunks_keeps_no_partial_counts(write):
    # past the first 64 KiB the sniffer checks: the rules have run on earlier chunks when the read fails
    good = "".join(f'{{"id": {i}, "x": -1, "day": "2024-01-01", "s": "ab"}}\n' for i in range(2000))
    body = good.encode() + b'{"id": 1, "x": "\xff\xfe", "day": "2024-01-01", "s": "ab"}\n'
    result = run(write("f.jsonl", body), contract(COLUMNS, rules=RULES), chunk_rows=100)
    assert result.reason == "encoding_error"
    assert statuses(result)["x.range"] == "not_evaluated"
    assert_consistent(result.report)


def test_a_clean_file_reports_every_rule_passed(write):
    result = run(write("f.csv", "id,x,day,s\n1,2.5,2024-01-01,ab\n2,3,2024-01-02,cd\n"),
                 contract(COLUMNS, rules=RULES))
    assert set(statuses(result).values()) == {"passed"} and result.verdict == "pass"
    assert_consistent(result.report)

"""Every rule kind passing and failing, nulls, coercion failures, keys across chunks, decisions."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.unit.validation.helpers import contract, failing, rule, run

ROWS = "id,n,x,s,c,ts\n" + "".join(
    f"{i},{i % 5},{i * 1.5},name{i},{'ab'[i % 2]},2024-01-0{1 + i % 9} 10:00:00\n" for i in range(10))
COLUMNS = [{"name": "id", "type": "int"}, {"name": "n", "type": "int"}, {"name": "x", "type": "float"},
           {"name": "s", "type": "string"}, {"name": "c", "type": "category"},
           {"name": "ts", "type": "timestamp"}]


def with_rules(name: str, **rules) -> list[dict]:
    return [dict(c, **rules) if c["name"] == name else c for c in COLUMNS]


@pytest.mark.parametrize(("name", "rules", "fails"), [
    ("n", {"min": 0, "max": 4}, 0),
    ("n", {"min": 1, "max": 3}, 4),                      # 0 twice, 4 twice
    ("n", {"min": 0, "exclusive_min": True}, 2),         # the zeros
    ("n", {"max": 4, "exclusive_max": True}, 2),         # the fours
    ("x", {"min": 0.0, "max": 13.5}, 0),
    ("x", {"max": 12.0}, 1),                             # 13.5
    ("ts", {"min": "2024-01-02", "max": "2024-01-09T10:00:00"}, 2),  # two rows on 01-01
    ("ts", {"max": "2024-01-09T10:00:00", "exclusive_max": True}, 1),
    ("c", {"allowed": ["a", "b"]}, 0),
    ("c", {"allowed": ["a"]}, 5),
    ("n", {"allowed": [0, 1, 2, 3]}, 2),
    ("s", {"pattern": "name[0-9]"}, 0),
    ("s", {"pattern": "name[0-8]"}, 1),                  # name9
    ("s", {"pattern": "name"}, 10),                      # a pattern must match the whole value
    ("s", {"pattern": r"name(?#one digit)\d$|x"}, 0),    # rewritten for RE2: comment, final $
    ("s", {"min_length": 5, "max_length": 5}, 0),
    ("s", {"max_length": 4}, 10),
    ("id", {"unique": True}, 0),
    ("n", {"unique": True}, 10),                         # every n occurs twice
])
def test_each_column_rule_passes_on_good_data_and_counts_the_failing_rows(write, name, rules, fails):
    kind = next(k for k in ("range", "allowed", "pattern", "length", "unique") if k in _kinds(rules))
    result = run(write("d.csv", ROWS), contract(with_rules(name, **rules)))
    r = rule(result, f"{name}.{kind}")
    assert (r["passed"], r["failing_rows"]) == (fails == 0, fails)
    assert len(r["examples"]) == min(fails, 20)
    assert all(isinstance(e["row"], int) for e in r["examples"])
    assert result.verdict == ("pass" if fails == 0 else "fail")


def _kinds(rules: dict) -> set[str]:
    mapping = {"min": "range", "max": "range", "exclusive_min": "range", "exclusive_max": "range",
               "allowed": "allowed", "pattern": "pattern", "min_length": "length", "max_length": "length",
               "unique": "unique"}
    return {mapping[k] for k in rules}


def test_examples_carry_row_numbers_and_values(write):
    result = run(write("d.csv", ROWS), contract(with_rules("x", max=12.0)))
    assert rule(result, "x.range")["examples"] == [{"row": 9, "value": 13.5}]


def test_nulls_are_ignored_by_value_rules_and_counted_by_not_null(write):
    data = "a,b\n1,x\n,\n3,y\n"
    c = contract([{"name": "a", "type": "int", "min": 2, "allowed": [1, 3], "nullable": True},
                  {"name": "b", "type": "string", "pattern": "[xy]", "max_length": 1, "allowed": ["x", "y"]}])
    result = run(write("d.csv", data), c)
    assert failing(result) == {"a.range": 1, "b.not_null": 1}
    assert rule(result, "b.not_null")["examples"] == [{"row": 1, "value": None}]


def test_a_value_that_cannot_be_coerced_fails_the_type_rule_and_the_other_rules_still_run(write):
    # the R10/R11 situation: a float column holding some non-numeric strings
    data = "tip\n1.5\nfree\n-2\n\"12,50\"\nNA\n0\n"
    c = contract([{"name": "tip", "type": "float", "min": 0, "nullable": True}])
    result = run(write("d.csv", data), c)
    assert failing(result) == {"tip.type": 2, "tip.range": 1}
    assert rule(result, "tip.type")["examples"] == [{"row": 1, "value": "free"}, {"row": 3, "value": "12,50"}]
    assert rule(result, "tip.range")["examples"] == [{"row": 2, "value": -2.0}]


@pytest.mark.parametrize(("kind", "good", "bad"), [
    ("int", ["1", "-7", "3.0", "+4"], ["1.5", "x", "99999999999999999999"]),
    ("float", ["1", "1.5e3", ".5", "-0"], ["1_5", "1.2.3", "abc", "5 EUR"]),
    ("bool", ["true", "False", "1", "no", "Y"], ["maybe", "2"]),
    ("date", ["2024-02-29", "2024-01-01"], ["2023-02-29", "01/02/2024", "tomorrow"]),
    ("timestamp", ["2024-01-01 10:00:00", "2024-01-01T10:00:00Z", "2024-01-01T12:00:00+02:00", "2024-01-01"],
     ["2024-13-01 00:00:00", "noon"]),
])
def test_type_coercion_accepts_the_documented_forms(write, kind, good, bad):
    data = "v\n" + "\n".join(good + bad) + "\n"
    result = run(write("d.csv", data), contract([{"name": "v", "type": kind}]))
    r = rule(result, "v.type")
    assert r["failing_rows"] == len(bad)
    assert [e["row"] for e in r["examples"]] == list(range(len(good), len(good) + len(bad)))


def test_timestamps_with_offsets_are_compared_in_utc(write):
    data = "t\n2024-12-31T23:30:00-01:00\n2024-12-31T23:30:00+01:00\n"
    c = contract([{"name": "t", "type": "timestamp", "max": "2025-01-01", "exclusive_max": True}])
    examples = rule(run(write("d.csv", data), c), "t.range")["examples"]
    assert examples == [{"row": 0, "value": "2025-01-01T00:30:00"}]


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 1000])
def test_uniqueness_holds_across_chunks_and_counts_every_row_of_a_repeated_value(write, chunk_rows):
    data = "id\n" + "\n".join(["a", "b", "c", "a", "d", "e", "NA", "NA", "b", "a"]) + "\n"
    c = contract([{"name": "id", "type": "string", "unique": True, "nullable": True}])
    result = run(write("d.csv", data), c, chunk_rows=chunk_rows)
    r = rule(result, "id.unique")
    assert r["failing_rows"] == 5  # three "a", two "b"; nulls do not count
    assert [e["row"] for e in r["examples"]] == [0, 1, 3, 8, 9]
    assert [e["value"] for e in r["examples"]] == ["a", "b", "a", "b", "a"]


@pytest.mark.parametrize("chunk_rows", [1, 2, 100])
def test_a_composite_primary_key_holds_across_chunks_and_rejects_null_keys(write, chunk_rows):
    data = "k1,k2,v\n1,a,x\n1,b,x\n2,a,x\n1,a,y\n,a,z\n2,b,x\n2,a,x\n"
    c = contract([{"name": "k1", "type": "int", "nullable": True}, {"name": "k2", "type": "string"},
                  {"name": "v", "type": "string"}], rules={"primary_key": {"columns": ["k1", "k2"]}})
    result = run(write("d.csv", data), c, chunk_rows=chunk_rows)
    r = rule(result, "dataset.primary_key")
    assert r["failing_rows"] == 5  # (1,a) twice, (2,a) twice, one null key
    rows = {e["row"]: e for e in r["examples"]}
    assert sorted(rows) == [0, 2, 3, 4, 6]
    assert rows[0]["value"] == {"k1": 1, "k2": "a"} and rows[4]["problem"] == "null key"
    assert result.invalid_rows == 5


def test_integers_written_as_floats_and_as_text_are_the_same_key(write):
    path = write("d.jsonl", '{"id": 1}\n{"id": 1.0}\n{"id": 2}\n')
    result = run(path, contract([{"name": "id", "type": "int", "unique": True}]))
    assert rule(result, "id.unique")["failing_rows"] == 2


@pytest.mark.parametrize(("bounds", "passed"), [({"min": 1, "max": 10}, True), ({"min": 11}, False),
                                                ({"max": 9}, False)])
def test_row_count_bounds(write, bounds, passed):
    result = run(write("d.csv", ROWS), contract(COLUMNS, rules={"row_count": bounds}))
    r = rule(result, "dataset.row_count")
    assert r["passed"] is passed and r["details"]["rows"] == 10
    assert result.decision == ("accept" if passed else "reject_file")
    assert result.reason == (None if passed else "row_count")


@pytest.mark.parametrize(("now", "passed"), [(dt.datetime(2024, 1, 10), True),
                                             (dt.datetime(2024, 1, 12), False)])
def test_freshness_compares_the_newest_timestamp_with_the_max_age(write, now, passed):
    c = contract(COLUMNS, rules={"freshness": {"column": "ts", "max_age": "2d"}})
    result = run(write("d.csv", ROWS), c, now=now)
    r = rule(result, "dataset.freshness")
    assert r["passed"] is passed and r["details"]["newest"] == "2024-01-09T10:00:00"
    assert result.reason == (None if passed else "stale_data")


def test_missing_columns_reject_the_file_or_are_read_as_null_when_only_warned(write):
    cols = [*COLUMNS, {"name": "extra_required", "type": "int"}]
    result = run(write("d.csv", ROWS), contract(cols))
    assert (result.decision, result.reason) == ("reject_file", "missing_columns")
    assert rule(result, "dataset.missing_columns")["details"] == {"missing": ["extra_required"]}
    assert rule(result, "extra_required.type")["passed"] is None  # not evaluated
    warned = run(write("d.csv", ROWS), contract(cols, missing_columns="warn"))
    assert rule(warned, "dataset.missing_columns")["severity"] == "warn"
    assert failing(warned) == {"dataset.missing_columns": 0, "extra_required.not_null": 10}


@pytest.mark.parametrize(("policy", "decision", "kept"), [
    ("keep", "accept", True), ("drop", "accept", False), ("warn", "accept", False),
    ("error", "reject_file", False)])
def test_extra_columns_policy(write, policy, decision, kept):
    result = run(write("d.csv", ROWS), contract(COLUMNS[:2], extra_columns=policy))
    assert result.decision == decision
    assert result.report["columns"]["extra"] == ["x", "s", "c", "ts"]
    frame = next(result.iter_curated())
    assert ("s" in frame.columns) is kept


def test_warn_severity_failures_never_reject(write):
    cols = with_rules("n", min=1, severity="warn")
    result = run(write("d.csv", ROWS), contract(cols))
    assert (result.verdict, result.decision, result.invalid_rows) == ("pass", "accept", 0)
    assert rule(result, "n.range")["passed"] is False
    result = run(write("d.csv", ROWS), contract(with_rules("n", min=1, rule_severity={"range": "warn"})))
    assert result.decision == "accept"


@pytest.mark.parametrize(("policy", "decision", "reason"), [
    ({"action": "reject_file"}, "reject_file", "invalid_rows"),
    ({"action": "quarantine_rows", "max_invalid_fraction": 0.4}, "accept_rows", "invalid_rows"),
    ({"action": "quarantine_rows", "max_invalid_fraction": 0.3}, "reject_file", "too_many_invalid_rows"),
])
def test_the_failure_policy_decides_between_rejecting_and_quarantining(write, policy, decision, reason):
    result = run(write("d.csv", ROWS), contract(with_rules("n", min=1, max=3), failure_policy=policy))
    assert result.invalid_rows == 4 and result.rows == 10
    assert (result.verdict, result.decision, result.reason) == ("fail", decision, reason)


def test_curated_and_quarantined_rows_split_the_file_by_the_invalid_mask(write):
    result = run(write("d.csv", ROWS), contract(with_rules("n", min=1, max=3),
                                               failure_policy="quarantine_rows"), chunk_rows=3)
    curated = [f for f in result.iter_curated()]
    quarantined = [f for f in result.iter_quarantined()]
    assert sum(len(f) for f in curated) == 6 and sum(len(f) for f in quarantined) == 4
    frame = curated[0]
    assert str(frame["id"].dtype) == "Int64" and str(frame["x"].dtype) == "float64"
    assert str(frame["ts"].dtype).startswith("datetime64")
    q = [row for f in quarantined for row in f.to_dict("records")]
    assert [r["_row"] for r in q] == [0, 4, 5, 9]
    assert {r["_reasons"] for r in q} == {"n.range"}
    assert q[0]["n"] == "0"  # quarantined values are kept as text


def test_parquet_native_types_are_checked_without_conversion(tmp_path):
    path = str(tmp_path / "d.parquet")
    pq.write_table(pa.table({
        "id": pa.array([1, 2, 2], pa.int64()),
        "x": pa.array([0.5, None, 7.0]),
        "ts": pa.array([dt.datetime(2024, 1, 1, tzinfo=dt.UTC)] * 3, pa.timestamp("ms", "UTC")),
        "c": pa.array(["a", "b", "z"]).dictionary_encode(),
        "b": pa.array([True, False, None]),
        "tip": pa.array(["1.5", "free", "-1"]),
    }), path)
    c = contract([{"name": "id", "type": "int", "unique": True}, {"name": "x", "type": "float", "max": 5},
                  {"name": "ts", "type": "timestamp", "min": "2024-01-01"},
                  {"name": "c", "type": "category", "allowed": ["a", "b"]},
                  {"name": "b", "type": "bool", "nullable": True},
                  {"name": "tip", "type": "float", "min": 0}])
    result = run(path, c)
    assert result.report["format"] == "parquet"
    assert failing(result) == {"id.unique": 2, "x.not_null": 1, "x.range": 1, "c.allowed": 1, "tip.type": 1,
                               "tip.range": 1}


def test_jsonl_with_mixed_types_in_a_column_is_read_as_text_and_coerced(write):
    path = write("d.jsonl", '{"a": 1, "b": "x"}\n\n{"a": "two", "b": "y", "extra": [1]}\n'
                            '{"a": 3.5, "b": null}\n')
    c = contract([{"name": "a", "type": "float"}, {"name": "b", "type": "string", "nullable": True}])
    result = run(path, c)
    assert result.rows == 3 and result.report["columns"]["extra"] == ["extra"]
    assert failing(result) == {"a.type": 1}


def test_stopping_early_in_the_output_streams_leaves_no_reader_thread_behind(write):
    import threading

    body = "id\n" + "".join(f"{i}\n" for i in range(100))
    result = run(write("d.csv", body), contract([{"name": "id", "type": "int"}]), chunk_rows=10)
    stream = result.iter_curated()
    assert len(next(stream)) == 10
    stream.close()
    assert not [t for t in threading.enumerate() if t.name == "sluice-prefetch" and t.is_alive()]


def test_a_reader_error_in_the_prefetch_thread_reaches_the_caller():
    from chalicelib.core.validation.engine import prefetch

    def broken():
        yield 1
        raise OSError("disk gone")

    stream = prefetch(broken())
    assert next(stream) == 1
    with pytest.raises(OSError, match="disk gone"):
        next(stream)


def test_duplicates_are_found_the_same_when_the_hashes_are_split_into_buckets(write, monkeypatch):
    from chalicelib.core.validation import keys

    monkeypatch.setattr(keys, "BUCKET_ROWS", 2)  # 10 rows → 8 buckets
    data = "id\n" + "\n".join(["a", "b", "c", "a", "d", "e", "NA", "NA", "b", "a"]) + "\n"
    c = contract([{"name": "id", "type": "string", "unique": True, "nullable": True}])
    result = run(write("d.csv", data), c, chunk_rows=3)
    assert [e["row"] for e in rule(result, "id.unique")["examples"]] == [0, 1, 3, 8, 9]


@pytest.mark.parametrize("chunk_rows", [2, 1000])
def test_parquet_row_groups_are_checked_column_by_column_with_keys_across_groups(tmp_path, chunk_rows):
    path = str(tmp_path / "g.parquet")
    table = pa.table({"k1": [1, 1, 2, 1, None, 2, 2], "k2": ["a", "b", "a", "a", "a", "b", "a"],
                      "v": [1.0, 2.0, -1.0, 4.0, 5.0, 6.0, 7.0]})
    pq.write_table(table, path, row_group_size=3)
    c = contract([{"name": "k1", "type": "int", "nullable": True}, {"name": "k2", "type": "string"},
                  {"name": "v", "type": "float", "min": 0}, {"name": "w", "type": "int", "nullable": True}],
                 rules={"primary_key": {"columns": ["k1", "k2"]}}, missing_columns="warn")
    result = run(path, c, chunk_rows=chunk_rows)
    assert failing(result) == {"dataset.missing_columns": 0, "dataset.primary_key": 5, "v.range": 1}
    assert sorted(e["row"] for e in rule(result, "dataset.primary_key")["examples"]) == [0, 2, 3, 4, 6]
    assert rule(result, "v.range")["examples"] == [{"row": 2, "value": -1.0}]
    assert result.invalid_rows == 5
    quarantined = pd.concat(list(result.iter_quarantined()))
    assert quarantined["_row"].tolist() == [0, 2, 3, 4, 6]
    assert quarantined["_reasons"].tolist()[1] == "v.range;dataset.primary_key"

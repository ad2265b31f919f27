"""The one-pass API (``validate_stream``) gives what the two-pass API gives, and keeps its promises.

The reference is the two-pass API: ``validate_file`` then ``iter_curated`` / ``iter_quarantined``, which
read the file again with the first pass's verdicts. On generated tables and contracts (every column
type, unique and primary-key rules whose values repeat inside and across chunks, PII actions,
undeclared PII, kept extra columns, both failure policies, CSV / JSONL / Parquet in chunks of 2 to
100 rows), the one pass must give the same report and verdict, the same quarantined rows, and the same
curated rows when the file is kept (else curated aborted), after its end-of-file fix-up.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from chalicelib.core.validation.contract import Contract, parse_contract
from chalicelib.core.validation.engine import ValidationResult, validate_file, validate_stream
from chalicelib.core.validation.sources import SourceError
from tests.unit.validation import oracle
from tests.unit.validation.helpers import PII_KEY, contract, rule
from tests.unit.validation.oracle import Cell, Column
from tests.unit.validation.sinks import CountingReader, RecordingSink, frame_of
from tests.unit.validation.test_differential import FORMATS, NOW, TYPES, tables

NOTES = ["plain", "mail a.b@example.org", "+49 30 1234567", "DE89 3704 0044 0532 0130 00", "x", "y@z.io"]


def without_timings(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k != "timings"}


def both(path: str, c: Contract, chunk_rows: int) -> tuple[ValidationResult, ValidationResult,
                                                           RecordingSink, RecordingSink]:
    two = validate_file(path, c, pii_key=PII_KEY, chunk_rows=chunk_rows, now=NOW)
    curated, quarantine = RecordingSink(), RecordingSink()
    one = validate_stream(path, c, pii_key=PII_KEY, chunk_rows=chunk_rows, now=NOW, curated=curated,
                          quarantine=quarantine)
    return two, one, curated, quarantine


def assert_same(two: ValidationResult, one: ValidationResult, curated: RecordingSink,
                quarantine: RecordingSink, where: str) -> None:
    assert without_timings(one.report) == without_timings(two.report), where
    assert (one.verdict, one.decision, one.rows, one.invalid_rows) == \
        (two.verdict, two.decision, two.rows, two.invalid_rows), where
    readable = rule(two, "dataset.readable")["details"].get("code") if rule(two, "dataset.readable").get(
        "details") else None
    unreadable = readable not in (None, "ragged_rows", "invalid_json", "no_rows")
    assert quarantine.state == ("aborted" if unreadable else "closed"), where
    _equal(frame_of(list(two.iter_quarantined())), frame_of(quarantine.frames()), where)
    if two.decision in ("accept", "accept_rows"):
        assert curated.state == "closed", where
        _equal(frame_of(list(two.iter_curated())), frame_of(curated.frames()), where)
    else:
        assert curated.state == "aborted" and curated.parts == {}, where
    assert one.outputs is not None and one.outputs.curated_kept is (curated.state == "closed")


def _equal(expected: pd.DataFrame | None, got: pd.DataFrame | None, where: str) -> None:
    if expected is None or got is None:
        assert (expected is None or expected.empty) and (got is None or got.empty), where
        return
    pd.testing.assert_frame_equal(got, expected, check_exact=True, obj=where)


@st.composite
def files(draw: st.DrawFn) -> tuple[list[Column], Contract, str, int, dict[str, Any]]:
    columns, rules = draw(tables(draw(st.sampled_from(TYPES))))
    rows = len(columns[0].cells)
    if draw(st.booleans()):  # a key column whose values repeat, inside and across chunks
        pool = draw(st.lists(st.sampled_from("abcdefgh"), min_size=1, max_size=4))
        drawn = draw(st.lists(st.sampled_from(pool), min_size=rows, max_size=rows))
        keys = [Cell("value", v, v) for v in drawn]
        columns.append(Column("k", "string", keys, spec={"unique": True, "severity": draw(
            st.sampled_from(["error", "warn"]))}))
    notes = draw(st.lists(st.sampled_from([*NOTES, None]), min_size=rows, max_size=rows))
    note = Column("note", "string", [Cell("null") if v is None else Cell("value", v, v) for v in notes],
                  spec={"nullable": True})
    if draw(st.booleans()):
        note.spec["pii"] = draw(st.sampled_from(["hash", "mask", "drop"]))
    extra = Column("extra", "string", [Cell("value", v, v) for v in reversed(notes) if v is not None]
                   + [Cell("null")] * notes.count(None))
    columns += [note, extra]
    policy = draw(st.sampled_from([{"action": "reject_file"},
                                   {"action": "quarantine_rows", "max_invalid_fraction": 1.0},
                                   {"action": "quarantine_rows", "max_invalid_fraction": 1.0},
                                   {"action": "quarantine_rows", "max_invalid_fraction": 0.2}]))
    spec = {"dataset": "t", "columns": [c.contract() for c in columns[:-1]],
            "rules": {k: v for k, v in rules.items() if k != "freshness"},
            "undeclared_pii": draw(st.sampled_from(["off", "warn", "error"])),
            "extra_columns": draw(st.sampled_from(["keep", "drop", "warn"])), "failure_policy": policy}
    if draw(st.booleans()):
        spec["rules"]["primary_key"] = {"columns": draw(st.lists(
            st.sampled_from([c.name for c in columns[:-1]]), min_size=1, max_size=2, unique=True))}
    fmt = draw(st.sampled_from(FORMATS))
    options = {"csv": {}, "jsonl": {"omit_nulls": False},
               "parquet": {"row_group_rows": draw(st.integers(2, 40))}}[fmt]
    return columns, parse_contract(spec), fmt, draw(st.sampled_from([2, 3, 7, 100])), options


@pytest.mark.slow  # ~10 s
@settings(max_examples=int(os.environ.get("SLUICE_ONE_PASS_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.large_base_example])
@given(case=files())
def test_one_pass_gives_the_two_pass_report_verdict_and_rows_on_generated_files(case):
    columns, c, fmt, chunk_rows, options = case
    with tempfile.TemporaryDirectory(prefix="sluice-one-pass-") as folder:
        path = oracle.write(columns, fmt, os.path.join(folder, f"t.{fmt}"), **options)
        two, one, curated, quarantine = both(path, c, chunk_rows)
        assert_same(two, one, curated, quarantine, f"{fmt}, chunk_rows={chunk_rows}")
    assert one.outputs is not None
    event(f"{two.decision}, parts replaced: {bool(one.outputs.replaced)}")
    event(f"undeclared PII found: {bool(one.report['undeclared_pii'])}")


# -- the end-of-file duplicate fix-up ------------------------------------------------------------------

KEYED = [{"name": "k", "type": "string", "unique": True}, {"name": "v", "type": "int", "min": 0}]


def keyed_csv(write, keys: list[str], values: list[int] | None = None) -> str:
    values = values if values is not None else [1] * len(keys)
    return write("k.csv", "k,v\n" + "".join(f"{k},{v}\n" for k, v in zip(keys, values, strict=True)))


def keyed_jsonl(keys: list[str]) -> str:
    return "".join(f'{{"k": "{k}", "v": 1}}\n' for k in keys)


def test_a_key_repeated_across_chunks_of_jsonl_replaces_only_the_chunks_holding_its_rows(write):
    # chunks of 2 rows: a b | c d | e a — both "a" rows went out as curated before the repeat was known
    path = write("k.jsonl", keyed_jsonl(["a", "b", "c", "d", "e", "a"]))
    c = contract(KEYED, failure_policy={"action": "quarantine_rows", "max_invalid_fraction": 0.5})
    two, one, curated, quarantine = both(path, c, 2)
    assert_same(two, one, curated, quarantine, "jsonl")
    assert one.outputs is not None and one.outputs.replaced == [0, 2] and one.outputs.rereads == 1
    assert quarantine.calls == [("replace", 0), ("replace", 2), ("close", None)]
    assert curated.calls == [("write", 0), ("write", 1), ("write", 2), ("replace", 0), ("replace", 2),
                             ("close", None)]
    assert to_rows(curated) == [("b", 1), ("c", 1), ("d", 1), ("e", 1)]
    assert [(r["_row"], r["_reasons"]) for r in quarantine_rows(quarantine)] == [(0, "k.unique"),
                                                                                 (5, "k.unique")]


def test_a_csv_key_repeated_across_chunks_is_known_before_the_first_chunk_so_nothing_is_replaced(write):
    # the key column is read first: the "a" rows go out quarantined at once, no part is written twice
    reads = []
    data = "k,v\n" + "".join(f"{k},1\n" for k in ["a", "b", "c", "d", "e", "a"])

    def opener() -> CountingReader:
        reads.append(CountingReader(data.encode()))
        return reads[-1]

    c = contract(KEYED, failure_policy={"action": "quarantine_rows", "max_invalid_fraction": 0.5})
    curated, quarantine = RecordingSink(), RecordingSink()
    one = validate_stream(opener, c, pii_key=PII_KEY, chunk_rows=2, name="k.csv", curated=curated,
                          quarantine=quarantine)
    two = validate_file(keyed_csv(write, ["a", "b", "c", "d", "e", "a"]), c, pii_key=PII_KEY, chunk_rows=2)
    assert_same(two, one, curated, quarantine, "csv")
    assert one.outputs is not None and one.outputs.key_prepass
    assert (one.outputs.replaced, one.outputs.rereads) == ([], 0) and len(reads) == 2
    assert curated.calls == [("write", 0), ("write", 1), ("write", 2), ("close", None)]
    assert quarantine.calls == [("write", 0), ("write", 2), ("close", None)]
    assert to_rows(curated) == [("b", 1), ("c", 1), ("d", 1), ("e", 1)]
    assert rule(one, "k.unique")["examples"] == [{"row": r, "value": "a", "problem": "duplicate"}
                                                 for r in (0, 5)]


def test_keys_repeated_inside_one_chunk_of_jsonl_need_no_second_read(write):
    reads = []
    data = keyed_jsonl(["a", "a", "b", "c", "d", "d"])

    def opener() -> CountingReader:
        reads.append(CountingReader(data.encode()))
        return reads[-1]

    c = contract(KEYED, failure_policy={"action": "quarantine_rows", "max_invalid_fraction": 1.0})
    curated, quarantine = RecordingSink(), RecordingSink()
    one = validate_stream(opener, c, pii_key=PII_KEY, chunk_rows=2, name="k.jsonl", curated=curated,
                          quarantine=quarantine)
    assert len(reads) == 1 and one.outputs is not None and one.outputs.replaced == []
    assert [r["_row"] for r in quarantine_rows(quarantine)] == [0, 1, 4, 5]
    assert rule(one, "k.unique")["examples"] == [{"row": r, "value": v, "problem": "duplicate"}
                                                 for r, v in ((0, "a"), (1, "a"), (4, "d"), (5, "d"))]


def test_a_csv_broken_after_its_first_chunks_is_validated_as_without_the_key_pass(write):
    # the key pass meets the bad byte (in the key, > 4 MiB in) first; the pass then runs as it always did:
    # writes the first chunks, then aborts
    body = "k,v\n" + "".join(f"k{i:07d}{'x' * 40},1\n" for i in range(100_000)) + "caf\xe9,1\n"
    path = write("late.csv", body.encode("latin-1"))
    curated, quarantine = RecordingSink(), RecordingSink()
    one = validate_stream(path, contract(KEYED), pii_key=PII_KEY, chunk_rows=1000, curated=curated,
                          quarantine=quarantine)
    assert (one.decision, one.reason) == ("reject_file", "encoding_error") and one.rows > 0
    assert ("write", 0) in curated.calls and (curated.state, quarantine.state) == ("aborted", "aborted")
    assert one.outputs is not None and not one.outputs.key_prepass


def test_parquet_duplicates_are_known_before_the_first_chunk_so_nothing_is_replaced(tmp_path):
    path = str(tmp_path / "k.parquet")
    pq.write_table(pa.table({"k": ["a", "b", "c", "d", "e", "a"], "v": [1] * 6}), path, row_group_size=2)
    c = contract(KEYED, failure_policy={"action": "quarantine_rows", "max_invalid_fraction": 1.0})
    two, one, curated, quarantine = both(path, c, 2)
    assert_same(two, one, curated, quarantine, "parquet")
    assert one.outputs is not None and (one.outputs.replaced, one.outputs.rereads) == ([], 0)
    assert [r["_row"] for r in quarantine_rows(quarantine)] == [0, 5]


def test_a_file_sure_to_be_rejected_stops_its_curated_stream_at_once(write):
    # reject_file: the negative value in chunk 0 decides it; chunks 1.. build no curated rows
    path = keyed_csv(write, ["a", "b", "c", "d", "e", "f"], [-1, 1, 1, 1, 1, 1])
    curated, quarantine = RecordingSink(), RecordingSink()
    one = validate_stream(path, contract(KEYED), pii_key=PII_KEY, chunk_rows=2, curated=curated,
                          quarantine=quarantine)
    assert one.decision == "reject_file"
    assert curated.calls == [("write", 0), ("abort", None)]
    assert quarantine.calls == [("write", 0), ("close", None)]


def test_a_file_unreadable_mid_way_aborts_both_streams(write):
    body = "k,v\n" + "".join(f"k{i:07d}{'x' * 40},1\n" for i in range(100_000)) + "z,caf\xe9\n"  # > 4 MiB
    path = write("late.csv", body.encode("latin-1"))
    curated, quarantine = RecordingSink(), RecordingSink()
    one = validate_stream(path, contract(KEYED), pii_key=PII_KEY, chunk_rows=1000, curated=curated,
                          quarantine=quarantine)
    assert (one.decision, one.reason) == ("reject_file", "encoding_error")
    assert ("write", 0) in curated.calls and (curated.state, quarantine.state) == ("aborted", "aborted")


def test_an_error_of_a_sink_aborts_both_streams_and_is_raised_as_the_sink_raised_it(write):
    path = keyed_csv(write, ["a", "b", "c", "d"])
    curated, quarantine = RecordingSink(fail_on_write=1), RecordingSink()
    with pytest.raises(OSError, match="the bucket is gone"):
        validate_stream(path, contract(KEYED), pii_key=PII_KEY, chunk_rows=2, curated=curated,
                        quarantine=quarantine)
    assert (curated.state, quarantine.state) == ("aborted", "aborted")


def test_a_contract_with_a_key_rule_refuses_a_stream_it_could_not_read_again():
    stream = CountingReader(b"k,v\na,1\n")
    with pytest.raises(SourceError):
        validate_stream(stream, contract(KEYED), pii_key=PII_KEY, name="k.csv", curated=RecordingSink())
    assert stream.bytes_read == 0


# -- the input as a stream -------------------------------------------------------------------------

def wide_csv(rows: int) -> bytes:
    # > 4 MiB, so the reader's kept head (the header line's 4 MiB) is not the whole file
    return ("id,city,note\n" + "".join(f"{i},Berlin,{'x' * 40}{i}\n" for i in range(rows))).encode()


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_stream_of_csv_or_jsonl_is_read_once_front_to_back(write, fmt):
    rows = 90_000
    if fmt == "csv":
        data = wide_csv(rows)
    else:
        data = "".join(f'{{"id": {i}, "city": "Berlin", "note": "{"x" * 40}{i}"}}\n'
                       for i in range(rows)).encode()
    c = contract([{"name": "id", "type": "int", "min": 1}, {"name": "city", "type": "category"},
                  {"name": "note", "type": "string"}],
                 failure_policy={"action": "quarantine_rows", "max_invalid_fraction": 0.1})
    stream = CountingReader(data)
    curated, quarantine = RecordingSink(), RecordingSink()
    one = validate_stream(stream, c, pii_key=PII_KEY, name=f"big.{fmt}", curated=curated,
                          quarantine=quarantine, chunk_rows=20_000)
    assert len(data) > 4 * 1024 * 1024 and (stream.bytes_read, stream.seeks) == (len(data), 0)
    two = validate_file(write(f"big.{fmt}", data), c, pii_key=PII_KEY, chunk_rows=20_000)
    assert without_timings(one.report) == without_timings(two.report)
    assert (one.rows, one.invalid_rows, one.decision) == (rows, 1, "accept_rows")
    _equal(frame_of(list(two.iter_curated())), frame_of(curated.frames()), fmt)


def test_parquet_is_read_from_a_seekable_object_and_refused_from_a_plain_stream(tmp_path):
    path = str(tmp_path / "p.parquet")
    pq.write_table(pa.table({"id": [1, 2, 3]}), path)
    with open(path, "rb") as fh:
        data = fh.read()
    c = contract([{"name": "id", "type": "int"}])
    seekable = CountingReader(data, seekable=True)
    assert validate_file(seekable, c, pii_key=PII_KEY, name="p.parquet").rows == 3
    with pytest.raises(SourceError, match="seekable"):
        validate_file(CountingReader(data), c, pii_key=PII_KEY, name="p.parquet")


def test_the_format_of_a_stream_comes_from_its_name_or_the_contract(write):
    c = contract([{"name": "id", "type": "int"}])
    assert validate_file(CountingReader(b'{"id": 1}\n'), c, pii_key=PII_KEY, name="x.jsonl").rows == 1
    assert validate_file(CountingReader(b'{"id": 1}\n'), c, pii_key=PII_KEY, file_format="jsonl").rows == 1


# -- helpers -----------------------------------------------------------------------------------------

def to_rows(sink: RecordingSink) -> list[tuple[Any, ...]]:
    frame = frame_of(sink.frames())
    return [] if frame is None else [tuple(r) for r in frame.itertuples(index=False)]


def quarantine_rows(sink: RecordingSink) -> list[dict[str, Any]]:
    frame = frame_of(sink.frames())
    return [] if frame is None else frame.to_dict("records")


def test_the_recording_sink_sees_a_date_column_as_the_two_pass_frames_do(write):
    # date32 → datetime64 in pandas either way: the sinks get Arrow, the old iterators pandas
    path = write("d.csv", "d\n2024-01-02\n")
    two, one, curated, quarantine = both(path, contract([{"name": "d", "type": "date"}]), 10)
    assert_same(two, one, curated, quarantine, "date")
    assert curated.parts[0].schema.field("d").type == pa.date32()
    assert frame_of(curated.frames())["d"].tolist() == [dt.date(2024, 1, 2)]

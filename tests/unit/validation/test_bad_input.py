"""Bad input never raises: every kind of broken file yields a failing report with a reason code."""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.unit.validation.helpers import contract, rule, run

COLS = [{"name": "a", "type": "int"}, {"name": "b", "type": "string"}]


def assert_rejected(result, code: str, message: str | None = None) -> dict:
    readable = rule(result, "dataset.readable")
    assert (result.verdict, result.decision, result.reason) == ("fail", "reject_file", code)
    assert readable["passed"] is False and readable["details"]["code"] == code
    if message is not None:
        assert message in readable["message"]
    assert list(result.iter_curated()) == [] or code in ("ragged_rows", "invalid_json", "no_rows")
    return readable


@pytest.mark.parametrize(("name", "content", "code", "message"), [
    ("empty.csv", b"", "empty_file", "the file is empty (0 bytes)"),
    ("blank.csv", b"\xef\xbb\xbf \n\n", "empty_file", "the file holds no data"),
    ("garbage.csv", bytes(range(256)) * 64, "unreadable_file", "binary data"),
    ("gz.csv", gzip.compress(b"a,b\n1,x\n", mtime=0), "compressed_input", "gzip-compressed"),
    ("latin.csv", "a,b\n1,caf\xe9\n".encode("latin-1"), "encoding_error", "not valid utf-8"),
    ("dup.csv", b"a,b,a\n1,x,2\n", "duplicate_columns", "repeats column names"),
    ("parquet.parquet", b"a,b\n1,x\n", "unreadable_file", "not a Parquet file"),
    ("broken.parquet", b"PAR1" + b"\x00" * 100 + b"PAR1", "unreadable_file", "corrupt Parquet"),
])
def test_unreadable_files_fail_with_a_reason_code(write, name, content, code, message):
    result = run(write(name, content), contract(COLS))
    assert_rejected(result, code, message)
    assert result.rows == 0
    assert all(r["passed"] is None for r in result.report["rules"] if r["id"] != "dataset.readable")


def test_a_bad_byte_deep_in_the_file_is_an_encoding_error(write):
    body = "a,b\n" + "1,x\n" * 50_000 + "2,caf\xe9\n"
    assert_rejected(run(write("late.csv", body.encode("latin-1")), contract(COLS), chunk_rows=1000),
                    "encoding_error")


def test_a_declared_encoding_is_decoded(write):
    c = contract(COLS, format={"encoding": "latin-1", "delimiter": ";"})
    result = run(write("latin.csv", "a;b\n1;café\n".encode("latin-1")), c)
    assert result.verdict == "pass"
    assert next(result.iter_curated())["b"].tolist() == ["café"]


def test_a_bom_and_quoted_newlines_are_read_correctly(write):
    path = write("bom.csv", '\ufeffa,b\n1,"line one\nline two"\n2,"say ""hi"""\n')
    result = run(path, contract(COLS))
    assert result.verdict == "pass" and result.rows == 2
    assert next(result.iter_curated())["b"].tolist() == ["line one\nline two", 'say "hi"']


def test_a_header_only_file_has_no_rows(write):
    assert_rejected(run(write("h.csv", "a,b\n"), contract(COLS)), "no_rows", "no data rows")


def test_ragged_rows_are_counted_with_their_line_numbers(write):
    result = run(write("r.csv", "a,b\n1,x\n2,y,extra\n3\n4,z\n"), contract(COLS))
    readable = assert_rejected(result, "ragged_rows", "2 rows with a wrong number of fields")
    assert readable["failing_rows"] == 2
    assert readable["examples"][0]["expected_fields"] == 2


def test_lines_that_are_not_json_objects_are_counted(write):
    path = write("j.jsonl", '{"a": 1, "b": "x"}\nnot json\n[1, 2]\n{"a": 2, "b": "y"}\n')
    result = run(path, contract(COLS))
    readable = assert_rejected(result, "invalid_json")
    assert [e["line"] for e in readable["examples"]] == [2, 3]
    assert result.rows == 2


def test_a_parquet_file_named_csv_is_a_format_mismatch(write, tmp_path):
    pq.write_table(pa.table({"a": [1], "b": ["x"]}), str(tmp_path / "real.parquet"))
    path = write("fake.csv", (tmp_path / "real.parquet").read_bytes())
    assert_rejected(run(path, contract(COLS)), "format_mismatch")
    assert run(path, contract(COLS), file_format="parquet").verdict == "pass"


def test_unknown_and_missing_columns_are_reported_by_name(write):
    result = run(write("c.csv", "a,zzz\n1,2\n"), contract(COLS, extra_columns="error"))
    assert (result.decision, result.reason) == ("reject_file", "missing_columns")
    assert rule(result, "dataset.missing_columns")["details"] == {"missing": ["b"]}
    assert rule(result, "dataset.extra_columns")["details"] == {"extra": ["zzz"]}


@pytest.mark.slow
def test_a_single_100_mb_line_is_line_too_long(write):
    path = write("long.csv", b"a,b\n1," + b"x" * (100 * 1024 * 1024) + b"\n")
    assert_rejected(run(path, contract(COLS)), "line_too_long")
    path = write("long_header.csv", b"a," + b"y" * (100 * 1024 * 1024) + b"\n1,2\n")
    assert_rejected(run(path, contract(COLS)), "line_too_long")


def test_a_long_jsonl_line_is_line_too_long(write, monkeypatch):
    from chalicelib.core.validation import readers

    monkeypatch.setattr(readers, "MAX_ROW_BYTES", 1000)
    path = write("long.jsonl", '{"a": 1, "b": "' + "x" * 2000 + '"}\n')
    assert_rejected(run(path, contract(COLS)), "line_too_long")


def test_an_unknown_file_format_is_a_failing_report(write):
    assert_rejected(run(write("x.csv", "a,b\n1,x\n"), contract(COLS), file_format="xlsx"), "format_mismatch")


def test_a_missing_file_is_unreadable(tmp_path):
    assert_rejected(run(str(tmp_path / "nope.csv"), contract(COLS)), "unreadable_file")


# -- parser bombs (issue 16: 200k levels of JSONL nesting raised RecursionError: no report at all) ----

DEEP = '{"a": 1, "b": ' + "[" * 200_000 + "]" * 200_000 + "}\n"


@pytest.mark.parametrize("where", ["first line", "after 2,000 lines"])
def test_deeply_nested_jsonl_fails_the_file_with_nesting_too_deep(write, where):
    lines = '{"a": 1, "b": "x"}\n' * (2000 if where != "first line" else 0)
    readable = assert_rejected(run(write("deep.jsonl", lines + DEEP), contract(COLS)), "nesting_too_deep")
    assert readable["details"]["max_depth"] == 100 and "deeper than 100 levels" in readable["message"]


def test_deeply_nested_jsonl_is_a_bad_request_for_contract_inference(write):
    from chalicelib.core.errors import BadRequestError
    from chalicelib.core.validation.infer import infer_contract

    with pytest.raises(BadRequestError) as info:
        infer_contract(write("deep.jsonl", DEEP), "d")
    assert (info.value.code, info.value.status) == ("nesting_too_deep", 400)


def test_nesting_up_to_the_limit_and_brackets_inside_strings_are_fine(write):
    nested = "[" * 99 + "]" * 99  # 100 levels with the line's own object
    text = '"' + "[{" * 5000 + '\\"' + "]" * 10 + '"'  # brackets (and an escaped quote) inside a string
    path = write("ok.jsonl", f'{{"a": 1, "b": {json.dumps(nested)}}}\n{{"a": 2, "b": {text}}}\n'
                             f'{{"a": 3, "b": {nested}}}\n')
    result = run(path, contract(COLS))
    assert (result.verdict, result.rows) == ("pass", 3), result.report["message"]
    deeper = write("deeper.jsonl", '{"a": 3, "b": ' + "[" * 100 + "]" * 100 + "}\n")
    assert_rejected(run(deeper, contract(COLS)), "nesting_too_deep")


@pytest.mark.parametrize(("text", "depth"), [
    ("{}", 1), ("[[1], [2, [3]]]", 3), ('{"a": "[[[["}', 1), ('["\\\\", [1]]', 2), ('["\\"[", [[]]]', 3),
    ("1", 0),
])
def test_the_nesting_depth_counts_brackets_outside_strings_only(text, depth):
    from chalicelib.core.validation.readers import nesting_depth

    assert nesting_depth(text) == depth


def test_a_header_of_too_many_columns_is_refused(write):
    path = write("wide.csv", ",".join(f"c{i}" for i in range(10_001)) + "\n" + "1," * 10_000 + "1\n")
    readable = assert_rejected(run(path, contract(COLS)), "too_many_columns")
    assert readable["details"]["max_columns"] == 10_000

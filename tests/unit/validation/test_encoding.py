"""Byte-order marks and encodings: a file in another encoding than declared says which one it looks like."""

from __future__ import annotations

import codecs
import json
import random
import time

import pandas as pd
import pytest

from chalicelib.core.validation import readers
from tests.unit.validation.helpers import contract, rule, run

ROWS = [("Jürgen", "Köln", 1), ("Anna", "Berlin", 2), ("Zoë", "Ġħajnsielem", 3)]
CSV = "name,city,n\n" + "".join(f"{a},{b},{n}\n" for a, b, n in ROWS)
JSONL = "".join(json.dumps({"name": a, "city": b, "n": n}, ensure_ascii=False) + "\n" for a, b, n in ROWS)
COLUMNS = [{"name": "name", "type": "string", "unique": True}, {"name": "city", "type": "string"},
           {"name": "n", "type": "int", "min": 1}]

# how the file's bytes were made: (label, encode text → bytes, what the report should say it looks like)
ENCODED = [
    ("utf-16-le with BOM (Excel 'Unicode text')", lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le"),
     "utf-16-le", "UTF-16 little-endian"),
    ("utf-16-be with BOM", lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"), "utf-16-be",
     "UTF-16 big-endian"),
    ("utf-16-le without BOM", lambda t: t.encode("utf-16-le"), "utf-16-le", "UTF-16 little-endian"),
    ("utf-16-be without BOM", lambda t: t.encode("utf-16-be"), "utf-16-be", "UTF-16 big-endian"),
    ("utf-32-le with BOM", lambda t: codecs.BOM_UTF32_LE + t.encode("utf-32-le"), "utf-32-le",
     "UTF-32 little-endian"),
    ("utf-32-be without BOM", lambda t: t.encode("utf-32-be"), "utf-32-be", "UTF-32 big-endian"),
]


def _file(write, fmt: str, body: bytes) -> str:
    return write(f"f.{fmt}", body)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize(("label", "encode", "detected", "named"), ENCODED, ids=[e[0] for e in ENCODED])
def test_a_utf16_or_utf32_file_under_a_utf8_contract_is_an_encoding_mismatch_naming_what_it_looks_like(
        write, fmt, label, encode, detected, named):
    body = encode(CSV if fmt == "csv" else JSONL)
    result = run(_file(write, fmt, body), contract(COLUMNS))
    readable = rule(result, "dataset.readable")
    assert (result.verdict, result.reason) == ("fail", "encoding_mismatch")
    assert readable["details"] == {"code": "encoding_mismatch", "declared_encoding": "utf-8",
                                   "detected_encoding": detected}
    assert named in readable["message"] and "binary" not in readable["message"]
    assert "format.encoding" in readable["message"]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("declared", ["utf-16", "utf-16-le", "UTF16", "utf-32", "utf-16-be"])
@pytest.mark.parametrize(("label", "encode", "detected", "named"), ENCODED, ids=[e[0] for e in ENCODED])
def test_a_file_in_the_declared_wide_encoding_validates_like_utf8_and_any_other_is_a_mismatch(
        write, fmt, declared, label, encode, detected, named):
    family = codecs.lookup(declared).name
    body = encode(CSV if fmt == "csv" else JSONL)
    result = run(_file(write, fmt, body), contract(COLUMNS, format={"encoding": declared}), chunk_rows=2)
    if detected.startswith(family):
        assert (result.verdict, result.rows) == ("pass", 3), result.report["message"]
        curated = pd.concat(result.iter_curated())
        assert list(zip(curated["name"], curated["city"], curated["n"], strict=True)) == ROWS
    else:
        assert result.reason == "encoding_mismatch"
        assert rule(result, "dataset.readable")["details"]["detected_encoding"] == detected


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("declared", ["utf-8", "utf-8-sig"])
def test_a_utf8_bom_under_a_utf8_contract_just_works(write, fmt, declared):
    body = codecs.BOM_UTF8 + (CSV if fmt == "csv" else JSONL).encode()
    result = run(_file(write, fmt, body), contract(COLUMNS, format={"encoding": declared}))
    assert (result.verdict, result.report["columns"]["present"]) == ("pass", ["name", "city", "n"])
    assert next(result.iter_curated())["name"].tolist() == ["Jürgen", "Anna", "Zoë"]


@pytest.mark.parametrize(("declared", "body", "detected", "named"), [
    ("utf-16", CSV.encode(), "utf-8", "UTF-8"),
    ("utf-16", b"a,b\n1,2\n", "ascii", "ASCII"),
    ("utf-32", CSV.encode("cp1252", errors="replace"), "8bit", "8-bit"),
    ("latin-1", CSV.encode(), "utf-8", "UTF-8"),
    ("cp1252", codecs.BOM_UTF8 + CSV.encode(), "utf-8", "UTF-8"),
    ("utf-16-le", codecs.BOM_UTF8 + CSV.encode(), "utf-8", "UTF-8"),
], ids=["utf8-as-utf16", "ascii-as-utf16", "cp1252-as-utf32", "utf8-as-latin1", "utf8bom-as-cp1252",
        "utf8bom-as-utf16le"])
def test_an_8bit_file_under_a_wide_contract_or_utf8_under_latin1_is_named_for_what_it_looks_like(
        write, declared, body, detected, named):
    c = contract(COLUMNS, format={"encoding": declared}, missing_columns="warn")
    result = run(write("f.csv", body), c)
    readable = rule(result, "dataset.readable")
    assert (result.reason, readable["details"]["detected_encoding"]) == ("encoding_mismatch", detected)
    assert named in readable["message"]


def test_a_cp1252_file_under_a_cp1252_contract_passes_and_under_utf8_is_an_encoding_error(write):
    path = write("f.csv", "name,city,n\nJürgen,Köln,1\nAnna,Berlin,2\n".encode("cp1252"))
    assert run(path, contract(COLUMNS, format={"encoding": "cp1252"})).verdict == "pass"
    assert run(path, contract(COLUMNS)).reason == "encoding_error"


def test_real_binary_data_is_still_called_binary(write):
    rng = random.Random(3)
    noise = bytes(rng.randrange(256) for _ in range(4096))
    result = run(write("f.csv", b"id\n" + noise), contract([{"name": "id", "type": "string"}]))
    assert (result.reason, rule(result, "dataset.readable")["message"]) == \
        ("unreadable_file", "the file holds binary data (NUL bytes), not text")


def test_a_utf16_jsonl_line_is_split_on_characters_not_on_a_0x0a_byte_inside_one(write):
    # U+010A is the bytes 0A 01 in UTF-16-LE: a byte-wise line split cuts the line inside it
    rows = [{"name": "Ċ" * 3, "city": "ĊĊ", "n": i} for i in range(1, 4)]
    rows[1]["name"] = "Anna"
    rows[2]["name"] = "Ġ"
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-16")
    result = run(write("f.jsonl", body), contract(COLUMNS, format={"encoding": "utf-16"}))
    assert (result.verdict, result.rows) == ("pass", 3), result.report["message"]
    assert next(result.iter_curated())["name"].tolist() == ["ĊĊĊ", "Anna", "Ġ"]


@pytest.mark.parametrize("declared", ["utf-16", "utf-32"])
def test_a_wide_csv_is_read_without_waiting_on_the_read_ahead_throttle(write, monkeypatch, declared):
    # Arrow counts blocks in UTF-8 but reads 2-4 raw bytes per character: the throttle must allow for it
    monkeypatch.setattr(readers, "MAX_ROW_BYTES", 1024)
    monkeypatch.setattr(readers, "READ_AHEAD_TIMEOUT_S", 2.0)
    body = "id,name\n" + "".join(f"{i},name{i}\n" for i in range(600))
    c = contract([{"name": "id", "type": "int", "unique": True}, {"name": "name", "type": "string"}],
                 format={"encoding": declared})
    started = time.perf_counter()
    result = run(write("f.csv", body.encode(declared)), c)
    assert (result.verdict, result.rows) == ("pass", 600)
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize(("fmt", "encode", "declared"), [
    ("csv", lambda t: t.encode("utf-16"), "utf-16"), ("jsonl", lambda t: t.encode("utf-16"), "utf-16"),
    ("csv", lambda t: t.encode("utf-16-be"), "utf-16-be"), ("csv", lambda t: t.encode(), "utf-8"),
    ("jsonl", lambda t: codecs.BOM_UTF8 + t.encode(), "utf-8"),
])
def test_an_inferred_contract_declares_the_encoding_the_bytes_show_and_validates_its_file(
        write, fmt, encode, declared):
    from chalicelib.core.validation.contract import parse_contract
    from chalicelib.core.validation.infer import infer_contract

    path = _file(write, fmt, encode(CSV if fmt == "csv" else JSONL))
    suggestion = infer_contract(path, "t")
    assert suggestion["format"]["encoding"] == declared
    assert run(path, parse_contract(suggestion)).verdict == "pass"

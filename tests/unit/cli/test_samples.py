"""The bounded sample ``sluice contract infer FILE`` sends: whole records only, never more than the limit."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.core.datasets.names import FILENAME
from sluice.samples import SampleError, safe_filename, take, text_head

# no lone "\r" in a field: csv.writer leaves it unquoted when the line terminator is "\n" (ambiguous CSV)
FIELD = st.text(alphabet=st.sampled_from(list('ab1,"\n é€😀 ')), max_size=8)
ROWS = st.lists(st.lists(FIELD, min_size=2, max_size=2), min_size=1, max_size=12)
CODECS = {"utf-8": b"", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff", "utf-32-le": b"\xff\xfe\x00\x00"}


def encoded_records(rows: list[list[str]], codec: str, terminator: str) -> list[bytes]:
    """Each record as csv.writer writes it, encoded (the byte-order mark goes before the first)."""
    out = []
    for row in rows:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator=terminator).writerow(row)
        out.append(buffer.getvalue().encode(codec))
    out[0] = CODECS[codec] + out[0]
    return out


@settings(max_examples=150, deadline=None)
@given(rows=ROWS, codec=st.sampled_from(sorted(CODECS)), terminator=st.sampled_from(["\n", "\r\n"]),
       cut=st.floats(0, 1.2))
def test_a_csv_head_is_exactly_the_records_that_fit_even_with_quoted_line_breaks(rows, codec, terminator,
                                                                                  cut):
    records = encoded_records(rows, codec, terminator)
    data = b"".join(records)
    limit = int(len(data) * cut)
    head = text_head(data[:limit], quoted=True)
    ends = [sum(len(r) for r in records[:i + 1]) for i in range(len(records))]
    fitting = sum(end <= limit for end in ends)  # the oracle: whole records inside the limit
    assert head == data[:ends[fitting - 1]] if fitting else head == b""
    if fitting:  # and it parses back to those rows
        text = head.decode(codec).removeprefix("\ufeff")
        assert list(csv.reader(io.StringIO(text, newline=""))) == rows[:fitting]


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.text(max_size=6), min_size=1, max_size=10), cut=st.floats(0, 1.2))
def test_a_jsonl_head_is_its_complete_lines(values, cut):
    lines = [json.dumps({"v": v, "q": '"'}) + "\n" for v in values]  # quotes in JSON never pair up
    data = "".join(lines).encode()
    limit = int(len(data) * cut)
    head = text_head(data[:limit], quoted=False)
    kept = [json.loads(line) for line in head.decode().splitlines()]
    assert kept == [json.loads(line) for line in lines][:len(kept)]
    assert len(head) <= limit
    assert len(kept) == len(lines) or len(head) + len(lines[len(kept)].encode()) > limit  # none left out


def test_a_small_file_is_sent_whole_and_a_large_one_as_its_first_complete_records(tmp_path):
    small = tmp_path / "rides.csv"
    small.write_text("ride_id,note\nr1,\"two\nlines\"\nr2,x\n")
    sample = take(small)
    assert (sample.whole, sample.fmt, sample.sent_bytes) == (True, "csv", small.stat().st_size)
    big = tmp_path / "big rides (1).csv"
    big.write_text("ride_id,note\n" + "".join(f'r{i},"a\nb"\n' for i in range(1000)))
    cut = take(big, text_bytes=1000)
    assert not cut.whole and 900 < cut.sent_bytes <= 1000
    assert cut.data.decode().count("\n") % 2 == 1  # header + whole two-line records
    assert cut.name == "big-rides-1.csv" and FILENAME.match(cut.name)


def test_a_file_without_a_line_end_in_its_head_or_a_suffix_to_tell_its_format_is_refused(tmp_path):
    one_line = tmp_path / "wide.csv"
    one_line.write_text("a," * 600)
    with pytest.raises(SampleError) as caught:
        take(one_line, text_bytes=1000)
    assert caught.value.code == "no_complete_line"
    unknown = tmp_path / "rides.xlsx"
    unknown.write_bytes(b"PK")
    with pytest.raises(SampleError) as caught:
        take(unknown)
    assert caught.value.code == "unknown_format" and "--format" in caught.value.message
    assert take(unknown, "csv").fmt == "csv"
    with pytest.raises(SampleError) as caught:
        take(tmp_path / "nowhere.csv")
    assert caught.value.code == "file_not_found"


def test_a_parquet_file_goes_whole_up_to_the_limit_and_past_it_as_its_first_rows(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"id": pa.array(range(5000), pa.int32()), "city": ["Berlin", "Hamburg"] * 2500})
    path = tmp_path / "rides.parquet"
    pq.write_table(table, path, row_group_size=700)
    assert take(path).whole
    head = take(path, parquet_bytes=100, rows=1234)
    sent = pq.read_table(io.BytesIO(head.data))
    assert sent.schema == table.schema and sent.equals(table.slice(0, 1234))
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    with pytest.raises(SampleError) as caught:
        take(broken, parquet_bytes=5)
    assert caught.value.code == "invalid_file"


@pytest.mark.parametrize(("name", "safe"), [
    ("rides.csv", "rides.csv"), ("my rides (2026).csv", "my-rides-2026.csv"), (".hidden.csv", "hidden.csv"),
    ("ride\u00e9s.jsonl", "ride-s.jsonl"), ("...", "sample"), ("noext", "noext"),
    ("x" * 300 + ".parquet", "x" * 192 + ".parquet"),
])
def test_a_local_file_name_becomes_one_the_api_accepts(name, safe):
    assert safe_filename(name) == safe
    assert re.fullmatch(FILENAME, safe_filename(name))

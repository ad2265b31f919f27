"""A bounded sample of a local file: what ``sluice contract infer DATASET FILE`` sends to infer a contract.

Inference reads at most the first 16 MB of a text file and at most 256 MB of Parquet (the API's own
limits, ``chalicelib.services.contracts``), so the CLI sends no more than that: a text file (CSV, JSONL)
is cut after the last complete record of its first 16 MB — for CSV outside quotes, so a quoted field
holding a line break is never split; UTF-16/32 files (by their byte-order mark) are cut on whole
characters — and a Parquet file is sent whole, or, past the limit and with pyarrow installed, as a new
Parquet file of its first rows. Pure functions on local files; no AWS, no HTTP.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

from chalicelib.core.datasets.names import file_format_of
from chalicelib.services.contracts import INFER_TEXT_BYTES, MAX_INFER_BYTES

SAMPLE_ROWS = 100_000  # rows of an oversized Parquet file sent (= inference's own sample size)
# byte-order marks → the codec whose code units a cut must respect (UTF-32 first: its LE mark starts
# with UTF-16's)
BOMS = ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class SampleError(ValueError):
    """The file cannot be sampled; ``code`` is the CLI's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Sample:
    """What to send: ``data`` (a cut or a rewritten Parquet head), or the whole file when it is None."""

    path: Path
    name: str  # a file name the API accepts, with the format's suffix
    fmt: str  # csv | jsonl | parquet
    size: int  # bytes of the local file
    data: bytes | None = None

    @property
    def sent_bytes(self) -> int:
        return self.size if self.data is None else len(self.data)

    @property
    def whole(self) -> bool:
        return self.data is None


def take(path: Path, fmt: str | None = None, *, text_bytes: int = INFER_TEXT_BYTES,
         parquet_bytes: int = MAX_INFER_BYTES, rows: int = SAMPLE_ROWS) -> Sample:
    """The sample of ``path`` to send (format from ``fmt``, else from the file's suffix)."""
    if not path.is_file():
        raise SampleError("file_not_found", f"no file {str(path)!r}")
    fmt = fmt or file_format_of(path.name)
    if fmt is None:
        raise SampleError("unknown_format", f"cannot tell the format of {path.name!r} from its suffix: "
                                            "pass --format csv, jsonl or parquet")
    size = path.stat().st_size
    name = safe_filename(path.name)
    if fmt == "parquet":
        return Sample(path, name, fmt, size, None if size <= parquet_bytes else
                      parquet_head(path, rows, parquet_bytes))
    if size <= text_bytes:
        return Sample(path, name, fmt, size)
    with open(path, "rb") as handle:
        head = handle.read(text_bytes)
    cut = text_head(head, quoted=fmt == "csv")
    if not cut:
        raise SampleError("no_complete_line", f"the first {text_bytes:,} bytes of {path.name} hold no "
                                              "complete line: is it really a line-based text file?")
    return Sample(path, name, fmt, size, cut)


def text_head(head: bytes, *, quoted: bool) -> bytes:
    """``head`` (the start of a text file) up to its last complete record; empty if it has none.

    ``quoted``: CSV, where a line break inside double quotes does not end a record (RFC 4180).
    """
    for bom, codec in BOMS:
        if head.startswith(bom):
            width = 4 if codec.startswith("utf-32") else 2
            for trim in range(0, 4 * width, width):  # a character split by the cut is dropped
                whole = head[:len(head) - len(head) % width - trim]
                try:
                    text = whole.decode(codec)
                except UnicodeDecodeError:
                    continue
                return text[:_record_end(text, "\n", '"' if quoted else None)].encode(codec)
            break  # not valid text in that encoding after all: cut the bytes
    return head[:_record_end(head, b"\n", b'"' if quoted else None)]


def _record_end[T: (str, bytes)](data: T, newline: T, quote: T | None) -> int:
    """The offset just after the last ``newline`` that ends a record (outside quotes); 0 if none.

    A line break is outside quotes when an even number of quote characters precede it (an escaped
    quote is doubled, so it never changes the parity). Walks back from the end, counting each
    stretch once: linear in ``len(data)``.
    """
    end = data.rfind(newline)
    if end < 0 or quote is None:
        return end + 1
    odd = data.count(quote, 0, end) % 2
    while odd:
        previous = data.rfind(newline, 0, end)
        if previous < 0:
            return 0
        odd ^= data.count(quote, previous, end) % 2
        end = previous
    return end + 1


def parquet_head(path: Path, rows: int, limit: int) -> bytes:
    """The first ``rows`` rows of a Parquet file, as a Parquet file (needs pyarrow)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        size = path.stat().st_size
        raise SampleError("file_too_large", f"{path.name} has {size:,} bytes; inference reads at most "
                                            f"{limit:,} of a Parquet file: install pyarrow to let the CLI "
                                            "send its first rows, or write a smaller sample") from None
    try:
        with pq.ParquetFile(path) as parquet:
            batches, taken = [], 0
            for batch in parquet.iter_batches(batch_size=min(rows, 65_536)):
                batches.append(batch.slice(0, rows - taken))
                taken += batches[-1].num_rows
                if taken >= rows:
                    break
            table = pa.Table.from_batches(batches, schema=parquet.schema_arrow)
    except (OSError, pa.ArrowException) as exc:
        raise SampleError("invalid_file", f"{path.name} is not a readable Parquet file: {exc}") from exc
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def safe_filename(name: str) -> str:
    """``name`` as one key segment the API accepts (letters, digits, ``._-``; no leading dot; ≤ 200)."""
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    suffix = UNSAFE.sub("", suffix)[:10]
    stem = UNSAFE.sub("-", stem).strip(".-")[:200 - len(suffix) - 1] or "sample"
    return f"{stem}.{suffix}" if suffix else stem

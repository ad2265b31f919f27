"""The validation engine: a file and a contract in, a :class:`ValidationResult` out — never an exception
for bad input.

Two entry points:

- :func:`validate_file`: the verdict (one streaming pass); the rows then come from
  :meth:`ValidationResult.iter_curated` / :meth:`~ValidationResult.iter_quarantined`, which read the
  file again, each (the two-pass API, kept until the upload service uses the one below);
- :func:`validate_stream`: the verdict **and** the output rows in one pass. Each chunk read is checked,
  its curated and quarantine tables built (:mod:`outputs`) and handed to the caller's sinks
  (:class:`outputs.Sink`) as soon as they exist, so the caller can stream them to S3 while the file is
  still being read. Verdicts, report and rows are the same as the two-pass API's.

Both read from a :class:`~sources.Source`: a path, a binary file-like object or an opener (see
:mod:`sources`). CSV and JSONL come as row chunks of at most ``chunk_rows`` rows; for the verdict alone,
Parquet comes row group by row group and, inside one, column by column (Arrow then decodes one column
chunk at a time: less CPU and memory than whole rows); for outputs, whole rows. A background thread
reads the next piece while the current one is checked (:func:`prefetch`); pieces are checked (and
their outputs built) on ``CHECK_THREADS`` threads, and booked in file order.

Every declared column is coerced to its type; a value that cannot be coerced fails ``<col>.type`` for
its row and is null for the column's other rules, which run on the coercible values. Uniqueness is
decided at the end over all rows (:mod:`keys`); every row whose key occurs more than once fails.
Undeclared PII is looked for in every value of the scanned columns (:func:`pii.scan`).

Decision (see :func:`report.decide`): an error-severity dataset-level failure (unreadable file, row
count, freshness, missing or — when the contract says error — extra columns, undeclared PII) rejects
the file; row-level error failures reject it under ``reject_file``, or keep the valid rows
(``accept_rows``) under ``quarantine_rows`` unless the invalid fraction exceeds
``max_invalid_fraction``; warn-severity failures never reject.

**One pass with exact outputs: what the engine does, what the caller must do.** Every rule but two is
decided per row when its chunk is read. ``unique`` and ``primary_key`` are not: whether a key repeats
is known only at the end. So:

1. Chunk ``k`` goes out as ``curated.write(k, table)`` / ``quarantine.write(k, table)`` with what is
   known when it is built: for Parquet and CSV every key repeated anywhere (the engine first reads the
   key columns alone — Parquet: their column chunks; CSV: a tokenising read converting only them,
   ~0.4 s per million rows — and knows every duplicated key before the first chunk; a CSV that this
   read cannot get through is validated as below, so it fails where it would have); for JSONL, keys
   repeated inside the chunk.
2. At the end the key rules are decided over all rows. In JSONL, a row whose key repeats only in
   another chunk went out too early (curated, or quarantined without that reason). The engine reads the
   input again (so a contract with a key rule needs a re-readable source: a path, an opener or a
   seekable object; checked up front), rebuilds just the chunks holding such rows and calls
   ``replace(k, table)`` on both sinks for each (``result.outputs.replaced``). Duplicates inside one
   chunk, or none: no second read.
3. Then ``quarantine.close()``, and ``curated.close()`` when the decision keeps rows (``accept`` /
   ``accept_rows``), else ``curated.abort()``: called as soon as rejection is certain (a dataset-level
   error such as undeclared PII under ``error`` or too many rows, ragged rows, any error-severity
   failure under ``reject_file``), after which curated gets no more writes. A file that turns out
   unreadable, even mid-way, aborts both; an exception (a sink's included) aborts both and is raised.

The caller writes each part as its own object (``part-{k:05d}``), overwrites it on ``replace`` and
deletes it on an empty ``replace``, and makes the version visible only after ``close`` (the version
record last): outputs stay all-or-nothing.

**Memory.** Kept across the file: per row 1 byte (fails an error rule) plus 8 bytes per unique /
primary-key rule (its hash; Parquet's key pre-pass holds them a second time while it runs); up to 20
examples per rule; the freshness maximum; the PII counters; the chunks' row counts. In flight: the
chunk being read ahead, up to ``CHECK_THREADS + 1`` chunks being checked with their built outputs,
the CSV reader's ``READ_AHEAD_BLOCKS`` blocks of 4 MiB, and at the start the kept head of a stream
(at most 4 MiB + 64 KiB: the CSV header line) or the first JSONL lines (at most 32 MiB of text).
Parquet also holds the writer's row group being decoded. The end-of-file duplicate search uses
constant scratch (~8 MiB per million rows bucket).
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import queue
import threading
import time
from collections.abc import Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from chalicelib.core.errors import ConfigurationError
from chalicelib.core.validation import keys, pii, rules
from chalicelib.core.validation.contract import ColumnSpec, Contract, RuleRef, Severity
from chalicelib.core.validation.outputs import Built, OutputBuilder, Sink, to_pandas
from chalicelib.core.validation.readers import DEFAULT_CHUNK_ROWS, Part, ReadFailure, TableReader, open_reader
from chalicelib.core.validation.report import MAX_EXAMPLES, RuleOutcome, build_report, decide, redact
from chalicelib.core.validation.sources import Input, Source, SourceError, as_source

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

__all__ = ["DEFAULT_CHUNK_ROWS", "OutputSummary", "Sink", "ValidationResult", "validate_file",
           "validate_stream"]

KEY_KINDS = ("unique", "primary_key")
type KeyValues = dict[str, dict[int, dict[str, Any]]]  # key rule → {row: {key column: typed value}}
CHECK_THREADS = 2  # pieces checked concurrently (Lambda has 2 vCPUs from 1,769 MB up)
KEY_PREPASS_FORMATS = ("parquet", "csv")  # validate_stream reads their key columns first (see _prepass)


@dataclass
class ChunkCheck:
    """The outcome of every row-level rule on one chunk."""

    rows: int
    coerced: dict[str, rules.Coerced]
    masks: dict[str, np.ndarray]  # rule id → rows failing it (key rules: only rows with a null key)
    key_hashes: dict[str, np.ndarray]  # unique / primary-key rule id → one hash per row (0 = null)
    pii: dict[str, pii.Detection] = field(default_factory=dict)  # scanned column → undeclared PII found


class Checker:
    """The per-chunk checks of one contract (stateless: every pass uses it). ``scan``: the columns to
    look for undeclared PII in."""

    def __init__(self, contract: Contract, present: set[str], scan: frozenset[str] = frozenset()) -> None:
        self.contract = contract
        self.present = present
        self.scan = scan
        self.refs = {ref.id: ref for ref in contract.rule_plan()}
        missing_ok = contract.missing_columns == "warn"
        self.columns = [c for c in contract.columns if c.name in present or missing_ok]

    def check(self, table: pa.Table, *, complete: bool = True) -> ChunkCheck:
        """Run the rules of the columns in ``table``.

        ``complete``: the table holds whole rows (declared columns missing from the file are then
        checked as all-null); else it holds some columns of the rows (column-by-column Parquet), and
        the primary key comes back as per-column terms ``pk:<position>`` for the caller to add up.
        """
        import pyarrow as pa

        n = table.num_rows
        coerced: dict[str, rules.Coerced] = {}
        masks: dict[str, np.ndarray] = {}
        hashes: dict[str, np.ndarray] = {}
        for col in self.columns:
            if col.name in table.column_names:
                raw = table.column(col.name)
            elif complete:
                raw = pa.nulls(n)
            else:
                continue
            c = coerced[col.name] = rules.coerce(raw, col.type)
            self._column_masks(col, c, masks, hashes)
        pk = self.contract.rules.primary_key
        if pk is not None:
            terms = {i: rules.hash_values(coerced[name].values) for i, name in enumerate(pk.columns)
                     if name in coerced}
            if complete and len(terms) == len(pk.columns):
                h = rules.combine_hashes([terms[i] for i in range(len(pk.columns))])
                hashes["dataset.primary_key"] = h
                masks["dataset.primary_key"] = h == 0
            elif not complete:
                hashes.update({f"pk:{i}": h for i, h in terms.items()})
        found = {name: pii.scan(_as_strings(table.column(name))) for name in self.scan
                 if name in table.column_names}
        return ChunkCheck(n, coerced, masks, hashes, found)

    def key_hashes(self, table: pa.Table) -> dict[str, np.ndarray]:
        """The unique / primary-key hashes of whole rows from a table of the key columns only (what
        :meth:`check` gives for them)."""
        import pyarrow as pa

        def hashed(name: str) -> np.ndarray:
            raw = table.column(name) if name in table.column_names else pa.nulls(table.num_rows)
            return rules.hash_values(rules.coerce(raw, self.contract.column(name).type).values)

        out = {f"{c.name}.unique": hashed(c.name) for c in self.columns if c.unique}
        pk = self.contract.rules.primary_key
        if pk is not None and all(name in {c.name for c in self.columns} for name in pk.columns):
            out["dataset.primary_key"] = rules.combine_hashes([hashed(name) for name in pk.columns])
        return out

    def key_columns(self) -> list[str]:
        pk = self.contract.rules.primary_key
        names = [c.name for c in self.columns if c.unique] + (list(pk.columns) if pk else [])
        return [n for n in dict.fromkeys(names) if n in self.present]

    def _column_masks(self, col: ColumnSpec, c: rules.Coerced, masks: dict[str, np.ndarray],
                      hashes: dict[str, np.ndarray]) -> None:
        name, values = col.name, c.values
        if c.bad is not None:
            masks[f"{name}.type"] = c.bad
        if not col.nullable:
            masks[f"{name}.not_null"] = c.raw_null
        if col.unique:
            hashes[f"{name}.unique"] = rules.hash_values(values)
        if values.null_count == len(values):
            return  # the value rules ignore nulls
        if col.min is not None or col.max is not None:
            masks[f"{name}.range"] = rules.range_mask(values, col)
        if col.allowed is not None:
            masks[f"{name}.allowed"] = rules.allowed_mask(values, col)
        if col.pattern is not None:
            masks[f"{name}.pattern"] = rules.pattern_mask(values, col.pattern)
        if col.min_length is not None or col.max_length is not None:
            masks[f"{name}.length"] = rules.length_mask(values, col)


@dataclass
class _Segment:
    """Per-row state of one segment (a row chunk, or a Parquet row group read column by column)."""

    number: int
    offset: int
    rows: int
    invalid: np.ndarray
    complete: bool = True
    keys: dict[str, list[np.ndarray]] = field(default_factory=dict)
    pk: np.ndarray | None = None
    pk_null: np.ndarray | None = None


@dataclass
class _Output:
    """What the two-pass API's output reads need: the input, how to read it, the first pass's verdicts."""

    source: Source
    contract: Contract
    file_format: str
    chunk_rows: int
    present: list[str]
    invalid: np.ndarray
    duplicates: dict[str, np.ndarray]  # key rule id → sorted duplicated hashes
    pii_key: bytes = field(repr=False)


@dataclass
class OutputSummary:
    """What :func:`validate_stream` handed to the sinks: part numbers written per stream, the parts
    replaced after the end-of-file duplicate decision, the rows in each stream, and whether curated was
    closed (kept) or aborted."""

    curated_parts: list[int] = field(default_factory=list)
    quarantine_parts: list[int] = field(default_factory=list)
    replaced: list[int] = field(default_factory=list)
    curated_rows: int = 0
    quarantined_rows: int = 0
    curated_kept: bool = False
    rereads: int = 0
    key_prepass: bool = False  # the key columns were read first (every duplicated key known up front)


@dataclass
class ValidationResult:
    """The outcome of validating one file (see TEAM.md): verdict, decision, report and the row streams."""

    verdict: str
    decision: str
    reason: str | None
    report: dict[str, Any]
    rows: int
    invalid_rows: int
    _output: _Output | None = field(default=None, repr=False)
    outputs: OutputSummary | None = None  # validate_stream: what the sinks received

    def iter_curated(self) -> Iterator[pd.DataFrame]:
        """The valid rows, typed per contract, PII hashed/masked/dropped (nothing if unreadable);
        reads the input again (:func:`validate_file` results only)."""
        if self._output is not None:
            yield from _iter_rows(self._output, quarantined=False)

    def iter_quarantined(self) -> Iterator[pd.DataFrame]:
        """The invalid rows as text, with ``_row`` and ``_reasons``; PII hashed/masked/dropped."""
        if self._output is not None:
            yield from _iter_rows(self._output, quarantined=True)


def validate_file(source: Input, contract: Contract, *, pii_key: bytes, file_format: str | None = None,
                  chunk_rows: int = DEFAULT_CHUNK_ROWS, now: dt.datetime | None = None,
                  name: str | None = None) -> ValidationResult:
    """Validate ``source`` (a path, a binary file-like object or an opener: see :mod:`sources`) against
    ``contract``; bad input gives a failing result, not an error.

    ``pii_key`` keys the HMAC of ``pii: hash`` columns (bytes from SSM/Secrets Manager or the
    environment; at least 16 bytes when the contract hashes a column, else ConfigurationError — a
    deployment problem, not bad input); ``file_format`` overrides the contract's ``format.type`` and
    the file extension of ``name`` (default: the path); ``now`` (naive UTC or aware) is the reference
    time of the freshness rule. The examples of duplicated keys, and ``iter_curated`` /
    ``iter_quarantined``, read the input again.
    """
    key = _checked_key(contract, pii_key)
    return _Run(as_source(source, name), contract, key, file_format, chunk_rows, now).execute()


def validate_stream(source: Input, contract: Contract, *, pii_key: bytes, curated: Sink | None = None,
                    quarantine: Sink | None = None, file_format: str | None = None,
                    chunk_rows: int = DEFAULT_CHUNK_ROWS, now: dt.datetime | None = None,
                    name: str | None = None, max_rows: int | None = None) -> ValidationResult:
    """Validate ``source`` and hand its curated and quarantined rows to the sinks, in one pass.

    Arguments as :func:`validate_file`. ``max_rows``: the most rows the caller's memory holds (what the
    engine keeps grows with the rows: :func:`row_books_bytes`); a file with more fails readable with code
    ``file_too_large`` — a Parquet file before any row is read (its footer counts them), a text file as
    soon as the read passes the limit — and nothing goes out.

    The sinks receive ``pyarrow.Table`` s (see :mod:`outputs` for their columns and :class:`outputs.Sink`
    for the calls; the module docstring says what the caller must do). The result's report, verdict and
    counts equal :func:`validate_file`'s, ``outputs`` summarises what the sinks received. A contract with a
    unique or primary-key rule needs a source that can be read again (SourceError otherwise, before
    anything is read).
    """
    key = _checked_key(contract, pii_key)
    src = as_source(source, name)
    has_keys = contract.rules.primary_key is not None or any(c.unique for c in contract.columns)
    if has_keys and (curated is not None or quarantine is not None) and not src.rereadable:
        raise SourceError("the contract has a unique or primary-key rule: its duplicates may need a "
                          "second read of the input; pass a path, an opener or a seekable object")
    sinks = _Sinks(curated, quarantine)
    try:
        result = _Run(src, contract, key, file_format, chunk_rows, now, sinks, max_rows).execute()
        sinks.finish(result)
    except SinkFailure as exc:  # the sink's own exception, as it raised it
        sinks.abort_all()
        raise (exc.__cause__ or exc) from None
    except BaseException:
        sinks.abort_all()
        raise
    finally:
        src.close()
    result.outputs = sinks.summary
    return result


def _checked_key(contract: Contract, pii_key: bytes) -> bytes:
    if any(c.pii == "hash" for c in contract.columns) and (not isinstance(pii_key, bytes | bytearray)
                                                            or len(pii_key) < pii.MIN_KEY_BYTES):
        raise ConfigurationError(f"the PII hashing key must be at least {pii.MIN_KEY_BYTES} bytes",
                                 code="pii_key_invalid")
    return bytes(pii_key or b"")


class _Sinks:
    """The caller's two sinks and what they were given (every call on the engine's calling thread)."""

    def __init__(self, curated: Sink | None, quarantine: Sink | None) -> None:
        self.curated, self.quarantine = curated, quarantine
        self.summary = OutputSummary()
        self.curated_open = curated is not None
        self.quarantine_open = quarantine is not None
        self.stop_curated = threading.Event()  # set once the file is sure to be rejected
        self._rows: dict[str, dict[int, int]] = {"curated": {}, "quarantine": {}}

    def wanted(self) -> tuple[bool, bool]:
        """Which tables to build: (curated, quarantine)."""
        return self.curated_open and not self.stop_curated.is_set(), self.quarantine_open

    def write(self, part: int, built: Built) -> None:
        if built.curated is not None and self.curated is not None and self.curated_open:
            self.curated.write(part, built.curated)
            self._rows["curated"][part] = built.curated.num_rows
        if built.quarantine is not None and self.quarantine is not None and self.quarantine_open:
            self.quarantine.write(part, built.quarantine)
            self._rows["quarantine"][part] = built.quarantine.num_rows

    def replace(self, part: int, built: Built) -> None:
        """Part ``part`` rebuilt: each open sink gets exactly its new table (empty: no rows)."""
        import pyarrow as pa

        self.summary.replaced.append(part)
        for stream, sink, table in (("curated", self.curated if self.curated_open else None, built.curated),
                                    ("quarantine", self.quarantine if self.quarantine_open else None,
                                     built.quarantine)):
            if sink is None:
                continue
            sink.replace(part, table if table is not None else pa.table({}))
            if table is not None and table.num_rows:
                self._rows[stream][part] = table.num_rows
            else:
                self._rows[stream].pop(part, None)

    def abort_curated(self) -> None:
        self.stop_curated.set()
        if self.curated is not None and self.curated_open:
            self.curated_open = False
            self.curated.abort()
            self._rows["curated"] = {}

    def abort_all(self) -> None:
        self.stop_curated.set()
        for sink, is_open in ((self.curated, self.curated_open), (self.quarantine, self.quarantine_open)):
            if sink is not None and is_open:
                with contextlib.suppress(Exception):
                    sink.abort()
        self.curated_open = self.quarantine_open = False
        self._rows = {"curated": {}, "quarantine": {}}

    def finish(self, result: ValidationResult) -> None:
        """Close quarantine; close curated when the decision keeps rows, else abort it."""
        try:
            if self.quarantine is not None and self.quarantine_open:
                self.quarantine_open = False
                self.quarantine.close()
            if result.decision in ("accept", "accept_rows") and self.curated is not None \
                    and self.curated_open:
                self.curated_open = False
                self.curated.close()
                self.summary.curated_kept = True
            else:
                self.abort_curated()
        except Exception as exc:
            raise SinkFailure(str(exc)) from exc
        self.summary.curated_parts = sorted(self._rows["curated"])
        self.summary.quarantine_parts = sorted(self._rows["quarantine"])
        self.summary.curated_rows = sum(self._rows["curated"].values())
        self.summary.quarantined_rows = sum(self._rows["quarantine"].values())


class SinkFailure(Exception):
    """A sink raised: never mistaken for unreadable input (``__cause__`` is the sink's exception)."""


def key_rule_count(contract: Contract) -> int:
    """The contract's unique and primary-key rules: what the engine keeps per row grows with them."""
    return sum(1 for c in contract.columns if c.unique) + (contract.rules.primary_key is not None)


def row_books_bytes(key_rules: int) -> int:
    """The bytes the engine keeps per row of a file until the end of the pass: a byte for the row's
    validity, and an 8-byte hash per key rule — twice while the key pre-pass's copy is alive."""
    return 1 + 16 * key_rules


class TooManyRows(ReadFailure):
    """More rows than the caller's memory holds (``validate_stream(max_rows=…)``)."""

    def __init__(self, limit: int, contract: Contract) -> None:
        rules = key_rule_count(contract)
        super().__init__(
            "file_too_large",
            f"the file has more than {limit:,} rows, the most this function validates with this contract "
            f"({rules} unique/primary-key rule{'' if rules == 1 else 's'}; what it keeps grows with the rows "
            "until the end of the pass): split it into several files, each a dataset version",
            {"limit_rows": limit, "key_rules": rules})


class _Run:
    """One validation (the verdict pass, or the one pass with outputs) and its bookkeeping."""

    def __init__(self, source: Source, contract: Contract, pii_key: bytes, file_format: str | None,
                 chunk_rows: int, now: dt.datetime | None, sinks: _Sinks | None = None,
                 max_rows: int | None = None) -> None:
        self.source, self.contract, self.pii_key = source, contract, pii_key
        self.max_rows = max_rows
        self.file_format, self.chunk_rows = file_format, max(1, int(chunk_rows))
        self.now = (now.astimezone(dt.UTC).replace(tzinfo=None) if now and now.tzinfo else now) \
            or dt.datetime.now(dt.UTC).replace(tzinfo=None)
        self.sinks = sinks
        self.outcomes = {ref.id: RuleOutcome(ref) for ref in contract.rule_plan()}
        self.rows = 0
        self.t_read = 0.0
        self.fmt: str | None = None
        self.present: list[str] = []
        self.missing: list[str] = []
        self.extra: list[str] = []
        self.invalid: list[np.ndarray] = []
        self.key_hashes: dict[str, list[np.ndarray]] = {}
        self.findings: dict[str, pii.PiiFinding] = {}
        self.newest: Any = None
        self.duplicates: dict[str, np.ndarray] = {}
        self.failed_read = False
        # the one pass with outputs
        self.known: dict[str, np.ndarray] = {}  # key rule → duplicated hashes known before the pass
        self.within = False  # look for keys repeated inside each chunk as it is built
        self.captured: dict[str, dict[int, dict[str, Any]]] = {}  # key rule → {row: key values}
        self.checker: Checker | None = None
        self.builder: OutputBuilder | None = None

    def execute(self) -> ValidationResult:
        import pyarrow as pa

        t0 = time.perf_counter()
        try:
            reader = open_reader(self.source, self.contract.format, file_format=self.file_format,
                                 chunk_rows=self.chunk_rows, declared=self.contract.column_names,
                                 dictionary_columns=dictionary_columns(self.contract),
                                 parquet_dictionary_columns=typed_columns(self.contract))
            with contextlib.closing(reader):
                self.fmt = reader.fmt
                self._within_limit(getattr(reader, "num_rows", 0))  # Parquet: counted in the footer
                self._columns(reader)
                if self.sinks is None:
                    self._stream(reader)
                else:
                    self._stream_outputs(reader)
                self._after_stream(reader)
        except ReadFailure as exc:
            self._unreadable(exc.code, exc.message, exc.details)
        except (pa.ArrowException, OSError, ValueError, MemoryError) as exc:  # last line of defence
            self._unreadable("unreadable_file", f"the file cannot be read: {type(exc).__name__}")
        total = time.perf_counter() - t0
        timings = {"read_s": self.t_read, "validate_s": max(0.0, total - self.t_read), "total_s": total}
        return self._result(timings)

    # -- the streaming pass -------------------------------------------------------------------------

    def _columns(self, reader: TableReader) -> None:
        declared = self.contract.column_names
        self.present = list(reader.columns)
        self.missing = [c for c in declared if c not in self.present]
        self.extra = [c for c in self.present if c not in declared]
        miss = self.outcomes["dataset.missing_columns"]
        if self.missing:
            miss.failed_flag = True
            miss.message = f"{len(self.missing)} declared column(s) missing: {', '.join(self.missing[:10])}"
            miss.details = {"missing": self.missing}
            if self.contract.missing_columns == "error":
                pk = self.contract.rules.primary_key
                for o in self.outcomes.values():
                    needs = pk.columns if o.ref.kind == "primary_key" and pk else [o.ref.column]
                    gone = [c for c in needs if c in self.missing]
                    if gone:
                        o.skip(f"column {gone[0]} is missing")
        extra = self.outcomes.get("dataset.extra_columns")
        if extra is not None and self.extra:
            extra.failed_flag = True
            # a header-less file makes its first data row the "column names": mask what looks like PII
            shown = [pii.scrub(c) for c in self.extra]
            extra.message = f"{len(shown)} undeclared column(s): {', '.join(shown[:10])}"
            extra.details = {"extra": shown}
        if self.contract.undeclared_pii != "off":
            scan = [c.name for c in self.contract.columns
                    if c.type in ("string", "category") and c.pii is None and c.name in self.present]
            if self.contract.extra_columns == "keep":
                scan += self.extra
            self.findings = {name: pii.PiiFinding(name) for name in scan}

    def read_columns(self) -> list[str]:
        declared = set(self.contract.column_names)
        keep_extra = self.contract.extra_columns == "keep"
        return [c for c in self.present if c in declared or keep_extra]

    def _checker(self) -> Checker:
        return Checker(self.contract, set(self.present), frozenset(self.findings))

    def _stream(self, reader: TableReader) -> None:
        """Check the pieces on ``CHECK_THREADS`` threads (Arrow and numpy release the GIL), keep the
        books in file order on this one."""
        checker = self._checker()
        complete_set = set(self.read_columns())
        segment: _Segment | None = None
        pending: collections.deque[tuple[Part, Future[ChunkCheck]]] = collections.deque()
        with ThreadPoolExecutor(CHECK_THREADS, thread_name_prefix="sluice-check") as pool, \
                contextlib.closing(prefetch(reader.parts(self.read_columns()))) as parts:
            while True:
                t = time.perf_counter()
                part = next(parts, None)
                self.t_read += time.perf_counter() - t
                if part is not None:
                    complete = set(part.table.column_names) >= complete_set
                    pending.append((part, pool.submit(checker.check, part.table, complete=complete)))
                while pending and (part is None or len(pending) > CHECK_THREADS):
                    done, future = pending.popleft()
                    if segment is None or done.segment != segment.number:
                        if segment is not None:
                            self._close_segment(checker, segment)
                        segment = self._open_segment(checker, done)
                    self._apply(segment, done.start, done.table, future.result())
                if part is None:
                    break
            if segment is not None:
                self._close_segment(checker, segment)

    def _stream_outputs(self, reader: TableReader) -> None:
        """The one pass: whole-row chunks checked and their outputs built on ``CHECK_THREADS`` threads,
        booked and handed to the sinks in file order on this one."""
        assert self.sinks is not None
        checker = self.checker = self._checker()
        builder = self.builder = OutputBuilder(self.contract, checker.columns, checker.refs, self.pii_key)
        if checker.key_columns() or self._has_keys():
            # Parquet and CSV: every duplicated key known before the first chunk, from a read of the key
            # columns alone; JSONL (parsing is the whole cost of reading it): the end-of-file fix-up
            known = self._prepass(reader, checker) if reader.fmt in KEY_PREPASS_FORMATS else None
            if known is None:
                self.within = True
            else:
                self.known = known
        pending: collections.deque[tuple[Part, Future[tuple[ChunkCheck, Built]]]] = collections.deque()
        offset = 0
        with ThreadPoolExecutor(CHECK_THREADS, thread_name_prefix="sluice-check") as pool, \
                contextlib.closing(prefetch(reader.row_parts(self.read_columns()))) as parts:
            while True:
                t = time.perf_counter()
                part = next(parts, None)
                self.t_read += time.perf_counter() - t
                if part is not None:
                    self._within_limit(offset + part.table.num_rows)
                    pending.append((part, pool.submit(self._work, checker, builder, part.table, offset)))
                    offset += part.table.num_rows
                while pending and (part is None or len(pending) > CHECK_THREADS):
                    done, future = pending.popleft()
                    chk, built = future.result()
                    segment = self._open_segment(checker, done)
                    self._apply(segment, 0, done.table, chk)
                    self._close_segment(checker, segment)
                    self._capture(segment.offset, chk, built)
                    self._emit(done.segment, built)
                    if self._doomed(reader, built):
                        self.sinks.abort_curated()
                if part is None:
                    break

    def _work(self, checker: Checker, builder: OutputBuilder, table: pa.Table, offset: int,
              ) -> tuple[ChunkCheck, Built]:
        assert self.sinks is not None
        chk = checker.check(table)
        curated, quarantine = self.sinks.wanted()
        return chk, builder.build(table, chk, offset, known=self.known, within=self.within, curated=curated,
                                  quarantine=quarantine)

    def _emit(self, part: int, built: Built) -> None:
        assert self.sinks is not None
        try:
            self.sinks.write(part, built)
        except Exception as exc:
            raise SinkFailure(str(exc)) from exc

    def _within_limit(self, rows: int) -> None:
        if self.max_rows is not None and rows > self.max_rows:
            raise TooManyRows(self.max_rows, self.contract)

    def _has_keys(self) -> bool:
        return any(o.ref.kind in KEY_KINDS and o.evaluated for o in self.outcomes.values())

    def _prepass(self, reader: TableReader, checker: Checker) -> dict[str, np.ndarray] | None:
        """The duplicated hashes of every key rule, from a read of the key columns alone (for CSV: Arrow
        tokenises every byte but converts only those columns, ~0.4 s per million rows against a second
        read, check, build and upload of every chunk holding an early duplicate at the end).

        None when the file cannot be read this way (a CSV broken mid-way): the pass then runs as without
        a pre-pass and meets the problem where it would have, so the report is the same."""
        import pyarrow as pa

        found: dict[str, list[np.ndarray]] = {}
        rows = 0
        try:
            for table in reader.chunks(checker.key_columns()):
                rows += table.num_rows
                self._within_limit(rows)  # the key hashes kept here grow with the rows
                for rid, h in checker.key_hashes(table).items():
                    found.setdefault(rid, []).append(h)
        except (ReadFailure, pa.ArrowException, OSError, ValueError) as exc:
            if reader.fmt == "parquet" or isinstance(exc, TooManyRows):
                raise
            return None
        if self.sinks is not None:
            self.sinks.summary.key_prepass = True
        return {rid: keys.duplicated_hashes(parts) for rid, parts in found.items()}

    def _capture(self, offset: int, chk: ChunkCheck, built: Built) -> None:
        """Keep the key values of the first rows seen repeating a key (the rule's report examples)."""
        for rid, repeated in built.repeated.items():
            kept = self.captured.setdefault(rid, {})
            if len(kept) >= MAX_EXAMPLES or not repeated.any():
                continue
            names = self._key_names(self.outcomes[rid].ref)
            for i in keys_first(repeated, MAX_EXAMPLES - len(kept)):
                kept[offset + i] = {n: chk.coerced[n].values[i].as_py() for n in names if n in chk.coerced}

    def _doomed(self, reader: TableReader, built: Built) -> bool:
        """True once the file is sure to be rejected (so curated rows are no longer wanted)."""
        assert self.sinks is not None
        if not self.sinks.curated_open:
            return False
        reject_all = self.contract.failure_policy.action == "reject_file"
        if reader.bad_rows.count or (self.contract.undeclared_pii == "error"
                                     and any(f.matches for f in self.findings.values())):
            return True
        for o in self.outcomes.values():
            if o.ref.severity == "error" and o.failed and (o.ref.level == "dataset" or reject_all):
                return True
        refs = {o.ref.id: o.ref for o in self.outcomes.values()}
        if reject_all and any(m.any() for rid, m in built.repeated.items() if refs[rid].severity == "error"):
            return True
        rule = self.contract.rules.row_count
        return bool(rule and rule.severity == "error" and rule.max is not None and self.rows > rule.max)

    def _open_segment(self, checker: Checker, part: Part) -> _Segment:
        import numpy as np
        import pyarrow as pa

        rows = part.segment_rows
        segment = _Segment(part.segment, self.rows, rows, np.zeros(rows, dtype=bool))
        segment.complete = set(part.table.column_names) >= set(self.read_columns())
        if not segment.complete and self.contract.missing_columns == "warn" and self.missing:
            nulls = pa.table({name: pa.nulls(rows) for name in self.missing})
            self._apply(segment, 0, nulls, checker.check(nulls, complete=False))
        return segment

    def _apply(self, segment: _Segment, start: int, table: pa.Table, chk: ChunkCheck) -> None:
        """Book one checked piece: counts, examples, invalid rows, key hashes, freshness, PII."""
        import numpy as np

        fresh = self.contract.rules.freshness
        invalid = segment.invalid[start:start + chk.rows]
        offset = segment.offset + start
        for rid, mask in chk.masks.items():
            self._count(rid, mask, chk, table, invalid, offset)
        for rid, h in chk.key_hashes.items():
            if rid.startswith("pk:"):
                if segment.pk is None or segment.pk_null is None:  # set together
                    segment.pk = np.zeros(segment.rows, dtype=np.uint64)
                    segment.pk_null = np.zeros(segment.rows, dtype=bool)
                segment.pk[start:start + chk.rows] += rules.key_term(h, int(rid[3:]))
                segment.pk_null[start:start + chk.rows] |= h == 0
            else:
                segment.keys.setdefault(rid, []).append(h)
        if fresh is not None and fresh.column in chk.coerced:
            self._track_newest(chk.coerced[fresh.column].values)
        for name, found in chk.pii.items():
            self.findings[name].add(found)

    def _close_segment(self, checker: Checker, segment: _Segment) -> None:
        import numpy as np

        if segment.pk is not None:
            assert segment.pk_null is not None
            h = rules.finish_key(segment.pk, segment.pk_null)
            segment.keys["dataset.primary_key"] = [h]
            empty = ChunkCheck(segment.rows, {}, {}, {})
            self._count("dataset.primary_key", h == 0, empty, None, segment.invalid, segment.offset)
        for rid, hashes in segment.keys.items():
            joined = hashes[0] if len(hashes) == 1 else np.concatenate(hashes)
            self.key_hashes.setdefault(rid, []).append(joined)
        self.invalid.append(segment.invalid)
        self.rows += segment.rows

    def _count(self, rid: str, mask: np.ndarray, chk: ChunkCheck, table: pa.Table | None, invalid: np.ndarray,
               offset: int) -> None:
        import numpy as np

        count = int(np.count_nonzero(mask))
        if not count:
            return
        out = self.outcomes[rid]
        out.failing_rows += count
        if out.ref.severity == "error":
            invalid |= mask
        if out.room > 0:
            idx = np.flatnonzero(mask)[:out.room]
            out.examples += self._examples(out.ref, idx, chk, table, offset)

    def _examples(self, ref: RuleRef, idx: np.ndarray, chk: ChunkCheck, table: pa.Table | None, offset: int,
                  ) -> list[dict[str, object]]:
        if ref.kind == "primary_key":
            return [{"row": offset + int(i), "value": None, "problem": "null key"} for i in idx]
        col = self.contract.column(ref.column) if ref.column else None
        if col is None or col.name not in chk.coerced:
            return [{"row": offset + int(i)} for i in idx]
        if ref.kind == "not_null":
            return [{"row": offset + int(i), "value": None} for i in idx]
        source = table.column(col.name) if ref.kind == "type" and table is not None \
            else chk.coerced[col.name].values
        return [{"row": offset + int(i), "value": redact(source[int(i)].as_py(), pii=col.pii is not None)}
                for i in idx]

    def _track_newest(self, values: pa.Array) -> None:
        import pyarrow.compute as pc

        newest = pc.max(values).as_py()
        if newest is not None and (self.newest is None or newest > self.newest):
            self.newest = newest

    # -- after the stream ---------------------------------------------------------------------------

    def _after_stream(self, reader: TableReader) -> None:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()  # the chunks are gone: hand their pages back first
        positions = self._keys()
        bad = reader.bad_rows
        readable = self.outcomes["dataset.readable"]
        if bad.count:
            readable.failed_flag = True
            readable.failing_rows = bad.count
            readable.examples = bad.examples
            readable.details = {"code": bad.code}
            what = "rows with a wrong number of fields" if bad.code == "ragged_rows" \
                else "lines that are not JSON objects"
            readable.message = f"{bad.count} {what}"
        elif self.rows == 0:
            readable.failed_flag = True
            readable.details = {"code": "no_rows"}
            readable.message = "the file has no data rows"
        self._row_count()
        self._freshness()
        self._pii_outcomes()
        if self.sinks is None:
            values = {rid: self._values_at(reader, rid, rows) for rid, rows in positions.items()}
        else:
            if self._decision()[1] == "reject_file":  # decided: no need to rebuild curated rows
                self.sinks.abort_curated()
            values = self._fix_up(reader, positions)
        for rid, rows in positions.items():
            out = self.outcomes[rid]
            out.examples = sorted(out.examples + self._key_examples(out.ref, rows, values[rid]),
                                  key=lambda e: e["row"])[:MAX_EXAMPLES]
        self.key_hashes = {}

    def _keys(self) -> dict[str, list[int]]:
        """Decide the unique / primary-key rules over all chunks; mark every row of a repeated key.
        Returns the first duplicated rows of each rule (its examples, whose values are found later)."""
        import numpy as np

        positions: dict[str, list[int]] = {}
        for rid, parts in self.key_hashes.items():
            dups = self.duplicates[rid] = keys.duplicated_hashes(parts)
            if not len(dups):
                continue
            out = self.outcomes[rid]
            first: list[int] = []
            positions[rid] = first
            offset = 0
            for i, h in enumerate(parts):
                mask = keys.member(h, dups)
                count = int(np.count_nonzero(mask))
                if count:
                    out.failing_rows += count
                    if out.ref.severity == "error":
                        self.invalid[i] |= mask
                    if len(first) < MAX_EXAMPLES:  # the first duplicates may precede null-key examples
                        first += (np.flatnonzero(mask)[:MAX_EXAMPLES - len(first)] + offset).tolist()
                offset += len(h)
        return positions

    def _fix_up(self, reader: TableReader, positions: dict[str, list[int]]) -> KeyValues:
        """The one pass's end: rebuild the chunks holding rows whose key repeats only in another chunk
        (they went out too early) and hand them to the sinks again; find the key values of the report's
        duplicate examples that were not seen as repeated when their chunk was built. One more read of
        the input, stopping after the last chunk needed; none when nothing is missing."""
        import numpy as np

        assert self.sinks is not None and self.checker is not None and self.builder is not None
        duplicates = self.duplicates
        starts = np.concatenate([[0], np.cumsum([len(v) for v in self.invalid])]).astype(np.int64)
        affected: set[int] = set()
        for rid, parts in self.key_hashes.items():
            if not (self.sinks.curated_open or self.sinks.quarantine_open):
                break
            if not len(duplicates[rid]) or self.outcomes[rid].ref.severity != "error":
                continue
            for i, h in enumerate(parts):
                mask = keys.member(h, duplicates[rid])
                if mask.any() and (mask & ~self._marked(rid, h)).any():
                    affected.add(i)
        values = {rid: {row: self.captured.get(rid, {})[row] for row in rows
                        if row in self.captured.get(rid, {})} for rid, rows in positions.items()}
        missing = {rid: [row for row in rows if row not in values[rid]] for rid, rows in positions.items()}
        chunks_needed = affected | {int(np.searchsorted(starts, row, side="right")) - 1
                                    for rows in missing.values() for row in rows}
        if not chunks_needed:
            return values
        self.sinks.summary.rereads += 1
        last = max(chunks_needed)
        for i, table in enumerate(reader.row_chunks(self.read_columns())):
            if i in chunks_needed:
                if table.num_rows != len(self.invalid[i]):
                    raise RuntimeError("the input changed while it was being validated")
                self._redo_chunk(i, int(starts[i]), table, duplicates, affected, missing, values)
            if i >= last:
                break
        return values

    def _redo_chunk(self, i: int, offset: int, table: pa.Table, duplicates: dict[str, np.ndarray],
                    affected: set[int], missing: dict[str, list[int]], values: KeyValues) -> None:
        assert self.sinks is not None and self.checker is not None and self.builder is not None
        chk = self.checker.check(table)
        if i in affected:
            curated, quarantine = self.sinks.wanted()
            built = self.builder.build(table, chk, offset, known=duplicates, within=False, curated=curated,
                                       quarantine=quarantine)
            try:
                self.sinks.replace(i, built)
            except Exception as exc:
                raise SinkFailure(str(exc)) from exc
        for rid, rows in missing.items():
            names = self._key_names(self.outcomes[rid].ref)
            for row in rows:
                if offset <= row < offset + table.num_rows:
                    values[rid][row] = {n: chk.coerced[n].values[row - offset].as_py() for n in names
                                        if n in chk.coerced}

    def _marked(self, rid: str, h: np.ndarray) -> np.ndarray:
        """The rows of one chunk that went out already marked as repeating their key."""
        import numpy as np

        marked = keys.member(h, self.known[rid]) if rid in self.known else np.zeros(len(h), dtype=bool)
        return marked | keys.repeated_within(h) if self.within else marked

    def _key_names(self, ref: RuleRef) -> list[str]:
        pk = self.contract.rules.primary_key
        # a duplicate-key rule is the primary key's or a unique column's
        return list(pk.columns) if ref.kind == "primary_key" and pk is not None else [cast(str, ref.column)]

    def _values_at(self, reader: TableReader, rid: str, rows: list[int]) -> dict[int, dict[str, Any]]:
        """Values of the first duplicated keys (a second, early-stopping read of the key columns)."""
        names = self._key_names(self.outcomes[rid].ref)
        types = {n: self.contract.column(n).type for n in names}
        return keys.values_at(reader, names, rows, types)

    def _key_examples(self, ref: RuleRef, rows: list[int], values: dict[int, dict[str, Any]],
                      ) -> list[dict[str, Any]]:
        names = self._key_names(ref)
        out = []
        for pos in rows:
            row = values.get(pos, {})
            shown = {n: redact(row.get(n), pii=self.contract.column(n).pii is not None) for n in names}
            out.append({"row": pos, "value": shown[names[0]] if len(names) == 1 else shown,
                        "problem": "duplicate"})
        return out

    def _row_count(self) -> None:
        rule = self.contract.rules.row_count
        if rule is None:
            return
        out = self.outcomes["dataset.row_count"]
        out.details = {"rows": self.rows, "min": rule.min, "max": rule.max}
        if (rule.min is not None and self.rows < rule.min) or (rule.max is not None and self.rows > rule.max):
            out.failed_flag = True
            out.message = f"{self.rows} rows, expected {rule.min if rule.min is not None else 0}" \
                          f"..{rule.max if rule.max is not None else 'any'}"

    def _freshness(self) -> None:
        rule = self.contract.rules.freshness
        if rule is None or (rule.column not in self.present and self.contract.missing_columns == "error"):
            return
        out = self.outcomes["dataset.freshness"]
        newest = self.newest
        if isinstance(newest, dt.date) and not isinstance(newest, dt.datetime):
            newest = dt.datetime(newest.year, newest.month, newest.day) + dt.timedelta(days=1)
        age = None if newest is None else (self.now - newest).total_seconds()
        out.details = {"newest": None if self.newest is None else self.newest.isoformat(),
                       "age_s": age, "max_age_s": rule.max_age_seconds}
        if age is None or age > rule.max_age_seconds:
            out.failed_flag = True
            out.message = "no timestamp to judge freshness" if age is None else \
                f"the newest {rule.column} is {age / 3600:.1f} h old (max {rule.max_age})"

    def _pii_outcomes(self) -> None:
        severity: Severity = "error" if self.contract.undeclared_pii == "error" else "warn"
        for name, finding in self.findings.items():
            if not finding.matches:
                continue
            ref = RuleRef(f"{name}.undeclared_pii", "undeclared_pii", name, severity, "dataset")
            kinds = ", ".join(f"{k} ({v})" for k, v in sorted(finding.counts.items()))
            self.outcomes[ref.id] = RuleOutcome(
                ref, failing_rows=finding.matches, examples=[{"value": e} for e in finding.examples],
                message=f"column {name} holds undeclared PII: {kinds} in {finding.matches} of "
                        f"{finding.scanned} values",
                details={"kinds": dict(finding.counts), "values_scanned": finding.scanned,
                         "values_with_pii": finding.matches}, failed_flag=True)

    def _unreadable(self, code: str, message: str, details: dict[str, object] | None = None) -> None:
        for out in self.outcomes.values():
            if out.ref.id != "dataset.readable":
                out.skip(f"the file could not be read ({code})")
        readable = self.outcomes["dataset.readable"]
        readable.evaluated = True
        readable.failed_flag = True
        readable.details = {"code": code, **(details or {})}
        readable.message = message
        self.invalid = []
        self.duplicates = {}
        self.failed_read = True
        if self.sinks is not None:  # what went out was read from a file that turned out unreadable
            self.sinks.abort_all()

    def _decision(self) -> tuple[str, str, str | None]:
        import numpy as np

        invalid_rows = sum(int(np.count_nonzero(v)) for v in self.invalid)
        return decide(self.contract, list(self.outcomes.values()), self.rows, invalid_rows)

    def _result(self, timings: dict[str, float]) -> ValidationResult:
        import numpy as np

        invalid = np.concatenate(self.invalid) if self.invalid else np.zeros(0, dtype=bool)
        invalid_rows = int(np.count_nonzero(invalid))
        outcomes = list(self.outcomes.values())
        verdict, decision, reason = decide(self.contract, outcomes, self.rows, invalid_rows)
        columns = {"present": [pii.scrub(c) for c in self.present], "missing": self.missing,
                   "extra": [pii.scrub(c) for c in self.extra]}
        report = build_report(self.contract, outcomes, fmt=self.fmt, rows=self.rows,
                              invalid_rows=invalid_rows,
                              verdict=verdict, decision=decision, reason=reason, columns=columns,
                              timings=timings, chunk_rows=self.chunk_rows)
        output = None
        if not self.failed_read and self.fmt is not None and self.sinks is None:
            output = _Output(self.source, self.contract, self.fmt, self.chunk_rows, self.present, invalid,
                             self.duplicates, self.pii_key)
        return ValidationResult(verdict, decision, reason, report, self.rows, invalid_rows, output)


def keys_first(mask: np.ndarray, n: int) -> list[int]:
    """The positions of the first ``n`` True values of ``mask``."""
    import numpy as np

    return [int(i) for i in np.flatnonzero(mask)[:n]]


def typed_columns(contract: Contract) -> frozenset[str]:
    """Declared non-text columns: a file storing them as text is read dictionary-encoded from Parquet,
    so coercion parses each distinct text once."""
    return frozenset(c.name for c in contract.columns if c.type not in ("string", "category"))


def dictionary_columns(contract: Contract) -> frozenset[str]:
    """Columns read dictionary-encoded: the declared categories."""
    return frozenset(c.name for c in contract.columns if c.type == "category")


_END = object()


def prefetch[T](items: Iterator[T]) -> Generator[T]:
    """Produce the next item in a background thread while the caller works on the current one.

    Reading (Arrow decoding, which releases the GIL) overlaps validation; at most one item waits in
    the queue, so memory stays bounded. Exceptions of the producer are re-raised in the caller.
    """
    box: queue.Queue[Any] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        box.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put(_END)
        except BaseException as exc:  # re-raised in the consumer
            box.put(exc)

    worker = threading.Thread(target=produce, name="sluice-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = box.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():
            with contextlib.suppress(queue.Empty):
                box.get(timeout=0.1)


def _as_strings(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The text values to scan for PII (plain or dictionary-encoded; other types as all-null text)."""
    import pyarrow as pa

    arr = rules.flat(arr)
    value_type = arr.type.value_type if pa.types.is_dictionary(arr.type) else arr.type
    if pa.types.is_string(value_type) or pa.types.is_large_string(value_type):
        return arr
    return pa.nulls(len(arr), pa.string())


# -- the two-pass API's output reads -----------------------------------------------------------------


def _iter_rows(out: _Output, *, quarantined: bool) -> Iterator[pd.DataFrame]:
    import numpy as np

    contract = out.contract
    reader = open_reader(out.source, contract.format, file_format=out.file_format, chunk_rows=out.chunk_rows,
                         declared=contract.column_names, dictionary_columns=dictionary_columns(contract),
                         parquet_dictionary_columns=typed_columns(contract))
    declared = set(contract.column_names)
    keep_extra = contract.extra_columns == "keep"
    scan: frozenset[str] = frozenset()
    if contract.undeclared_pii != "off":
        scan = frozenset(c.name for c in contract.columns if c.type in ("string", "category")
                         and c.pii is None and c.name in out.present)
        scan |= frozenset(c for c in out.present if keep_extra and c not in declared)
    checker = Checker(contract, set(out.present), scan)
    builder = OutputBuilder(contract, checker.columns, checker.refs, out.pii_key, recoerce=True)
    columns = [c for c in out.present if c in declared or keep_extra]
    offset = 0
    with contextlib.closing(reader):
        for table in prefetch(reader.chunks(columns)):
            n = table.num_rows
            invalid = out.invalid[offset:offset + n]
            if len(invalid) != n:  # the file changed since the validation pass: nothing is trusted
                invalid = np.ones(n, dtype=bool)
            select = invalid if quarantined else ~invalid
            if select.any():
                chk = checker.check(table)
                built = builder.build(table, chk, offset, known=out.duplicates, within=False,
                                      curated=not quarantined, quarantine=quarantined, invalid=invalid)
                frame = built.quarantine if quarantined else built.curated
                if frame is not None:
                    yield to_pandas(frame)
            offset += n

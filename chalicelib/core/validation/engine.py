"""The validation engine: a file and a contract in, a :class:`ValidationResult` out — never an exception.

One streaming pass reads the file (:mod:`readers`) and runs every rule vectorized (:mod:`rules`,
pyarrow compute + numpy; Python only per *distinct* malformed value). CSV and JSONL come as row
chunks of at most ``chunk_rows`` rows; Parquet comes row group by row group and, inside one, column
by column (Arrow then decodes one column chunk at a time: less CPU and memory than whole rows). A
background thread reads the next piece while the current one is checked (:func:`prefetch`).

Every declared column is coerced to its type; a value that cannot be coerced fails ``<col>.type`` for
its row and is null for the column's other rules, which run on the coercible values. State kept
across pieces is bounded per row: counters and up to 20 examples per rule, one boolean per row
("invalid": fails an error-severity row rule), one 64-bit hash per row for each unique / primary-key
rule, the newest timestamp (freshness) and the PII detection counters. Uniqueness is decided at the
end over all rows (:func:`duplicated_hashes`, sorted in buckets of ~1M so scratch memory stays
constant); every row whose key occurs more than once fails. A false duplicate needs a 64-bit hash
collision (p ≈ n²/2⁶⁵: 7e-7 at 5M rows).

Decision (see :func:`report.decide`): an error-severity dataset-level failure (unreadable file, row
count, freshness, missing or — when the contract says error — extra columns, undeclared PII) rejects
the file; row-level error failures reject it under ``reject_file``, or keep the valid rows
(``accept_rows``) under ``quarantine_rows`` unless the invalid fraction exceeds
``max_invalid_fraction``; warn-severity failures never reject.

:meth:`ValidationResult.iter_curated` / :meth:`~ValidationResult.iter_quarantined` read the file again
in row chunks and select rows with the invalid-row mask of the first pass, so memory stays bounded
for files larger than memory.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import queue
import threading
import time
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from chalicelib.core.errors import ConfigurationError
from chalicelib.core.validation import pii, rules
from chalicelib.core.validation.contract import ColumnSpec, Contract, RuleRef, Severity
from chalicelib.core.validation.readers import DEFAULT_CHUNK_ROWS, Part, ReadFailure, TableReader, open_reader
from chalicelib.core.validation.report import MAX_EXAMPLES, RuleOutcome, build_report, decide, redact

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

__all__ = ["DEFAULT_CHUNK_ROWS", "ValidationResult", "validate_file"]

KEY_KINDS = ("unique", "primary_key")
CHECK_THREADS = 2  # pieces checked concurrently (Lambda has 2 vCPUs from 1,769 MB up)


@dataclass
class ChunkCheck:
    """The outcome of every row-level rule on one chunk."""

    rows: int
    coerced: dict[str, rules.Coerced]
    masks: dict[str, np.ndarray]  # rule id → rows failing it (key rules: only rows with a null key)
    key_hashes: dict[str, np.ndarray]  # unique / primary-key rule id → one hash per row (0 = null)


class Checker:
    """The per-chunk checks of one contract (stateless: both passes use it)."""

    def __init__(self, contract: Contract, present: set[str]) -> None:
        self.contract = contract
        self.present = present
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
        return ChunkCheck(n, coerced, masks, hashes)

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
    """What the output passes need: where the file is, how to read it, and the first pass's verdicts."""

    path: str
    contract: Contract
    file_format: str
    chunk_rows: int
    present: list[str]
    invalid: np.ndarray
    duplicates: dict[str, np.ndarray]  # key rule id → sorted duplicated hashes
    pii_key: bytes = field(repr=False)


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

    def iter_curated(self) -> Iterator[pd.DataFrame]:
        """The valid rows, typed per contract, PII hashed/masked/dropped (nothing if unreadable)."""
        if self._output is not None:
            yield from _iter_rows(self._output, quarantined=False)

    def iter_quarantined(self) -> Iterator[pd.DataFrame]:
        """The invalid rows as text, with ``_row`` and ``_reasons``; PII hashed/masked/dropped."""
        if self._output is not None:
            yield from _iter_rows(self._output, quarantined=True)


def validate_file(path: str, contract: Contract, *, pii_key: bytes, file_format: str | None = None,
                  chunk_rows: int = DEFAULT_CHUNK_ROWS, now: dt.datetime | None = None) -> ValidationResult:
    """Validate the file at ``path`` against ``contract``; bad input gives a failing result, not an error.

    ``pii_key`` keys the HMAC of ``pii: hash`` columns (bytes from SSM/Secrets Manager or the
    environment; at least 16 bytes when the contract hashes a column, else ConfigurationError — a
    deployment problem, not bad input); ``file_format`` overrides the contract's ``format.type`` and
    the file extension; ``now`` (naive UTC or aware) is the reference time of the freshness rule.
    """
    if any(c.pii == "hash" for c in contract.columns) and (not isinstance(pii_key, bytes | bytearray)
                                                            or len(pii_key) < pii.MIN_KEY_BYTES):
        raise ConfigurationError(f"the PII hashing key must be at least {pii.MIN_KEY_BYTES} bytes",
                                 code="pii_key_invalid")
    run = _Run(path, contract, bytes(pii_key or b""), file_format, chunk_rows, now)
    return run.execute()


class _Run:
    """One validation pass and its bookkeeping."""

    def __init__(self, path: str, contract: Contract, pii_key: bytes, file_format: str | None,
                 chunk_rows: int, now: dt.datetime | None) -> None:
        self.path, self.contract, self.pii_key = path, contract, pii_key
        self.file_format, self.chunk_rows = file_format, max(1, int(chunk_rows))
        self.now = (now.astimezone(dt.UTC).replace(tzinfo=None) if now and now.tzinfo else now) \
            or dt.datetime.now(dt.UTC).replace(tzinfo=None)
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

    def execute(self) -> ValidationResult:
        import pyarrow as pa

        t0 = time.perf_counter()
        reader: TableReader | None = None
        try:
            reader = open_reader(self.path, self.contract.format, file_format=self.file_format,
                                 chunk_rows=self.chunk_rows, declared=self.contract.column_names,
                                 dictionary_columns=dictionary_columns(self.contract),
                                 parquet_dictionary_columns=typed_columns(self.contract))
            self.fmt = reader.fmt
            self._columns(reader)
            self._stream(reader)
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

    def _stream(self, reader: TableReader) -> None:
        """Check the pieces on ``CHECK_THREADS`` threads (Arrow and numpy release the GIL), keep the
        books in file order on this one."""
        from concurrent.futures import Future, ThreadPoolExecutor

        checker = Checker(self.contract, set(self.present))
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
        for name, finding in self.findings.items():
            if name in table.column_names:
                pii.detect(_as_strings(table.column(name)), finding)

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
        self.duplicates = self._keys(reader)
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

    def _keys(self, reader: TableReader) -> dict[str, np.ndarray]:
        """Decide the unique / primary-key rules over all chunks; mark every row of a repeated key."""
        import numpy as np

        duplicates: dict[str, np.ndarray] = {}
        for rid, parts in self.key_hashes.items():
            dups = duplicated_hashes(parts)
            duplicates[rid] = dups
            if not len(dups):
                continue
            out = self.outcomes[rid]
            positions: list[int] = []
            offset = 0
            for i, h in enumerate(parts):
                mask = member(h, dups)
                count = int(np.count_nonzero(mask))
                if count:
                    out.failing_rows += count
                    if out.ref.severity == "error":
                        self.invalid[i] |= mask
                    if len(positions) < MAX_EXAMPLES:  # the first duplicates may precede null-key examples
                        positions += (np.flatnonzero(mask)[:MAX_EXAMPLES - len(positions)] + offset).tolist()
                offset += len(h)
            out.examples = sorted(out.examples + self._key_examples(reader, out.ref, positions),
                                  key=lambda e: e["row"])[:20]
        self.key_hashes = {}
        return duplicates

    def _key_examples(self, reader: TableReader, ref: RuleRef, positions: list[int]) -> list[dict[str, Any]]:
        """Values of the first duplicated keys (a second, early-stopping read of the key columns)."""
        if not positions:
            return []
        pk = self.contract.rules.primary_key
        # a duplicate-key rule is the primary key's or a unique column's
        names = pk.columns if ref.kind == "primary_key" and pk is not None else [cast(str, ref.column)]
        types = {n: self.contract.column(n).type for n in names}
        values = values_at(reader, names, positions, types)
        out = []
        for pos in positions:
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
                message=f"column {name} holds undeclared PII: {kinds} in {finding.sampled} sampled values",
                details={"kinds": dict(finding.counts), "sampled": finding.sampled,
                         "matches_in_sample": finding.matches}, failed_flag=True)

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
        self._failed_read = True

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
        if not getattr(self, "_failed_read", False) and self.fmt is not None:
            output = _Output(self.path, self.contract, self.fmt, self.chunk_rows, self.present, invalid,
                             getattr(self, "duplicates", {}), self.pii_key)
        return ValidationResult(verdict, decision, reason, report, self.rows, invalid_rows, output)


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
    """The text values to scan for PII (the distinct values of a dictionary-encoded column)."""
    import pyarrow as pa

    arr = rules.flat(arr)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return arr
    return pa.nulls(len(arr), pa.string())


BUCKET_ROWS = 1 << 20  # duplicate search works on ~1M hashes at a time (8 MiB of scratch)


def duplicated_hashes(parts: list[np.ndarray]) -> np.ndarray:
    """The sorted distinct hashes (never 0 = null) that occur more than once across ``parts``.

    The hashes are split by their top bits into buckets of about ``BUCKET_ROWS``; each bucket is
    gathered, sorted and scanned on its own, so the scratch memory stays constant however many rows
    the file has (no copy of all hashes at once).
    """
    import numpy as np

    total = sum(len(p) for p in parts)
    bits = max(0, int(np.ceil(np.log2(max(1, total / BUCKET_ROWS)))))
    found = []
    for bucket in range(1 << bits):
        if bits:
            shift = np.uint64(64 - bits)
            every = np.concatenate([p[(p >> shift) == np.uint64(bucket)] for p in parts])
        else:
            every = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
        every.sort()
        every = every[np.searchsorted(every, np.uint64(1)):]
        if len(every) >= 2:
            found.append(np.unique(every[1:][every[1:] == every[:-1]]))
        del every
    return np.concatenate(found) if found else np.zeros(0, dtype=np.uint64)


def member(h: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """``h`` ∈ ``sorted_set`` elementwise (binary search; no Python per row)."""
    import numpy as np

    if not len(sorted_set):
        return np.zeros(len(h), dtype=bool)
    idx = np.searchsorted(sorted_set, h)
    idx[idx == len(sorted_set)] = 0
    found: np.ndarray = sorted_set[idx] == h
    return found


def values_at(reader: TableReader, names: list[str], positions: list[int], types: Mapping[str, str],
              ) -> dict[int, dict[str, Any]]:
    """``{position: {column: typed value}}`` for a few row positions; stops reading after the last one."""
    wanted = sorted(set(positions))
    out: dict[int, dict[str, Any]] = {}
    if not wanted:
        return out
    offset = 0
    for table in reader.chunks([n for n in names if n in reader.columns]):
        end = offset + table.num_rows
        inside = [pos for pos in wanted if offset <= pos < end]
        if inside:
            typed = {n: rules.coerce(table.column(n), types[n]).values for n in table.column_names}
            for pos in inside:
                out[pos] = {n: typed[n][pos - offset].as_py() for n in typed}
        offset = end
        if offset > wanted[-1]:
            break
    return out


# -- output passes ---------------------------------------------------------------------------------


def _iter_rows(out: _Output, *, quarantined: bool) -> Iterator[pd.DataFrame]:
    import numpy as np

    contract = out.contract
    reader = open_reader(out.path, contract.format, file_format=out.file_format, chunk_rows=out.chunk_rows,
                         declared=contract.column_names, dictionary_columns=dictionary_columns(contract),
                         parquet_dictionary_columns=typed_columns(contract))
    checker = Checker(contract, set(out.present))
    hasher = pii.PiiHasher(out.pii_key) if any(c.pii == "hash" for c in contract.columns) else None
    declared = set(contract.column_names)
    keep_extra = contract.extra_columns == "keep"
    columns = [c for c in out.present if c in declared or keep_extra]
    offset = 0
    for table in prefetch(reader.chunks(columns)):
        n = table.num_rows
        invalid = out.invalid[offset:offset + n]
        if len(invalid) != n:  # the file changed since the validation pass: nothing is trusted
            invalid = np.ones(n, dtype=bool)
        select = invalid if quarantined else ~invalid
        if select.any():
            if quarantined:
                frame = _quarantine_frame(table, checker, out, hasher, select, offset)
            else:
                frame = _curated_frame(table, checker, hasher, select)
            yield frame
        offset += n


def _curated_frame(table: pa.Table, checker: Checker, hasher: pii.PiiHasher | None, select: np.ndarray,
                   ) -> pd.DataFrame:
    import pyarrow as pa

    contract = checker.contract
    declared = set(contract.column_names)
    table = table.filter(rules.from_numpy(select))
    names, arrays = [], []
    for col in checker.columns:
        if col.pii == "drop":
            continue
        raw = table.column(col.name) if col.name in table.column_names else pa.nulls(table.num_rows)
        if col.pii is not None:
            values = pii.transform(_as_text(raw), col.pii, hasher)
        else:
            values = rules.coerce(raw, col.type).values
        names.append(col.name)
        arrays.append(values)
    if contract.extra_columns == "keep":
        for name in table.column_names:
            if name not in declared:
                names.append(name)
                arrays.append(table.column(name))
    return _to_pandas(pa.table(arrays, names=names) if names else table.select([]))


def _quarantine_frame(table: pa.Table, checker: Checker, out: _Output, hasher: pii.PiiHasher | None,
                      select: np.ndarray, offset: int) -> pd.DataFrame:
    import numpy as np
    import pyarrow as pa

    chk = checker.check(table)
    masks = {rid: m for rid, m in chk.masks.items() if checker.refs[rid].severity == "error"}
    for rid, h in chk.key_hashes.items():
        if checker.refs[rid].severity == "error" and rid in out.duplicates:
            masks[rid] = masks[rid] | member(h, out.duplicates[rid]) if rid in masks \
                else member(h, out.duplicates[rid])
    idx = np.flatnonzero(select)
    reasons: list[list[str]] = [[] for _ in idx]
    for rid, mask in masks.items():
        for j in np.flatnonzero(mask[idx]).tolist():
            reasons[j].append(rid)
    table = table.filter(rules.from_numpy(select))
    names, arrays = [], []
    specs = {c.name: c for c in checker.contract.columns}
    for name in table.column_names:
        col = specs.get(name)
        if col is not None and col.pii == "drop":
            continue
        text = _as_text(table.column(name))
        names.append(name)
        if col is not None and col.pii:
            arrays.append(pii.transform(text, col.pii, hasher))
        else:  # undeclared PII (an e-mail where a city belongs) is masked in quarantine too
            arrays.append(pa.array([None if v is None else pii.scrub(v) for v in text.to_pylist()],
                                   pa.string()))
    names += ["_row", "_reasons"]
    arrays += [rules.from_numpy((idx + offset).astype(np.int64)),
               pa.array([";".join(r) for r in reasons], pa.string())]
    return _to_pandas(pa.table(arrays, names=names))


def _as_text(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    arr = rules.flat(arr)
    return rules.coerce(arr, "string").values


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    import pandas as pd
    import pyarrow as pa

    plain = []
    for arr in table.columns:
        if pa.types.is_dictionary(arr.type) or pa.types.is_large_string(arr.type):
            arr = arr.cast(pa.string())
        plain.append(arr)
    table = pa.table(plain, names=table.column_names)
    mapping = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype(), pa.string(): pd.StringDtype()}
    frame: pd.DataFrame = table.to_pandas(types_mapper=mapping.get)
    return frame

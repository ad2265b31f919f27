"""Suggest a data contract from a sample of a file.

:func:`infer_contract` reads up to ``sample_rows`` rows (chunked, like validation) and proposes, per
column, following these rules:

- **type**: native Parquet/JSON types map directly (integers → ``int``, floating point → ``float``,
  booleans → ``bool``, timestamps → ``timestamp``, dates → ``date``). Text is tried, in order, as
  ``int``, ``float``, ``bool`` (true/false/yes/no/t/f/y/n, any case), ``date`` (ISO ``YYYY-MM-DD``),
  ``timestamp`` (ISO-8601); the first type that **every** non-null sampled value fits wins, else text.
- **category**: text with at most ``MAX_CATEGORIES`` (20) distinct values, each seen on average at
  least twice (distinct ≤ half the non-null values) → ``category`` with ``allowed`` = those values.
- **nullable**: true when the sample holds a null (or the column is entirely null).
- **min / max** (int and float): the observed range widened by ``RANGE_MARGIN`` (10 %) of its span on
  each side (10 % of the magnitude when all values are equal); the lower bound never drops below 0
  when every observed value is ≥ 0; int bounds are rounded outwards. No ranges on dates/timestamps
  (data moves on in time); add a freshness rule instead.
- **unique**: int or text columns whose sampled non-null values are all distinct (at least 2);
  the first such non-null column also becomes the suggested ``rules.primary_key``.
- **pii**: text columns where at least half of the sampled values hold an e-mail address, phone
  number, Luhn-valid card number or mod-97-valid IBAN → ``pii: hash`` (and no ``allowed`` list,
  so no personal value is copied into the contract).
- dataset rules: ``row_count.min = 1``; ``extra_columns: warn``; failure policy ``reject_file``.
- **format**: the file's format, and for CSV/JSONL its encoding: the one ``format_options`` names, else
  what the bytes show (a byte-order mark or the NUL pattern of UTF-16/UTF-32, see
  :mod:`chalicelib.core.validation.encoding`), else UTF-8.

The suggestion always parses as a valid contract; review it before storing it.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.core.errors import BadRequestError
from chalicelib.core.validation import encoding, pii, rules
from chalicelib.core.validation.contract import FormatSpec, parse_contract
from chalicelib.core.validation.readers import SNIFF_BYTES, ReadFailure, open_reader
from chalicelib.core.validation.sources import Input, Source, as_source

if TYPE_CHECKING:
    import pyarrow as pa

MAX_CATEGORIES = 20
RANGE_MARGIN = 0.10
PII_SHARE = 0.5
SAMPLE_ROWS = 100_000
TEXT_TRIALS = ("int", "float", "bool", "date", "timestamp")


def infer_contract(source: Input, dataset: str, file_format: str | None = None, *,
                   format_options: Mapping[str, object] | None = None, sample_rows: int = SAMPLE_ROWS,
                   name: str | None = None) -> dict[str, Any]:
    """A suggested contract (dict, stored form) for ``source`` (a path, a binary file-like object or an
    opener, see :mod:`sources`; ``name`` its file name); BadRequestError (with the reader's code, e.g.
    ``nesting_too_deep``) if it cannot be read."""
    import pyarrow as pa

    src = as_source(source, name)
    try:
        options = dict(format_options or {})
        if "encoding" not in options:
            options["encoding"] = _encoding_of(src)
        spec = FormatSpec.model_validate(options)
        parts: list[pa.Table] = []
        taken = 0
        reader = open_reader(src, spec, file_format=file_format, chunk_rows=min(sample_rows, 65_536),
                             declared=[])
        with contextlib.closing(reader):
            for table in reader.chunks(None):
                parts.append(table.slice(0, sample_rows - taken))
                taken += parts[-1].num_rows
                if taken >= sample_rows:
                    break
    except ReadFailure as exc:
        raise BadRequestError(f"cannot infer a contract: {exc.message}", code=exc.code) from exc
    finally:
        src.close()
    if not taken:
        raise BadRequestError("cannot infer a contract from a file without rows", code="no_rows")
    sample = pa.concat_tables(parts).combine_chunks()
    columns = [_infer_column(name, sample.column(name).combine_chunks()) for name in sample.column_names]
    fmt: dict[str, Any] = {"type": reader.fmt}
    if reader.fmt == "csv":
        fmt.update(delimiter=spec.delimiter, encoding=spec.encoding, header=spec.header)
    elif reader.fmt == "jsonl":
        fmt.update(encoding=spec.encoding)
    contract: dict[str, Any] = {
        "dataset": dataset,
        "description": f"inferred from {taken} sampled rows; review before use",
        "format": fmt,
        "columns": columns,
        "rules": {"row_count": {"min": 1}},
        "extra_columns": "warn",
        "failure_policy": {"action": "reject_file"},
    }
    key = next((c["name"] for c in columns if c.get("unique") and not c["nullable"]), None)
    if key is not None:
        contract["rules"]["primary_key"] = {"columns": [key]}
    parse_contract(contract)  # the suggestion must itself be a valid contract
    return contract


def _encoding_of(source: Source) -> str:
    """What the file's first bytes show (UTF-8 when they show nothing, or cannot be read: the reader
    then reports why). The bytes are kept for the reader: a stream is not read twice."""
    try:
        return encoding.suggest(source.head(SNIFF_BYTES)) or "utf-8"
    except OSError:
        return "utf-8"


def _infer_column(name: str, arr: pa.Array | pa.ChunkedArray) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_floating(arr.type):  # NaN is a missing value (see the contract's semantics)
        arr = rules.coerce(arr, "float").values
    col: dict[str, Any] = {"name": name}
    non_null = pc.drop_null(arr)
    col["nullable"] = len(non_null) < len(arr) or len(non_null) == 0
    kind, values = _infer_type(non_null)
    col["type"] = kind
    if len(values) == 0:
        col["type"] = "string"
        return col
    if kind in ("int", "float"):
        col.update(_range(values, kind))
    if kind in ("int", "string"):
        distinct = len(pc.unique(values))
        if distinct == len(values) and distinct >= 2:
            col["unique"] = True
    if kind == "string":
        _text_rules(col, values)
    return col


def _infer_type(values: pa.Array) -> tuple[str, pa.Array]:
    import pyarrow as pa

    t = values.type
    if pa.types.is_boolean(t):
        return "bool", values
    if pa.types.is_integer(t):
        return "int", values.cast(pa.int64())
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "float", values.cast(pa.float64())
    if pa.types.is_timestamp(t):
        return "timestamp", values
    if pa.types.is_date(t):
        return "date", values
    if not (pa.types.is_string(t) or pa.types.is_large_string(t)) or len(values) == 0:
        return "string", rules.coerce(values, "string").values
    probe = values.slice(0, 256)
    for kind in TEXT_TRIALS:
        if rules.coerce(probe, kind).bad is not None:  # cheap early rejection
            continue
        coerced = rules.coerce(values, kind)
        if coerced.bad is None:
            if kind == "bool" and _looks_numeric(values):
                continue
            return kind, coerced.values
    return "string", values.cast(pa.string())


def _looks_numeric(values: pa.Array) -> bool:
    return rules.coerce(values, "float").bad is None


def _range(values: pa.Array, kind: str) -> dict[str, float]:
    import pyarrow.compute as pc

    lo, hi = pc.min(values).as_py(), pc.max(values).as_py()
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return {}
    if kind == "int":  # in exact integer arithmetic (a float loses integers beyond 2**53)
        margin = math.ceil((hi - lo) * RANGE_MARGIN) if hi > lo else max(math.ceil(abs(hi) * RANGE_MARGIN), 1)
        return {"min": max(0, lo - margin) if lo >= 0 else lo - margin, "max": hi + margin}
    span = hi - lo
    margin = span * RANGE_MARGIN if span > 0 else max(abs(hi) * RANGE_MARGIN, 1.0)
    low, high = lo - margin, hi + margin
    if lo >= 0:
        low = max(0.0, low)
    # rounded for readability, never inside the observed range (nor to an infinite bound)
    low, high = min(round(low, 6), lo), max(round(high, 6), hi)
    return {"min": low if math.isfinite(low) else lo, "max": high if math.isfinite(high) else hi}


def _text_rules(col: dict[str, Any], values: pa.Array) -> None:
    import pyarrow.compute as pc

    sample = values.take(rules.from_numpy(pii.sample_indices(len(values), 2000)))
    kinds = [pii.classify(v) for v in sample.to_pylist()]
    if sum(k is not None for k in kinds) >= PII_SHARE * len(kinds):
        col["pii"] = "hash"
        col.pop("unique", None)
        return
    distinct = pc.unique(values)
    if len(distinct) <= MAX_CATEGORIES and len(distinct) * 2 <= len(values):
        col["type"] = "category"
        col["allowed"] = sorted(distinct.to_pylist())

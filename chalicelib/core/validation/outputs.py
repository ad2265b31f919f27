"""The engine's output rows, built chunk by chunk, and the sinks that receive them.

Two streams come out of a validated file (see :mod:`engine` for when and how):

- **curated**: the rows that fail no error-severity rule, every declared column typed per contract
  (``int`` → int64, ``float`` → float64, ``bool``, ``date`` → date32, ``timestamp`` → timestamp[us],
  text → string), ``pii: hash`` columns as HMAC-SHA256 hex, ``pii: mask`` masked, ``pii: drop``
  left out, the extra columns as read when ``extra_columns: keep``; values holding undeclared PII
  (``undeclared_pii: warn``) masked in place;
- **quarantine**: the rows that fail an error-severity rule, every column read as text (PII columns
  hashed/masked/dropped as in curated, PII detected in any other value masked in place), plus
  ``_row`` (int64: the 0-based data row in the file) and ``_reasons`` (the ids of the error rules the
  row fails, ``;``-separated, in the contract's rule order).

Both are ``pyarrow.Table`` s of plain types (no dictionary, no large_string), so a sink can write them
as Parquet without a pandas copy; :func:`to_pandas` gives the DataFrame the old iterators yield.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from chalicelib.core.validation import keys, pii, rules

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from chalicelib.core.validation.contract import ColumnSpec, Contract, RuleRef


class Sink(Protocol):
    """Receives one output stream (curated or quarantine) of one validation, part by part.

    ``part`` numbers are the input chunks' (0, 1, 2 … in file order; a chunk with no row for this
    stream writes no part). Calls: ``write`` in increasing part order as the file is read; at the end
    ``replace`` for the few parts the end-of-file duplicate decision changed (the part must then hold
    exactly ``table``; an empty table means: no part with that number); then exactly one of ``close``
    (the stream is complete) or ``abort`` (discard everything written). All calls come from the thread
    that called the engine.
    """

    def write(self, part: int, table: pa.Table) -> None: ...

    def replace(self, part: int, table: pa.Table) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


@dataclass
class Built:
    """One chunk's outputs: the tables (None: no row, or not asked for), the rows that fail an error rule,
    and per key rule the rows known to repeat their key when the chunk was built."""

    invalid: np.ndarray
    curated: pa.Table | None = None
    quarantine: pa.Table | None = None
    repeated: dict[str, np.ndarray] = field(default_factory=dict)


class OutputBuilder:
    """Builds a chunk's curated and quarantine tables from the chunk and its :class:`ChunkCheck`."""

    def __init__(self, contract: Contract, columns: list[ColumnSpec], refs: Mapping[str, RuleRef],
                 pii_key: bytes, *, recoerce: bool = False) -> None:
        self.contract = contract
        self.columns = columns  # the declared columns the checker checks (present, or read as null)
        self.refs = refs
        self.hasher = pii.PiiHasher(pii_key) if any(c.pii == "hash" for c in contract.columns) else None
        # True: the curated values are coerced again from the selected rows (the two-pass API's way);
        # False: they are the check's own coerced values, filtered
        self.recoerce = recoerce

    def build(self, table: pa.Table, chk: ChunkCheckLike, offset: int, *, known: Mapping[str, np.ndarray],
              within: bool, curated: bool, quarantine: bool, invalid: np.ndarray | None = None) -> Built:
        """The outputs of rows ``offset..`` (``table``). A key rule's duplicates are the rows whose hash is
        in ``known[rule]``, and (``within``) those repeating a key inside this chunk; ``invalid``
        overrides the rows selected for quarantine (the old two-pass API's first-pass verdict)."""
        import numpy as np

        # reasons come in this dict's order: the column rules in column order, the primary key, the
        # unique rules (the order the checks produce them in)
        masks = {rid: m for rid, m in chk.masks.items() if self.refs[rid].severity == "error"}
        repeated: dict[str, np.ndarray] = {}
        for rid, h in chk.key_hashes.items():
            dup = keys.member(h, known[rid]) if rid in known else np.zeros(len(h), dtype=bool)
            if within:
                dup |= keys.repeated_within(h)
            repeated[rid] = dup
            if self.refs[rid].severity == "error":
                masks[rid] = masks[rid] | dup if rid in masks else dup
        if invalid is None:
            invalid = np.zeros(table.num_rows, dtype=bool)
            for mask in masks.values():
                invalid |= mask
        out = Built(invalid, repeated=repeated)
        if curated and not invalid.all():
            out.curated = self.curated(table, chk, ~invalid)
        if quarantine and invalid.any():
            out.quarantine = self.quarantined(table, chk, masks, invalid, offset)
        return out

    def curated(self, table: pa.Table, chk: ChunkCheckLike, select: np.ndarray) -> pa.Table:
        import pyarrow as pa

        keep = rules.from_numpy(select)
        names, arrays = [], []
        for col in self.columns:
            if col.pii == "drop":
                continue
            raw = table.column(col.name) if col.name in table.column_names else pa.nulls(table.num_rows)
            found = chk.pii.get(col.name)
            if col.pii is not None:
                values = pii.transform(as_text(raw.filter(keep)), col.pii, self.hasher)
            elif self.recoerce:
                raw = pii.mask_found(rules.flat(raw), found) if found is not None and found.rows is not None \
                    else raw
                values = rules.coerce(rules.flat(raw.filter(keep)), col.type).values
            else:
                values = pii.mask_found(chk.coerced[col.name].values, found).filter(keep)
            names.append(col.name)
            arrays.append(values)
        if self.contract.extra_columns == "keep":
            declared = set(self.contract.column_names)
            for name in table.column_names:
                if name not in declared:
                    names.append(name)
                    column = pii.mask_found(rules.flat(table.column(name)), chk.pii.get(name))
                    arrays.append(column.filter(keep))
        return plain(pa.table(arrays, names=names) if names else table.filter(keep).select([]))

    def quarantined(self, table: pa.Table, chk: ChunkCheckLike, masks: Mapping[str, np.ndarray],
                    select: np.ndarray, offset: int) -> pa.Table:
        import numpy as np
        import pyarrow as pa

        idx = np.flatnonzero(select)
        reasons: list[list[str]] = [[] for _ in idx]
        for rid, mask in masks.items():
            for j in np.flatnonzero(mask[idx]).tolist():
                reasons[j].append(rid)
        table = table.filter(rules.from_numpy(select))
        specs = {c.name: c for c in self.contract.columns}
        names, arrays = [], []
        for name in table.column_names:
            col = specs.get(name)
            if col is not None and col.pii == "drop":
                continue
            text = as_text(table.column(name))
            names.append(name)
            if col is not None and col.pii:
                arrays.append(pii.transform(text, col.pii, self.hasher))
            else:  # undeclared PII (an e-mail where a city belongs) is masked in quarantine too
                arrays.append(pii.scrub_text(text))
        names += ["_row", "_reasons"]
        arrays += [rules.from_numpy((idx + offset).astype(np.int64)),
                   pa.array([";".join(r) for r in reasons], pa.string())]
        return plain(pa.table(arrays, names=names))


class ChunkCheckLike(Protocol):
    """What the builder reads of the engine's ``ChunkCheck``."""

    @property
    def coerced(self) -> dict[str, rules.Coerced]: ...

    @property
    def masks(self) -> dict[str, np.ndarray]: ...

    @property
    def key_hashes(self) -> dict[str, np.ndarray]: ...

    @property
    def pii(self) -> dict[str, pii.Detection]: ...


def as_text(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    return rules.coerce(rules.flat(arr), "string").values


def plain(table: pa.Table) -> pa.Table:
    """``table`` with dictionary and large_string columns as string (what Parquet readers expect)."""
    import pyarrow as pa

    if not any(pa.types.is_dictionary(t) or pa.types.is_large_string(t) for t in table.schema.types):
        return table
    columns = []
    for arr in table.columns:
        if pa.types.is_dictionary(arr.type) or pa.types.is_large_string(arr.type):
            arr = arr.cast(pa.string())
        columns.append(arr)
    return pa.table(columns, names=table.column_names)


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """An output table as the DataFrame the old iterators yield (nullable Int64 / boolean / string)."""
    import pandas as pd
    import pyarrow as pa

    mapping: dict[pa.DataType, object] = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype(),
                                          pa.string(): pd.StringDtype()}
    lookup: Callable[[pa.DataType], object] = mapping.get
    frame: pd.DataFrame = plain(table).to_pandas(types_mapper=lookup)
    return frame

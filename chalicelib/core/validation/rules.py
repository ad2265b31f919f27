"""Pure, vectorized per-chunk checks: type coercion, rule masks and 64-bit key hashes.

Everything here works on one Arrow chunk at a time and returns numpy boolean masks (True = the row
fails the rule); nothing here keeps state across chunks (the engine does). pyarrow compute kernels do
the work (RE2 regular expressions, hash-set membership, casts); Python only runs per *distinct*
leftover value when a vectorized cast cannot decide (a few malformed values).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from chalicelib.core.validation import regex

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from chalicelib.core.validation.contract import ColumnSpec

INT_RE = r"^-?[0-9]+$"
FLOAT_RE = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$|^(?i:[+-]?(inf|infinity|nan))$"
TS_OFFSET_RE = r"(Z|[+-][0-9]{2}:?[0-9]{2})$"
TRUE_TOKENS = ("true", "t", "yes", "y", "1")
FALSE_TOKENS = ("false", "f", "no", "n", "0")
_PY_INT_RE = re.compile(r"[+-]?\d+")
_PY_FLOAT_RE = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|infinity|nan)", re.IGNORECASE)
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
EPOCH = dt.datetime(1970, 1, 1)
_MASK64 = (1 << 64) - 1


def arrow_type(kind: str) -> pa.DataType:
    """The Arrow type a contract type is coerced to (timestamps: naive UTC microseconds)."""
    import pyarrow as pa

    return {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "string": pa.string(),
            "category": pa.string(), "date": pa.date32(), "timestamp": pa.timestamp("us")}[kind]


@dataclass
class Coerced:
    """A column coerced to its declared type: ``values`` (null where missing or bad), ``bad`` mask."""

    values: pa.Array
    raw_null: np.ndarray  # True where the file holds no value
    bad: np.ndarray | None  # True where a value is present but cannot be coerced; None = no bad value


def flat(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous Arrow array (a single-chunk column without copying it)."""
    import pyarrow as pa

    if not isinstance(arr, pa.ChunkedArray):
        return arr
    if arr.num_chunks == 1:
        return arr.chunk(0)
    return arr.combine_chunks() if arr.num_chunks else pa.array([], type=arr.type)


def from_numpy(values: np.ndarray) -> pa.Array:
    """A 1-D numpy array (bool or numeric) as an Arrow array, zero-copy where possible."""
    import numpy as np
    import pyarrow as pa

    if values.dtype == np.bool_:
        bits = np.packbits(values, bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(bits)])
    values = np.ascontiguousarray(values)
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), len(values), [None, pa.py_buffer(values)])


def to_mask(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean Arrow array as a numpy mask (null → False)."""
    import pyarrow.compute as pc

    mask: np.ndarray = pc.fill_null(arr, False).to_numpy(zero_copy_only=False)
    return mask


def null_mask(arr: pa.Array) -> np.ndarray:
    import numpy as np

    if arr.null_count == 0:
        return np.zeros(len(arr), dtype=bool)
    mask: np.ndarray = arr.is_null().to_numpy(zero_copy_only=False)
    return mask


def coerce(arr: pa.Array, kind: str) -> Coerced:
    """Coerce a chunk column (strings or native values) to the contract type ``kind``.

    A float NaN (native, or text such as ``nan`` that is not a null token) is a missing value, as in
    pandas: null for every rule, counted by ``not_null``.
    """
    coerced = _coerce(arr, kind)
    return _nan_as_null(coerced) if kind == "float" else coerced


def _nan_as_null(c: Coerced) -> Coerced:
    import pyarrow as pa
    import pyarrow.compute as pc

    nan = pc.is_nan(c.values)
    if not pc.any(nan).as_py():
        return c
    mask = to_mask(nan)
    values = pc.if_else(from_numpy(mask), pa.scalar(None, c.values.type), c.values)
    bad = None if c.bad is None else c.bad & ~mask
    return Coerced(values, c.raw_null | mask, bad if bad is not None and bad.any() else None)


def _coerce(arr: pa.Array, kind: str) -> Coerced:
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = flat(arr)
    if pa.types.is_dictionary(arr.type):
        return _coerce_dictionary(arr, kind)
    raw_null = null_mask(arr)
    target = arrow_type(kind)
    if arr.type == target:
        return Coerced(arr, raw_null, None)
    if pa.types.is_null(arr.type):
        return Coerced(pa.nulls(len(arr), target), raw_null, None)
    if kind in ("string", "category"):
        return Coerced(_to_text(arr), raw_null, None)
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        values = _from_strings(pc.cast(arr, pa.string()), kind)
    else:
        values = _from_native(arr, kind)
    bad = ~raw_null & null_mask(values)
    return Coerced(values, raw_null, bad if bad.any() else None)


def _coerce_dictionary(arr: pa.DictionaryArray, kind: str) -> Coerced:
    """Coerce the (small) dictionary once; text stays dictionary-encoded, other types are taken out."""
    import pyarrow as pa

    raw_null = null_mask(arr)
    dictionary = coerce(arr.dictionary, kind)
    if dictionary.raw_null.any():  # NaN entries are missing values
        raw_null = raw_null | dictionary.raw_null[codes(arr)]
    if kind in ("string", "category"):
        values = pa.DictionaryArray.from_arrays(arr.indices, dictionary.values)
        return Coerced(values, raw_null, None)
    values = dictionary.values.take(arr.indices)
    if dictionary.bad is None:
        return Coerced(values, raw_null, None)
    bad = dictionary.bad[codes(arr)] & ~raw_null
    return Coerced(values, raw_null, bad if bad.any() else None)


def codes(arr: pa.DictionaryArray) -> np.ndarray:
    """The dictionary indices as int64 (null slots → 0; callers mask them)."""

    idx = arr.indices
    indices: np.ndarray = (idx.fill_null(0) if idx.null_count else idx).to_numpy(zero_copy_only=False)
    return indices


def through_dictionary(values: pa.Array, test: Callable[[pa.Array], np.ndarray]) -> np.ndarray:
    """``test(values)`` as a numpy mask; on a dictionary array ``test`` runs on the distinct values only."""
    import pyarrow as pa

    if not pa.types.is_dictionary(values.type):
        return test(values)
    per_value = test(values.dictionary)
    if len(per_value) == 0:
        return null_mask(values) & False
    mask: np.ndarray = per_value[codes(values)] & ~null_mask(values)
    return mask


def _to_text(arr: pa.Array) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_boolean(arr.type):
        return pc.if_else(arr, "true", "false")
    try:
        return pc.cast(arr, pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return pa.array([None if v is None else str(v) for v in arr.to_pylist()], type=pa.string())


def _from_native(arr: pa.Array, kind: str) -> pa.Array:
    """Native (non-string) Arrow values to ``kind``; values that do not fit become null."""
    import pyarrow as pa
    import pyarrow.compute as pc

    target = arrow_type(kind)
    if kind == "timestamp" and pa.types.is_timestamp(arr.type):
        naive = pc.cast(arr, pa.timestamp(arr.type.unit)) if arr.type.tz else arr
        if arr.type.unit == "ns":  # pandas writes nanoseconds: keep the microsecond they fall in
            naive = pc.floor_temporal(naive, 1, "microsecond")
        return naive.cast(target)
    if kind == "timestamp" and pa.types.is_date(arr.type):
        return arr.cast(target)
    if kind == "date" and pa.types.is_timestamp(arr.type):
        naive = pc.cast(arr, pa.timestamp(arr.type.unit)) if arr.type.tz else arr
        return _keep_if(naive.cast(pa.date32()), pc.equal(pc.floor_temporal(naive, unit="day"), naive))
    numeric = pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type) or pa.types.is_decimal(arr.type)
    if kind == "float" and numeric:
        return arr.cast(pa.float64(), safe=False)
    if kind == "int" and numeric:
        if pa.types.is_integer(arr.type):
            try:
                return arr.cast(pa.int64())
            except pa.ArrowInvalid:  # uint64 beyond int64
                return _keep_if(arr.cast(pa.int64(), safe=False), pc.less_equal(arr, INT64_MAX))
        as_float = arr.cast(pa.float64(), safe=False)
        integral = pc.and_(pc.equal(pc.floor(as_float), as_float), pc.less(pc.abs(as_float), 2.0**63))
        return _keep_if(as_float, integral).cast(pa.int64(), safe=False)
    if kind == "bool" and pa.types.is_integer(arr.type):
        ok = pc.is_in(arr, value_set=pa.array([0, 1], type=arr.type))
        return _keep_if(pc.not_equal(arr, 0), ok)
    return pa.nulls(len(arr), target)


def _keep_if(values: pa.Array, ok: pa.Array) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.if_else(pc.fill_null(ok, False), values, pa.scalar(None, values.type))


def _from_strings(arr: pa.Array, kind: str) -> pa.Array:
    """Strings to ``kind``: one vectorized cast when every value is clean, else regex-split + fallback."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if kind == "bool":
        lower = pc.utf8_lower(pc.utf8_trim_whitespace(arr))
        is_true = pc.is_in(lower, value_set=pa.array(TRUE_TOKENS))
        is_false = pc.is_in(lower, value_set=pa.array(FALSE_TOKENS))
        return _keep_if(is_true, pc.or_(is_true, is_false))
    target = arrow_type(kind)
    try:
        if kind == "timestamp":
            return _strings_to_timestamp(arr)
        values = pc.cast(arr, target)
        if kind != "int" or not pc.any(pc.match_substring_regex(arr, "[xX]")).as_py():
            return values
        # Arrow reads "0x1F" as 31; the contract's integers are decimal: take the per-value path
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    if len(arr) > 1024:  # few distinct values (amounts, codes): parse each distinct value once
        encoded = pc.dictionary_encode(arr)
        if len(encoded.dictionary) * 4 < len(arr):
            return _from_strings(encoded.dictionary, kind).take(encoded.indices)
    if kind == "float":
        ok = pc.match_substring_regex(arr, FLOAT_RE)
        return _cast_or_python(arr, ok, target, _py_float)
    if kind == "int":
        ok = pc.match_substring_regex(arr, INT_RE)
        return _cast_or_python(arr, ok, target, _py_int)
    if kind == "date":
        ok = pc.match_substring_regex(arr, r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
        return _cast_or_python(arr, ok, target, _py_date)
    return _cast_or_python(arr, pc.match_substring_regex(arr, r"^$"), target, _py_timestamp)


def _strings_to_timestamp(arr: pa.Array) -> pa.Array:
    """ISO-8601 strings to naive UTC microseconds; values with a zone offset are converted to UTC."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        return pc.cast(arr, pa.timestamp("us"))
    except pa.ArrowInvalid:
        pass
    zoned = pc.fill_null(pc.match_substring_regex(arr, TS_OFFSET_RE), False)
    naive = pc.cast(_keep_if(arr, pc.invert(zoned)), pa.timestamp("us"))
    aware = pc.cast(pc.cast(_keep_if(arr, zoned), pa.timestamp("us", "UTC")), pa.timestamp("us"))
    return pc.if_else(zoned, aware, naive)


def _cast_or_python(arr: pa.Array, ok: pa.Array, target: pa.DataType, parse: Callable[[str], object]
                    ) -> pa.Array:
    """Cast the values ``ok`` marks in one go; parse the others per distinct value in Python."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    ok = pc.fill_null(ok, False)
    try:
        values = pc.cast(_keep_if(arr, ok), target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        values = pa.nulls(len(arr), target)
        ok = from_numpy(np.zeros(len(arr), dtype=bool))
    rest = pc.and_(pc.invert(ok), pc.is_valid(arr))
    if not pc.any(rest).as_py():
        return values
    leftover = pc.filter(arr, rest)
    distinct = pc.unique(leftover).to_pylist()
    parsed = {v: parse(v) for v in distinct}
    idx = np.flatnonzero(to_mask(rest))
    out = values.to_pylist() if len(idx) * 4 > len(arr) else None
    if out is None:  # few leftovers: patch them in
        patch = pa.array([parsed[v] for v in leftover.to_pylist()], type=target)
        full = np.full(len(arr), -1, dtype=np.int64)
        full[idx] = np.arange(len(idx))
        pos = from_numpy(full)
        taken = pc.take(patch, pc.if_else(pc.less(pos, 0), pa.scalar(None, pa.int64()), pos))
        return pc.if_else(rest, taken, values)
    for i, v in zip(idx.tolist(), leftover.to_pylist(), strict=True):
        out[i] = parsed[v]
    return pa.array(out, type=target)


def _py_int(text: str) -> int | None:
    text = text.strip()
    if _PY_INT_RE.fullmatch(text):
        value = int(text)
        return value if INT64_MIN <= value <= INT64_MAX else None
    f = _py_float(text)
    if f is not None and f.is_integer() and abs(f) < 2.0**63:
        return int(f)
    return None


def _py_float(text: str) -> float | None:
    text = text.strip()
    return float(text) if _PY_FLOAT_RE.fullmatch(text) else None


def _py_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


def _py_timestamp(text: str) -> dt.datetime | None:
    from chalicelib.core.validation.contract import parse_timestamp

    try:
        return parse_timestamp(text)
    except ValueError:
        return None


# ----------------------------------------------------------------------------------------- rules


def range_mask(values: pa.Array, col: ColumnSpec) -> np.ndarray:
    """True where a non-null value lies outside the column's min/max.

    Each bound becomes one Arrow comparison that gives exactly Python's answer: an int column's
    float bound is rounded to the integer it admits (Arrow would compare in float64, inexactly beyond
    2**53), a float column's int bound that no float equals is replaced by its nearest float with the
    comparison adjusted, a date column's bound with a time of day compares the date's midnight.
    """
    import numpy as np

    lo, hi = col.bounds()
    fails = np.zeros(len(values), dtype=bool)
    for bound, lower, exclusive in ((lo, True, col.exclusive_min), (hi, False, col.exclusive_max)):
        if bound is None:
            continue
        test = _bound_test(bound, col.type, lower=lower, exclusive=exclusive)
        if test is True:
            fails |= ~null_mask(values)
        elif test is not None:
            op, scalar = test
            fails |= to_mask(op(values, scalar))
    return fails


_OPS = {(True, False): "less", (True, True): "less_equal", (False, False): "greater",
        (False, True): "greater_equal"}
# (pyarrow.compute comparison, scalar) failing the values beyond a bound; True: every value fails;
# None: none does
type BoundTest = tuple[Callable[..., pa.Array], pa.Scalar] | Literal[True] | None


def _bound_test(bound: Any, kind: str, *, lower: bool, exclusive: bool) -> BoundTest:
    # bound: a naive UTC datetime for a date/timestamp column, else a number (ColumnSpec.bounds)
    """``(pyarrow.compute op, scalar)`` failing the values beyond ``bound``; True: every value fails;
    None: none does."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if kind in ("date", "timestamp"):
        if kind == "date" and bound != dt.datetime(bound.year, bound.month, bound.day):
            # midnight(v) < b  <=>  v <= b's day  (lower);  midnight(v) > b  <=>  v > b's day  (upper)
            bound, exclusive = dt.datetime(bound.year, bound.month, bound.day), lower
        return getattr(pc, _OPS[lower, exclusive]), temporal_scalar(bound, kind)
    if kind == "int":
        return _int_bound_test(bound, lower=lower, exclusive=exclusive)
    if isinstance(bound, int):
        try:
            as_float = float(bound)
        except OverflowError:
            as_float = math.inf if bound > 0 else -math.inf
        if as_float != bound:  # no float equals it: compare with the nearest float, on the right side
            exclusive = (as_float < bound) if lower else (as_float > bound)
        bound = as_float
    return getattr(pc, _OPS[lower, exclusive]), pa.scalar(float(bound), pa.float64())


def _int_bound_test(bound: float, *, lower: bool, exclusive: bool) -> BoundTest:
    """An int column's bound as the inclusive integer it admits (clamped to int64)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(bound, float) and math.isinf(bound):
        return (True if bound > 0 else None) if lower else (True if bound < 0 else None)
    integral = isinstance(bound, int) or bound.is_integer()
    if lower:
        edge = int(bound) + 1 if integral and exclusive else math.ceil(bound)
        if edge > INT64_MAX:
            return True
        return None if edge <= INT64_MIN else (pc.less, pa.scalar(edge, pa.int64()))
    edge = int(bound) - 1 if integral and exclusive else math.floor(bound)
    if edge < INT64_MIN:
        return True
    return None if edge >= INT64_MAX else (pc.greater, pa.scalar(edge, pa.int64()))


def temporal_ticks(moment: dt.datetime, kind: str) -> int:
    """Days (date) or microseconds (timestamp) since the epoch of a naive UTC ``datetime``."""
    delta = moment - EPOCH
    if kind == "date":
        return delta.days
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def temporal_scalar(moment: dt.datetime, kind: str) -> pa.Scalar:
    """An Arrow date32 / timestamp[us] scalar from a naive UTC ``datetime`` (exact microseconds)."""
    import pyarrow as pa

    if kind == "date":
        return pa.scalar(temporal_ticks(moment, kind), type=pa.int32()).cast(pa.date32())
    return pa.scalar(temporal_ticks(moment, kind), type=pa.int64()).cast(pa.timestamp("us"))


def allowed_mask(values: pa.Array, col: ColumnSpec) -> np.ndarray:
    """True where a non-null value is not in the column's allowed set."""
    import pyarrow as pa
    import pyarrow.compute as pc

    assert col.allowed is not None
    if col.type in ("date", "timestamp"):
        from chalicelib.core.validation.contract import parse_timestamp

        moments = [parse_timestamp(str(v)) for v in col.allowed]
        if col.type == "date":  # a date is its midnight: an allowed moment later that day is no date
            moments = [m for m in moments if m == dt.datetime(m.year, m.month, m.day)]
        ticks = [temporal_ticks(m, col.type) for m in moments]
        allowed = pa.array(ticks, type=pa.int32() if col.type == "date" else pa.int64()).cast(values.type)
    elif col.type == "float":  # -0.0 is 0.0 (Arrow's hash set tells them apart)
        allowed = pa.array([0.0 if v == 0 else v for v in col.allowed], type=pa.float64())
        values = pc.if_else(pc.equal(values, 0.0), 0.0, values)
    else:
        allowed = pa.array(col.allowed, type=values.type if not pa.types.is_dictionary(values.type)
                           else values.type.value_type)
    return through_dictionary(values, lambda v: to_mask(pc.and_(pc.is_valid(v),
                                                                 pc.invert(pc.is_in(v, value_set=allowed)))))


def pattern_mask(values: pa.Array, pattern: str) -> np.ndarray:
    """True where a non-null string does not fully match ``pattern`` as Python's ``re.fullmatch`` would,
    run with RE2 (:func:`regex.anchored`; a contract refuses patterns RE2 cannot run, so there is no
    backtracking fallback that a value could make hang)."""
    import pyarrow.compute as pc

    anchored = regex.anchored(pattern)
    return through_dictionary(values, lambda v: to_mask(pc.and_(
        pc.is_valid(v), pc.invert(pc.match_substring_regex(v, anchored)))))


def length_mask(values: pa.Array, col: ColumnSpec) -> np.ndarray:
    import pyarrow.compute as pc

    def test(v: pa.Array) -> np.ndarray:
        length = pc.utf8_length(v)
        fails = None
        if col.min_length is not None:
            fails = pc.less(length, col.min_length)
        if col.max_length is not None:
            more = pc.greater(length, col.max_length)
            fails = more if fails is None else pc.or_(fails, more)
        return to_mask(fails)

    return through_dictionary(values, test)


# ------------------------------------------------------------------------------------------ hashes


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser (in place on a uint64 array)."""
    import numpy as np

    h ^= h >> np.uint64(30)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(31)
    return h


def hash_values(values: pa.Array) -> np.ndarray:
    """A 64-bit hash per value (uint64); nulls hash to 0 and no value does.

    Numbers, booleans, dates and timestamps hash their exact bit pattern; strings hash their UTF-8
    bytes, 8 at a time, with the length (vectorized over the Arrow buffers; no Python per value).
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    values = flat(values)
    t = values.type
    if pa.types.is_dictionary(t):
        if not len(values.dictionary):  # every value null (the null slots' codes index nothing)
            return np.zeros(len(values), dtype=np.uint64)
        per_row: np.ndarray = hash_values(values.dictionary)[codes(values)]
        per_row[null_mask(values)] = 0
        return per_row
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t):
        h = _hash_strings(values)
    else:
        if pa.types.is_floating(t):
            values = pc.if_else(pc.equal(values, 0.0), 0.0, values)  # -0.0 == 0.0
            raw = values.fill_null(0).to_numpy(zero_copy_only=False).astype(np.float64).view(np.uint64)
        elif pa.types.is_boolean(t):
            raw = values.fill_null(False).to_numpy(zero_copy_only=False).astype(np.uint64)
        else:
            raw = _integers(values).fill_null(0).to_numpy(zero_copy_only=False).view(np.uint64)
        h = _mix(raw.copy() ^ np.uint64(0x9E3779B97F4A7C15))
    h[h == 0] = 1
    if values.null_count:
        h[null_mask(values)] = 0
    return h


def _integers(values: pa.Array) -> pa.Array:
    """Integer, date, time, timestamp or duration values as int64 ticks (Arrow has no date32 → int64
    cast: the bits are reinterpreted as the signed integer of the same width first)."""
    import pyarrow as pa

    t = values.type
    if not pa.types.is_integer(t):
        values = values.view(pa.int32() if t.bit_width == 32 else pa.int64())
    return values.cast(pa.int64())


def _hash_strings(values: pa.Array) -> np.ndarray:
    import numpy as np
    import pyarrow as pa

    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    values = values.cast(pa.large_binary())
    _, offsets_buf, data_buf = values.buffers()
    count = len(values) + values.offset + 1
    offsets = np.frombuffer(offsets_buf, dtype=np.int64, count=count)[values.offset:]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    starts = offsets[:-1]
    lengths = (offsets[1:] - starts).astype(np.int64)
    h = _mix(lengths.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(0x632BE59BD9B4E019))
    max_len = int(lengths.max()) if n else 0
    if max_len == 0:
        return h
    if max_len <= 64 and int(lengths.min()) == max_len:  # fixed-width keys: no gather needed
        width = (max_len + 7) // 8 * 8
        block = data[int(starts[0]):int(starts[0]) + n * max_len].reshape(n, max_len)
        if width != max_len:
            block = np.concatenate([block, np.zeros((n, width - max_len), dtype=np.uint8)], axis=1)
        words = np.ascontiguousarray(block).view(np.uint64)
        for k in range(words.shape[1]):
            h = _mix(h ^ words[:, k])
        return h
    padded = np.concatenate([data, np.zeros(8, dtype=np.uint8)])
    windows = np.lib.stride_tricks.as_strided(padded, shape=(len(padded) - 7, 8), strides=(1, 1))
    keep = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [_MASK64], dtype=np.uint64)
    for pos in range(0, max_len, 8):
        active = lengths > pos
        idx = None if active.all() else np.flatnonzero(active)
        st = starts if idx is None else starts[idx]
        ln = lengths if idx is None else lengths[idx]
        w = windows[st + pos].view(np.uint64).ravel()
        w &= keep[np.minimum(ln - pos, 8)]
        if idx is None:
            h = _mix(h ^ w)
        else:
            h[idx] = _mix(h[idx] ^ w)
    return h


KEY_SALTS = (0x243F6A8885A308D3, 0x13198A2E03707344, 0xA4093822299F31D0, 0x082EFA98EC4E6C89,
             0x452821E638D01377, 0xBE5466CF34E90C6C, 0xC0AC29B7C97C50DD, 0x3F84D5B5B5470917)


def key_term(h: np.ndarray, position: int) -> np.ndarray:
    """One key column's contribution to a composite key hash (its position in the key is salted in)."""
    import numpy as np

    salt = np.uint64(KEY_SALTS[position % len(KEY_SALTS)] ^ (position // len(KEY_SALTS)))
    return _mix(h ^ salt)


def finish_key(total: np.ndarray, any_null: np.ndarray) -> np.ndarray:
    """The composite key hash from the summed terms (0 where a key column is null)."""
    total[total == 0] = 1
    total[any_null] = 0
    return total


def combine_hashes(parts: list[np.ndarray]) -> np.ndarray:
    """One hash per row from the per-column hashes of a composite key (any part 0, i.e. null → 0)."""
    total = key_term(parts[0], 0)
    any_null = parts[0] == 0
    for position, part in enumerate(parts[1:], start=1):
        total += key_term(part, position)
        any_null |= part == 0
    return finish_key(total, any_null)

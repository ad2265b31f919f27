"""Duplicate keys: which 64-bit key hashes occur more than once, and which rows hold them.

The ``unique`` and ``primary_key`` rules compare one hash per row (:func:`rules.hash_values`, 0 = a
null key). Whether a key repeats is known only when every row has been seen: :func:`duplicated_hashes`
decides it over all rows in constant scratch memory; :func:`repeated_within` finds the keys that
repeat inside one chunk (known as soon as the chunk is read); :func:`member` marks the rows of a
known set. A false duplicate needs a 64-bit hash collision (p ≈ n²/2⁶⁵: 7e-7 at 5M rows).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.core.validation import rules

if TYPE_CHECKING:
    import numpy as np

    from chalicelib.core.validation.readers import TableReader

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


def repeated_within(h: np.ndarray) -> np.ndarray:
    """The rows of ``h`` whose (non-null) hash occurs more than once in ``h``."""
    return member(h, duplicated_hashes([h]))


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

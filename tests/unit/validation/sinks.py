"""Test doubles of the engine's inputs and outputs: a sink that records what it is given (and checks the
order of the calls the :class:`~chalicelib.core.validation.outputs.Sink` protocol promises), and binary
inputs that count how they are read."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import pyarrow as pa

from chalicelib.core.validation.outputs import to_pandas


class RecordingSink:
    """Keeps the parts as the caller's storage would (a replaced part overwritten, an empty one gone)."""

    def __init__(self, fail_on_write: int | None = None) -> None:
        self.parts: dict[int, pa.Table] = {}
        self.calls: list[tuple[str, int | None]] = []
        self.state = "open"
        self.fail_on_write = fail_on_write

    def write(self, part: int, table: pa.Table) -> None:
        assert self.state == "open", f"write after {self.state}"
        assert not any(kind == "replace" for kind, _ in self.calls), "write after a replace"
        written = [p for kind, p in self.calls if kind == "write" and p is not None]
        assert all(part > p for p in written), "parts out of order"
        assert table.num_rows > 0, "an empty part was written"
        self.calls.append(("write", part))
        if self.fail_on_write is not None and part >= self.fail_on_write:
            raise OSError("the bucket is gone")
        self.parts[part] = table

    def replace(self, part: int, table: pa.Table) -> None:
        assert self.state == "open", f"replace after {self.state}"
        self.calls.append(("replace", part))
        if table.num_rows:
            self.parts[part] = table
        else:
            self.parts.pop(part, None)

    def close(self) -> None:
        assert self.state == "open"
        self.calls.append(("close", None))
        self.state = "closed"

    def abort(self) -> None:
        assert self.state == "open"
        self.calls.append(("abort", None))
        self.state = "aborted"
        self.parts = {}

    def frames(self) -> list[pd.DataFrame]:
        return [to_pandas(self.parts[k]) for k in sorted(self.parts)]


def frame_of(frames: list[pd.DataFrame]) -> pd.DataFrame | None:
    return pd.concat(frames, ignore_index=True) if frames else None


class CountingReader(io.RawIOBase):
    """A one-way binary stream over ``data`` (no seek) that counts the bytes read and the calls."""

    def __init__(self, data: bytes, *, seekable: bool = False) -> None:
        super().__init__()
        self._data = io.BytesIO(data)
        self._seekable = seekable
        self.bytes_read = 0
        self.seeks = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._seekable

    def readinto(self, buffer: Any) -> int:
        n = self._data.readinto(buffer)
        self.bytes_read += n
        return n

    def seek(self, offset: int, whence: int = 0) -> int:
        if not self._seekable:
            raise io.UnsupportedOperation("seek")
        self.seeks += 1
        return self._data.seek(offset, whence)

    def tell(self) -> int:
        return self._data.tell()

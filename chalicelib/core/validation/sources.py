"""Where the engine reads a file from: a path, a binary file-like object, or a function that opens one.

The upload path should not have to copy an object to ``/tmp`` first, so every reader takes a
:class:`Source`, made by :func:`as_source` from what the caller has:

- a **path** (``str`` / ``os.PathLike``): opened when needed, as often as needed;
- an **opener** (a function of no arguments returning a new binary file-like object at byte 0, e.g.
  ``lambda: s3.get_object(...)["Body"]`` or a seekable S3 file for Parquet): called once per read;
- a **binary file-like object** (``read(n)``; ``readinto`` and ``seek`` used when present): read once
  from where it stands; read again only when it is seekable (``seek(0)``).

CSV and JSONL are read front to back exactly once per read: the first bytes the readers sniff (the
encoding, the header line) are kept in memory (at most :data:`MAX_HEAD_BYTES`) and replayed before the
rest of the stream, never read twice. Parquet needs random access: :meth:`Source.seekable_file`
gives a seekable object (the path opened, a seekable object given, or what the opener returns) and
refuses a stream that cannot seek (wrap an S3 body with ranged GETs, e.g. ``pyarrow.fs.S3FileSystem``
or ``s3fs``, and pass it or an opener returning it).

A *re-read* (a contract's duplicate keys found only at the end, see :mod:`engine`) needs a source that
can be read again: a path, an opener or a seekable object (:attr:`Source.rereadable`).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO, Protocol, cast

from chalicelib.core.errors import ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Buffer

MAX_HEAD_BYTES = 4 * 1024 * 1024 + 64 * 1024  # the CSV header line may be up to MAX_ROW_BYTES long


class Readable(Protocol):
    """The least a binary input must offer."""

    def read(self, size: int = -1, /) -> bytes: ...


type Input = str | os.PathLike[str] | Readable | BinaryIO | Callable[[], Readable]


class SourceError(ConfigurationError):
    """The source cannot serve the read asked of it (a stream read twice, a Parquet stream that cannot
    seek): a caller's mistake, not bad input."""

    code = "source_unsuitable"


class Source:
    """One input file (see the module docstring). ``name`` is the file name (its extension names the
    format when nothing else does)."""

    def __init__(self, given: Input, name: str | None = None) -> None:
        self._path: str | None = None
        self._opener: Callable[[], Readable] | None = None
        self._given: Readable | None = None
        if isinstance(given, str | os.PathLike):
            self._path = os.fspath(given)
        elif callable(given) and not hasattr(given, "read"):
            self._opener = given
        else:
            self._given = cast(Readable, given)
        self.name = name if name is not None else (self._path or str(getattr(given, "name", "") or ""))
        self._head = b""
        self._head_complete = False  # the whole input fits in the head
        self._first: Readable | None = None  # the stream the head was read from, not yet handed out
        self._reads = 0  # streams handed out
        self._opened: list[Readable] = []

    @property
    def rereadable(self) -> bool:
        """True when the input can be read again from byte 0."""
        return self._path is not None or self._opener is not None or _seekable(self._given)

    def head(self, size: int) -> bytes:
        """The first ``size`` bytes (fewer at the end of the input), read once and kept: the next
        :meth:`stream` replays them (a later ``head`` starts a new read)."""
        size = min(size, MAX_HEAD_BYTES)
        if len(self._head) < size and not self._head_complete:
            if self._first is None:
                self._first = self._open()
            parts = [self._head]
            have = len(self._head)
            while have < size:
                chunk = self._first.read(size - have)
                if not chunk:
                    self._head_complete = True
                    break
                parts.append(chunk)
                have += len(chunk)
            self._head = b"".join(parts)
        return self._head[:size]

    def stream(self) -> io.RawIOBase:
        """A raw binary reader of the whole input from byte 0 (the kept head first, then the rest);
        closing it closes what the source opened for it."""
        if self._first is not None:  # the read whose head was sniffed
            first, head, complete = self._first, self._head, self._head_complete
            self._first, self._head, self._head_complete = None, b"", False  # replayed once: not kept
        else:
            first, head, complete = self._open(), b"", False
        self._reads += 1
        return _Replay(head, first, complete=complete, owned=first is not self._given)

    def seekable_file(self) -> tuple[BinaryIO, BinaryIO | None]:
        """The input as a seekable binary file at byte 0 (for Parquet), and the same object again when
        this source opened it (the caller closes it), else None; SourceError for a plain stream."""
        if self._path is not None:  # Arrow's own file: its reads release the GIL
            import pyarrow as pa

            opened = cast(BinaryIO, pa.OSFile(self._path, "r"))
            self._opened.append(opened)
            return opened, opened
        raw = self._opener() if self._opener is not None else self._given
        owned = raw is not self._given
        if owned and raw is not None:
            self._opened.append(raw)
        if not _seekable(raw):
            raise SourceError("a Parquet input must be seekable: pass a path, a seekable file-like object, "
                              "or an opener returning one (e.g. an S3 file with ranged GETs)")
        fh = cast(BinaryIO, raw)
        fh.seek(0)
        return fh, (fh if owned else None)

    def _open(self) -> Readable:
        if self._path is not None:
            fh: Readable = open(self._path, "rb")  # noqa: SIM115 (closed by close())
        elif self._opener is not None:
            fh = self._opener()
        else:
            assert self._given is not None
            if self._reads:
                if not _seekable(self._given):
                    raise SourceError("the input stream was already read and cannot seek: pass an opener "
                                      "(a function returning a new stream) to read it again")
                cast(BinaryIO, self._given).seek(0)
            return self._given
        self._opened.append(fh)
        return fh

    def close(self) -> None:
        """Close what this source opened and is still open (never the object the caller gave)."""
        for fh in self._opened:
            close = getattr(fh, "close", None)
            if close is not None:
                close()
        self._opened = []
        self._first = None


def as_source(given: Input | Source, name: str | None = None) -> Source:
    return given if isinstance(given, Source) else Source(given, name)


def _seekable(obj: object) -> bool:
    probe = getattr(obj, "seekable", None)
    try:
        return bool(probe()) if callable(probe) else False
    except (OSError, ValueError):
        return False


class _Replay(io.RawIOBase):
    """``head`` then the rest of ``rest`` (None: nothing more), as a raw binary stream."""

    def __init__(self, head: bytes, rest: Readable | None, *, complete: bool, owned: bool) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._owned = rest if owned else None  # closed with this stream
        self._rest = None if complete else rest
        self._readinto = getattr(self._rest, "readinto", None)

    def close(self) -> None:
        if self._owned is not None:
            close = getattr(self._owned, "close", None)
            self._owned = None
            if close is not None:
                close()
        super().close()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Buffer) -> int:
        """Fill ``buffer`` as far as the input goes (a short read only at the end: Arrow's readers take
        a short read for the last one)."""
        view = memoryview(buffer).cast("B")
        done = 0
        if len(self._head):
            done = min(len(view), len(self._head))
            view[:done] = self._head[:done]
            self._head = self._head[done:]
        while done < len(view) and self._rest is not None:
            got = self._read_rest(view[done:])
            if not got:
                self._rest = None
                break
            done += got
        return done

    def _read_rest(self, view: memoryview) -> int:
        assert self._rest is not None
        if self._readinto is not None:
            return int(self._readinto(view) or 0)
        data = self._rest.read(len(view))
        view[:len(data)] = data
        return len(data)

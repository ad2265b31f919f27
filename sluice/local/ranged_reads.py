"""Ranged GETs that read the range, not the object: what S3 does, and what the upload path counts on.

moto answers ``GET`` with ``Range: bytes=a-b`` by reading the whole stored object and slicing it (its
``FakeKey.value`` copies the object out of its spooled file on every call). The upload path reads a raw
object in 8 MiB ranged GETs, so on the local stack a 159 MB CSV cost 19 full reads (3 GB copied) per
pass, and the time grew with the square of the file's size. :func:`serve_ranges` makes a single,
well-formed byte range (``bytes=a-b``, ``bytes=a-``) read only its bytes from the spooled file; every
other request — no range, a suffix range, several ranges, one moto treats as no range — is moto's own
code path, untouched, so what the server answers does not change (tests compare both, byte for byte).

Only requests that come through :func:`served` (the WSGI app of :class:`sluice.local.moto_server.MotoServer`,
which ``sluice up`` and the benchmarks' server process run) take this path; the in-process ``mock_aws``
of the tests, in the same process or not, is moto as it ships.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

SIMPLE_RANGE = re.compile(r"bytes=(\d+)-(\d*)")

_within = threading.local()
_patching = threading.Lock()
_applied = False


class Window:
    """A stored object as moto's range handler sees its content: a length, and the one slice it takes."""

    def __init__(self, key: Any) -> None:
        self._key = key

    def __len__(self) -> int:
        return int(self._key.size)

    def __getitem__(self, part: slice) -> bytes:
        start, stop, step = part.indices(len(self))
        if step != 1:
            raise ValueError("a window is sliced in one piece")
        with self._key.lock:
            buffer = self._key._value_buffer
            buffer.seek(start)
            data: bytes = buffer.read(max(0, stop - start))
        return data


def _slices_alone(request: Any) -> bool:
    """True for a GET whose range moto will answer with one slice: ``bytes=a-b`` (b ≥ a) or ``bytes=a-``."""
    if request.method != "GET":
        return False
    match = SIMPLE_RANGE.fullmatch(request.headers.get("range") or "")
    return match is not None and (not match[2] or int(match[2]) >= int(match[1]))


def served(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """The WSGI ``app`` with moto's S3 patched (once) so that a simple ranged GET it serves reads its
    range alone."""
    _patch()

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        _within.server = True
        try:
            return app(environ, start_response)
        finally:
            _within.server = False

    return wsgi


def _patch() -> None:
    global _applied
    with _patching:
        if not _applied:
            _patch_moto()
            _applied = True


def _patch_moto() -> None:
    from moto.s3.models import FakeKey
    from moto.s3.responses import S3Response

    whole: Any = FakeKey.__dict__["value"]  # the property itself
    key_response = S3Response.key_response

    def value(self: FakeKey) -> Any:
        return Window(self) if getattr(_within, "range", False) else whole.fget(self)

    def ranged_key_response(self: S3Response, request: Any, full_url: str, headers: dict[str, Any]) -> Any:
        if not getattr(_within, "server", False) or not _slices_alone(request):
            return key_response(self, request, full_url, headers)
        _within.range = True
        try:
            status, response_headers, content = key_response(self, request, full_url, headers)
        finally:
            _within.range = False
        if isinstance(content, Window):  # not sliced after all: moto's whole-object answer
            content = content[0:len(content)]
        return status, response_headers, content

    FakeKey.value = property(value, whole.fset)  # type: ignore[assignment]
    S3Response.key_response = ranged_key_response  # type: ignore[method-assign]

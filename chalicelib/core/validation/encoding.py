"""What text encoding the first bytes of a file show, and whether it agrees with the contract's.

A file's bytes often say how they are encoded: a byte-order mark (BOM) names UTF-8, UTF-16 or UTF-32
and its byte order; without one, text in UTF-16/UTF-32 shows a regular pattern of NUL bytes (every
second, or three in four, byte of ASCII text is 0), which no 8-bit encoding does; and bytes that are
valid UTF-8 with multi-byte sequences are, in practice, UTF-8 (such sequences read as Latin-1 give
mojibake like ``Ã¼``). :func:`detect` reads that evidence; :func:`resolve` compares it with
``format.encoding`` and returns the codec to decode with (one that consumes the BOM, or the byte
order the pattern shows for ``utf-16``/``utf-32`` without a BOM), or raises ``encoding_mismatch``
naming the encoding the file looks like.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

# longest first: the UTF-32-LE mark starts with the UTF-16-LE one
BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
WIDE = {"utf-16": 2, "utf-16-le": 2, "utf-16-be": 2, "utf-32": 4, "utf-32-le": 4, "utf-32-be": 4}
NAMES = {"utf-8": "UTF-8", "utf-16-le": "UTF-16 little-endian", "utf-16-be": "UTF-16 big-endian",
         "utf-32-le": "UTF-32 little-endian", "utf-32-be": "UTF-32 big-endian"}
MOSTLY_NUL = 0.9  # share of NUL bytes at the positions the pattern expects them
HARDLY_NUL = 0.05  # ... and at the positions it does not


@dataclass(frozen=True)
class Evidence:
    """What the bytes show: ``encoding`` (a codec name, None = no Unicode encoding recognised), how
    (``bom``, ``nul_pattern``, ``utf8_sequences``, ``ascii``) and the BOM's length in bytes."""

    encoding: str | None
    how: str
    bom_bytes: int = 0

    def describe(self) -> str:
        if self.how == "bom":
            return f"{NAMES[self.encoding or '']} (it starts with that byte-order mark)"
        if self.how == "nul_pattern":
            return f"{NAMES[self.encoding or '']} without a byte-order mark (its NUL bytes show the pattern)"
        if self.how == "utf8_sequences":
            return "UTF-8 (it holds multi-byte UTF-8 sequences)"
        if self.how == "ascii":
            return "ASCII text (no NUL bytes, so not UTF-16 or UTF-32)"
        return "8-bit text such as cp1252 or latin-1 (no NUL bytes, and not valid UTF-8)"


def detect(head: bytes) -> Evidence:
    """The encoding the first bytes of a text file show (see the module docstring)."""
    for bom, name in BOMS:
        if head.startswith(bom):
            return Evidence(name, "bom", len(bom))
    if b"\x00" in head:
        wide = _nul_pattern(head)
        return Evidence(wide, "nul_pattern") if wide else Evidence(None, "binary")
    if head.isascii():
        return Evidence(None, "ascii")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return Evidence(None, "8bit")
    return Evidence("utf-8", "utf8_sequences")


def _nul_pattern(head: bytes) -> str | None:
    """``utf-16-le`` … ``utf-32-be`` when the NUL bytes sit where ASCII-heavy text in it puts them."""
    def share(start: int, step: int) -> float:
        part = head[start:len(head) - len(head) % step:step]
        return part.count(0) / len(part) if part else 0.0

    by4 = [share(k, 4) for k in range(4)]
    if len(head) >= 8 and min(by4[2], by4[3]) >= MOSTLY_NUL and by4[0] <= HARDLY_NUL:
        return "utf-32-le"
    if len(head) >= 8 and min(by4[0], by4[1]) >= MOSTLY_NUL and by4[3] <= HARDLY_NUL:
        return "utf-32-be"
    even, odd = share(0, 2), share(1, 2)
    if len(head) >= 4 and odd >= MOSTLY_NUL / 3 and even <= HARDLY_NUL:
        return "utf-16-le"
    if len(head) >= 4 and even >= MOSTLY_NUL / 3 and odd <= HARDLY_NUL:
        return "utf-16-be"
    return None


def ascii_compatible(encoding: str) -> bool:
    """True when the codec writes ASCII text as ASCII bytes (UTF-8, Latin-1, cp1252, …)."""
    try:
        encoder = codecs.getincrementalencoder(encoding)()
        encoder.encode("i")  # a BOM-writing codec (utf-8-sig) writes its mark first
        return encoder.encode("d,a\r\n") == b"d,a\r\n"
    except (LookupError, UnicodeError):
        return False


class EncodingMismatch(Exception):
    """The bytes show another encoding than the contract declares (``message`` says which;
    ``detected`` is the codec name, or ``ascii`` / ``8bit`` for text that is not UTF-16/UTF-32)."""

    def __init__(self, message: str, detected: str) -> None:
        super().__init__(message)
        self.message = message
        self.detected = detected


def resolve(head: bytes, declared: str) -> str:
    """The codec to decode the file with, given ``format.encoding``; EncodingMismatch if they disagree.

    ``utf-16``/``utf-32`` take a file in that encoding, either byte order, with or without a BOM;
    ``utf-16-le`` etc. take that byte order only; ``utf-8`` and ``utf-8-sig`` take UTF-8 with or without
    a BOM; other ASCII-compatible codecs (``latin-1``, ``cp1252`` …) take any 8-bit text except a UTF-8
    BOM or UTF-8 multi-byte sequences. Bytes without a recognisable pattern (binary data, or text the
    heuristics cannot place) and codecs outside these families are left to the decoder.
    """
    name = codecs.lookup(declared).name
    seen = detect(head)
    family = name.removesuffix("-sig")
    if family in WIDE:
        if seen.encoding in WIDE:
            if seen.encoding.startswith(family):
                return _wide_codec(seen)
            return _mismatch(seen, name)
        return name if seen.how == "binary" else _mismatch(seen, name)
    if not ascii_compatible(name) or seen.how in ("binary", "ascii", "8bit"):
        return name
    if seen.encoding == "utf-8" and family == "utf-8":
        return name  # the readers skip a UTF-8 BOM (and Arrow decodes UTF-8 natively, fast)
    return _mismatch(seen, name)


def _wide_codec(seen: Evidence) -> str:
    """A BOM is consumed by the endian-neutral codec; without one the byte order must be explicit."""
    assert seen.encoding is not None
    return seen.encoding[:6] if seen.how == "bom" else seen.encoding


def _mismatch(seen: Evidence, declared: str) -> str:
    suggestion = _suggest(seen)
    hint = f"set format.encoding: {suggestion} or " if suggestion else ""
    raise EncodingMismatch(f"the file looks like {seen.describe()}, but the contract's format.encoding is "
                           f"{declared}: {hint}save the file as {declared}", seen.encoding or seen.how)


def suggest(head: bytes) -> str | None:
    """The ``format.encoding`` to declare for a file starting with ``head`` (None: cannot tell)."""
    return _suggest(detect(head))


def _suggest(seen: Evidence) -> str | None:
    if seen.encoding is None:
        return "utf-8" if seen.how == "ascii" else None
    if seen.encoding == "utf-8":
        return "utf-8"
    return seen.encoding[:6] if seen.how == "bom" else seen.encoding

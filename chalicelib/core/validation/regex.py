"""A contract ``pattern`` (Python ``re`` syntax and meaning) rewritten for RE2, or None when RE2 cannot
mean the same.

Patterns are written and checked (at contract parse) as Python regular expressions, and the
reference for what they match is ``re.fullmatch`` on ``str``. The engine runs them with RE2 (Arrow's
vectorized ``match_substring_regex``) where RE2 means the same thing, and with Python ``re`` once
per distinct value otherwise. Where the two differ:

- ``\\d \\D \\w \\W \\s \\S`` are Unicode-aware in Python and ASCII-only in RE2: they are rewritten as
  the explicit code-point ranges Python's own Unicode database gives them (RE2's ``\\p{…}`` tables
  may be of another Unicode version), computed once per process (~0.2 s) when first needed;
- ``\\Z`` is RE2's ``\\z``; ``\\uXXXX`` / ``\\UXXXXXXXX`` are ``\\x{…}``; ``x{,n}`` is ``x{0,n}`` (RE2 reads
  ``{,n}`` as text);
- no RE2 rewrite (Python it is): ``\\b \\B`` (Unicode word boundaries), case-insensitive matching (the
  two fold some characters differently), ``$`` before the end of the pattern (Python's ``$`` also
  matches before a final newline), negated classes inside a set (``[\\W…]``), ``[:`` inside a set (a
  POSIX class to RE2, plain characters to Python), ``\\N{…}``, and whatever RE2 rejects (look-arounds,
  back-references, possessive quantifiers, verbose mode, ``(?a)``, …).
"""

from __future__ import annotations

import functools
import re
import sys

NO_RE2 = set("bBN") | set("0123456789")  # word boundaries, named characters, back-references
_FLAGS_RE = re.compile(r"\(\?([a-zA-Z]+)[:)]")
_OPEN_REPEAT_RE = re.compile(r"\{,(\d+)\}")


@functools.cache
def python_classes() -> dict[str, str]:
    """The members of Python's ``\\d``, ``\\s`` and ``\\w`` as RE2 set contents (``\\x{30}-\\x{39}…``)."""
    everything = "".join(map(chr, range(sys.maxunicode + 1)))
    out = {}
    for code in "dsw":
        runs = [(m.start(), m.end() - 1) for m in re.finditer(f"\\{code}+", everything)]
        out[code] = "".join(f"\\x{{{a:x}}}" if a == b else f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in runs)
    return out


def _class(code: str, in_set: bool) -> str | None:
    """RE2 text for the escape ``\\<code>`` (d D s S w W Z), inside a set or not (None: not expressible)."""
    if code == "Z":
        return None if in_set else "\\z"
    members = python_classes()[code.lower()]
    if in_set:
        return members if code.islower() else None  # RE2 cannot negate inside a set
    return f"[{members}]" if code.islower() else f"[^{members}]"


def to_re2(pattern: str) -> str | None:
    """``pattern`` rewritten so RE2 matches what Python's ``re`` matches, or None (see module doc)."""
    if any("i" in flags or "x" in flags for flags in _FLAGS_RE.findall(pattern)):
        return None
    out: list[str] = []
    i, n = 0, len(pattern)
    first = -1  # inside a set: the index of its first member (a "]" there is a literal); else -1
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            piece = _escape(pattern, i, first >= 0) if i + 1 < n else None
            if piece is None:
                return None
            text, i = piece
            out.append(text)
            continue
        if first >= 0:
            if ch == "]" and i != first:
                first = -1
            elif ch == "[" and pattern.startswith("[:", i):
                return None
        elif ch == "[":
            first = i + 2 if pattern.startswith("[^", i) else i + 1
        elif ch == "$" and i != n - 1:
            return None
        elif ch == "{":
            repeat = _OPEN_REPEAT_RE.match(pattern, i)
            if repeat:
                out.append("{0," + repeat.group(1) + "}")
                i = repeat.end()
                continue
        out.append(ch)
        i += 1
    return "".join(out)


def _escape(pattern: str, i: int, in_set: bool) -> tuple[str, int] | None:
    """The RE2 text for the escape at ``i`` and the index after it (None: no RE2 equivalent)."""
    code = pattern[i + 1]
    if code in NO_RE2:
        return None
    if code in "dDsSwWZ":
        text = _class(code, in_set)
        return None if text is None else (text, i + 2)
    if code in "uU":
        width = 4 if code == "u" else 8
        digits = pattern[i + 2:i + 2 + width]
        if len(digits) != width or not all(c in "0123456789abcdefABCDEF" for c in digits):
            return None
        return "\\x{" + digits + "}", i + 2 + width
    return pattern[i:i + 2], i + 2

"""A contract ``pattern`` (Python ``re`` syntax and meaning) rewritten for RE2 — or the reason it cannot be.

Patterns are written as Python regular expressions, and the reference for what they match is
``re.fullmatch`` on ``str``. The engine runs them with RE2 only (Arrow's vectorized
``match_substring_regex``: linear time, so no value can make a check hang); a pattern RE2 cannot run
with exactly Python's meaning is refused when the contract is parsed (:func:`refusal`), naming the
construct. There is no Python ``re`` fallback: a backtracking matcher runs ``(a+)+(?=b)`` on 35
characters for minutes.

Rewritten exactly:

- ``\\d \\D \\w \\W \\s \\S`` are Unicode-aware in Python and ASCII-only in RE2: they become the explicit
  code-point ranges Python's own Unicode database gives them (RE2's ``\\p{…}`` tables may be of another
  Unicode version), computed once per process (~0.2 s) when first needed;
- ``\\Z`` is RE2's ``\\z``; ``\\uXXXX`` / ``\\UXXXXXXXX`` / ``\\N{NAME}`` are ``\\x{…}``; ``x{,n}`` is
  ``x{0,n}`` and ``x{,}`` is ``x{0,}`` (RE2 reads both as text); a ``[`` inside a set is ``\\[`` (RE2
  would read ``[:`` as a POSIX class); ``(?#…)`` comments are dropped;
- ``$`` where nothing but the ends of groups and alternatives follows is ``\\z`` (under fullmatch the
  value must end there, so Python's "or before a final newline" cannot apply).

Refused (the message names the construct): ``\\b \\B`` (Unicode word boundaries in Python, ASCII in
RE2), back-references (``\\1``, ``(?P=name)``) and octal escapes, look-arounds (``(?=``, ``(?!``,
``(?<=``, ``(?<!``), atomic groups ``(?>…)`` and possessive quantifiers (``a*+``), conditionals
``(?(1)…)``, the flags ``i`` (the two fold some characters differently), ``x``, ``a``, ``u``, ``L``, a
``$`` before more pattern, a negated class inside a set (``[\\W…]``), and whatever RE2 itself rejects
(repetition counts above 1000, programs too large).
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from dataclasses import dataclass

from chalicelib.core.errors import ConfigurationError

NO_RE2 = {"b": "\\b (a Unicode word boundary in Python, an ASCII one in RE2)",
          "B": "\\B (a Unicode word boundary in Python, an ASCII one in RE2)"}
SAFE_FLAGS = set("ms-")  # inline flags RE2 reads as Python does
_REPEAT_RE = re.compile(r"\{(\d*)(,?)(\d*)\}")
_NAMED_RE = re.compile(r"\\N\{([^}]*)\}")
GROUP_REFUSALS = (("(?=", "a look-ahead (?=…)"), ("(?!", "a negative look-ahead (?!…)"),
                  ("(?<=", "a look-behind (?<=…)"), ("(?<!", "a negative look-behind (?<!…)"),
                  ("(?P=", "a named back-reference (?P=…)"), ("(?>", "an atomic group (?>…)"),
                  ("(?(", "a conditional group (?(…)…)"))


@dataclass(frozen=True)
class Translation:
    """``re2``: the RE2 text (None when refused); ``problem``: why not, naming the construct."""

    re2: str | None
    problem: str | None = None


@functools.cache
def python_classes() -> dict[str, str]:
    """The members of Python's ``\\d``, ``\\s`` and ``\\w`` as RE2 set contents (``\\x{30}-\\x{39}…``)."""
    everything = "".join(map(chr, range(sys.maxunicode + 1)))
    out = {}
    for code in "dsw":
        runs = [(m.start(), m.end() - 1) for m in re.finditer(f"\\{code}+", everything)]
        out[code] = "".join(f"\\x{{{a:x}}}" if a == b else f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in runs)
    return out


def to_re2(pattern: str) -> str | None:
    """``pattern`` rewritten so RE2 matches what Python's ``re`` matches, or None (see module doc)."""
    return translate(pattern).re2


@functools.lru_cache(maxsize=256)
def translate(pattern: str) -> Translation:
    """``pattern`` for RE2, or the construct that stops it (see the module docstring)."""
    try:
        return Translation(_Translator(pattern).run())
    except _Refused as exc:
        return Translation(None, exc.args[0])


def anchored(pattern: str) -> str:
    """The RE2 text that fully matches ``pattern``; :class:`Unsupported` when it has none."""
    found = translate(pattern)
    if found.re2 is None:
        raise Unsupported(found.problem or "no RE2 equivalent")
    return f"\\A(?:{found.re2})\\z"


@functools.lru_cache(maxsize=256)
def refusal(pattern: str) -> str | None:
    """Why RE2 cannot run ``pattern`` with Python's meaning (None: it can). Compiles the rewrite with
    the engine's own RE2 (pyarrow), so RE2's limits (repetitions, program size) are caught here too."""
    try:
        text = anchored(pattern)
    except Unsupported as exc:
        return str(exc)
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        pc.match_substring_regex(pa.array([""], pa.string()), text)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        return "RE2 rejects it: " + str(exc).removeprefix("Invalid regular expression: ")[:200]
    return None


class Unsupported(ConfigurationError):
    """A pattern RE2 cannot run with Python's meaning. A parsed contract never holds one (it is refused
    there), so meeting one in the engine is a programming error, not bad input."""

    code = "pattern_unsupported"


class _Refused(Exception):
    pass


class _Translator:
    """One left-to-right pass over a pattern, emitting RE2 text or raising :class:`_Refused`."""

    def __init__(self, pattern: str) -> None:
        self.p = pattern
        self.out: list[str] = []
        self.first = -1  # inside a set: the index of its first member (a "]" there is a literal); else -1
        self.quantified = False  # the last token was a quantifier (a "+" after it is possessive)
        self.multiline = False

    def run(self) -> str:
        p, i = self.p, 0
        while i < len(p):
            if p[i] == "\\":
                i = self._escape(i)
            elif self.first >= 0:
                i = self._in_set(i)
            else:
                i = self._outside(i)
        return "".join(self.out)

    def _outside(self, i: int) -> int:
        p, ch = self.p, self.p[i]
        quantified, self.quantified = self.quantified, False
        if ch in "*+?":
            if quantified and ch == "+":
                raise _Refused(f"a possessive quantifier at position {i - 1} ({p[i - 1:i + 1]})")
            self.quantified = ch != "?" or not quantified  # "x*?" is lazy: no quantifier after it
            self.out.append(ch)
            return i + 1
        if ch == "(":
            return self._group(i)
        if ch == "[":
            self.first = i + 2 if p.startswith("[^", i) else i + 1
            self.out.append(p[i:self.first])
            return self.first
        if ch == "$":
            if i != len(p) - 1 and (self.multiline or not _final(p, i + 1)):
                raise _Refused(f"a $ before more pattern at position {i} (Python's $ also matches before "
                               "a final newline); end the pattern there or use \\n explicitly")
            self.out.append("$" if i == len(p) - 1 else "\\z")
            return i + 1
        if ch == "{":
            repeat = _REPEAT_RE.match(p, i)
            if repeat and (repeat.group(1) or repeat.group(2)):  # "{}" is text; "{,}" is "{0,}" in Python
                low = repeat.group(1) or "0"
                self.out.append("{" + low + repeat.group(2) + repeat.group(3) + "}")
                self.quantified = True
                return repeat.end()
        self.out.append(ch)
        return i + 1

    def _group(self, i: int) -> int:
        p = self.p
        for opener, what in GROUP_REFUSALS:
            if p.startswith(opener, i):
                raise _Refused(f"{what} at position {i}: RE2 has no equivalent")
        if p.startswith("(?#", i):
            end = p.find(")", i)
            return end + 1 if end >= 0 else len(p)
        if p.startswith("(?", i) and not p.startswith(("(?:", "(?P<"), i):
            flags = re.match(r"\(\?([a-zA-Z-]*)[:)]", p[i:])
            if flags is not None:
                bad = sorted(set(flags.group(1)) - SAFE_FLAGS)
                if bad:
                    raise _Refused(f"the inline flag {''.join(bad)!r} at position {i}: "
                                   + ("RE2 folds case differently from Python" if "i" in bad
                                      else "RE2 does not read it as Python does"))
                if "m" in flags.group(1).split("-")[0]:
                    self.multiline = True
        self.out.append("(")
        return i + 1

    def _in_set(self, i: int) -> int:
        ch = self.p[i]
        if ch == "]" and i != self.first:
            self.first = -1
        elif ch == "[":
            self.out.append("\\[")  # a literal "[" to Python; "[:" would open a POSIX class in RE2
            return i + 1
        self.out.append(ch)
        return i + 1

    def _escape(self, i: int) -> int:
        p, in_set = self.p, self.first >= 0
        self.quantified = False
        if i + 1 >= len(p):
            raise _Refused("a trailing backslash")
        code = p[i + 1]
        if code in NO_RE2:
            raise _Refused(f"{NO_RE2[code]} at position {i}")
        if code.isdigit():
            raise _Refused(f"a back-reference or octal escape (\\{code}) at position {i}")
        if code in "dDsSwWZ":
            self.out.append(_class(code, in_set, i))
            return i + 2
        if code in "uU":
            width = 4 if code == "u" else 8
            digits = p[i + 2:i + 2 + width]
            if len(digits) != width or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise _Refused(f"a malformed \\{code} escape at position {i}")
            self.out.append("\\x{" + p[i + 2:i + 2 + width] + "}")
            return i + 2 + width
        if code == "N":
            named = _NAMED_RE.match(p, i)
            if named is None:
                raise _Refused(f"a malformed \\N{{…}} at position {i}")
            self.out.append(f"\\x{{{ord(unicodedata.lookup(named.group(1))):x}}}")
            return named.end()
        self.out.append(p[i:i + 2])
        return i + 2


def _class(code: str, in_set: bool, i: int) -> str:
    """RE2 text for the escape ``\\<code>`` (d D s S w W Z), inside a set or not."""
    if code == "Z":
        return "\\z"  # Python refuses \Z inside a set, so this is outside one
    members = python_classes()[code.lower()]
    if in_set and code.isupper():
        raise _Refused(f"a negated class (\\{code}) inside a set at position {i}: RE2 cannot negate there")
    if in_set:
        return members
    return f"[{members}]" if code.islower() else f"[^{members}]"


def _final(p: str, i: int) -> bool:
    """True when, from ``i``, only the ends of groups and alternatives follow up to the end of ``p`` (so a
    match reaching ``i`` must end the value). A quantified group is not final (it may repeat)."""
    while i < len(p):
        ch = p[i]
        if ch == ")":
            if i + 1 < len(p) and p[i + 1] in "*+?{":
                return False
            i += 1
        elif ch == "|":
            i = _group_end(p, i)
        else:
            return False
    return True


def _group_end(p: str, i: int) -> int:
    """The index of the ``)`` closing the group that holds ``i`` (``len(p)`` at the top level)."""
    depth, in_set = 0, False
    while i < len(p):
        ch = p[i]
        if ch == "\\":
            i += 2
            continue
        if in_set:
            in_set = ch != "]"
        elif ch == "[":
            in_set = True
            if p.startswith("[]", i) or p.startswith("[^]", i):
                i += 2 if p[i + 1] == "]" else 3
                continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    return len(p)

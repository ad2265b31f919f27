"""No contract pattern can hang validation: every pattern runs with RE2 (linear time), and a pattern RE2
cannot run with Python's meaning is refused when the contract is parsed, naming the construct.

Issue 16: ``(a+)+(?=b)`` fell back to Python ``re``, which backtracks for minutes on 35-character values.
"""

from __future__ import annotations

import threading
import time

import pyarrow as pa
import pytest

from chalicelib.core.errors import ConfigurationError, InvalidInputError
from chalicelib.core.validation import regex
from chalicelib.core.validation.rules import pattern_mask
from tests.unit.validation.helpers import contract, rule, run


def refusal_message(pattern: str) -> str:
    with pytest.raises(InvalidInputError) as info:
        contract([{"name": "s", "type": "string", "pattern": pattern}])
    details = info.value.details
    assert isinstance(details, list) and [d["loc"] for d in details] == ["columns.0.pattern"]
    return str(details[0]["msg"])


@pytest.mark.parametrize(("pattern", "construct"), [
    ("(a+)+(?=b)", "look-ahead (?=…) at position 5"),
    ("a(?!b)", "negative look-ahead"),
    ("(?<=a)b", "look-behind (?<=…)"),
    ("(?<!a)b", "negative look-behind"),
    (r"(a)\1", r"back-reference or octal escape (\1)"),
    ("(?P<x>a)(?P=x)", "named back-reference"),
    (r"\bword\b", r"\b (a Unicode word boundary"),
    ("(?>a+)b", "atomic group"),
    ("a*+b", "possessive quantifier at position 1 (*+)"),
    ("a{2}+", "possessive quantifier"),
    ("(?i)köln", "inline flag 'i'"),
    ("(?x) a b", "inline flag 'x'"),
    ("(?a)\\w+", "inline flag 'a'"),
    ("a$\\n", "a $ before more pattern at position 1"),
    ("(a$|b)c", "a $ before more pattern"),
    (r"[\W_]", r"negated class (\W) inside a set"),
    ("(a)?(?(1)b|c)", "conditional group"),
    ("a{1001}", "RE2 rejects it: invalid repetition size: {1001}"),
])
def test_a_pattern_re2_cannot_run_exactly_is_refused_naming_the_construct(pattern, construct):
    message = refusal_message(pattern)
    assert "RE2 cannot run it with Python's meaning: " in message and construct in message


@pytest.mark.parametrize("pattern", [
    r"\d{3}-\w+", "(a+)+b", "a$|b$", "(?s).+", "(?m)^a$", r"x{,3}", r"[[:alpha:]]+", r"\N{EURO SIGN}\d+",
    "a(?#comment)b", r"(?P<n>a)b", r"[^\d\s]+", "colou?r", r"a\Z",
])
def test_patterns_with_an_exact_re2_rewrite_are_accepted(pattern):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # "[[" (a literal "[" to Python)
        contract([{"name": "s", "type": "string", "pattern": pattern}])
    assert regex.refusal(pattern) is None


def test_catastrophic_backtracking_patterns_run_in_linear_time(write):
    # (a+)+c on "aaa…ab" takes 2^35 steps in a backtracking matcher; RE2 answers at once
    path = write("a.csv", "s\n" + ("a" * 35 + "b\n") * 20_000)
    started = time.perf_counter()
    result = run(path, contract([{"name": "s", "type": "string", "pattern": "(a+)+c"}]))
    assert rule(result, "s.pattern")["failing_rows"] == 20_000
    assert time.perf_counter() - started < 10


def test_the_engine_never_falls_back_to_a_backtracking_matcher():
    # a pattern that reached the engine without the contract's check (e.g. built without validation)
    # is refused at once, not run with Python re: 35 characters would take minutes
    outcome: list[object] = []

    def check() -> None:
        try:
            outcome.append(pattern_mask(pa.array(["a" * 35]), "(a+)+(?=b)"))
        except ConfigurationError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=check, daemon=True)
    worker.start()
    worker.join(timeout=5)
    assert not worker.is_alive(), "the pattern check hung"
    assert isinstance(outcome[0], regex.Unsupported) and outcome[0].code == "pattern_unsupported"

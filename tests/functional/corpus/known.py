"""The issue 12 defects each corpus dataset shows on today's main, as pytest marks.

``checks.py`` tags each symptom with its defect number; a dataset listed here is
``xfail(strict=True, raises=KnownDefect)``: it fails as usual on any other symptom, and the strict mark
fails the run once the fixes land (remove the entry then).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.corpus.cases import Case
from tests.functional.corpus.checks import KnownDefect

# 2: the first version's gate does not check (or name) the guard rails against the baseline;
# 4: Model Monitor statistics with inverted buckets, violations that call the effect size "ks".
KNOWN: dict[str, tuple[int, ...]] = {}


def known_defects(*numbers: int) -> Any:
    return pytest.mark.xfail(strict=True, raises=KnownDefect,
                             reason="issue 12 defect " + ", ".join(map(str, numbers)))


def params(cases: tuple[Case, ...]) -> list[Any]:
    """One pytest param per case, id the dataset's name, marked with the known defects it shows."""
    return [pytest.param(case, id=case.name,
                         marks=[known_defects(*KNOWN[case.name])] if case.name in KNOWN else [])
            for case in cases]

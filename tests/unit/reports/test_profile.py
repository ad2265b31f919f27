"""Column profiles of the validation report: every column profiles, whatever its values."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=60, deadline=None)
@given(st.lists(st.datetimes(min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(2200, 1, 1)),
                min_size=1, max_size=40))
def test_a_temporal_column_profiles_whatever_its_spread(stamps):
    """Stamps microseconds apart once made numpy refuse "too many bins" (an upload then failed)."""
    import pandas as pd

    from chalicelib.core.reports.profile import _temporal

    out = _temporal(pd.Series(pd.to_datetime(stamps)))
    assert sum(out["histogram"]["counts"]) == len(stamps)


def _scrubbed_then_counted(values):
    """The reference: every value turned into its shown text (scrubbed, cut), then pandas' counts."""
    from chalicelib.core.reports.profile import MAX_VALUE_CHARS, TOP
    from chalicelib.core.validation.pii import scrub

    def shown(value):
        if isinstance(value, bool):
            return str(value).lower()
        text = scrub(value.isoformat() if hasattr(value, "isoformat") else str(value))
        return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS - 1] + "…"

    counts = values.map(shown).value_counts(sort=True).head(TOP)
    return [{"value": value, "count": int(count)} for value, count in counts.items()]


# texts that differ but show the same once scrubbed (e-mail, phone masks) or cut at 60 characters
_TEXTS = st.sampled_from(["a", "b", "c", "ann@example.org", "amy@example.org", "+49 30 1234567",
                          "+49 40 1234567", "x" * 70, "x" * 59 + "yz", "1", "True", "", " a"])
_COLUMNS = st.one_of(
    st.lists(_TEXTS, max_size=60).map(lambda v: ("object", v)),
    st.lists(_TEXTS, max_size=60).map(lambda v: ("str", v)),
    st.lists(_TEXTS, max_size=60).map(lambda v: ("category", v)),
    st.lists(st.integers(-3, 3), max_size=60).map(lambda v: ("int64", v)),
    st.lists(st.sampled_from([0.0, -0.0, 1.5, 2.0, float("inf")]), max_size=60).map(lambda v: ("float64", v)),
    st.lists(st.booleans(), max_size=60).map(lambda v: ("bool", v)),
    st.lists(st.sampled_from([1, True, "1", 1.0, "true", dt.date(2024, 1, 1), "2024-01-01"]),
             max_size=60).map(lambda v: ("object", v)),
    st.lists(st.sampled_from([dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 1, 0, 0, 1)]),
             max_size=60).map(lambda v: ("datetime64[us]", v)),
)


@settings(max_examples=150, deadline=None)
@given(_COLUMNS)
def test_top_values_are_those_of_every_value_scrubbed_then_counted(column):
    """Counting before scrubbing (only distinct values scrubbed) gives the same texts, counts and order
    as scrubbing every value, including values that show the same text only once masked or cut, and
    values Python holds equal but shows differently (0.0 and -0.0, 1 and True)."""
    import pandas as pd

    from chalicelib.core.reports.profile import _top

    dtype, values = column
    series = pd.Series(values, dtype=dtype if values or dtype != "object" else "object")
    assert _top(series) == _scrubbed_then_counted(series)

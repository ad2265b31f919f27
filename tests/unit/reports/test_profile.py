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

"""Axis ticks: nice value steps covering the data, calendar-aligned time ticks labelled as dates."""

import datetime as dt
import itertools
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.core.reports.ticks import nice_ticks, parse_instant, tick_label, time_ticks

UTC = dt.UTC
finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(finite, finite)
def test_value_ticks_cover_the_range_in_equal_nice_steps(a, b):
    lo, hi = min(a, b), max(a, b)
    ticks = nice_ticks(lo, hi, 5)
    step = ticks[1] - ticks[0]
    slack = 1e-9 * step  # far below a pixel
    assert ticks[0] <= lo + slack and ticks[-1] >= hi - slack
    assert 2 <= len(ticks) <= 12
    steps = {round(y - x, 9) for x, y in itertools.pairwise(ticks)}
    assert all(math.isclose(s, step, rel_tol=1e-6, abs_tol=1e-9) for s in steps)
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(math.isclose(mantissa, m, rel_tol=1e-6) for m in (1, 2, 2.5, 5, 10))


def test_value_tick_labels_carry_the_decimals_their_step_needs():
    assert [tick_label(v, [0, 0.25, 0.5]) for v in (0, 0.25, 0.5)] == ["0.00", "0.25", "0.50"]
    assert [tick_label(v, [0, 500, 1000]) for v in (0, 500, 1000)] == ["0", "500", "1,000"]
    assert nice_ticks(0.0, 0.93, 4) == [0.0, 0.25, 0.5, 0.75, 1.0]


@settings(max_examples=60, deadline=None)
@given(st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2040, 1, 1)),
       st.integers(min_value=60, max_value=5 * 365 * 86400), st.integers(min_value=2, max_value=10))
def test_time_ticks_fall_inside_the_range_aligned_to_their_unit(start, seconds, count):
    start = start.replace(tzinfo=UTC)
    end = start + dt.timedelta(seconds=seconds)
    ticks = time_ticks(start, end, count)
    assert 1 <= len(ticks) <= 2 * count + 1  # more than count only when a coarser unit has none
    for tick in ticks:
        assert start <= tick.at <= end or len(ticks) == 1
        assert tick.at.second == 0 and tick.at.microsecond == 0
        assert parse_instant(tick.iso) == tick.at
    moments = [t.at for t in ticks]
    assert moments == sorted(moments)
    gaps = {b - a for a, b in itertools.pairwise(moments)}
    if gaps and min(gaps) >= dt.timedelta(days=1) and min(gaps) < dt.timedelta(days=28):
        assert all(t.at.hour == 0 and t.at.minute == 0 for t in ticks)  # days start at midnight


def test_time_tick_labels_are_dates_and_times_of_day():
    start = dt.datetime(2026, 3, 4, 21, 10, tzinfo=UTC)
    ticks = time_ticks(start, start + dt.timedelta(hours=6), 6)
    assert [t.label for t in ticks] == ["Mar 04 22:00", "23:00", "Mar 05 00:00", "01:00", "02:00", "03:00"]
    days = time_ticks(start, start + dt.timedelta(days=20), 6)
    assert [t.label for t in days] == ["Mar 09", "Mar 16", "Mar 23"]  # Mondays
    months = time_ticks(start, start + dt.timedelta(days=400), 6)
    assert [t.label for t in months] == ["Apr 2026", "Jul 2026", "Oct 2026", "Jan 2027", "Apr 2027"]


def test_instants_parse_with_z_offsets_or_none():
    assert parse_instant("2026-03-05T12:00:00.000Z") == dt.datetime(2026, 3, 5, 12, tzinfo=UTC)
    assert parse_instant("2026-03-05T14:00:00+02:00") == dt.datetime(2026, 3, 5, 12, tzinfo=UTC)
    assert parse_instant("not a time") is None and parse_instant(None) is None

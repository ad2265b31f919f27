"""Axis ticks: "nice" numbers for value axes and calendar-aligned instants for time axes (pure).

Value ticks follow Heckbert's nice numbers (steps of 1, 2, 2.5 or 5 times a power of ten) covering the
data's range. Time ticks step by a calendar unit (minutes to years) chosen so that at most ``count``
ticks fall inside the range, aligned to that unit in UTC (midnights, month starts), so each label is a
real date or time of day rather than a check's ordinal.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

MINUTE, HOUR, DAY = 60, 3600, 86400
# (step in seconds, or months for the calendar steps) — smallest first
_SECOND_STEPS = (MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR,
                 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY)
_MONTH_STEPS = (1, 3, 6, 12, 24, 60)


def nice_step(span: float, count: int) -> float:
    """A step of 1, 2, 2.5 or 5 times 10^k giving at most about ``count`` intervals over ``span``."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(1, count)
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= raw:
            return factor * power
    return 10 * power  # pragma: no cover - the loop always returns


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Ticks from a multiple of the step at or below ``lo`` to one at or above ``hi`` (both included)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    step = nice_step(hi - lo, count)
    first = math.floor(lo / step + 1e-9) * step
    ticks = []
    value = first
    while value < hi - 1e-9 * step:
        ticks.append(_clean(value, step))
        value += step
    ticks.append(_clean(value, step))
    return ticks


def _clean(value: float, step: float) -> float:
    """``value`` rounded to the step's decimals (0.30000000000000004 → 0.3)."""
    decimals = max(0, -math.floor(math.log10(step)) + 2)
    return round(value, decimals) + 0.0


def tick_label(value: float, ticks: list[float]) -> str:
    """``value`` with the decimals the ticks' step needs (steps of 0.25 read 0.25, 0.50, 0.75)."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    decimals = next((d for d in range(7) if abs(round(step, d) - step) < 1e-9 * max(1.0, step)), 6)
    return f"{value:,.{decimals}f}"


@dataclass(frozen=True)
class TimeTick:
    at: dt.datetime  # UTC
    label: str  # what the axis shows
    iso: str  # the full instant (for the tick's tooltip and tests)


def time_ticks(start: dt.datetime, end: dt.datetime, count: int = 6) -> list[TimeTick]:
    """Calendar-aligned ticks inside ``[start, end]`` (UTC), at most ``count`` of them (at least one).

    Labels show the date (``Mar 05``) for steps of a day or more, ``HH:MM`` within a day with the date
    added on the first tick and wherever the day changes; month steps show ``Mar 2026``.
    """
    start, end = _utc(start), _utc(end)
    if end < start:
        start, end = end, start
    finer: tuple[list[dt.datetime], int] | None = None
    for step in _SECOND_STEPS:
        moments = _aligned(start, end, step)
        if len(moments) > count:
            finer = (moments, step)
            continue
        if moments:
            return _labelled(moments, step)
        break  # this step is coarser than the range: the finer one, though it has a tick too many
    else:
        months = _month_ticks(start, end, count)
        if months:
            return months
    if finer is not None:
        return _labelled(*finer)
    # less than a minute: one tick at the start, to the second
    return [TimeTick(start, f"{start:%b %d %H:%M:%S}", start.strftime("%Y-%m-%dT%H:%M:%SZ"))]


def _aligned(start: dt.datetime, end: dt.datetime, step: int) -> list[dt.datetime]:
    """The multiples of ``step`` seconds since the epoch inside the range (UTC midnights for days; weeks
    counted from a Monday)."""
    epoch = dt.datetime(1970, 1, 5 if step % (7 * DAY) == 0 else 1, tzinfo=dt.UTC)
    first = math.ceil((start - epoch) / dt.timedelta(seconds=step))
    span = (end - start).total_seconds()
    moments = [epoch + dt.timedelta(seconds=(first + i) * step) for i in range(int(span // step) + 2)]
    return [m for m in moments if start <= m <= end]


def _labelled(moments: list[dt.datetime], step: int) -> list[TimeTick]:
    ticks, day = [], None
    for moment in moments:
        if step >= DAY:
            label = f"{moment:%b %d}"
        elif moment.date() != day:
            label = f"{moment:%b %d %H:%M}"
        else:
            label = f"{moment:%H:%M}"
        day = moment.date()
        ticks.append(TimeTick(moment, label, moment.strftime("%Y-%m-%dT%H:%M:%SZ")))
    return ticks


def _month_ticks(start: dt.datetime, end: dt.datetime, count: int) -> list[TimeTick]:
    """Month starts every 1, 3, 6, 12, 24 or 60 months (aligned to the year): the coarsest step with at
    most ``count`` ticks in the range, or the finest with more when a coarser one has none."""
    finer: list[TimeTick] = []
    for step in _MONTH_STEPS:
        index = start.year * 12 + start.month - 1
        index += -index % step
        if _month(index) < start:
            index += step
        ticks = []
        while _month(index) <= end:
            moment = _month(index)
            ticks.append(TimeTick(moment, f"{moment:%b %Y}", moment.strftime("%Y-%m-%dT%H:%M:%SZ")))
            index += step
        if 0 < len(ticks) <= count:
            return ticks
        if not ticks:
            break
        finer = ticks
    return finer


def _month(index: int) -> dt.datetime:
    return dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=dt.UTC)


def parse_instant(value: object) -> dt.datetime | None:
    """An ISO-8601 timestamp (``Z`` or offset; naive means UTC) as an aware UTC datetime, or None."""
    if isinstance(value, dt.datetime):
        return _utc(value)
    if not isinstance(value, str) or not value:
        return None
    try:
        return _utc(dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)

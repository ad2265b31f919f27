"""The house timestamp: ISO-8601 UTC with milliseconds and ``Z`` (``2026-11-26T16:33:47.123Z``).

One convention for APIs, reports, DynamoDB items and S3 keys; naive datetimes are read as UTC.
"""

from __future__ import annotations

import datetime as dt


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime | None = None) -> str:
    """``moment`` (default: now) in the house format."""
    moment = moment or utc_now()
    moment = moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

"""What ``sluice query`` checks before either engine runs a query, and its errors (pure).

Both engines get the SQL text unchanged; the local engine (DuckDB) refuses what Athena would refuse
about sluice's tables, so a query that runs locally also runs deployed: a table that does not exist,
and a query on ``sluice_captures`` that does not name the model (its ``model`` partition is injected:
Athena cannot enumerate models, so it needs ``WHERE model = '…'`` or ``model IN (…)``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from chalicelib.core.errors import BadRequestError, NotFoundError, SluiceError
from chalicelib.core.sql_tables import BY_NAME

# Athena (Trino) functions the local engine defines on DuckDB, so the documented queries run on both.
TRINO_MACROS = {
    # '2026-11-26T16:33:47.123Z' → timestamp with time zone (DuckDB's cast reads ISO-8601 with Z)
    "from_iso8601_timestamp": "CREATE MACRO from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ)",
}


class QueryError(BadRequestError):
    """The engine refused the SQL; the message is the engine's."""

    code = "sql_error"


class UnknownTableError(NotFoundError):
    code = "unknown_table"


class PartitionFilterMissingError(BadRequestError):
    code = "partition_filter_missing"


class NoStackError(SluiceError):
    """Neither a local stack nor a deployed one to query."""

    status = 400
    code = "no_stack"


def check_tables(referenced: Iterable[str], known: Iterable[str]) -> None:
    """:class:`UnknownTableError` naming each table the query reads that neither engine holds."""
    names = set(known)
    missing = sorted(t for t in referenced if t.lower() not in names)
    if missing:
        raise UnknownTableError(
            f"unknown table{'s' if len(missing) > 1 else ''} {', '.join(missing)}; the tables are: "
            f"{', '.join(sorted(names))}", details={"tables": sorted(names)})


def check_injected(sql: str, referenced: Iterable[str]) -> None:
    """:class:`PartitionFilterMissingError` when the query reads a table with an injected partition
    without an equality (or IN) on it, which Athena refuses."""
    for name in referenced:
        definition = BY_NAME.get(name.lower())
        for partition in definition.injected if definition else ():
            if not re.search(rf"\b{partition}\b\s*(=|\bin\b)", sql, re.IGNORECASE):
                raise PartitionFilterMissingError(
                    f"{definition.name if definition else name} is partitioned by {partition}, which Athena "
                    f"cannot enumerate: name it (WHERE {partition} = '...' or {partition} IN ('...', ...))")


def injected_values(sql: str, partition: str) -> set[str] | None:
    """The literal values ``sql`` compares ``partition`` with (``= 'x'``, ``IN ('x', 'y')``), to read only
    their objects; None when it does not say plainly (then every object is read)."""
    found: set[str] = set()
    for match in re.finditer(rf"\b{partition}\b\s*(=\s*'([^']*)'|\bin\b\s*\(([^)]*)\))", sql, re.IGNORECASE):
        if match[2] is not None:
            found.add(match[2])
            continue
        items = [i.strip() for i in match[3].split(",")]
        if not all(re.fullmatch(r"'[^']*'", i) for i in items):
            return None
        found.update(i[1:-1] for i in items)
    return found or None

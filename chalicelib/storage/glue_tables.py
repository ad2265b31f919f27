"""Which dataset owns each Glue table name: ``col-x`` and ``col_x`` both map to table ``col_x``
(Athena names allow lowercase letters, digits and '_'), so the first dataset to store a contract claims
the name and a second one is refused, instead of both writing into one table and merging its columns.

Item ``GLUETABLE#{table}`` / ``META``: ``dataset`` (the owner), ``claimed_at``. Datasets older than the
claims own their table through their ``META`` item: the first claim of a name looks for them.
"""

from __future__ import annotations

from chalicelib.core.datasets.errors import GlueTableTakenError
from chalicelib.core.datasets.names import now_iso
from chalicelib.storage import layout
from chalicelib.storage import table as state

RESERVED_PREFIX = "sluice_"  # sluice's own SQL tables (chalicelib/core/sql_tables.py), now and later


def claim_table_of(dataset: str) -> str:
    """The Glue table name of ``dataset``, claimed for it; :class:`GlueTableTakenError` when another
    dataset holds that name, or when it is reserved for sluice's own tables (``sluice_…``)."""
    table = layout.glue_table_name(dataset)
    if table.startswith(RESERVED_PREFIX):
        raise GlueTableTakenError(
            f"dataset {dataset!r} would have the Glue table {table!r}: names starting {RESERVED_PREFIX!r} "
            "are reserved for sluice's own tables (captures, labels, checks, validations); choose another "
            "name",
            details={"table": table, "dataset": None})
    holder = owner(table) or _claim(table, _existing_twin(dataset, table) or dataset)
    if holder != dataset:
        raise GlueTableTakenError(
            f"dataset {dataset!r} would share the Glue table {table!r} with dataset {holder!r} (Athena "
            "names allow only lowercase letters, digits and '_'); choose another name",
            details={"table": table, "dataset": holder})
    return table


def owner(table: str) -> str | None:
    """The dataset that claimed ``table``, or None."""
    item = state.table().get_item(Key={"pk": layout.glue_table_pk(table), "sk": layout.META},
                                  ConsistentRead=True).get("Item")
    return str(item["dataset"]) if item else None


def _claim(table: str, dataset: str) -> str:
    """Claim ``table`` for ``dataset`` unless someone already holds it (a race): the owner after it."""
    written = state.conditional(lambda: state.table().put_item(
        Item={"pk": layout.glue_table_pk(table), "sk": layout.META, "dataset": dataset,
              "claimed_at": now_iso()},
        ConditionExpression="attribute_not_exists(pk)"))
    return dataset if written is not None else (owner(table) or dataset)


def _existing_twin(dataset: str, table: str) -> str | None:
    """Another dataset, stored before claims existed, whose name maps to ``table``."""
    from chalicelib.storage.datasets import list_datasets

    start = None
    while True:
        page, start = list_datasets(limit=100, start_key=start)
        for summary in page:
            name = str(summary.get("dataset") or "")
            if name and name != dataset and layout.glue_table_name(name) == table:
                return name
        if start is None:
            return None

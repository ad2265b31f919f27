"""The reconciler's reads and its audit log, in the state table.

- ``pk = OPS``, ``sk = AUDIT#{iso time}#{id}``: one record per action the reconciler (or a person
  through ``sluice ops``) took — insert only, like the registry's audit log; actions on a model are
  also in that model's audit log.
- upload processing claims (``DATASET#{d}`` / ``OBJECT#…``, written by the upload path) and once-only
  check claims (``MODEL#{m}`` / ``CLAIM#…``, written by monitoring): read only.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from chalicelib.core.clock import iso
from chalicelib.core.paging import PageKey
from chalicelib.storage import table as state
from chalicelib.storage.layout import (
    AUDIT_PREFIX,
    DATASETS_INDEX_PK,
    audit_sk,
    claim_sk,
    dataset_pk,
    model_pk,
    object_sk,
)

OPS_PK = "OPS"  # the reconciler's partition (layout.py's table should list it)


def append_audit(record: dict[str, Any]) -> dict[str, Any]:
    """Insert one audit record (never overwrites); returns it with its ``at`` and ``id``."""
    at = iso()
    record = {**record, "at": at, "id": f"{time.time_ns():019d}{uuid.uuid4().hex[:8]}"}
    item = {"pk": OPS_PK, "sk": audit_sk(at, record["id"]), "type": "audit", **record}
    state.table().put_item(Item=state.to_dynamo(item), ConditionExpression="attribute_not_exists(pk)")
    return record


def list_audit(*, limit: int, start_key: PageKey | None = None
               ) -> tuple[list[dict[str, Any]], PageKey | None]:
    """The reconciler's audit log, newest first, one page."""
    from boto3.dynamodb.conditions import Key

    items, last = state.query_page(Key("pk").eq(OPS_PK) & Key("sk").begins_with(AUDIT_PREFIX), limit=limit,
                                   start_key=start_key, forward=False)
    hidden = ("pk", "sk", "type")
    return [{k: v for k, v in state.plain_item(i).items() if k not in hidden} for i in items], last


def dataset_names() -> list[str]:
    """Every dataset (the datasets index; paged to the end)."""
    from boto3.dynamodb.conditions import Key

    return [str(i["gsi1sk"]) for i in state.query_all(Key("gsi1pk").eq(DATASETS_INDEX_PK), index=state.GSI1)]


def claims_in_progress(dataset: str) -> list[dict[str, Any]]:
    """The dataset's upload processing claims still ``in_progress`` (a Query with a filter)."""
    from boto3.dynamodb.conditions import Attr, Key

    condition = Key("pk").eq(dataset_pk(dataset)) & Key("sk").begins_with(object_sk(""))
    items = state.query_all(condition, FilterExpression=Attr("status").eq("in_progress"))
    return [state.plain_item(i) for i in items]


def check_claims_running(model: str) -> list[dict[str, Any]]:
    """The model's once-only check claims still ``running`` (a Query with a filter); ``sk`` kept."""
    from boto3.dynamodb.conditions import Attr, Key

    condition = Key("pk").eq(model_pk(model)) & Key("sk").begins_with(claim_sk(""))
    items = state.query_all(condition, FilterExpression=Attr("status").eq("running"))
    return [state.plain_item(i) for i in items]

"""The reconciler's reads and its audit log, in the state table.

- ``pk = OPS#AUDIT``, ``sk = AUDIT#{iso time}#{id}``: one record per action the reconciler (or a person
  through ``sluice ops``) took — insert only, like the registry's audit log (a partition IAM makes
  insert-only, layout.py); actions on a model are also in that model's audit log. Records written before
  the log had a partition of its own (``pk = OPS``) are read with the new ones, never written.
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
    LEGACY_OPS_AUDIT_PK,
    OPS_AUDIT_PK,
    audit_sk,
    claim_sk,
    dataset_pk,
    model_pk,
    object_sk,
)

OPS_PK = OPS_AUDIT_PK  # the reconciler's log (continuation tokens of GET /ops/audit name it)


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
    start = state.check_token(start_key, pk=OPS_PK, prefix=AUDIT_PREFIX)
    items, last = state.newest_across([OPS_PK, LEGACY_OPS_AUDIT_PK], AUDIT_PREFIX, limit=limit,
                                      after=str(start["sk"]) if start else None)
    hidden = ("pk", "sk", "type")
    return ([{k: v for k, v in state.plain_item(i).items() if k not in hidden} for i in items],
            {"pk": OPS_PK, "sk": last} if last else None)


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

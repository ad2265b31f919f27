"""Monitoring state in the state table.

Keys (all under the model's partition, pk ``MODEL#{model}``):

- ``CHECK#{iso time}#{id}``: one drift or performance check's summary (history, newest first);
- ``CLAIM#{id}``: an event-driven check (labels object, new dataset version) taken once, so an S3
  event or asynchronous invocation delivered twice checks, alerts and retrains once.

Retraining's single flight and cooldown live with the runs (:mod:`chalicelib.storage.runs`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from boto3.dynamodb.conditions import Key

from chalicelib.core.errors import NotFoundError
from chalicelib.core.paging import PageKey
from chalicelib.storage.layout import CHECK_PREFIX, check_sk, claim_sk, model_pk
from chalicelib.storage.table import Item, QueryOptions, conditional, plain_item, query_page, table, to_dynamo


def put_check(model: str, summary: Mapping[str, Any]) -> None:
    """Store a check summary (``summary`` has ``check_id`` and ``checked_at``)."""
    item = {"pk": model_pk(model), "sk": check_sk(summary["checked_at"], summary["check_id"]),
            **to_dynamo(summary)}
    table().put_item(Item=item)


def list_checks(model: str, *, limit: int, start_key: PageKey | None = None,
                kind: str | None = None) -> tuple[list[Item], PageKey | None]:
    """Checks newest first (optionally only ``kind`` = drift | performance)."""
    extra: QueryOptions = {}
    if kind:
        extra = {"FilterExpression": "#k = :k", "ExpressionAttributeNames": {"#k": "kind"},
                 "ExpressionAttributeValues": {":k": kind}}
    items, last = query_page(Key("pk").eq(model_pk(model)) & Key("sk").begins_with(CHECK_PREFIX), limit=limit,
                             start_key=start_key, forward=False, **extra)
    return [_plain(item) for item in items], last


def get_check(model: str, check_id: str, checked_at: str) -> Item:
    item = table().get_item(Key={"pk": model_pk(model), "sk": check_sk(checked_at, check_id)}).get("Item")
    if not item:
        raise NotFoundError(f"no check {check_id} for model {model!r}", code="check_not_found")
    return _plain(item)


def claim_check(model: str, check_id: str, lease_seconds: int = 900) -> bool:
    """Take the check ``check_id`` unless it is done or another attempt holds a live lease."""
    import time

    now = int(time.time())
    return conditional(lambda: table().put_item(
            Item={"pk": model_pk(model), "sk": claim_sk(check_id), "status": "running",
                  "lease_until": now + lease_seconds, "expires_at": now + 30 * 24 * 3600},
            ConditionExpression="attribute_not_exists(sk) OR (#s = :running AND lease_until < :now)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":running": "running", ":now": now})) is not None


def finish_claim(model: str, check_id: str) -> None:
    table().update_item(Key={"pk": model_pk(model), "sk": claim_sk(check_id)},
                        UpdateExpression="SET #s = :done", ExpressionAttributeNames={"#s": "status"},
                        ExpressionAttributeValues={":done": "done"})


def release_claim(model: str, check_id: str) -> None:
    """Give a failed attempt's claim back so the retry runs."""
    table().delete_item(Key={"pk": model_pk(model), "sk": claim_sk(check_id)})


def once[R](model: str, check_id: str, work: Callable[[], R], duplicate: R) -> R:
    """``work()`` under the claim ``check_id``: ``duplicate`` when another attempt took it; a failed
    attempt gives the claim back so the retry runs."""
    if not claim_check(model, check_id):
        return duplicate
    try:
        result = work()
    except Exception:
        release_claim(model, check_id)
        raise
    finish_claim(model, check_id)
    return result


def _plain(item: Item) -> Item:
    return {k: v for k, v in plain_item(item).items() if k not in ("pk", "sk")}

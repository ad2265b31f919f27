"""The state table: one DynamoDB table, ``pk``/``sk`` keys and one index ``gsi1`` (``gsi1pk``/``gsi1sk``).

Each feature owns its key prefixes (documented in its store module). Helpers here do what every
store needs: an atomic counter for version numbers and one page of a Query.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypedDict, Unpack, cast

from chalicelib.core.errors import BadRequestError
from chalicelib.core.paging import PageKey
from chalicelib.core.settings import Settings, get_settings
from chalicelib.storage.clients import resource
from chalicelib.storage.layout import counter_sk

if TYPE_CHECKING:
    from boto3.dynamodb.conditions import ConditionBase
    from mypy_boto3_dynamodb.service_resource import Table

# One item as boto3's resource API reads it: str, Decimal, bool, bytes, sets, lists and maps. Its shape
# depends on the item's key (layout.py); each store reads the attributes it wrote.
Item = dict[str, Any]


class QueryOptions(TypedDict, total=False):
    """The Query parameters a store may add to :func:`query_page`'s."""

    ConsistentRead: bool
    FilterExpression: ConditionBase | str
    ExpressionAttributeNames: dict[str, str]
    ExpressionAttributeValues: dict[str, object]

GSI1 = "gsi1"
CONDITION_FAILED = "ConditionalCheckFailedException"


def table(settings: Settings | None = None) -> Table:
    """The boto3 ``Table`` resource of the state table."""
    settings = settings or get_settings()
    return resource("dynamodb", settings).Table(settings.table)


def condition_failed(exc: BaseException) -> bool:
    """Whether ``exc`` is DynamoDB refusing a write because its condition did not hold (the one test
    of it: boto3's per-client exception classes and a plain ``ClientError`` both carry the code)."""
    response = getattr(exc, "response", None) or {}
    code: object = response.get("Error", {}).get("Code")
    return code == CONDITION_FAILED


def conditional[T](write: Callable[[], T]) -> T | None:
    """Run one conditional write: its response, or None when its condition did not hold."""
    try:
        return write()
    except Exception as exc:
        if condition_failed(exc):
            return None
        raise


def next_number(pk: str, counter: str, settings: Settings | None = None) -> int:
    """Atomically increment the counter item ``(pk, COUNTER#counter)`` and return the new value.

    Concurrent callers always get distinct numbers (an ``ADD`` update is atomic).
    """
    out = table(settings).update_item(
        Key={"pk": pk, "sk": counter_sk(counter)},
        UpdateExpression="ADD #n :one",
        ExpressionAttributeNames={"#n": "value"},
        ExpressionAttributeValues={":one": 1},
        ReturnValues="UPDATED_NEW",
    )
    return as_int(out["Attributes"]["value"])


def as_int(value: object) -> int:
    """A number attribute of an item (boto3 reads numbers as Decimal) as an int."""
    return int(cast("Decimal | int | str", value))


def query_page(key_condition: ConditionBase, *, limit: int, start_key: PageKey | None = None,
               index: str | None = None, forward: bool = True, settings: Settings | None = None,
               **kwargs: Unpack[QueryOptions]) -> tuple[list[Item], PageKey | None]:
    """One page of a Query: the items and the ``LastEvaluatedKey`` to continue from (or None)."""
    params: dict[str, Any] = {"KeyConditionExpression": key_condition, "Limit": limit,
                              "ScanIndexForward": forward, **kwargs}
    if index:
        params["IndexName"] = index
    if start_key:
        _check_start_key(start_key, index)
        params["ExclusiveStartKey"] = start_key
    state = table(settings)
    try:
        out = state.query(**params)
    except state.meta.client.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] == "ValidationException" and start_key:
            raise BadRequestError("next_token does not belong to this listing",
                                  code="invalid_token") from exc
        raise
    # the table's and the index's keys are strings (AttributeType S in the template)
    return out.get("Items", []), cast("PageKey | None", out.get("LastEvaluatedKey"))


def query_all(key_condition: ConditionBase, *, index: str | None = None, page_size: int = 100,
              **kwargs: Unpack[QueryOptions]) -> list[Item]:
    """Every item a Query matches, page after page (for the reconciler's sweeps, not for listings)."""
    found: list[Item] = []
    start: PageKey | None = None
    while True:
        items, start = query_page(key_condition, limit=page_size, start_key=start, index=index, **kwargs)
        found.extend(items)
        if not start:
            return found


def newest_across(partitions: list[str], prefix: str, *, limit: int, after: str | None = None,
                  settings: Settings | None = None) -> tuple[list[Item], str | None]:
    """One page, newest first (``sk`` descending), of the items whose ``sk`` starts with ``prefix`` in
    several partitions taken as one listing (a log whose records moved to a new partition and whose old
    records stay where they were); ``after``: the ``sk`` the previous page ended with (``sk`` values are
    unique across the partitions). Returns the items and the ``sk`` to continue after, or None.

    One Query per partition (``sk BETWEEN prefix AND after``, ``limit + 2`` items: the one at ``after``
    itself and one more tell whether a next page exists), merged.
    """
    from boto3.dynamodb.conditions import Key

    found: list[Item] = []
    for pk in partitions:
        condition = Key("pk").eq(pk) & (Key("sk").between(prefix, after) if after else
                                        Key("sk").begins_with(prefix))
        items, _ = query_page(condition, limit=limit + 2, forward=False, settings=settings)
        found += [i for i in items if i["sk"] != after]
    found.sort(key=lambda i: str(i["sk"]), reverse=True)
    page = found[:limit]
    return page, (str(page[-1]["sk"]) if len(found) > limit else None)


def _check_start_key(start_key: Mapping[str, object], index: str | None) -> None:
    """A continuation token must be a key of this table (and index) we could have issued."""
    expected = {"pk", "sk"} | ({f"{index}pk", f"{index}sk"} if index else set())
    if set(start_key) != expected or not all(isinstance(v, str) for v in start_key.values()):
        raise BadRequestError("next_token does not belong to this listing", code="invalid_token")


def to_plain(value: object) -> Any:
    """DynamoDB's Decimals back to int/float, recursively (for JSON responses)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_plain(v) for v in value]
    return value


def plain_item(item: Mapping[str, object]) -> Item:
    """:func:`to_plain` of one item (an item stays a mapping)."""
    return cast(Item, to_plain(item))


def to_dynamo(value: object) -> Any:
    """Floats to Decimals, recursively (DynamoDB rejects floats).

    NaN, ±inf and magnitudes beyond DynamoDB's range (1e126) become None; magnitudes below its
    smallest (1e-130), such as a p-value of 1e-293, become 0.
    """
    import math

    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value) or abs(value) >= 1e126:
            return None
        return Decimal(0) if abs(value) < 1e-130 else Decimal(repr(value))
    if isinstance(value, dict):
        return {k: to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_dynamo(v) for v in value]
    return value


def check_token(token: object, *, pk: str, prefix: str, index_pk: str | None = None) -> PageKey | None:
    """``token`` if it is a key of this listing; a 400 ``invalid_token`` otherwise."""
    if token is None:
        return None
    if not _is_listing_key(token, pk=pk, prefix=prefix, index_pk=index_pk):
        raise BadRequestError("next_token does not belong to this listing", code="invalid_token")
    return cast(PageKey, token)


def _is_listing_key(token: object, *, pk: str, prefix: str, index_pk: str | None) -> bool:
    if not isinstance(token, dict):
        return False
    sk = token.get("sk")
    ok = bool(token.get("pk", "")) and isinstance(sk, str) and sk.startswith(prefix)
    if index_pk is None:
        return ok and token.get("pk") == pk
    return ok and token.get("gsi1pk") == index_pk and isinstance(token.get("gsi1sk"), str)

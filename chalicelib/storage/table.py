"""The state table: one DynamoDB table, ``pk``/``sk`` keys and one index ``gsi1`` (``gsi1pk``/``gsi1sk``).

Each feature owns its key prefixes (documented in its store module). Helpers here do what every
store needs: an atomic counter for version numbers and one page of a Query.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.core.errors import BadRequestError
from chalicelib.core.settings import Settings, get_settings
from chalicelib.storage.clients import resource
from chalicelib.storage.layout import counter_sk

GSI1 = "gsi1"
CONDITION_FAILED = "ConditionalCheckFailedException"


def table(settings: Settings | None = None) -> Any:
    """The boto3 ``Table`` resource of the state table."""
    settings = settings or get_settings()
    return resource("dynamodb", settings).Table(settings.table)


def condition_failed(exc: BaseException) -> bool:
    """Whether ``exc`` is DynamoDB refusing a write because its condition did not hold (the one test
    of it: boto3's per-client exception classes and a plain ``ClientError`` both carry the code)."""
    response = getattr(exc, "response", None) or {}
    return response.get("Error", {}).get("Code") == CONDITION_FAILED


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
    return int(out["Attributes"]["value"])


def query_page(key_condition: Any, *, limit: int, start_key: dict[str, Any] | None = None,
               index: str | None = None, forward: bool = True, settings: Settings | None = None,
               **kwargs: Any) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
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
    return out.get("Items", []), out.get("LastEvaluatedKey")


def _check_start_key(start_key: dict[str, Any], index: str | None) -> None:
    """A continuation token must be a key of this table (and index) we could have issued."""
    expected = {"pk", "sk"} | ({f"{index}pk", f"{index}sk"} if index else set())
    if set(start_key) != expected or not all(isinstance(v, str) for v in start_key.values()):
        raise BadRequestError("next_token does not belong to this listing", code="invalid_token")


def to_plain(value: Any) -> Any:
    """DynamoDB's Decimals back to int/float, recursively (for JSON responses)."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_plain(v) for v in value]
    return value


def to_dynamo(value: Any) -> Any:
    """Floats to Decimals, recursively (DynamoDB rejects floats).

    NaN, ±inf and magnitudes beyond DynamoDB's range (1e126) become None; magnitudes below its
    smallest (1e-130), such as a p-value of 1e-293, become 0.
    """
    import math
    from decimal import Decimal

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


def check_token(token: dict[str, Any] | None, *, pk: str, prefix: str,
                index_pk: str | None = None) -> dict[str, Any] | None:
    """``token`` if it is a key of this listing; a 400 ``invalid_token`` otherwise."""
    if token is None:
        return None
    ok = (isinstance(token, dict) and token.get("pk", "") and isinstance(token.get("sk"), str)
          and token["sk"].startswith(prefix))
    if index_pk is None:
        ok = ok and token.get("pk") == pk
    else:
        ok = ok and token.get("gsi1pk") == index_pk and isinstance(token.get("gsi1sk"), str)
    if not ok:
        raise BadRequestError("next_token does not belong to this listing", code="invalid_token")
    return token

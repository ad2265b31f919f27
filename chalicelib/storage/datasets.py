"""DynamoDB store of the dataset service: contracts, dataset versions, processing claims.

Under the dataset's partition ``DATASET#{dataset}`` (keys: :mod:`chalicelib.storage.layout`): the
summary (``META``, indexed to list datasets), contract versions (full JSON in ``contract_json``; never
overwritten), dataset versions with their lineage, one processing claim per raw object version
(bucket/key/version id/ETag) and the contract and version counters. Every read on a hot path is a
GetItem or a Query; nothing scans.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, TypedDict, cast

from chalicelib.core.datasets.errors import ContractNotFoundError, DatasetVersionNotFoundError
from chalicelib.core.datasets.names import now_iso
from chalicelib.core.datasets.types import PASSED, Claim, DatasetVersion, StoredContract
from chalicelib.core.paging import PageKey
from chalicelib.storage import table as state
from chalicelib.storage.layout import (
    CONTRACT_PREFIX,
    DATASETS_INDEX_PK,
    META,
    VERSION_PREFIX,
    contract_sk,
    dataset_pk,
    object_sk,
    version_sk,
)

if TYPE_CHECKING:
    from chalicelib.core.validation.contract import Contract

IN_PROGRESS = "in_progress"
COMPLETE = "complete"


class DatasetSummary(TypedDict):
    """A dataset's ``META`` item as listed: its latest contract and version numbers."""

    dataset: str
    created_at: str
    updated_at: str
    latest_contract_version: int | None
    latest_version: int | None
    latest_status: str | None


# ---- datasets ----------------------------------------------------------------------------------


def _raise_to(dataset: str, attribute: str, value: int, **also: object) -> None:
    """Set ``META.attribute`` to ``value`` unless it is already higher (out-of-order writers)."""
    now = now_iso()
    names = {"#a": attribute, **{f"#x{i}": k for i, k in enumerate(also)}}
    values = {":v": value, ":now": now, ":ds": dataset, ":gpk": DATASETS_INDEX_PK,
              **{f":x{i}": v for i, v in enumerate(also.values())}}
    extra = "".join(f", #x{i} = :x{i}" for i in range(len(also)))
    try:
        state.table().update_item(
            Key={"pk": dataset_pk(dataset), "sk": META},
            UpdateExpression=("SET #a = :v, updated_at = :now, created_at = if_not_exists(created_at, :now), "
                              f"dataset = :ds, gsi1pk = :gpk, gsi1sk = :ds{extra}"),
            ConditionExpression="attribute_not_exists(#a) OR #a < :v",
            ExpressionAttributeNames=names, ExpressionAttributeValues=state.to_dynamo(values),
        )
    except Exception as exc:
        if not state.condition_failed(exc):
            raise


def get_dataset(dataset: str) -> DatasetSummary | None:
    """The dataset's summary (latest contract and version numbers), or None if nothing is known."""
    item = state.table().get_item(Key={"pk": dataset_pk(dataset), "sk": META}).get("Item")
    return _summary(item) if item else None


def list_datasets(limit: int, start_key: PageKey | None = None
                  ) -> tuple[list[DatasetSummary], PageKey | None]:
    """One page of dataset summaries in name order (Query on ``gsi1``)."""
    from boto3.dynamodb.conditions import Key

    items, last = state.query_page(Key("gsi1pk").eq(DATASETS_INDEX_PK), limit=limit, start_key=start_key,
                                   index=state.GSI1)
    return [_summary(item) for item in items], last


def _summary(item: state.Item) -> DatasetSummary:
    return cast(DatasetSummary, state.plain_item({k: item.get(k) for k in DatasetSummary.__annotations__}))


# ---- contracts ---------------------------------------------------------------------------------


def put_contract(contract: Contract) -> StoredContract:
    """Store ``contract`` as the dataset's next contract version (never overwrites one)."""
    dataset = contract.dataset
    version = state.next_number(dataset_pk(dataset), "contract")
    created_at = now_iso()
    body = json.dumps(contract.model_dump(mode="json"), sort_keys=True)
    state.table().put_item(
        Item={"pk": dataset_pk(dataset), "sk": contract_sk(version), "dataset": dataset,
              "version": version, "created_at": created_at, "contract_json": body},
        ConditionExpression="attribute_not_exists(sk)",
    )
    _raise_to(dataset, "latest_contract_version", version)
    return StoredContract(contract=contract, version=version, created_at=created_at)


def get_contract(dataset: str, version: int | None = None) -> StoredContract:
    """Contract ``version`` of ``dataset`` (the latest when None); :class:`ContractNotFoundError` if none."""
    from boto3.dynamodb.conditions import Key

    if version is not None:
        item = state.table().get_item(Key={"pk": dataset_pk(dataset), "sk": contract_sk(version)},
                                      ConsistentRead=True).get("Item")
    else:
        items, _ = state.query_page(
            Key("pk").eq(dataset_pk(dataset)) & Key("sk").begins_with(CONTRACT_PREFIX), limit=1,
            forward=False, ConsistentRead=True)
        item = items[0] if items else None
    if not item:
        which = f"version {version} of the contract" if version is not None else "contract"
        raise ContractNotFoundError(f"dataset {dataset!r} has no {which}")
    return _contract_of(item)


def _contract_of(item: state.Item) -> StoredContract:
    from chalicelib.core.validation.contract import parse_contract

    return StoredContract(contract=parse_contract(json.loads(item["contract_json"])),
                          version=int(item["version"]), created_at=item["created_at"])


# ---- processing claims -------------------------------------------------------------------------


def claim_object(dataset: str, object_hash: str, identity: dict[str, object], *,
                 lease_seconds: float, owner: str | None = None) -> Claim:
    """Claim one raw object version for processing, atomically.

    Acquired when nobody claimed it yet, or when an earlier attempt's lease ran out without completing
    (a crashed or timed-out Lambda); then ``version`` carries the version number that attempt had
    already allocated, so a retry reuses it. ``complete``: processed before (a duplicate delivery).
    ``busy``: another attempt holds a live lease. ``owner`` (a fresh token per attempt) guards the
    later writes of the attempt, so an attempt that lost its claim cannot touch the new holder's.
    """
    import uuid

    owner = owner or uuid.uuid4().hex
    now = time.time()
    key = {"pk": dataset_pk(dataset), "sk": object_sk(object_hash)}
    state_table = state.table()
    try:
        out = state_table.update_item(
            Key=key,
            UpdateExpression=("SET #s = :ip, lease_until = :lease, #owner = :owner, "
                              "#id = if_not_exists(#id, :identity), "
                              "created_at = if_not_exists(created_at, :now), updated_at = :now "
                              "ADD attempts :one"),
            ConditionExpression="attribute_not_exists(pk) OR (#s = :ip AND lease_until < :epoch)",
            ExpressionAttributeNames={"#s": "status", "#id": "identity", "#owner": "owner"},
            ExpressionAttributeValues=state.to_dynamo({
                ":ip": IN_PROGRESS, ":owner": owner, ":lease": int(now + lease_seconds) + 1,
                ":identity": identity, ":now": now_iso(), ":one": 1, ":epoch": int(now)}),
            ReturnValues="ALL_NEW",
        )
    except Exception as exc:
        if not state.condition_failed(exc):
            raise
        item: state.Item = state_table.get_item(Key=key, ConsistentRead=True).get("Item") or {}
        held = _int_or_none(item.get("version"))
        return Claim("complete" if item.get("status") == COMPLETE else "busy", held,
                     int(item.get("attempts", 0)))
    item = cast(state.Item, out["Attributes"])  # ALL_NEW: the attributes are there
    return Claim("acquired", _int_or_none(item.get("version")), int(item.get("attempts", 1)), owner)


def set_claim_version(dataset: str, object_hash: str, version: int, owner: str) -> bool:
    """Record the version number allocated for our claim; False if we lost the claim or it has one."""
    try:
        state.table().update_item(
            Key={"pk": dataset_pk(dataset), "sk": object_sk(object_hash)},
            UpdateExpression="SET version = :v",
            ConditionExpression="#s = :ip AND #owner = :owner AND attribute_not_exists(version)",
            ExpressionAttributeNames={"#s": "status", "#owner": "owner"},
            ExpressionAttributeValues={":v": version, ":ip": IN_PROGRESS, ":owner": owner},
        )
    except Exception as exc:
        if state.condition_failed(exc):
            return False
        raise
    return True


def complete_claim(dataset: str, object_hash: str, version: int, owner: str | None = None) -> bool:
    """Mark the claim complete; with ``owner``, only while that attempt holds it (False: another attempt
    took it over, and completes it itself)."""
    names = {"#s": "status"}
    values: dict[str, Any] = {":done": COMPLETE, ":v": version, ":now": now_iso()}
    condition = None
    if owner is not None:
        names["#owner"] = "owner"
        values[":owner"] = owner
        condition = "#owner = :owner OR #s = :done"
    key = {"pk": dataset_pk(dataset), "sk": object_sk(object_hash)}
    update = "SET #s = :done, version = :v, updated_at = :now REMOVE lease_until"
    try:
        if condition is None:
            state.table().update_item(Key=key, UpdateExpression=update, ExpressionAttributeNames=names,
                                      ExpressionAttributeValues=values)
        else:
            state.table().update_item(Key=key, UpdateExpression=update, ExpressionAttributeNames=names,
                                      ExpressionAttributeValues=values, ConditionExpression=condition)
    except Exception as exc:
        if state.condition_failed(exc):
            return False
        raise
    return True


def renew_claim(dataset: str, object_hash: str, owner: str, lease_seconds: float) -> bool:
    """Extend our lease to ``lease_seconds`` from now (the heartbeat of a running attempt); False when
    the claim is no longer ours (an attempt took it over after our lease ran out)."""
    try:
        state.table().update_item(
            Key={"pk": dataset_pk(dataset), "sk": object_sk(object_hash)},
            UpdateExpression="SET lease_until = :lease",
            ConditionExpression="#s = :ip AND #owner = :owner",
            ExpressionAttributeNames={"#s": "status", "#owner": "owner"},
            ExpressionAttributeValues={":lease": int(time.time() + lease_seconds) + 1, ":ip": IN_PROGRESS,
                                       ":owner": owner},
        )
    except Exception as exc:
        if state.condition_failed(exc):
            return False
        raise
    return True


def release_claim(dataset: str, object_hash: str, owner: str) -> None:
    """Let the next delivery retry at once (after our attempt failed): our lease ends now."""
    try:
        state.table().update_item(
            Key={"pk": dataset_pk(dataset), "sk": object_sk(object_hash)},
            UpdateExpression="SET lease_until = :zero",
            ConditionExpression="#s = :ip AND #owner = :owner",
            ExpressionAttributeNames={"#s": "status", "#owner": "owner"},
            ExpressionAttributeValues={":zero": 0, ":ip": IN_PROGRESS, ":owner": owner},
        )
    except Exception as exc:
        if not state.condition_failed(exc):
            raise


def _int_or_none(value: object) -> int | None:
    return None if value is None else state.as_int(value)


# ---- dataset versions --------------------------------------------------------------------------


def next_version(dataset: str) -> int:
    return state.next_number(dataset_pk(dataset), "version")


def put_version(record: DatasetVersion) -> bool:
    """Write a dataset version record (the step that makes it visible); False if it already exists."""
    item = state.to_dynamo({**record.to_dict(), "pk": dataset_pk(record.dataset),
                            "sk": version_sk(record.version)})
    try:
        state.table().put_item(Item=item, ConditionExpression="attribute_not_exists(sk)")
    except Exception as exc:
        if state.condition_failed(exc):
            return False
        raise
    _raise_to(record.dataset, "latest_version", record.version, latest_status=record.status)
    return True


def put_version_fenced(record: DatasetVersion, object_hash: str, owner: str) -> str:
    """Write the version record only while ``owner`` holds the object's claim (one transaction: the
    fencing token of the attempt). ``"written"``, ``"exists"`` (an attempt recorded it before) or
    ``"lost"`` (another attempt holds the claim now: a late writer's record never lands)."""
    from botocore.exceptions import ClientError

    table = state.table()
    name = table.name
    item = state.to_dynamo({**record.to_dict(), "pk": dataset_pk(record.dataset),
                            "sk": version_sk(record.version)})
    ops: list[Any] = [
        # the resource's client converts plain values to DynamoDB's typed form
        {"Put": {"TableName": name, "Item": item, "ConditionExpression": "attribute_not_exists(sk)"}},
        {"ConditionCheck": {
            "TableName": name, "Key": {"pk": dataset_pk(record.dataset), "sk": object_sk(object_hash)},
            "ConditionExpression": "#s = :ip AND #owner = :owner",
            "ExpressionAttributeNames": {"#s": "status", "#owner": "owner"},
            "ExpressionAttributeValues": {":ip": IN_PROGRESS, ":owner": owner}}},
    ]
    try:
        table.meta.client.transact_write_items(TransactItems=ops)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
            raise
        codes = [r.get("Code") for r in exc.response.get("CancellationReasons") or []]
        if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
            return "lost"
        if codes and codes[0] == "ConditionalCheckFailed":
            return "exists"
        raise
    _raise_to(record.dataset, "latest_version", record.version, latest_status=record.status)
    return "written"


def get_version(dataset: str, version: int) -> DatasetVersion:
    """Version ``version`` of ``dataset``; :class:`DatasetVersionNotFoundError` when there is none."""
    item = state.table().get_item(Key={"pk": dataset_pk(dataset), "sk": version_sk(version)},
                                  ConsistentRead=True).get("Item")
    if not item:
        raise DatasetVersionNotFoundError(f"dataset {dataset!r} has no version {version}")
    return DatasetVersion.from_dict(state.to_plain(item))


def list_versions(dataset: str, limit: int, start_key: PageKey | None = None
                  ) -> tuple[list[DatasetVersion], PageKey | None]:
    """One page of the dataset's versions, newest first."""
    from boto3.dynamodb.conditions import Key

    items, last = state.query_page(
        Key("pk").eq(dataset_pk(dataset)) & Key("sk").begins_with(VERSION_PREFIX), limit=limit,
        start_key=start_key, forward=False)
    return [DatasetVersion.from_dict(state.to_plain(item)) for item in items], last


def latest_passing_version(dataset: str, *, page_size: int = 50, max_pages: int = 10
                           ) -> DatasetVersion | None:
    """The newest version that passed (a Query newest first, filtered; at most ``max_pages`` pages)."""
    from boto3.dynamodb.conditions import Attr, Key

    start: PageKey | None = None
    for _ in range(max_pages):
        items, start = state.query_page(
            Key("pk").eq(dataset_pk(dataset)) & Key("sk").begins_with(VERSION_PREFIX), limit=page_size,
            start_key=start, forward=False, FilterExpression=Attr("status").eq(PASSED))
        if items:
            return DatasetVersion.from_dict(state.to_plain(items[0]))
        if not start:
            return None
    return None


def passing_versions(dataset: str, *, newest: int | None = None, page_size: int = 100
                     ) -> list[DatasetVersion]:
    """The versions that passed, newest first: every one, or the ``newest`` N (a Query newest first,
    filtered on the status, paged until enough are found)."""
    from boto3.dynamodb.conditions import Attr, Key

    found: list[DatasetVersion] = []
    start: PageKey | None = None
    while newest is None or len(found) < newest:
        items, start = state.query_page(
            Key("pk").eq(dataset_pk(dataset)) & Key("sk").begins_with(VERSION_PREFIX), limit=page_size,
            start_key=start, forward=False, FilterExpression=Attr("status").eq(PASSED))
        found.extend(DatasetVersion.from_dict(state.to_plain(item)) for item in items)
        if not start:
            break
    return found if newest is None else found[:newest]

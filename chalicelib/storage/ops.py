"""The reconciler's reads and its audit log, in the state table.

- ``pk = OPS#AUDIT``, ``sk = AUDIT#{iso time}#{id}``: one record per action the reconciler (or a person
  through ``sluice ops``) took — insert only, like the registry's audit log (a partition IAM makes
  insert-only, layout.py); actions on a model are also in that model's audit log. Records written before
  the log had a partition of its own (``pk = OPS``) are read with the new ones, never written.
- upload processing claims (``DATASET#{d}`` / ``OBJECT#…``, written by the upload path) and once-only
  check claims (``MODEL#{m}`` / ``CLAIM#…``, written by monitoring): read only;
- the folders upload attempts wrote under ``curated/`` and ``quarantine/`` (listed; those no version
  record points to are deleted by the reconciler).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.core.clock import iso
from chalicelib.core.paging import PageKey
from chalicelib.storage import table as state
from chalicelib.storage.layout import (
    AUDIT_PREFIX,
    CURATED,
    DATASETS_INDEX_PK,
    LEGACY_OPS_AUDIT_PK,
    OPS_AUDIT_PK,
    PARTITION,
    QUARANTINE,
    audit_sk,
    claim_sk,
    curated_prefix,
    dataset_pk,
    model_pk,
    object_sk,
)

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

OPS_PK = OPS_AUDIT_PK  # the reconciler's log (continuation tokens of GET /ops/audit name it)

ATTEMPT_FOLDER = "run-"  # an upload attempt's own folder under a version (services/uploads.RUN_FOLDER)


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


# ---- what upload attempts left in curated/ and quarantine/ ----------------------------------------


@dataclass(frozen=True)
class OutputFolder:
    """One attempt's folder of a dataset version's outputs: ``curated/{d}/dataset_version={n}/run-{a}/`` or
    ``quarantine/{d}/{n:010d}/run-{a}/``, or what lies under the version outside any attempt's folder
    (``loose``: parts an older attempt wrote straight into the partition; a whole rejected file's
    quarantine copy and manifest; rows quarantined before attempts had folders)."""

    dataset: str
    version: int
    area: str  # "curated" | "quarantine"
    prefix: str
    objects: int
    newest: float  # the last write, epoch seconds
    loose: bool = False


def output_folders(dataset: str) -> list[OutputFolder]:
    """Every folder of ``dataset``'s outputs that holds objects, in key order (two listings)."""
    found: dict[tuple[str, int, str, bool], tuple[int, float]] = {}
    for area, base in ((CURATED, curated_prefix(dataset)), (QUARANTINE, f"{QUARANTINE}/{dataset}/")):
        for key, modified in _objects(base):
            folder = _folder_of(area, base, key)
            if folder is not None:
                count, newest = found.get(folder, (0, 0.0))
                found[folder] = (count + 1, max(newest, modified))
    return [OutputFolder(dataset, version, area, prefix, count, newest, loose)
            for (area, version, prefix, loose), (count, newest) in sorted(found.items())]


def _folder_of(area: str, base: str, key: str) -> tuple[str, int, str, bool] | None:
    """(area, version, folder prefix, loose) of one object key under ``base``; None for keys outside the
    layout (left alone)."""
    rest = key.removeprefix(base).split("/")
    if area == QUARANTINE:
        if len(rest) < 2 or not rest[0].isdigit():
            return None
        if len(rest) >= 3 and rest[1].startswith(ATTEMPT_FOLDER):
            return area, int(rest[0]), f"{base}{rest[0]}/{rest[1]}/", False
        return area, int(rest[0]), f"{base}{rest[0]}/", True
    partition = rest[0].removeprefix(f"{PARTITION}=")
    if len(rest) < 2 or partition == rest[0] or not partition.isdigit():
        return None
    if len(rest) == 2:  # a part straight in the partition (before attempts had folders of their own)
        return area, int(partition), f"{base}{rest[0]}/", True
    return area, int(partition), f"{base}{rest[0]}/{rest[1]}/", False


def _objects(prefix: str) -> list[tuple[str, float]]:
    from chalicelib.core.settings import get_settings
    from chalicelib.storage.clients import client

    paginator = client("s3").get_paginator("list_objects_v2")
    pages = paginator.paginate(Bucket=get_settings().bucket, Prefix=prefix)
    return [(o["Key"], o["LastModified"].timestamp()) for page in pages for o in page.get("Contents", [])]


def delete_folder(prefix: str, *, loose: bool = False) -> int:
    """Delete the objects of one output folder (``loose``: only those outside the attempts' folders,
    ``run-*/``, under ``prefix``); a delete marker each, the bucket keeps versions. Returns how many."""
    from chalicelib.core.settings import get_settings
    from chalicelib.storage.clients import client

    if not prefix.startswith((f"{CURATED}/", f"{QUARANTINE}/")):
        raise ValueError(f"refusing to delete under {prefix!r}")
    keys = [k for k, _ in _objects(prefix)
            if not loose or not k.removeprefix(prefix).startswith(ATTEMPT_FOLDER)]
    s3_client, bucket = client("s3"), get_settings().bucket
    for start in range(0, len(keys), 1000):
        batch: list[ObjectIdentifierTypeDef] = [{"Key": k} for k in keys[start:start + 1000]]
        s3_client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
    return len(keys)

"""Training runs and the one-run-in-flight lock, in the state table (keys: :mod:`.layout`).

- ``RUN#{run_id}`` — status ``queued`` → ``running`` → ``succeeded`` | ``failed``, with timings,
  metrics, the registered version and the gate decision, or the error. Run ids sort by time, so a
  descending Query lists the newest first.
- ``RUNLOCK`` — ``run_id`` and ``lock_until`` (epoch seconds): taken by a conditional write when no
  run holds it or the holder's lease has expired (a crashed run cannot block the model for ever);
  ``last_auto_at`` enforces the spec's cooldown between automatic retrainings.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Any, Required, TypedDict, cast

from chalicelib.core.paging import PageKey
from chalicelib.core.training.errors import RunCooldownError, RunInProgressError, RunNotFoundError
from chalicelib.storage import table as state
from chalicelib.storage.layout import RUN_LOCK, RUN_PREFIX, model_pk, run_sk

LEASE_SECONDS = 30 * 60  # longer than a Lambda can run (15 min) plus queueing
STATUSES = ("queued", "running", "succeeded", "failed")


class RunRecord(TypedDict, total=False):
    """A training run as stored and listed; the outcome fields arrive with :func:`finish_run`."""

    model: Required[str]
    run_id: Required[str]
    status: Required[str]  # one of STATUSES
    actor: str
    reason: str
    cause: object  # a text, or {"trigger": ..., ...} for automatic retraining
    spec_version: int
    created_at: Required[str]
    started_at: str
    finished_at: str
    error: dict[str, object]  # {"code", "message"}
    timings: dict[str, float]
    version: int  # the registered model version
    metrics: dict[str, float]
    baseline: dict[str, float]
    decision: dict[str, object]
    promotion: dict[str, object]
    rows: dict[str, int]
    importance: list[dict[str, object]]
    evaluation: dict[str, object]
    dataset: dict[str, object]  # the newest dataset version trained on (lineage's "dataset")
    data: dict[str, object]  # the window: dataset and feedback versions read, rows from each
    artifact_sha256: str
    warnings: list[str]


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def new_run_id() -> str:
    """Time-ordered and unique: ``20261126T164435123Z-3f9a2c1b``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")[:-3]
    return f"{stamp}Z-{secrets.token_hex(4)}"


def acquire_lock(model: str, run_id: str, *, cooldown_seconds: int | None = None) -> str | None:
    """Take the model's run lock for ``run_id``; 409 ``run_in_progress`` or ``retrain_cooldown``.

    Returns the id of a previous run whose lease ran out without releasing the lock (it crashed or
    timed out), so the caller can mark it failed; None otherwise.
    """
    table = state.table()
    now = int(time.time())
    condition = "(attribute_not_exists(run_id) OR lock_until < :now)"
    values: dict[str, Any] = {":now": now, ":until": now + LEASE_SECONDS, ":run": run_id,
                              ":exp": now + 8 * 24 * 3600}
    update = "SET run_id = :run, lock_until = :until, started_at = :now, expires_at = :exp"
    if cooldown_seconds is not None:
        condition += " AND (attribute_not_exists(last_auto_at) OR last_auto_at < :cut)"
        values[":cut"] = now - cooldown_seconds
        update += ", last_auto_at = :now"
    out = state.conditional(lambda: table.update_item(
        Key={"pk": model_pk(model), "sk": RUN_LOCK}, UpdateExpression=update, ConditionExpression=condition,
        ExpressionAttributeValues=values, ReturnValues="ALL_OLD"))
    if out is None:
        lock = {"pk": model_pk(model), "sk": RUN_LOCK}
        held: state.Item = table.get_item(Key=lock, ConsistentRead=True).get("Item") or {}
        if int(held.get("lock_until", 0)) >= now:
            raise RunInProgressError(f"run {held.get('run_id')} of model {model!r} is still in flight; "
                                     "one run per model at a time")
        raise RunCooldownError(f"model {model!r} was retrained automatically less than "
                               f"{cooldown_seconds // 60 if cooldown_seconds else 0} minute(s) ago "
                               "(the spec's cooldown)")
    previous: state.Item = out.get("Attributes") or {}
    return str(previous["run_id"]) if int(previous.get("lock_until", 0)) > 0 else None


def release_lock(model: str, run_id: str) -> None:
    """Give the lock back if ``run_id`` still holds it."""
    state.conditional(lambda: state.table().update_item(
        Key={"pk": model_pk(model), "sk": RUN_LOCK}, UpdateExpression="SET lock_until = :zero",
        ConditionExpression="run_id = :run", ExpressionAttributeValues={":zero": 0, ":run": run_id}))


def create_run(model: str, run_id: str, *, actor: str, reason: str, cause: object,
               spec_version: int) -> RunRecord:
    item: dict[str, object] = {"pk": model_pk(model), "sk": run_sk(run_id), "model": model, "run_id": run_id,
            "status": "queued", "actor": actor, "reason": reason, "cause": cause,
            "spec_version": spec_version, "created_at": now_iso()}
    state.table().put_item(Item=state.to_dynamo(item), ConditionExpression="attribute_not_exists(pk)")
    return _public(item)


def get_run(model: str, run_id: str) -> RunRecord:
    item = state.table().get_item(Key={"pk": model_pk(model), "sk": run_sk(run_id)},
                                  ConsistentRead=True).get("Item")
    if not item:
        raise RunNotFoundError(f"model {model!r} has no run {run_id!r}")
    return _public(state.plain_item(item))


def mark_running(model: str, run_id: str) -> bool:
    """queued → running; False when the run is not queued (a redelivered invocation)."""
    started = state.conditional(lambda: state.table().update_item(
        Key={"pk": model_pk(model), "sk": run_sk(run_id)},
        UpdateExpression="SET #s = :running, started_at = :now", ConditionExpression="#s = :queued",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":running": "running", ":queued": "queued", ":now": now_iso()}))
    return started is not None


def fail_stale_run(model: str, run_id: str) -> bool:
    """Mark a queued/running run failed (its lease expired: the function crashed or timed out)."""
    return state.conditional(lambda: state.table().update_item(
            Key={"pk": model_pk(model), "sk": run_sk(run_id)},
            UpdateExpression="SET #s = :failed, finished_at = :now, #e = :error",
            ConditionExpression="#s IN (:queued, :running)",
            ExpressionAttributeNames={"#s": "status", "#e": "error"},
            ExpressionAttributeValues={":failed": "failed", ":now": now_iso(), ":queued": "queued",
                                       ":running": "running",
                                       ":error": {"code": "run_lost", "message": "the run did not finish "
                                                  f"within its {LEASE_SECONDS // 60}-minute lease (crashed "
                                                  "or timed out)"}})) is not None


def finish_run(model: str, run_id: str, status: str, **fields: object) -> None:
    """Record the outcome (``succeeded`` or ``failed``) and its details."""
    values = {"status": status, "finished_at": now_iso(), **fields}
    names = {f"#{i}": k for i, k in enumerate(values)}
    state.table().update_item(
        Key={"pk": model_pk(model), "sk": run_sk(run_id)},
        UpdateExpression="SET " + ", ".join(f"#{i} = :{i}" for i in range(len(values))),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={f":{i}": state.to_dynamo(v) for i, v in enumerate(values.values())})


def list_runs(model: str, *, limit: int, start_key: PageKey | None = None
              ) -> tuple[list[RunRecord], PageKey | None]:
    """Runs, newest first, one page."""
    from boto3.dynamodb.conditions import Key

    items, last = state.query_page(Key("pk").eq(model_pk(model)) & Key("sk").begins_with(RUN_PREFIX),
                                   limit=limit, start_key=start_key, forward=False)
    return [_public(state.plain_item(i)) for i in items], last


def _public(item: dict[str, object]) -> RunRecord:
    return cast(RunRecord, {k: v for k, v in item.items() if k not in ("pk", "sk")})

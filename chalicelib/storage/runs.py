"""Training runs and the one-run-in-flight lock, in the state table (keys: :mod:`.layout`).

- ``RUN#{run_id}`` — status ``queued`` → ``running`` → ``succeeded`` | ``failed`` | ``cancelled``, with
  timings, metrics, the registered version and the gate decision, or the error. Run ids sort by time,
  so a descending Query lists the newest first. A run in flight is indexed (``gsi1pk`` =
  ``RUNS_IN_FLIGHT``, ``gsi1sk`` = ``{model}#{run_id}``; removed when it ends) so the reconciler finds
  every one with one Query. ``phase`` says how far a running run got; ``version`` is the number it
  reserved, recorded before it writes artifacts under it.
- ``RUNLOCK`` — ``run_id`` and ``lock_until`` (epoch seconds): taken by a conditional write when no
  run holds it or the holder's lease ran out; leases and the heartbeat that renews them:
  :mod:`chalicelib.core.training.lease`. ``last_auto_at`` enforces the spec's cooldown between
  automatic retrainings. The holder's run id fences every later write of a run (a transaction with a
  condition on the lock), so a run that lost its lease cannot overwrite its successor's state.
"""

from __future__ import annotations

import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any, Required, TypedDict, cast

from chalicelib.core.paging import PageKey
from chalicelib.core.training.errors import (
    RunCooldownError,
    RunInProgressError,
    RunNotCancellableError,
    RunNotFoundError,
    RunStoppedError,
)
from chalicelib.core.training.lease import (
    IN_FLIGHT,
    LEASE_SECONDS,
    PHASE_LOADING,
    PHASE_REGISTERING,
    QUEUED_LEASE_SECONDS,
)
from chalicelib.storage import table as state
from chalicelib.storage.layout import RUN_LOCK, RUN_PREFIX, model_pk, run_sk

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
RUNS_IN_FLIGHT = "RUNS_IN_FLIGHT"  # gsi1pk of a run in flight (layout.py's table should list it)


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
    phase: str  # how far a running run got (chalicelib.core.training.lease's PHASE_*)
    phase_at: str
    cancelled_by: str
    recovered: dict[str, object]  # {"reason"}: the outcome was recovered from the registry


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def new_run_id() -> str:
    """Time-ordered and unique: ``20261126T164435123Z-3f9a2c1b``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")[:-3]
    return f"{stamp}Z-{secrets.token_hex(4)}"


RUN_ID = re.compile(r"\d{8}T\d{9}Z-[0-9a-f]{8}")


def check_run_id(run_id: str) -> str:
    """``run_id`` if it has the shape :func:`new_run_id` gives; 404 ``run_not_found`` otherwise (no
    such run can exist, and a key of any length must not reach the table)."""
    if not isinstance(run_id, str) or not RUN_ID.fullmatch(run_id):
        raise RunNotFoundError("no run has that id (run ids look like 20261126T164435123Z-3f9a2c1b)")
    return run_id


def acquire_lock(model: str, run_id: str, *, cooldown_seconds: int | None = None,
                 now: float | None = None) -> str | None:
    """Take the model's run lock for ``run_id`` (a queued run's lease); 409 ``run_in_progress`` or
    ``retrain_cooldown``.

    Returns the id of a previous run whose lease ran out without releasing the lock (it crashed or
    timed out), so the caller can resolve it; None otherwise.
    """
    table = state.table()
    now = int(time.time() if now is None else now)
    condition = "(attribute_not_exists(run_id) OR lock_until < :now)"
    values: dict[str, Any] = {":now": now, ":until": now + QUEUED_LEASE_SECONDS, ":run": run_id,
                              ":exp": now + 8 * 24 * 3600}
    update = "SET run_id = :run, lock_until = :until, started_at = :now, expires_at = :exp"
    if cooldown_seconds is not None:
        condition += " AND (attribute_not_exists(last_auto_at) OR last_auto_at < :cut)"
        values[":cut"] = now - cooldown_seconds
        update += ", last_auto_at = :now"
    out = state.conditional(lambda: table.update_item(
        Key=_lock_key(model), UpdateExpression=update, ConditionExpression=condition,
        ExpressionAttributeValues=values, ReturnValues="ALL_OLD"))
    if out is None:
        held = get_lock(model) or {}
        if int(held.get("lock_until", 0)) >= now:
            raise RunInProgressError(f"run {held.get('run_id')} of model {model!r} is still in flight; "
                                     "one run per model at a time")
        raise RunCooldownError(f"model {model!r} was retrained automatically less than "
                               f"{cooldown_seconds // 60 if cooldown_seconds else 0} minute(s) ago "
                               "(the spec's cooldown)")
    previous: state.Item = out.get("Attributes") or {}
    return str(previous["run_id"]) if int(previous.get("lock_until", 0)) > 0 else None


def get_lock(model: str) -> dict[str, Any] | None:
    """The model's run lock (``run_id``, ``lock_until``...), or None when no run ever took it."""
    item = state.table().get_item(Key=_lock_key(model), ConsistentRead=True).get("Item")
    return state.plain_item(item) if item else None


def release_lock(model: str, run_id: str) -> bool:
    """Give the lock back if ``run_id`` still holds it; False when it does not."""
    released = state.conditional(lambda: state.table().update_item(
        Key=_lock_key(model), UpdateExpression="SET lock_until = :zero",
        ConditionExpression="run_id = :run", ExpressionAttributeValues={":zero": 0, ":run": run_id}))
    return released is not None


def renew_lease(model: str, run_id: str, now: float | None = None) -> bool:
    """The heartbeat: extend ``run_id``'s lease; False when the lock no longer names it with a live
    lease (the run was cancelled, or another run took the model over after the lease ran out)."""
    now = int(time.time() if now is None else now)
    return state.conditional(lambda: state.table().update_item(
        Key=_lock_key(model), UpdateExpression="SET lock_until = :until, heartbeat_at = :now",
        ConditionExpression="run_id = :run AND lock_until >= :now",
        ExpressionAttributeValues={":until": now + LEASE_SECONDS, ":now": now, ":run": run_id})) is not None


def create_run(model: str, run_id: str, *, actor: str, reason: str, cause: object,
               spec_version: int) -> RunRecord:
    item: dict[str, object] = {"pk": model_pk(model), "sk": run_sk(run_id), "model": model, "run_id": run_id,
            "status": "queued", "actor": actor, "reason": reason, "cause": cause,
            "spec_version": spec_version, "created_at": now_iso(),
            "gsi1pk": RUNS_IN_FLIGHT, "gsi1sk": f"{model}#{run_id}"}
    state.table().put_item(Item=state.to_dynamo(item), ConditionExpression="attribute_not_exists(pk)")
    return _public(item)


def get_run(model: str, run_id: str) -> RunRecord:
    item = state.table().get_item(Key={"pk": model_pk(model), "sk": run_sk(run_id)},
                                  ConsistentRead=True).get("Item")
    if not item:
        raise RunNotFoundError(f"model {model!r} has no run {run_id!r}")
    return _public(state.plain_item(item))


def start_running(model: str, run_id: str, now: float | None = None) -> bool:
    """queued → running and the lease of a running run, in one transaction fenced by the lock.

    False when the run is not queued (a redelivered invocation, or a cancelled run) or no longer holds
    the lock (its function started after the queued lease ran out): then it must do nothing.
    """
    now = int(time.time() if now is None else now)
    return _transact([
        _run_update(model, run_id, "SET #s = :running, started_at = :at, phase = :phase",
                    "#s = :queued", {":running": "running", ":queued": "queued", ":at": now_iso(),
                                     ":phase": PHASE_LOADING}),
        _lock_renewal(model, run_id, now)])


def checkpoint(model: str, run_id: str, phase: str, now: float | None = None, **fields: object) -> None:
    """Record that the running run reached ``phase`` (with ``fields``, e.g. the reserved ``version``)
    and renew its lease, in one transaction fenced by the lock.

    Raises :class:`RunStoppedError`: ``run_cancelled`` when the run was cancelled, ``run_lease_lost``
    when it is no longer running under a live lease. The caller stops there, writing nothing more.
    """
    now = int(time.time() if now is None else now)
    values = {"phase": phase, "phase_at": now_iso(), **fields}
    sets = ", ".join(f"#f{i} = :f{i}" for i in range(len(values)))
    update = _run_update(model, run_id, f"SET {sets}", "#s = :running",
                         {":running": "running", **{f":f{i}": v for i, v in enumerate(values.values())}},
                         {f"#f{i}": k for i, k in enumerate(values)})
    if _transact([update, _lock_renewal(model, run_id, now)]):
        return
    status = get_run(model, run_id).get("status")
    if status == "cancelled":
        raise RunStoppedError(f"run {run_id} was cancelled", code="run_cancelled")
    raise RunStoppedError(f"run {run_id} lost its lease on model {model!r} (it is {status}); another run "
                          "or the reconciler took over", code="run_lease_lost")


def finish_run(model: str, run_id: str, status: str, **fields: object) -> bool:
    """Record the outcome (``succeeded`` or ``failed``) and its details; the run leaves the in-flight
    index. False when the run had already ended (cancelled, or resolved after losing its lease): an
    outcome is written once."""
    values = {"status": status, "finished_at": now_iso(), **fields}
    names = {f"#{i}": k for i, k in enumerate(values)}
    return state.conditional(lambda: state.table().update_item(
        Key={"pk": model_pk(model), "sk": run_sk(run_id)},
        UpdateExpression="SET " + ", ".join(f"#{i} = :{i}" for i in range(len(values)))
                         + " REMOVE gsi1pk, gsi1sk",
        ConditionExpression="#s IN (:queued, :running)",
        ExpressionAttributeNames={**names, "#s": "status"},
        ExpressionAttributeValues={**{f":{i}": state.to_dynamo(v) for i, v in enumerate(values.values())},
                                   ":queued": "queued", ":running": "running"})) is not None


def resolve_lost_run(model: str, run_id: str, status: str, now: float | None = None,
                     **fields: object) -> bool:
    """Record the outcome of a run whose lease ran out (``status`` and ``fields`` from
    :func:`chalicelib.core.training.lease.lost_run_outcome`), only if it is still in flight and the
    lock does not name it with a live lease (checked in the same transaction); then free the lock if
    it still names the run. False when the run ended or its lease is live after all."""
    now = int(time.time() if now is None else now)
    values = {"status": status, "finished_at": now_iso(), **fields}
    sets = ", ".join(f"#f{i} = :f{i}" for i in range(len(values)))
    update = _run_update(model, run_id, f"SET {sets} REMOVE gsi1pk, gsi1sk", "#s IN (:queued, :running)",
                         {":queued": "queued", ":running": "running",
                          **{f":f{i}": v for i, v in enumerate(values.values())}},
                         {f"#f{i}": k for i, k in enumerate(values)})
    not_live = {"ConditionCheck": {
        "Key": _lock_key(model),
        "ConditionExpression": "attribute_not_exists(run_id) OR run_id <> :run OR lock_until < :now",
        "ExpressionAttributeValues": {":run": run_id, ":now": now}}}
    if not _transact([update, not_live]):
        return False
    release_lock(model, run_id)
    return True


def cancel_run(model: str, run_id: str, *, actor: str, reason: str = "") -> RunRecord:
    """Cancel a queued or running run and free the model's lock; the run stops at its next checkpoint.

    404 ``run_not_found``; 409 ``run_not_cancellable`` when it already ended, or when it is registering
    its version (from then on it finishes: cancel would leave a registered version under a cancelled run).
    """
    message = f"cancelled by {actor}" + (f": {reason}" if reason else "")
    done = state.conditional(lambda: state.table().update_item(
        Key={"pk": model_pk(model), "sk": run_sk(run_id)},
        UpdateExpression=("SET #s = :cancelled, finished_at = :at, cancelled_by = :actor, #e = :error "
                          "REMOVE gsi1pk, gsi1sk"),
        ConditionExpression="#s IN (:queued, :running) AND (attribute_not_exists(phase) OR phase <> :reg)",
        ExpressionAttributeNames={"#s": "status", "#e": "error"},
        ExpressionAttributeValues={":cancelled": "cancelled", ":at": now_iso(), ":actor": actor,
                                   ":error": {"code": "run_cancelled", "message": message[:500]},
                                   ":queued": "queued", ":running": "running", ":reg": PHASE_REGISTERING}))
    if done is None:
        run = get_run(model, run_id)  # 404 when there is no such run
        why = ("it is registering its version and will finish" if run.get("status") in IN_FLIGHT
               else f"it already ended ({run.get('status')})")
        raise RunNotCancellableError(f"run {run_id} of model {model!r} cannot be cancelled: {why}")
    release_lock(model, run_id)
    return get_run(model, run_id)


def in_flight_runs() -> list[RunRecord]:
    """Every queued or running run of every model (the in-flight index; one Query, paged)."""
    from boto3.dynamodb.conditions import Key

    return [_public(state.plain_item(i)) for i in state.query_all(Key("gsi1pk").eq(RUNS_IN_FLIGHT),
                                                                  index=state.GSI1)]


def list_runs(model: str, *, limit: int, start_key: PageKey | None = None
              ) -> tuple[list[RunRecord], PageKey | None]:
    """Runs, newest first, one page."""
    from boto3.dynamodb.conditions import Key

    items, last = state.query_page(Key("pk").eq(model_pk(model)) & Key("sk").begins_with(RUN_PREFIX),
                                   limit=limit, start_key=start_key, forward=False)
    return [_public(state.plain_item(i)) for i in items], last


def _public(item: dict[str, object]) -> RunRecord:
    return cast(RunRecord, {k: v for k, v in item.items() if k not in ("pk", "sk", "gsi1pk", "gsi1sk")})


def _lock_key(model: str) -> dict[str, str]:
    return {"pk": model_pk(model), "sk": RUN_LOCK}


def _lock_renewal(model: str, run_id: str, now: int) -> dict[str, Any]:
    """A transaction's Update of the lock: ``run_id``'s lease renewed, only while it holds a live one."""
    return {"Update": {"Key": _lock_key(model),
                       "UpdateExpression": "SET lock_until = :until, heartbeat_at = :now",
                       "ConditionExpression": "run_id = :run AND lock_until >= :now",
                       "ExpressionAttributeValues": {":until": now + LEASE_SECONDS, ":now": now,
                                                     ":run": run_id}}}


def _run_update(model: str, run_id: str, update: str, condition: str, values: dict[str, object],
                names: dict[str, str] | None = None) -> dict[str, Any]:
    return {"Update": {"Key": {"pk": model_pk(model), "sk": run_sk(run_id)}, "UpdateExpression": update,
                       "ConditionExpression": condition,
                       "ExpressionAttributeNames": {"#s": "status", **(names or {})},
                       "ExpressionAttributeValues": state.to_dynamo(values)}}


def _transact(operations: list[dict[str, Any]]) -> bool:
    """One TransactWriteItems on the state table; False when a condition did not hold."""
    table = state.table()
    for operation in operations:
        next(iter(operation.values()))["TableName"] = table.name
    try:  # the resource's client types plain values itself
        table.meta.client.transact_write_items(TransactItems=operations)  # type: ignore[arg-type]
    except Exception as exc:
        response = getattr(exc, "response", None) or {}
        reasons = response.get("CancellationReasons") or []
        if response.get("Error", {}).get("Code") == "TransactionCanceledException" and any(
                r.get("Code") == "ConditionalCheckFailed" for r in reasons):
            return False
        raise
    return True

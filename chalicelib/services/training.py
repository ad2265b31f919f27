"""Training orchestration: specs in, runs started and executed, versions registered and gated.

``start_run`` queues a run (one per model at a time) and invokes the ``train`` function
asynchronously; ``execute_run`` is that function's body. The pure parts (pipeline, evaluation, gate,
leases) live in their own modules; this one only sequences them with storage.

A run holds its model's lease (:mod:`chalicelib.core.training.lease`): a heartbeat renews it while the
function works, and each checkpoint (before the fit, before the artifacts, before registration)
renews it under the fence of the lock. A run that was cancelled or lost its lease stops at the next
checkpoint without registering; artifacts it wrote under its reserved version are deleted (or, if it
died, found and deleted by the reconciler, :mod:`chalicelib.services.reconcile`). A run whose
function died is resolved from the registry (:func:`resolve_lost_run`): ``succeeded`` with its
version when the registry holds it, ``failed`` with ``run_lost`` otherwise.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

from chalicelib.core.datasets.types import DatasetVersion
from chalicelib.core.errors import ConflictError, NotFoundError, SluiceError
from chalicelib.core.log import logger
from chalicelib.core.settings import get_settings
from chalicelib.core.training.compute import ComputeChoice
from chalicelib.core.training.errors import DatasetNotReadyError, RunStoppedError, SpecInvalidError
from chalicelib.core.training.features import check_spec
from chalicelib.core.training.gate import GateDecision, GatePolicy, decide
from chalicelib.core.training.lease import (
    HEARTBEAT_SECONDS,
    IN_FLIGHT,
    LEASE_SECONDS,
    PHASE_FITTING,
    PHASE_REGISTERING,
    PHASE_WRITING,
    QUEUED_LEASE_SECONDS,
    Heartbeat,
    lost_run_outcome,
)
from chalicelib.core.training.spec import LastVersions, TrainingSpec
from chalicelib.core.training.window import (
    NewData,
    Part,
    join_rows,
    new_data,
    no_version_error,
    select_versions,
    trained_on,
)
from chalicelib.services.registry import get_registry
from chalicelib.storage import artifacts, dataset_files, runs
from chalicelib.storage import datasets as dataset_store
from chalicelib.storage import specs as store
from chalicelib.storage.invoke import invoke_async
from chalicelib.storage.layout import LABELS, RAW, feedback_dataset

if TYPE_CHECKING:
    from chalicelib.core.drift.profile import ReferenceProfileDict
    from chalicelib.core.training.metadata import ModelMetadata

PRODUCTION = "production"
MAX_ERROR_CHARS = 500
TOP_IMPORTANCE = 10  # in the run record; the metadata keeps every feature


# ---- specs --------------------------------------------------------------------------------------


def put_spec(model: str, spec: TrainingSpec, *, actor: str) -> store.StoredSpec:
    """Check ``spec`` (estimator, parameters and, when the dataset has a contract, feasibility), store it.

    A spec that may train on SageMaker (``compute: sagemaker | auto``) is also checked against the data
    its window holds now: ``training_data_too_large`` with the numbers when no allowed instance (or not
    the spec's) can hold it."""
    check_spec(spec, _contract_or_none(spec.dataset))
    if spec.compute != "lambda":
        with contextlib.suppress(DatasetNotReadyError, NotFoundError):  # no data yet: the run says so
            _check_window_size(model, spec)
    return store.put_spec(model, spec, actor=actor, now=runs.now_iso())


def _contract_or_none(dataset: str) -> Any | None:
    try:
        return dataset_store.get_contract(dataset).contract
    except NotFoundError:
        return None


# ---- starting runs ------------------------------------------------------------------------------


def start_run(model: str, actor: str, reason: str = "", cause: Any = None) -> str:
    """Queue a training run of the model's current spec; returns its id.

    409 ``run_in_progress`` while another run is in flight; an automatic run (``cause`` given) is also
    refused within the spec's cooldown (409 ``retrain_cooldown``).
    """
    stored = store.get_spec(model)
    if cause is None:  # a person waits for the answer: refuse now what the function cannot hold
        _check_window_size(model, stored.spec)
    run_id = runs.new_run_id()
    cooldown = stored.spec.cooldown_minutes * 60 if cause is not None else None
    stale = runs.acquire_lock(model, run_id, cooldown_seconds=cooldown)
    if stale:
        resolve_lost_run(model, stale)
    try:
        runs.create_run(model, run_id, actor=actor, reason=reason, cause=cause, spec_version=stored.version)
        invoke_async("train", {"model": model, "run_id": run_id})
    except Exception as exc:
        runs.release_lock(model, run_id)
        _fail_quietly(model, run_id, exc)
        raise
    logger.info("training run queued", extra={"model": model, "run_id": run_id, "cause": cause})
    return run_id


def _check_window_size(model: str, spec: TrainingSpec) -> ComputeChoice | None:
    """Where the window trains now (:func:`choose_compute`); ``training_data_too_large`` for a window the
    training function (``compute: lambda``) or every allowed SageMaker instance cannot hold. None when
    there is no data yet (the run itself says so)."""
    versions = _window_versions(spec)
    if not versions:
        return None
    contract = dataset_store.get_contract(spec.dataset, versions[-1].contract_version).contract
    feedback = dataset_store.passing_versions(feedback_dataset(model)) if spec.data.feedback else []
    return check_size(versions, feedback, contract, spec)


def check_size(versions: list[DatasetVersion], feedback: list[DatasetVersion], contract: Any,
               spec: TrainingSpec | None = None) -> ComputeChoice:
    """Where a run of these versions trains under ``spec``'s ``compute`` (the function without a spec),
    refused with the measured limit when nothing can hold it."""
    from chalicelib.core.training.compute import RowCost, choose_compute
    from chalicelib.core.training.sizing import TrainingCapacity

    rows = sum(int(v.rows or 0) for v in [*versions, *feedback])
    columns = len([c for c in contract.columns if c.pii != "drop"])
    settings = spec.sagemaker if spec is not None else None
    return choose_compute(spec.compute if spec is not None else "lambda", rows, columns,
                          instance_type=settings.instance_type if settings else None,
                          max_runtime_seconds=settings.max_runtime_seconds if settings else 0,
                          capacity=TrainingCapacity.from_env(), cost=RowCost.from_env())


def compute_choice(model: str, run: runs.RunRecord) -> ComputeChoice | None:
    """Where a queued run trains: None for an import run (always in the function)."""
    cause = run.get("cause")
    if isinstance(cause, dict) and cause.get("import_id"):
        return None
    spec = store.get_spec(model, int(run["spec_version"])).spec
    if spec.compute == "lambda":
        return None
    return _check_window_size(model, spec)


def maybe_retrain(model: str, trigger: str, cause: Any) -> str | None:
    """Start an automatic run if the spec asks for ``trigger`` (new_data | drift | performance_drop) and,
    for drift and performance_drop, data arrived since the production version's training data.

    Returns the run id, or None (:func:`retrain` says why: use it to record the decision).
    """
    run_id = retrain(model, trigger, cause).get("run_id")
    return str(run_id) if run_id else None


def retrain(model: str, trigger: str, cause: Any) -> dict[str, Any]:
    """Decide and, when warranted, start an automatic run; returns the decision a check records as
    ``retrain``:

    - ``{"status": "not_requested"}`` — no spec, or it does not ask for ``trigger``;
    - ``{"status": "skipped", "reason": "no new data since version V", "new_data": {...}, "upload": ...}``
      — a drift or performance trigger with nothing new to learn from (a newer passing dataset version
      in the spec's window, or ``retrain.min_new_feedback_rows`` new labelled feedback rows);
      ``upload`` says what to upload where;
    - ``{"status": "skipped", "reason": ..., "code": "run_in_progress" | "retrain_cooldown"}``;
    - ``{"status": "started", "run_id": ..., "new_data": {...}}``.
    """
    try:
        spec = store.get_spec(model).spec
    except NotFoundError:
        return {"status": "not_requested", "reason": "the model has no training spec"}
    if not getattr(spec.retrain, f"on_{trigger}"):
        return {"status": "not_requested", "reason": f"the spec does not retrain on_{trigger}"}
    found: dict[str, Any] | None = None
    if trigger != "new_data":  # a new dataset version is new data by definition
        news = new_data_since_production(model, spec)
        found = news.to_dict()
        if not news.found:
            logger.info("automatic retraining skipped: no new data", extra={"model": model})
            return {"status": "skipped", "reason": news.reason, "new_data": found,
                    "upload": upload_hint(model, spec, news)}
    try:
        run_id = start_run(model, "system", f"automatic retraining: {trigger}",
                           cause={"trigger": trigger, **(cause or {}),
                                  **({"new_data": found["reason"]} if found else {})})
    except ConflictError as exc:
        logger.info("automatic retraining skipped", extra={"model": model, "code": exc.code})
        return {"status": "skipped", "reason": exc.message, "code": exc.code,
                **({"new_data": found} if found else {})}
    return {"status": "started", "run_id": run_id, **({"new_data": found} if found else {})}


def retrain_sentence(decision: dict[str, Any] | None) -> str:
    """An alert's words on a :func:`retrain` decision: the run that started, or why none did and what to
    upload where (``no retraining started`` without a decision); no final full stop."""
    decision = decision or {}
    if decision.get("run_id"):
        reason = (decision.get("new_data") or {}).get("reason")
        return f"retraining run {decision['run_id']} started" + (f" ({reason})" if reason else "")
    if decision.get("status") == "skipped":
        text = f"no retraining started: {decision.get('reason')}"
        return (text + (f". {decision['upload']}" if decision.get("upload") else "")).rstrip(".")
    return "no retraining started"


def new_data_since_production(model: str, spec: TrainingSpec) -> NewData:
    """What arrived since the production version's training data (its lineage; all data is new when it
    has none): the versions of the spec's window newer than it, and new feedback rows."""
    from chalicelib.storage.artifacts import load_metadata

    production = get_registry().get_alias(model, PRODUCTION)
    lineage = None
    if production is not None:
        try:
            lineage = load_metadata(model, production).get("lineage")
        except NotFoundError:
            lineage = None
    feedback_name = feedback_dataset(model)
    feedback = dataset_store.passing_versions(feedback_name) if spec.data.feedback else []
    try:
        window = _window_versions(spec)
    except (DatasetNotReadyError, NotFoundError):  # a pinned version that is gone or did not pass
        window = []
    return new_data(spec.dataset, window, feedback_name, feedback, trained_on(lineage),
                    use_feedback=spec.data.feedback, min_new_feedback_rows=spec.retrain.min_new_feedback_rows)


def upload_hint(model: str, spec: TrainingSpec, news: NewData) -> str:
    """What to upload, and where, so the next drift or performance trigger retrains."""
    bucket = get_settings().bucket
    dataset = (f"a new version of dataset {spec.dataset} to s3://{bucket}/{RAW}/{spec.dataset}/"
               if spec.dataset_version is None else
               f"a new version of dataset {spec.dataset} (the spec pins version {spec.dataset_version}: "
               "change the spec too)")
    if not spec.data.feedback:
        return (f"Upload {dataset}; labels under s3://{bucket}/{LABELS}/{model}/ become training data once "
                "the spec sets data.feedback: true.")
    missing = max(0, news.min_new_feedback_rows - news.new_feedback_rows)
    return (f"Upload {dataset}, or labels of {missing} more captured record(s) to "
            f"s3://{bucket}/{LABELS}/{model}/ ({news.new_feedback_rows} new labelled row(s) of the "
            f"{news.min_new_feedback_rows} the spec's retrain.min_new_feedback_rows asks for).")


def on_dataset_version(dataset: str, version: int) -> dict[str, Any]:
    """A dataset version passed: start runs for the models whose current spec wants new data."""
    started: list[dict[str, str | None]] = []
    skipped: list[dict[str, str | None]] = []
    for head in store.models_training_on(dataset):
        model = head["model"]
        if not head.get("on_new_data") or head.get("pinned_version") is not None:
            continue
        run_id = maybe_retrain(model, "new_data", {"dataset": dataset, "version": int(version)})
        (started if run_id else skipped).append({"model": model, "run_id": run_id})
    return {"dataset": dataset, "version": int(version), "started": started, "skipped": skipped}


# ---- executing a run ----------------------------------------------------------------------------


def execute_run(model: str, run_id: str, *, heartbeat_seconds: float = HEARTBEAT_SECONDS
                ) -> dict[str, object]:
    """The body of the ``train`` function: fit (or, for an import, load), evaluate, store, register,
    gate. Never raises for a run's own failure (the run records it); a redelivered invocation of a
    started run does nothing, nor does a late one whose queued lease ran out (that run is resolved as
    lost)."""
    if not runs.start_running(model, run_id):
        if runs.get_run(model, run_id).get("status") == "queued":
            resolve_lost_run(model, run_id, reason=f"the train function started after the run's "
                             f"{QUEUED_LEASE_SECONDS}-second queued lease ran out")
        logger.info("run not queued; nothing to do", extra={"model": model, "run_id": run_id})
        return dict(runs.get_run(model, run_id))
    try:
        choice = compute_choice(model, runs.get_run(model, run_id))
    except Exception as exc:  # the window cannot be trained anywhere (or read): recorded in the run
        _fail_quietly(model, run_id, exc)
        runs.release_lock(model, run_id)
        return dict(runs.get_run(model, run_id))
    if choice is not None and choice.compute == "sagemaker":
        from chalicelib.services.sagemaker_jobs import start_job

        return start_job(model, run_id, choice)
    return run_started(model, run_id, heartbeat_seconds=heartbeat_seconds)


def run_started(model: str, run_id: str, *, heartbeat_seconds: float = HEARTBEAT_SECONDS
                ) -> dict[str, object]:
    """A running run's work under its heartbeat, to its recorded outcome (and the lock given back): the
    ``train`` function's, and a SageMaker training job's (:mod:`chalicelib.services.sagemaker_jobs`)."""
    started = time.perf_counter()
    try:
        with Heartbeat(lambda: runs.renew_lease(model, run_id), heartbeat_seconds):
            outcome = _run_body(model, run_id)
    except RunStoppedError as exc:  # cancelled (already recorded) or taken over
        logger.info("training run stopped", extra={"model": model, "run_id": run_id, "code": exc.code})
        if exc.code == "run_lease_lost":
            resolve_lost_run(model, run_id)
    except Exception as exc:
        _fail_quietly(model, run_id, exc, seconds=time.perf_counter() - started)
    else:
        outcome["timings"]["total_s"] = time.perf_counter() - started
        if not runs.finish_run(model, run_id, "succeeded", **outcome):
            logger.warning("the run's outcome was recorded before it finished (it lost its lease)",
                           extra={"model": model, "run_id": run_id, "version": outcome["version"]})
    finally:
        runs.release_lock(model, run_id)
    record = dict(runs.get_run(model, run_id))
    if record.get("status") in ("succeeded", "failed"):
        from chalicelib.core import metrics

        metrics.count("TrainingRunsSucceeded" if record["status"] == "succeeded" else "TrainingRunsFailed",
                      model=model)
    return record


def cancel_run(model: str, run_id: str, *, actor: str, reason: str = "") -> runs.RunRecord:
    """Cancel a queued or running run (409 ``run_not_cancellable`` once it ended or is registering):
    the model's lock is freed at once, and the run stops at its next checkpoint without registering.
    The cancellation is in the model's audit log."""
    run = runs.cancel_run(model, run_id, actor=actor, reason=reason)
    get_registry().append_audit(model, "run_cancelled", actor=actor,
                                details={"run_id": run_id, "reason": reason, "phase": run.get("phase")})
    job = run.get("training_job")
    if isinstance(job, str) and job:  # a run on SageMaker: stop paying for its instance now
        from chalicelib.services.sagemaker_jobs import stop_for_cancel

        stop_for_cancel(model, run_id, job)
    logger.info("training run cancelled", extra={"model": model, "run_id": run_id})
    return run


def resolve_lost_run(model: str, run_id: str, *, reason: str | None = None,
                     now: float | None = None) -> dict[str, Any] | None:
    """Record the outcome of a run whose lease ran out (its function crashed, was killed or timed
    out): ``succeeded`` with its version when the registry holds the version it reserved, else
    ``failed`` with ``run_lost``. Conditional: nothing is written if the run ended or holds a live
    lease after all. Returns ``{"status", ...fields}`` as recorded, or None."""
    try:
        run = runs.get_run(model, run_id)
    except NotFoundError:
        return None
    if run.get("status") not in IN_FLIGHT:
        return None
    registered, production = _registered_version(model, run)
    if reason is None:
        reason = (f"the train function did not start within the run's {QUEUED_LEASE_SECONDS}-second queued "
                  "lease" if run["status"] == "queued" else
                  f"the run's function stopped renewing its {LEASE_SECONDS}-second lease (crashed, killed "
                  "or timed out)")
    outcome = lost_run_outcome(run, registered, production, reason)
    if not runs.resolve_lost_run(model, run_id, outcome.status, now=now, **outcome.fields):
        return None
    logger.warning("a run lost its lease and is resolved", extra={"model": model, "run_id": run_id,
                                                                  "status": outcome.status})
    return {"status": outcome.status, **outcome.fields}


def registered_version(model: str, run: runs.RunRecord) -> tuple[dict[str, Any] | None, int | None]:
    """The registry's record of the version ``run`` reserved (None if unregistered) and production."""
    return _registered_version(model, run)


def _registered_version(model: str, run: runs.RunRecord) -> tuple[dict[str, Any] | None, int | None]:
    """The registry's record of the version ``run`` reserved (None if unregistered) and production."""
    if run.get("version") is None:
        return None, None
    registry = get_registry()
    try:
        record = registry.get_model_version(model, int(run["version"]), with_aliases=False)
    except NotFoundError:
        return None, None
    return dict(record.to_dict()), registry.get_alias(model, PRODUCTION)


def _fail_quietly(model: str, run_id: str, exc: BaseException, seconds: float | None = None) -> None:
    if isinstance(exc, SluiceError):
        error = {"code": exc.code, "message": exc.message[:MAX_ERROR_CHARS]}
    else:
        logger.exception("training run crashed", extra={"model": model, "run_id": run_id})
        error = {"code": "training_failed", "message": f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]}
    try:
        runs.finish_run(model, run_id, "failed", error=error,
                        timings={"total_s": seconds} if seconds is not None else {})
    except Exception:  # the run item itself may be missing (create failed)
        logger.exception("could not record the failed run", extra={"model": model, "run_id": run_id})


def _window_versions(spec: TrainingSpec) -> list[DatasetVersion]:
    """The passing versions the spec trains on now, oldest first (empty when there is none)."""
    if spec.dataset_version is not None:
        version = dataset_store.get_version(spec.dataset, spec.dataset_version)
        if version.status != "passed":
            raise DatasetNotReadyError(f"dataset {spec.dataset} version {spec.dataset_version} is "
                                       f"{version.status}, not passed")
        return [version]
    if spec.data.versions == "latest":
        latest = dataset_store.latest_passing_version(spec.dataset)
        return [latest] if latest is not None else []
    newest = spec.data.versions.last if isinstance(spec.data.versions, LastVersions) else None
    return select_versions(dataset_store.passing_versions(spec.dataset, newest=newest), spec.data)


def read_version(version: DatasetVersion, contracts: dict[tuple[str, int | None], Any]) -> Part:
    """One passing version's curated rows, its columns named as its own contract names them."""
    key = (version.dataset, version.contract_version)
    if key not in contracts:
        contracts[key] = dataset_store.get_contract(version.dataset, version.contract_version).contract
    curated = [c.name for c in contracts[key].columns if c.pii != "drop"]
    # a passed version always has its curated path (uploads writes it before the record)
    return Part(version, dataset_files.read_curated(version.curated_path, curated, only=False))  # type: ignore[arg-type]


def _version_ref(version: DatasetVersion) -> dict[str, Any]:
    return {"dataset": version.dataset, "version": int(version.version), "curated_path": version.curated_path,
            "contract_version": version.contract_version, "rows": version.rows}


def _run_body(model: str, run_id: str) -> dict[str, Any]:
    """A training run, or an import run (:mod:`chalicelib.services.imports`): the run says which."""
    run = runs.get_run(model, run_id)
    cause = run.get("cause")
    if isinstance(cause, dict) and cause.get("import_id"):
        from chalicelib.services.imports import import_register_gate

        return import_register_gate(model, run_id, run)
    return _train_register_gate(model, run_id, run)


def _train_register_gate(model: str, run_id: str, run: runs.RunRecord) -> dict[str, Any]:
    from chalicelib.core.drift.profile import build_profile
    from chalicelib.core.training.features import feasibility_problems, resolve_features
    from chalicelib.core.training.trainer import train

    timings: dict[str, float] = {}
    clock = time.perf_counter()
    stored = store.get_spec(model, int(run["spec_version"]))
    spec = stored.spec
    versions = _window_versions(spec)
    if not versions:
        raise no_version_error(spec.dataset, spec.data)
    newest = versions[-1]
    contracts: dict[tuple[str, int | None], Any] = {}
    contract = dataset_store.get_contract(spec.dataset, newest.contract_version).contract
    contracts[(spec.dataset, newest.contract_version)] = contract
    problems = feasibility_problems(spec, contract)
    if problems:
        raise SpecInvalidError("the spec does not fit the dataset's contract: " + "; ".join(problems),
                               details={"problems": problems})
    features = resolve_features(spec, contract)
    feedback = (dataset_store.passing_versions(feedback_dataset(model)) if spec.data.feedback else [])
    if run.get("compute") != "sagemaker":  # before reading a row: training_data_too_large
        check_size(versions, feedback, contract)
    joined = join_rows([read_version(v, contracts) for v in versions],
                       [read_version(v, contracts) for v in feedback],
                       [c.name for c in contract.columns if c.pii != "drop"])
    timings["load_s"] = time.perf_counter() - clock

    runs.checkpoint(model, run_id, PHASE_FITTING)  # a cancelled run stops before the fit
    result = train(spec, features, joined.frame, build_profile=build_profile)
    lineage = build_lineage(spec, versions, feedback, joined.rows, stored.version, run_id)
    actor = run.get("actor") or "system"
    origin = {"kind": "training_run", "run_id": run_id, "by": actor, "spec_version": stored.version}
    return register_and_gate(model, run_id, spec=spec, spec_version=stored.version, result=result,
                             lineage=lineage, timings=timings, origin=origin, actor=actor,
                             tags={"estimator": spec.estimator.name, "task": spec.task},
                             description=spec.description)


def register_and_gate(model: str, run_id: str, *, spec: TrainingSpec, spec_version: int | None, result: Any,
                      lineage: dict[str, Any], timings: dict[str, float], origin: dict[str, Any], actor: str,
                      tags: dict[str, str], description: str) -> dict[str, Any]:
    """What every run that produced an evaluated pipeline does next, trained or imported alike: score
    the champion on the same holdout, write the artifacts under a reserved version, register it with its
    origin, and apply the gate (the spec's promotion policy). Returns the run's outcome."""
    timings.update(result.timings)
    for note in result.warnings:
        logger.warning("training run warning", extra={"model": model, "run_id": run_id, "code": note["code"]})

    clock = time.perf_counter()
    registry = get_registry()
    champion_version = registry.get_alias(model, PRODUCTION)
    champion_metrics, champion_error = _score_champion(model, champion_version, spec, result)
    timings["champion_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    version = registry.reserve_version(model)
    runs.checkpoint(model, run_id, PHASE_WRITING, version=version)  # the reconciler knows whose they are
    try:
        metadata = _metadata(spec, spec_version, result, lineage, run_id)
        metadata["origin"] = origin
        info = artifacts.write_artifacts(model, version, result.pipeline, metadata, _profile_dict(result))
        runs.checkpoint(model, run_id, PHASE_REGISTERING)  # the point of no return: no cancel after it
    except Exception:
        _discard_artifacts(model, version)
        raise
    _register(registry, model, version, run_id, info, result, lineage, spec_version, actor,
              tags=tags, description=description, origin=origin)
    timings["register_s"] = time.perf_counter() - clock

    decision = decide(GatePolicy.from_spec(spec), result.metrics,
                      None if champion_version is None else champion_metrics, result.baseline,
                      _directions(spec))
    evidence = {**decision.evidence, "champion_version": champion_version, "challenger_version": version,
                "holdout_rows": result.rows["holdout"], "run_id": run_id}
    if champion_error:
        evidence["champion_error"] = champion_error
    decision = GateDecision(decision.promote, decision.reasons, evidence)
    try:
        promotion = _apply_decision(registry, model, version, champion_version, spec, decision, run_id)
    except Exception as exc:  # the version is registered: the run succeeded, its promotion did not
        logger.exception("the gate's decision could not be applied",
                         extra={"model": model, "version": version})
        promotion = {"promoted": False, "status": _status_of(registry, model, version),
                     "error": f"the gate's decision could not be applied ({type(exc).__name__}); "
                              "promote or reject the version by hand"}
    return {"version": version, "metrics": result.metrics, "baseline": result.baseline,
            "decision": decision.to_dict(), "promotion": promotion, "rows": result.rows,
            "importance": result.importance[:TOP_IMPORTANCE], "evaluation": result.evaluation,
            "dataset": lineage["dataset"], "data": _data_summary(lineage), "artifact_sha256": info.sha256,
            "origin": origin, "timings": timings, "warnings": result.warnings}


ORIGIN_FIELDS = ("kind", "by", "run_id", "format", "sha256", "import_id", "pickle", "staging_key")


def _origin_record(origin: dict[str, Any]) -> dict[str, Any]:
    """What the registry keeps of a version's origin (the run record and metadata.json hold the rest)."""
    return {k: origin[k] for k in ORIGIN_FIELDS if origin.get(k) is not None}


def _register(registry: Any, model: str, version: int, run_id: str, info: Any, result: Any,
              lineage: dict[str, Any], spec_version: int | None, actor: str, *, tags: dict[str, str],
              description: str, origin: dict[str, Any]) -> None:
    """Register the version; a write that fails without landing discards its artifacts (a version
    number may be burned, never point to nothing)."""
    try:
        registry.register_model_version(
            model, version, source=info.source, artifact_sha256=info.sha256, run_id=run_id,
            metrics=result.metrics, dataset_versions=[*lineage["datasets"], *lineage["feedback"]["versions"]],
            spec_version=spec_version, description=description, tags=tags, actor=actor,
            origin=_origin_record(origin))
    except Exception:
        registered, _ = _registered_version(model, {"model": model, "run_id": run_id, "status": "running",
                                                    "created_at": "", "version": version})
        if registered is not None and registered.get("run_id") == run_id:
            return  # it landed (the error came after the write): go on as registered
        _discard_artifacts(model, version)
        raise


def _discard_artifacts(model: str, version: int) -> None:
    """Delete what a run that will not register ``version`` wrote under it (best effort: the
    reconciler deletes leftovers)."""
    try:
        artifacts.delete_artifacts(model, version)
    except Exception:
        logger.warning("could not delete unregistered artifacts", extra={"model": model, "version": version})


def _status_of(registry: Any, model: str, version: int) -> str:
    try:
        return str(registry.get_model_version(model, version, with_aliases=False).status)
    except Exception:
        return "unknown"


def _directions(spec: TrainingSpec) -> dict[str, str]:
    from chalicelib.core.training.evaluate import metric_directions

    return metric_directions(spec.metric_names())


def _score_champion(model: str, champion_version: int | None, spec: TrainingSpec,
                    result: Any) -> tuple[dict[str, Any], str | None]:
    """The champion's metrics on the challenger's holdout rows ({} and the error if it cannot be scored)."""
    if champion_version is None:
        return {}, None
    from chalicelib.core.training.evaluate import score_model

    try:
        record = get_registry().get_model_version(model, champion_version, with_aliases=False)
        champion = artifacts.load_model(model, champion_version, record.artifact_sha256)
        columns = [f["name"] for f in champion.metadata.get("features", [])]
        missing = [c for c in columns if c not in result.X_test.columns]
        if missing:
            raise ValueError(f"the holdout lacks the champion's feature(s) {', '.join(missing)}")
        return score_model(champion.pipeline, result.X_test[columns], result.y_test, spec.task,
                           spec.metric_names(), result.classes), None
    except (SluiceError, ValueError, KeyError, TypeError, AttributeError) as exc:
        message = exc.message if isinstance(exc, SluiceError) else f"{type(exc).__name__}: {exc}"
        logger.warning("champion could not be scored", extra={"model": model, "version": champion_version})
        return {}, message[:MAX_ERROR_CHARS]


def _apply_decision(registry: Any, model: str, version: int, champion_version: int | None,
                    spec: TrainingSpec, decision: GateDecision, run_id: str) -> dict[str, Any]:
    """Store the decision on the version (status + evidence) and move ``production`` if it won."""
    reason = "; ".join(decision.reasons)[:MAX_ERROR_CHARS]
    evidence = decision.to_dict()
    if decision.promote:
        registry.set_status(model, version, "approved", actor="gate", reason=reason, decision=evidence)
        try:
            registry.set_alias(model, PRODUCTION, version, expected=champion_version, actor="gate",
                               reason=reason, cause=f"gate decision of training run {run_id}")
        except ConflictError as exc:  # production moved while we trained: leave it to a human
            return {"promoted": False, "status": "approved", "error": exc.message}
        return {"promoted": True, "status": "approved", "alias": PRODUCTION, "from": champion_version}
    status = "rejected" if spec.promotion.mode == "auto" else "candidate"
    registry.set_status(model, version, status, actor="gate", reason=reason, decision=evidence)
    return {"promoted": False, "status": status}


def build_lineage(spec: TrainingSpec, versions: list[DatasetVersion], feedback: list[DatasetVersion],
             rows: dict[str, int], spec_version: int | None, run_id: str) -> dict[str, Any]:
    """Every dataset and feedback version the run read (oldest first) and the rows each part gave;
    ``dataset``/``raw``: the newest dataset version (what runs recorded before windows)."""
    newest = versions[-1]
    return {
        "datasets": [_version_ref(v) for v in versions],
        "feedback": {"dataset": feedback[0].dataset if feedback else None,
                     "versions": [_version_ref(v) for v in sorted(feedback, key=lambda v: v.version)],
                     "rows": rows.get("feedback", 0), "replaced": rows.get("feedback_replaced", 0)},
        "window": {"versions": spec.data.model_dump(mode="json")["versions"],
                   "feedback": spec.data.feedback, "pinned_version": spec.dataset_version,
                   "described": spec.data.describe()},
        "rows": rows,
        "dataset": _version_ref(newest), "raw": getattr(newest, "raw", None),
        "spec_version": spec_version, "run_id": run_id,
    }


def _data_summary(lineage: dict[str, Any]) -> dict[str, Any]:
    """The run record's ``data``: the window, the versions read and the rows each part gave."""
    return {"window": lineage["window"]["described"],
            "dataset_versions": [v["version"] for v in lineage["datasets"]],
            "feedback_versions": [v["version"] for v in lineage["feedback"]["versions"]],
            "rows": lineage["rows"]}


def _metadata(spec: TrainingSpec, spec_version: int | None, result: Any, lineage: dict[str, Any],
              run_id: str) -> ModelMetadata:
    from chalicelib.core.training.trainer import PREDICTION, prediction_type, profile_types

    profiled = profile_types(result.features, result.derived)
    return {"prediction_type": prediction_type(spec.task), "prediction_feature": PREDICTION,
        "task": spec.task, "target": spec.target, "features": [f.to_dict() for f in result.features],
        "feature_types": profiled, "derived_features": {d.name: d.to_dict() for d in result.derived},
        "unprofiled_features": [f.name for f in result.features if f.name not in profiled],
        "reference": {"rows": result.rows["total"],
                      "covers": "every row with a target: the training rows and the holdout"},
        "prediction_reference": result.prediction_reference,
        "classes": result.classes, "metrics": result.metrics, "baseline": result.baseline,
        "evaluation": result.evaluation, "importance": result.importance, "rows": result.rows,
        "warnings": result.warnings,
        "spec": spec.model_dump(mode="json"), "spec_version": spec_version, "run_id": run_id,
        "lineage": lineage, "seed": spec.seed, "created_at": runs.now_iso(),
        "bucket": get_settings().bucket,
    }


def _profile_dict(result: Any) -> ReferenceProfileDict:
    """``reference_profile.json``: ``{"features": Profile, "prediction": Profile}`` (drift's dict form)."""
    return {"features": result.feature_profile.to_dict(), "prediction": result.prediction_profile.to_dict()}

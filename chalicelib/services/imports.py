"""Bring your own model: an externally trained scikit-learn pipeline becomes a registered version,
judged on a dataset version's holdout and gated exactly as a trained version is.

1. ``POST /models/{m}/imports`` (:func:`create_import`) stores the request under the staging prefix
   ``imports/{model}/{import_id}/`` and hands out a presigned, write-once PUT of the file
   (``model.skops``, ``model.tar.gz`` — an MLflow model directory the CLI packed — or ``model.pkl``).
   Pickle-based models come through the approver's route only (``POST …/imports/pickle``); the audit
   log records every import request with its format, SHA-256 and caller.
2. ``POST /models/{m}/imports/{id}/start`` (:func:`start_import`) checks that the file is there with the
   declared size, then queues an import run: a training run (same lock, lease, heartbeat, cancel and
   reconciler) whose body is :func:`import_register_gate`, invoked on the ``train`` function.
3. The run verifies the file's SHA-256 against the request, loads it with trusted types only
   (:mod:`chalicelib.core.imports.loading`), checks its input columns against the dataset's contract,
   evaluates it on the holdout of the dataset version (the spec's split and seed: the rows a trained run
   on that version holds out), then registers and gates it with the training service's
   :func:`~chalicelib.services.training.register_and_gate`. The registered artifact is sluice's own
   ``model.joblib`` of the loaded pipeline, so serving, monitoring and exports treat it as any version.

Why an explicit ``start`` rather than an S3 event on the staging prefix: the client knows when its
upload ended, a refusal that can be checked at once (missing file, wrong size, run in progress) is a 4xx
to the caller rather than a failed run nobody waits for, and no new trigger is needed in the template.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from chalicelib.core.errors import NotFoundError
from chalicelib.core.imports.errors import (
    ImportForbiddenError,
    ImportInvalidError,
    ImportNotFoundError,
    ImportNotUploadedError,
    ImportSpecRequiredError,
    ImportStartedError,
    ImportTooLargeError,
)
from chalicelib.core.imports.request import FILENAMES, MAX_IMPORT_BYTES, ImportRequest
from chalicelib.core.log import logger
from chalicelib.core.training.errors import DatasetNotReadyError
from chalicelib.core.training.lease import PHASE_FITTING
from chalicelib.services import training
from chalicelib.services.registry import check_name, get_registry
from chalicelib.storage import datasets as dataset_store
from chalicelib.storage import runs, s3
from chalicelib.storage import specs as spec_store
from chalicelib.storage.invoke import invoke_async

IMPORTS = "imports"  # the staging prefix: imports/{model}/{import_id}/ (no trigger; the run reads it)
REQUEST_FILE = "request.json"
STARTED_FILE = "started.json"
URL_SECONDS = 3600
WRITE_ONCE = {"If-None-Match": "*"}
AUDIT_EVENT = "import"


def staging_prefix(model: str, import_id: str) -> str:
    return f"{IMPORTS}/{model}/{import_id}/"


# ---- the request --------------------------------------------------------------------------------


def create_import(model: str, request: ImportRequest, *, actor: str, approver: bool) -> dict[str, Any]:
    """Store the import request and hand out the upload URL. ``approver``: the caller came through the
    approver's route, the only one that takes a pickle-based model."""
    check_name(model)
    if request.format == "pickle" and not approver:
        raise ImportForbiddenError("a pickle runs code when it is loaded: import it through "
                                   f"POST /models/{model}/imports/pickle (approver role), or save it as "
                                   "skops")
    if request.size > MAX_IMPORT_BYTES:
        raise ImportTooLargeError(f"the file is {request.size} bytes; imports take at most "
                                  f"{MAX_IMPORT_BYTES}")
    spec_version = _check_judge(model, request)
    import_id = runs.new_run_id()
    prefix = staging_prefix(model, import_id)
    key = prefix + FILENAMES[request.format]
    ticket = {**request.model_dump(mode="json"), "model": model, "import_id": import_id, "by": actor,
              "approver": approver, "spec_version": spec_version, "staging_key": key,
              "created_at": runs.now_iso()}
    s3.put_bytes_once(prefix + REQUEST_FILE, _json(ticket), content_type="application/json")
    get_registry().append_audit(model, AUDIT_EVENT, actor=actor, details={
        "import_id": import_id, "format": request.format, "sha256": request.sha256, "size": request.size,
        "dataset": request.dataset, "dataset_version": request.dataset_version,
        "route": "approver" if approver else "operator", "pickle_allowed": approver})
    logger.info("model import requested", extra={"model": model, "import_id": import_id,
                                                 "format": request.format})
    url = s3.presigned_put_url(key, expires_in=URL_SECONDS, write_once=True)
    return {"model": model, "import_id": import_id, "status": "awaiting_upload", "format": request.format,
            "upload": {"url": url, "method": "PUT", "headers": dict(WRITE_ONCE), "key": key,
                       "expires_in": URL_SECONDS},
            "start": f"/models/{model}/imports/{import_id}/start"}


def _check_judge(model: str, request: ImportRequest) -> int | None:
    """The dataset (and version) exist and passed; a spec or target+task says how to judge. Returns the
    spec version the import will be judged by (None: the request's target and task)."""
    dataset_store.get_contract(request.dataset)  # 404 when the dataset has no contract
    if request.dataset_version is not None:
        _passed(request.dataset, request.dataset_version)
    try:
        stored = spec_store.get_spec(model)
    except NotFoundError:
        if not (request.target and request.task):
            raise ImportSpecRequiredError(f"model {model!r} has no training spec: give target and task (the "
                                          "spec's defaults then judge the import), or put a spec") from None
        return None
    conflicting = [f"{name} {getattr(request, name)!r} (the spec says {getattr(stored.spec, name)!r})"
                   for name in ("target", "task")
                   if getattr(request, name) not in (None, getattr(stored.spec, name))]
    if conflicting:
        raise ImportSpecRequiredError("the request contradicts the model's training spec: " +
                                      "; ".join(conflicting))
    return stored.version


def _passed(dataset: str, version: int) -> Any:
    found = dataset_store.get_version(dataset, version)
    if found.status != "passed":
        raise DatasetNotReadyError(f"dataset {dataset} version {version} is {found.status}, not passed")
    return found


def get_import(model: str, import_id: str) -> dict[str, Any]:
    """The request and where it is: ``awaiting_upload``, ``uploaded``, or the run's status (with it)."""
    ticket = _ticket(model, import_id)
    out = {k: v for k, v in ticket.items() if k not in ("approver",)}
    out["route"] = "approver" if ticket.get("approver") else "operator"
    started = _started(model, import_id)
    if started is not None:
        run = dict(runs.get_run(model, started["run_id"]))
        return {**out, "status": run.get("status"), "run_id": started["run_id"], "run": run}
    return {**out, "status": "uploaded" if s3.exists(ticket["staging_key"]) else "awaiting_upload"}


def _ticket(model: str, import_id: str) -> dict[str, Any]:
    if not _looks_like_id(import_id):
        raise ImportNotFoundError(f"model {model!r} has no import {import_id!r}")
    try:
        ticket: dict[str, Any] = s3.get_json(staging_prefix(check_name(model), import_id) + REQUEST_FILE)
    except NotFoundError as exc:
        raise ImportNotFoundError(f"model {model!r} has no import {import_id!r}") from exc
    return ticket


def _looks_like_id(value: str) -> bool:
    return bool(runs.RUN_ID.fullmatch(value or ""))


def _started(model: str, import_id: str) -> dict[str, Any] | None:
    try:
        started: dict[str, Any] = s3.get_json(staging_prefix(model, import_id) + STARTED_FILE)
    except NotFoundError:
        return None
    return started


# ---- starting the run ---------------------------------------------------------------------------


def start_import(model: str, import_id: str, *, actor: str) -> dict[str, Any]:
    """Queue the import run once the file is uploaded; 409 before the upload or after a first start."""
    ticket = _ticket(model, import_id)
    started = _started(model, import_id)
    if started is not None:
        raise ImportStartedError(f"import {import_id} was started as run {started['run_id']}",
                                 details={"run_id": started["run_id"]})
    try:
        staged = s3.head(ticket["staging_key"])
    except NotFoundError as exc:
        raise ImportNotUploadedError(f"nothing uploaded yet for import {import_id}: PUT the file to the "
                                     "upload URL first") from exc
    if staged.size != ticket["size"]:
        raise _size_mismatch(staged.size, ticket["size"])
    run_id = runs.new_run_id()
    stale = runs.acquire_lock(model, run_id)  # 409 run_in_progress while a run of the model is in flight
    if stale:
        training.resolve_lost_run(model, stale)
    try:
        if s3.put_bytes_once(staging_prefix(model, import_id) + STARTED_FILE,
                             _json({"run_id": run_id, "by": actor, "at": runs.now_iso()})) is None:
            raise ImportStartedError(f"import {import_id} was started meanwhile")
        runs.create_run(model, run_id, actor=actor, reason=ticket.get("reason") or f"import {import_id}",
                        cause={"import_id": import_id, "format": ticket["format"],
                               "sha256": ticket["sha256"]},
                        spec_version=ticket.get("spec_version") or 0)
        invoke_async("train", {"model": model, "run_id": run_id})
    except Exception:
        runs.release_lock(model, run_id)
        raise
    logger.info("model import queued", extra={"model": model, "import_id": import_id, "run_id": run_id})
    return {"model": model, "import_id": import_id, "run_id": run_id, "status": "queued",
            "href": f"/models/{model}/runs/{run_id}"}


# ---- the run ------------------------------------------------------------------------------------


def import_register_gate(model: str, run_id: str, run: runs.RunRecord) -> dict[str, Any]:
    """The import run's body (the ``train`` function runs it for a run whose cause is an import)."""
    from chalicelib.core.drift.profile import build_profile
    from chalicelib.core.imports.schema import contract_features, input_columns
    from chalicelib.core.training.trainer import evaluate_imported
    from chalicelib.core.training.window import join_rows

    clock = time.perf_counter()
    cause = run.get("cause")
    assert isinstance(cause, dict)
    ticket = _ticket(model, str(cause["import_id"]))
    spec, spec_version = _judging_spec(model, ticket)
    version = (_passed(spec.dataset, spec.dataset_version) if spec.dataset_version is not None
               else dataset_store.latest_passing_version(spec.dataset))
    if version is None:
        raise DatasetNotReadyError(f"dataset {spec.dataset} has no passing version to judge the import on")
    contract = dataset_store.get_contract(spec.dataset, version.contract_version).contract
    body = _verified_file(ticket)
    runs.checkpoint(model, run_id, PHASE_FITTING)  # a cancelled import stops before loading
    loaded, details = _load(ticket, body)
    from chalicelib.core.imports.loading import check_estimator

    check_estimator(loaded.model, spec.task)
    given = ticket.get("features") or details.get("signature")
    columns = input_columns(_names_in(loaded.model), getattr(loaded.model, "n_features_in_", None), given,
                            "the request's features" if ticket.get("features") else "the MLflow signature")
    features = contract_features(columns, contract, spec.target)
    curated = [c.name for c in contract.columns if c.pii != "drop"]
    joined = join_rows([training.read_version(version, {(spec.dataset, version.contract_version): contract})],
                       [], curated)
    timings = {"load_s": time.perf_counter() - clock}
    result = evaluate_imported(spec, features, loaded.model, joined.frame, build_profile=build_profile)
    result.warnings.extend(loaded.warnings)
    lineage = training.build_lineage(spec, [version], [], joined.rows, spec_version, run_id)
    origin = {"kind": "import", "format": ticket["format"], "by": ticket["by"], "sha256": ticket["sha256"],
              "staging_key": ticket["staging_key"], "import_id": ticket["import_id"], "run_id": run_id,
              "pickle": details["pickle"], "serialization_format": details["serialization_format"],
              "sklearn_version": details.get("sklearn_version"), "route": "approver" if ticket["approver"]
              else "operator", "started_by": run.get("actor")}
    lineage["import"] = origin
    return training.register_and_gate(
        model, run_id, spec=spec, spec_version=spec_version, result=result, lineage=lineage, timings=timings,
        origin=origin, actor=run.get("actor") or ticket["by"], description=ticket.get("description") or "",
        tags={"estimator": _estimator_name(loaded.model), "task": spec.task})


def _judging_spec(model: str, ticket: dict[str, Any]) -> tuple[Any, int | None]:
    """The spec that judges the import, pinned on the request's dataset version: the model's spec at
    request time (its split, seed, metrics, promotion), or the defaults with the request's target/task."""
    from chalicelib.core.training.spec import TrainingSpec

    pinned = {"dataset": ticket["dataset"], "dataset_version": ticket.get("dataset_version")}
    if ticket.get("spec_version"):
        stored = spec_store.get_spec(model, int(ticket["spec_version"]))
        body = stored.spec.model_dump(mode="json", exclude={"data"})
        return TrainingSpec.model_validate({**body, **pinned}), stored.version
    return TrainingSpec.model_validate({**pinned, "target": ticket["target"], "task": ticket["task"],
                                        "estimator": {"name": "imported"}}), None


def _size_mismatch(found: int, said: int) -> ImportInvalidError:
    return ImportInvalidError(f"the uploaded file is {found} bytes; the request said {said}",
                              code="import_size_mismatch")


def _verified_file(ticket: dict[str, Any]) -> bytes:
    """The staged file, only if it is the one the request described (size and SHA-256)."""
    staged = s3.head(ticket["staging_key"])
    if staged.size > MAX_IMPORT_BYTES or staged.size != ticket["size"]:
        raise _size_mismatch(staged.size, ticket["size"])
    body = s3.get_bytes(ticket["staging_key"])
    actual = hashlib.sha256(body).hexdigest()
    if actual != ticket["sha256"]:
        raise ImportInvalidError(f"the uploaded file's SHA-256 is {actual[:12]}…, the request said "
                                 f"{ticket['sha256'][:12]}…; nothing was loaded",
                                 code="import_checksum_mismatch")
    return body


def _load(ticket: dict[str, Any], body: bytes) -> tuple[Any, dict[str, Any]]:
    """The loaded model and what its file said (``pickle``, ``serialization_format``, MLflow's
    ``signature`` and ``sklearn_version``). A pickle from a request that did not come through the
    approver's route is refused before it is read."""
    from chalicelib.core.imports import loading
    from chalicelib.services.exports import native, portable_module

    details: dict[str, Any] = {"pickle": ticket["format"] == "pickle",
                               "serialization_format": ticket["format"]}
    if ticket["format"] == "mlflow":
        from chalicelib.core.imports.archive import model_folder, read_archive
        from chalicelib.core.imports.errors import ImportInvalidError as Invalid
        from chalicelib.core.imports.mlmodel import parse_mlmodel

        files = read_archive(body)
        folder = model_folder(files)
        mlmodel = parse_mlmodel(files[folder + "MLmodel"])
        if folder + mlmodel.model_file not in files:
            raise Invalid(f"the archive lacks the model file {mlmodel.model_file!r} its MLmodel names",
                          code="import_mlmodel_invalid")
        body = files[folder + mlmodel.model_file]
        details.update(pickle=mlmodel.pickled, serialization_format=mlmodel.serialization_format,
                       sklearn_version=mlmodel.sklearn_version,
                       signature=[c["name"] for c in mlmodel.inputs] if mlmodel.inputs else None)
    if details["pickle"] and not ticket.get("approver"):
        raise ImportForbiddenError(f"the model is serialised with {details['serialization_format']}, which "
                                   "runs code when loaded: only an import requested through the approver's "
                                   "route (POST …/imports/pickle) may load it")
    portable_module()  # an export brought back names sluice_transforms: sluice's own copy answers
    loaded = loading.load_pickled(body) if details["pickle"] else loading.load_skops(body)
    loaded.model = native(loaded.model)
    return loaded, details


def _names_in(model: Any) -> list[str] | None:
    names = getattr(model, "feature_names_in_", None)
    return None if names is None else [str(n) for n in names]


def _estimator_name(model: Any) -> str:
    final = model.steps[-1][1] if hasattr(model, "steps") and model.steps else model
    return type(final).__name__


def _json(value: Any) -> bytes:
    import json

    return json.dumps(value, indent=2, sort_keys=True, default=str).encode()

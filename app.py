"""sluice's Lambda entry points. Wiring only: trigger → one call into chalicelib → errors mapped once.

Heavy libraries (pandas, scikit-learn, awswrangler) are imported inside the handlers that need them,
so ``import app`` stays light for every function's cold start. The one exception is the API function:
its environment sets ``SLUICE_PRELOAD=serving`` (infra/functions.yaml), and its init imports and warms
the predict path (last lines), which Lambda SnapStart snapshots when a version is published.
"""

from __future__ import annotations

import os
from typing import Any

from chalice import Chalice, IAMAuthorizer

from chalicelib.triggers.http import dashboard, health, openapi
from chalicelib.triggers.http import datasets as datasets_api
from chalicelib.triggers.http import exports as exports_api
from chalicelib.triggers.http import imports as imports_api
from chalicelib.triggers.http import monitoring as monitoring_api
from chalicelib.triggers.http import ops as ops_api
from chalicelib.triggers.http import registry as registry_api
from chalicelib.triggers.http import serving as serving_api
from chalicelib.triggers.http import training as training_api
from chalicelib.triggers.http.http import error_response, normalise_chalice_error, surface_errors
from chalicelib.triggers.table import schedule_expression
from chalicelib.triggers.tracing import invocation
from chalicelib.triggers.tracing import prepare as prepare_tracing

app = Chalice(app_name="sluice")
app.register_blueprint(health.bp)
app.register_blueprint(registry_api.bp)
app.register_blueprint(serving_api.bp)
app.register_blueprint(datasets_api.bp)
app.register_blueprint(training_api.bp)
app.register_blueprint(exports_api.bp)
app.register_blueprint(imports_api.bp)
app.register_blueprint(monitoring_api.bp)
app.register_blueprint(ops_api.bp)
app.register_blueprint(dashboard.bp)
app.register_blueprint(openapi.bp)


@app.middleware("all")
def observe(event: Any, get_response: Any) -> Any:
    """Every invocation traced in X-Ray (chalicelib/triggers/tracing.py), and its CloudWatch metrics
    (chalicelib/core/metrics.py) written to its log at its end."""
    try:
        with invocation(event) as trace:
            response = get_response(event)
            trace.status(getattr(response, "status_code", None))
            return response
    finally:
        from chalicelib.core.metrics import flush

        flush()


@app.middleware("http")
def map_errors(event: Any, get_response: Any) -> Any:
    """The one place where exceptions become ``{"error": {"code", "message"}}`` responses."""
    try:
        return normalise_chalice_error(get_response(event))
    except Exception as exc:  # every view error, surfaced (see surface_errors), and anything outside views
        return error_response(exc)


# ---- S3 uploads (bucket → EventBridge → rule → function; see chalicelib/triggers/table.py) ----------


@app.lambda_function(name="on_raw_object")
def on_raw_object(event: dict, context: Any) -> dict:
    from chalicelib.triggers.uploads import handle_raw_objects

    return handle_raw_objects(event, context)


@app.lambda_function(name="contract_inference")
def contract_inference(event: dict, context: Any) -> dict:
    """Contract inference, invoked by the API (this function has pyarrow; the API's layer has not)."""
    from chalicelib.core.settings import get_settings
    from chalicelib.services.contracts import infer_here
    from chalicelib.storage.invoke import sync_answer

    return sync_answer(infer_here, event["dataset"], event["key"], event.get("format"), get_settings())


@app.lambda_function(name="on_label_object")
def on_label_object(event: dict, context: Any) -> list:
    from chalicelib.core.events import parse_object_events
    from chalicelib.triggers.labels import handle_label_objects

    return handle_label_objects(parse_object_events(event))


@app.lambda_function(name="process_feedback")
def process_feedback(event: dict, context: Any) -> dict:
    """The data gate on feedback rows, invoked by on_label_object (this function has pyarrow)."""
    from chalicelib.services.feedback import process_here
    from chalicelib.storage.invoke import sync_answer

    return sync_answer(process_here, event)


@app.lambda_function(name="on_batch_object")
def on_batch_object(event: dict, context: Any) -> dict:
    from chalicelib.triggers.batch import handle_batch_objects

    return handle_batch_objects(event, context)


# ---- training (asynchronous invocations; see chalicelib/triggers/table.py ASYNC_FUNCTIONS) ----------


@app.lambda_function(name="train")
def train(event: dict, context: Any) -> dict:
    from chalicelib.services.training import execute_run

    return execute_run(event["model"], event["run_id"])


@app.lambda_function(name="on_training_job")
def on_training_job(event: dict, context: Any) -> dict:
    """A SageMaker training job of this stack changed state (EventBridge; docs/sagemaker.md): a job that
    ended while its run was in flight ends the run."""
    from chalicelib.triggers.training_jobs import handle_training_job_event

    return handle_training_job_event(event)


@app.lambda_function(name="on_dataset_version")
def on_dataset_version(event: dict, context: Any) -> dict:
    from chalicelib.services.schedule import check_new_dataset_version
    from chalicelib.services.training import on_dataset_version as start_runs

    runs = start_runs(event["dataset"], int(event["version"]))
    return {**runs, "drift": check_new_dataset_version(event["dataset"], int(event["version"]))}


# ---- schedules (EventBridge rules; the local stack fires them on its clock) -------------------


@app.schedule(schedule_expression("reconcile"), name="reconcile")
def reconcile(event: Any) -> dict:
    """The reconciler: runs past their lease, orphan artifacts, stuck claims, dead letters
    (docs/operations.md)."""
    from chalicelib.triggers.reconcile import handle_reconcile

    return handle_reconcile(event.to_dict())


@app.schedule(schedule_expression("monitor"), name="monitor")
def monitor(event: Any) -> dict:
    from chalicelib.services.schedule import check_production_models

    return check_production_models()


# ---- every route's exceptions reach map_errors (Chalice would answer untyped ones itself) -------
surface_errors(app)

# ---- authorization, keep last: IAM (SigV4) on every route except the public ones (docs/deploy.md).
# The dashboard shows model and dataset names and metrics: IAM too (`sluice dashboard` signs for a
# browser), unless a stage sets SLUICE_PUBLIC_DASHBOARD=true in .chalice/config.json.
PUBLIC_ROUTES = {("/health", "GET")}  # = `public:` of infra/api_access.yaml (tested)
if os.environ.get("SLUICE_PUBLIC_DASHBOARD", "").lower() == "true":
    PUBLIC_ROUTES.add(("/", "GET"))
for _path, _methods in app.routes.items():
    for _method, _route in _methods.items():
        if (_path, _method) not in PUBLIC_ROUTES:
            _route.authorizer = IAMAuthorizer()

# ---- init, keep last: the tracer made (on Lambda), and for the API function the predict path imported and
# warmed: SnapStart snapshots both
prepare_tracing()
serving_api.preload_if_configured()

"""sluice's Lambda entry points. Wiring only: trigger → one call into chalicelib → errors mapped once.

Heavy libraries (pandas, scikit-learn, awswrangler) are imported inside the handlers that need them,
so ``import app`` stays light for every function's cold start.
"""

from __future__ import annotations

from typing import Any

from chalice import Chalice, IAMAuthorizer

from chalicelib.api import dashboard, health, openapi
from chalicelib.api import datasets as datasets_api
from chalicelib.api import monitoring as monitoring_api
from chalicelib.api import registry as registry_api
from chalicelib.api import serving as serving_api
from chalicelib.api import training as training_api
from chalicelib.api.http import error_response, normalise_chalice_error, surface_errors
from chalicelib.triggers import schedule_expression

app = Chalice(app_name="sluice")
app.register_blueprint(health.bp)
app.register_blueprint(registry_api.bp)
app.register_blueprint(serving_api.bp)
app.register_blueprint(datasets_api.bp)
app.register_blueprint(training_api.bp)
app.register_blueprint(monitoring_api.bp)
app.register_blueprint(dashboard.bp)
app.register_blueprint(openapi.bp)


@app.middleware("http")
def map_errors(event: Any, get_response: Any) -> Any:
    """The one place where exceptions become ``{"error": {"code", "message"}}`` responses."""
    try:
        return normalise_chalice_error(get_response(event))
    except Exception as exc:  # SluiceError (a ChaliceUnhandledError) and anything raised outside views
        return error_response(exc)


# ---- S3 uploads (bucket → EventBridge → rule → function; see chalicelib/triggers.py) ----------


@app.lambda_function(name="on_raw_object")
def on_raw_object(event: dict, context: Any) -> dict:
    from chalicelib.validation.handler import handle_raw_objects

    return handle_raw_objects(event, context)


@app.lambda_function(name="contract_inference")
def contract_inference(event: dict, context: Any) -> dict:
    """Contract inference, invoked by the API (this function has pyarrow; the API's layer has not)."""
    from chalicelib.aws.invoke import sync_answer
    from chalicelib.datasets.contracts import infer_here
    from chalicelib.settings import get_settings

    return sync_answer(infer_here, event["dataset"], event["key"], event.get("format"), get_settings())


@app.lambda_function(name="on_label_object")
def on_label_object(event: dict, context: Any) -> list:
    from chalicelib.events import parse_object_events
    from chalicelib.monitoring.performance import handle_label_objects

    return handle_label_objects(parse_object_events(event))


@app.lambda_function(name="on_batch_object")
def on_batch_object(event: dict, context: Any) -> dict:
    from chalicelib.serving.batch import handle_batch_objects

    return handle_batch_objects(event, context)


# ---- training (asynchronous invocations; see chalicelib/triggers.py ASYNC_FUNCTIONS) ----------


@app.lambda_function(name="train")
def train(event: dict, context: Any) -> dict:
    from chalicelib.training.service import execute_run

    return execute_run(event["model"], event["run_id"])


@app.lambda_function(name="on_dataset_version")
def on_dataset_version(event: dict, context: Any) -> dict:
    from chalicelib.monitoring.schedule import check_new_dataset_version
    from chalicelib.training.service import on_dataset_version as start_runs

    runs = start_runs(event["dataset"], int(event["version"]))
    return {**runs, "drift": check_new_dataset_version(event["dataset"], int(event["version"]))}


# ---- schedules (EventBridge rules; the local stack fires them on its clock) -------------------


@app.schedule(schedule_expression("monitor"), name="monitor")
def monitor(event: Any) -> dict:
    from chalicelib.monitoring.schedule import check_production_models

    return check_production_models()


# ---- every route's exceptions reach map_errors (Chalice would answer untyped ones itself) -------
surface_errors(app)

# ---- authorization, keep last: IAM (SigV4) on every route except the public ones (docs/deploy.md)
PUBLIC_ROUTES = {("/health", "GET"), ("/", "GET")}  # = `public:` of infra/api_access.yaml (tested)
for _path, _methods in app.routes.items():
    for _method, _route in _methods.items():
        if (_path, _method) not in PUBLIC_ROUTES:
            _route.authorizer = IAMAuthorizer()

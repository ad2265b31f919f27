"""sluice's Lambda entry points. Wiring only: trigger → one call into chalicelib → errors mapped once.

Heavy libraries (pandas, scikit-learn, awswrangler) are imported inside the handlers that need them,
so ``import app`` stays light for every function's cold start.
"""

from __future__ import annotations

from typing import Any

from chalice import Chalice

from chalicelib.api import health
from chalicelib.api.http import error_response

app = Chalice(app_name="sluice")
app.register_blueprint(health.bp)


@app.middleware("http")
def map_errors(event: Any, get_response: Any) -> Any:
    """The one place where exceptions become ``{"error": {"code", "message"}}`` responses."""
    try:
        return get_response(event)
    except Exception as exc:
        return error_response(exc)


# ---- S3 uploads (bucket → EventBridge → rule → function; see chalicelib/triggers.py) ----------


@app.lambda_function(name="on_raw_object")
def on_raw_object(event: dict, context: Any) -> dict:
    from chalicelib.validation.handler import handle_raw_objects

    return handle_raw_objects(event, context)

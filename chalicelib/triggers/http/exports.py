"""Export routes: ``POST /models/{model}/versions/{version}/exports`` with ``{"format": "mlflow" |
"sagemaker" | "skops"}`` → 201 with the export's key, SHA-256 and a presigned GET URL (15 minutes)."""

from __future__ import annotations

from typing import Any, Literal

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict

from chalicelib.triggers.http.http import caller, json_body, json_response, parse_model

bp = Blueprint(__name__)


class ExportRequest(BaseModel):
    """The format to export a registered version in."""

    model_config = ConfigDict(extra="forbid")
    format: Literal["mlflow", "sagemaker", "skops"]


@bp.route("/models/{model}/versions/{version}/exports", methods=["POST"])
def export_version(model: str, version: str) -> Any:
    from chalicelib.services.exports import export_version as export

    body = parse_model(json_body(bp.current_request), ExportRequest, "export request")
    return json_response(export(model, version, body.format, actor=caller(bp.current_request)), 201)

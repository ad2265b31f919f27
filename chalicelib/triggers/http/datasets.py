"""Datasets: contracts (store, read, infer), presigned uploads and samples, dataset versions with lineage."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.core.datasets import names
from chalicelib.core.datasets.errors import DatasetNotFoundError
from chalicelib.services import contracts
from chalicelib.services.dataset_reports import report_url
from chalicelib.storage import dataset_files as outputs
from chalicelib.storage import datasets as store
from chalicelib.triggers.http.http import (
    encode_token,
    json_body,
    json_response,
    page_params,
    parse_model,
    query_param,
)

bp = Blueprint(__name__)

CONTRACT_TYPES = ["application/json", *contracts.YAML_TYPES]


@bp.route("/datasets/{dataset}/contract", methods=["PUT"], content_types=CONTRACT_TYPES)
def put_contract(dataset: str) -> Any:
    """Store a new version of the dataset's contract (JSON, or YAML with a YAML content type)."""
    names.check_dataset_name(dataset)
    request = bp.current_request
    data = contracts.load_body(request.raw_body, request.headers.get("content-type"))
    stored = contracts.put_contract(dataset, data)
    return json_response({"dataset": dataset, **stored.to_dict()}, 201)


@bp.route("/datasets/{dataset}/contract", methods=["GET"])
def get_contract(dataset: str) -> Any:
    """The latest contract of the dataset, or ``?version=``."""
    names.check_dataset_name(dataset)
    raw_version = query_param(bp.current_request, "version")
    version = None if raw_version is None else names.check_version(raw_version)
    return {"dataset": dataset, **store.get_contract(dataset, version).to_dict()}


@bp.route("/datasets/{dataset}/contract/infer", methods=["POST"])
def infer_contract(dataset: str) -> Any:
    """Suggest a contract from an object under ``raw/{dataset}/`` or ``staging/{dataset}/``.

    ``{"key": ...}``: the full key, or a key relative to ``raw/{dataset}/`` (then ``staging/{dataset}/``).
    """
    names.check_dataset_name(dataset)
    from chalicelib.core.datasets.requests import InferRequest

    body = parse_model(json_body(bp.current_request), InferRequest, "infer request")
    return contracts.suggest_contract(dataset, body.key, body.format)


@bp.route("/datasets/{dataset}/uploads", methods=["POST"])
def create_upload(dataset: str) -> Any:
    """A presigned PUT URL for a new object under ``raw/{dataset}/`` (``{"filename": ...}``)."""
    names.check_dataset_name(dataset)
    from chalicelib.core.datasets.requests import UploadRequest

    body = parse_model(json_body(bp.current_request), UploadRequest, "upload request")
    return json_response(contracts.upload_url(dataset, body.filename), 201)


@bp.route("/datasets/{dataset}/samples", methods=["POST"])
def create_sample(dataset: str) -> Any:
    """A presigned PUT URL for a sample under ``staging/{dataset}/``, to infer a contract from.

    ``{"filename": ...}``. Staging starts no validation, creates no dataset version and expires after a day.
    """
    names.check_dataset_name(dataset)
    from chalicelib.core.datasets.requests import UploadRequest

    body = parse_model(json_body(bp.current_request), UploadRequest, "sample request")
    return json_response(contracts.sample_url(dataset, body.filename), 201)


@bp.route("/datasets", methods=["GET"])
def list_datasets() -> Any:
    """Every dataset with its latest contract and version numbers, in name order (paged)."""
    limit, start = page_params(bp.current_request)
    items, last = store.list_datasets(limit, start)
    return {"items": items, "next_token": encode_token(last)}


@bp.route("/datasets/{dataset}/versions", methods=["GET"])
def list_versions(dataset: str) -> Any:
    """The dataset's versions, newest first (paged)."""
    names.check_dataset_name(dataset)
    limit, start = page_params(bp.current_request)
    items, last = store.list_versions(dataset, limit, start)
    if not items and start is None and store.get_dataset(dataset) is None:
        raise DatasetNotFoundError(f"no dataset named {dataset!r}")
    return {"items": [item.to_dict() for item in items], "next_token": encode_token(last)}


@bp.route("/datasets/{dataset}/versions/{version}", methods=["GET"])
def get_version(dataset: str, version: str) -> Any:
    """One dataset version: its record, validation report and lineage."""
    names.check_dataset_name(dataset)
    record = store.get_version(dataset, names.check_version(version))
    lineage = {"raw": record.raw, "contract": {"dataset": dataset, "version": record.contract_version},
               "report_key": record.report_key, "curated_path": record.curated_path,
               "quarantine_path": record.quarantine_path, "glue_table": record.glue_table}
    return {**record.to_dict(), "report": outputs.get_report(record.report_key), "lineage": lineage,
            "report_html": report_url(dataset, record.version)}


@bp.route("/datasets/{dataset}/versions/{version}/report.html", methods=["GET"])
def get_version_report_html(dataset: str, version: str) -> Response:
    """One dataset version's validation report as a self-contained HTML page.

    Every rule (passed, failed, not evaluated) with its failing rows and first failing values (values of
    PII columns masked), the column profile and the file's lineage.
    """
    names.check_dataset_name(dataset)
    from chalicelib.core.reports.page import HTML_HEADERS
    from chalicelib.services.dataset_reports import validation_page

    body = validation_page(dataset, names.check_version(version), dashboard="../../../../")
    return Response(body=body, status_code=200, headers=dict(HTML_HEADERS))


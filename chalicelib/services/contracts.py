"""Contract operations behind the HTTP API: store a new version, read one, suggest one from an object.

Inference reads an object under ``raw/{dataset}/`` (a file already uploaded) or under
``staging/{dataset}/`` (a sample the CLI sends through :func:`sample_url`): staging starts no
validation, creates no dataset version, and the bucket expires it after a day.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from chalicelib.core.datasets import names
from chalicelib.core.datasets.errors import (
    ContractBodyInvalidError,
    ContractMismatchError,
    ObjectTooLargeError,
)
from chalicelib.core.datasets.types import StoredContract
from chalicelib.core.errors import BadRequestError, InvalidInputError, NotFoundError
from chalicelib.core.settings import Settings, get_settings
from chalicelib.storage import dataset_files as outputs
from chalicelib.storage import datasets as store
from chalicelib.storage import glue_tables, layout, s3

YAML_TYPES = ("application/x-yaml", "application/yaml", "text/yaml", "text/x-yaml")
# A synchronous request (API Gateway: 29 s) reads at most this much: text files are sampled from their
# first INFER_TEXT_BYTES (cut at a line end); Parquet needs the whole file, up to MAX_INFER_BYTES.
INFER_TEXT_BYTES = 16 * 1024 * 1024
MAX_INFER_BYTES = 256 * 1024 * 1024
# A presigned URL for a sample is used at once (the CLI asks, then sends): a short life is enough.
SAMPLE_URL_SECONDS = 900
STAGING_RETENTION_DAYS = 1  # = the staging/ lifecycle rule of infra/resources.yaml (tested)


def load_body(raw: bytes | str | None, content_type: str | None) -> Any:
    """A contract body as Python data: JSON, or YAML when the content type says so."""
    if not raw:
        raise ContractBodyInvalidError("the request needs a contract body (JSON or YAML)",
                                       code="missing_body")
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise ContractBodyInvalidError("the body is not UTF-8 text", code="invalid_body") from exc
    media = (content_type or "application/json").split(";")[0].strip().lower()
    if media in YAML_TYPES:
        import yaml

        try:
            return yaml.safe_load(text)
        except (yaml.YAMLError, RecursionError) as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            raise ContractBodyInvalidError(f"the body is not valid YAML{where}", code="invalid_yaml") from exc
    import json

    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ContractBodyInvalidError(f"the body is not valid JSON: {exc}", code="invalid_json") from exc


def put_contract(dataset: str, data: Any) -> StoredContract:
    """Validate ``data`` as the contract of ``dataset`` and store it as a new version."""
    from chalicelib.core.validation.contract import parse_contract

    names.check_dataset_name(dataset)
    if isinstance(data, dict):
        named = data.get("dataset")
        if named is None:
            data = {**data, "dataset": dataset}
        elif named != dataset:
            raise ContractMismatchError(f"the contract names dataset {named!r} but is stored under "
                                        f"{dataset!r}")
    contract = parse_contract(data)
    collisions = layout.curated_collisions(contract.column_names)
    if collisions:
        raise InvalidInputError(_collision_message(collisions), code="curated_name_collision",
                                details={"collisions": collisions})
    glue_tables.claim_table_of(dataset)
    return store.put_contract(contract)


def _collision_message(collisions: dict[str, list[str]]) -> str:
    clash = "; ".join(f"{', '.join(repr(n) for n in group)} → {curated!r}"
                      for curated, group in collisions.items())
    return (f"columns would share one name in curated data and its Glue table (Athena takes lowercase "
            f"letters, digits and '_'): {clash}; rename one of each")


def suggestion_warnings(contract: dict[str, Any]) -> list[dict[str, Any]]:
    """What would stop a suggested contract from being stored as it stands (the file's own column names
    colliding once curated, e.g. ``X`` and ``x``): said with the suggestion, not first at ``PUT``."""
    names_ = [str(c.get("name")) for c in contract.get("columns") or [] if isinstance(c, dict)]
    collisions = layout.curated_collisions(names_)
    if not collisions:
        return []
    return [{"code": "curated_name_collision", "message": _collision_message(collisions) + " in the file, "
             "or leave one of each out of the contract (undeclared columns follow extra_columns): as it "
             "stands, this contract is refused", "collisions": collisions}]


def suggest_contract(dataset: str, key: str, file_format: str | None = None,
                     settings: Settings | None = None) -> dict[str, Any]:
    """A suggested contract inferred from the object ``key`` (latest version) of ``dataset``: a full key
    under ``raw/{dataset}/`` or ``staging/{dataset}/``, or a key relative to either
    (:func:`layout.inference_keys`)."""
    settings = settings or get_settings()
    names.check_dataset_name(dataset)
    layout.inference_keys(dataset, key)  # a bad key is a 400 here, before any invocation
    if settings.invoke_mode == "lambda":
        # The API function carries the ML layer, which has no pyarrow (Lambda's size limit): the
        # validation engine's readers run in the contract_inference function, on the pandas layer.
        from chalicelib.storage.invoke import invoke_sync

        return invoke_sync("contract_inference", {"dataset": dataset, "key": key, "format": file_format},
                           settings)
    return infer_here(dataset, key, file_format, settings)


def infer_here(dataset: str, key: str, file_format: str | None, settings: Settings) -> dict[str, Any]:
    """:func:`suggest_contract`'s work, in this process (the contract_inference function, or locally)."""
    obj = _find(dataset, key, settings)
    key = obj.key
    file_format = file_format or names.file_format_of(key)
    sampled = file_format in ("csv", "jsonl") and obj.size > INFER_TEXT_BYTES
    if obj.size > MAX_INFER_BYTES and not sampled:
        raise ObjectTooLargeError(f"the object has {obj.size} bytes; inference reads at most "
                                  f"{MAX_INFER_BYTES} of a Parquet file (upload a sample)")
    from chalicelib.core.validation.infer import infer_contract

    with tempfile.TemporaryDirectory(prefix="sluice-infer-") as folder:
        path = os.path.join(folder, "object" + names.suffix_of(key))
        if sampled:
            read = outputs.download_head(obj, path, INFER_TEXT_BYTES, settings)
        else:
            outputs.download(obj, path, settings)
            read = obj.size
        try:
            suggestion = infer_contract(path, dataset, file_format=file_format)
        except (ValueError, OSError, ArithmeticError) as exc:  # the reader's last line of defence
            raise BadRequestError(f"cannot infer a contract: the file cannot be read ({type(exc).__name__})",
                                  code="unreadable_file") from exc
    source = {"bucket": obj.bucket, "key": obj.key, "version_id": obj.version_id, "etag": obj.etag,
              "size": obj.size}
    return {"dataset": dataset, "source": source, "sampled_bytes": read,
            "contract": suggestion, "warnings": suggestion_warnings(suggestion)}


def _find(dataset: str, key: str, settings: Settings) -> Any:
    """The first existing object among the keys ``key`` may name; NotFoundError naming them all."""
    candidates = layout.inference_keys(dataset, key)
    for candidate in candidates:
        try:
            return outputs.identify(settings.bucket, candidate, None, settings)
        except NotFoundError:
            continue
    where = " or ".join(f"s3://{settings.bucket}/{c}" for c in candidates)
    raise NotFoundError(f"no object at {where}", code="object_not_found")


# Signed into every upload URL: the PUT must carry it, and S3 refuses a second PUT of the key (412).
WRITE_ONCE = {"If-None-Match": "*"}


def sample_url(dataset: str, filename: str, *, expires_in: int = SAMPLE_URL_SECONDS,
               settings: Settings | None = None) -> dict[str, Any]:
    """A presigned PUT URL for a sample ``staging/{dataset}/{timestamp}-{uuid}-{filename}``: the file to
    infer a contract from, without uploading it into ``raw/`` (which would validate it)."""
    settings = settings or get_settings()
    key = layout.staging_key(names.check_dataset_name(dataset), filename)
    url = s3.presigned_put_url(key, expires_in=expires_in, write_once=True, settings=settings)
    return {"dataset": dataset, "key": key, "url": url, "method": "PUT", "headers": dict(WRITE_ONCE),
            "expires_in": expires_in, "retention_days": STAGING_RETENTION_DAYS}


def upload_url(dataset: str, filename: str, *, expires_in: int = 3600,
               settings: Settings | None = None) -> dict[str, Any]:
    """A presigned PUT URL for a new object ``raw/{dataset}/{timestamp}-{uuid}-{filename}``."""
    settings = settings or get_settings()
    key = layout.upload_key(names.check_dataset_name(dataset), filename)
    url = s3.presigned_put_url(key, expires_in=expires_in, write_once=True, settings=settings)
    return {"dataset": dataset, "key": key, "url": url, "method": "PUT", "headers": dict(WRITE_ONCE),
            "expires_in": expires_in}

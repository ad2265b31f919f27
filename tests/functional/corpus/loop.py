"""One corpus dataset through sluice as a user drives it, every verdict recorded next to its reference.

``run_case(client, bucket, queue_url, case)`` never asserts: each step records what sluice answered
(and stops the loop when a later step cannot run), so the test can assert on the whole record and
``python -m tests.functional.corpus.table`` can print the same record, wrong verdicts included.

Steps: write the file → ``infer_contract`` on it → ``PUT /datasets/{d}/contract`` → upload under
``raw/{d}/`` (the object-created event delivered to ``on_raw_object``) → ``GET`` the version (and the
curated Parquet's columns) → ``PUT /models/{d}/spec`` → ``POST /models/{d}/train`` (the queued ``train``
invocation run) → ``GET`` the run, beside the bare scikit-learn reference → when the gate promoted the
version: the later slice served through ``POST /models/{d}/predict`` (captured) →
``POST /models/{d}/drift/check`` (and its Model Monitor files) → the later slice's true targets uploaded
under ``labels/{d}/`` (``on_label_object``: the live performance check) → every holdout row through
``predict``, compared with the bare pipeline (after the check, so these requests are not in its window).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tests.functional.corpus import reference
from tests.functional.corpus.cases import LATER_SHARE, Case

REGION = "us-east-1"
HEADERS = {"Content-Type": "application/json"}
CHUNK = 500  # records per predict request


@dataclass
class Record:
    """Everything sluice said about one dataset, and the references."""

    case: Case
    frame: pd.DataFrame | None = None  # the source table
    shape: tuple[int, int] = (0, 0)
    timings: dict[str, float] = field(default_factory=dict)
    contract: dict[str, Any] | None = None
    infer_error: str | None = None
    contract_put: tuple[int, Any] | None = None
    upload: dict[str, Any] | None = None  # the dataset version record (with its report)
    curated_columns: list[str] | None = None  # the column names of the curated Parquet
    spec_put: tuple[int, Any] | None = None
    run: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    reference: reference.Fitted | None = None
    predict: dict[str, Any] | None = None  # the holdout over HTTP: {"rows", "errors", "predictions", ...}
    served: dict[str, Any] | None = None  # the later slice, the same way (and its "frame")
    drift: tuple[int, Any] | None = None
    monitor_files: dict[str, Any] = field(default_factory=dict)  # statistics, constraints, violations
    performance: dict[str, Any] | None = None  # the live performance check on the later slice's labels
    drift_reference: dict[str, Any] = field(default_factory=dict)  # feature → scipy's statistic and p

    @property
    def types(self) -> dict[str, str]:
        return {c["name"]: c["type"] for c in (self.contract or {}).get("columns", [])}

    @property
    def stopped_at(self) -> str | None:
        """The first step that did not give what the next one needs."""
        if self.contract is None:
            return "infer"
        if self.contract_put is None or self.contract_put[0] != 201:
            return "contract_put"
        if not self.upload or self.upload.get("status") != "passed":
            return "upload"
        if self.spec_put is None or self.spec_put[0] != 201:
            return "spec_put"
        if not self.run or self.run.get("status") != "succeeded":
            return "train"
        return None


# ---- files --------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A cell as JSON holds it: numpy scalars as Python ones, missing as None, dates as ISO strings."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def write_file(frame: pd.DataFrame, fmt: str, directory: Path, name: str) -> Path:
    """The table as the user's file: CSV (no index), Parquet (native types, dates as date32) or JSON Lines
    (one object per row, numbers written exactly)."""
    path = directory / f"{name}.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "parquet":
        frame.to_parquet(path, index=False)
    else:
        lines = (json.dumps({k: _plain(v) for k, v in row.items()}, allow_nan=False)
                 for row in frame.to_dict("records"))
        path.write_text("\n".join(lines) + "\n")
    return path


def records(frame: pd.DataFrame, names: list[str]) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in frame[names].to_dict("records")]


# ---- HTTP and the invocation queue --------------------------------------------------------------


def send(client: Any, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    kwargs: dict[str, Any] = {"headers": HEADERS}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    response = getattr(client.http, method)(path, **kwargs)
    return response.status_code, json.loads(response.body or b"null")


def run_queued(client: Any, queue_url: str) -> list[dict[str, Any]]:
    """Run every queued asynchronous invocation through the app's Lambda function, as the local stack does."""
    import boto3

    sqs = boto3.client("sqs", region_name=REGION)
    ran = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return ran
        for message in messages:
            body = json.loads(message["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            client.lambda_.invoke(body["function"], body["payload"])
            ran.append(body)


def upload(client: Any, bucket: str, key: str, body: bytes) -> dict[str, Any]:
    """Put the file under ``raw/`` and deliver its object-created event, as EventBridge would."""
    import boto3

    from chalicelib.core.events import ObjectRef, eventbridge_object_created

    out = boto3.client("s3", region_name=REGION).put_object(Bucket=bucket, Key=key, Body=body)
    ref = ObjectRef(bucket, key, out.get("VersionId"), out["ETag"].strip('"'), len(body))
    return client.lambda_.invoke("on_raw_object", eventbridge_object_created(ref)).payload


# ---- the loop -----------------------------------------------------------------------------------


class _Clock:
    def __init__(self, timings: dict[str, float]) -> None:
        self.timings, self.last = timings, time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.timings[step] = round(now - self.last, 3)
        self.last = now


def run_case(client: Any, bucket: str, queue_url: str, case: Case) -> Record:
    """Drive ``case`` through sluice; the record holds every answer (see the module docstring)."""
    from chalicelib.services.serving import set_service

    set_service(None)  # a fresh prediction service (and capture writer) on this world's settings
    record = Record(case)
    clock = _Clock(record.timings)
    frame = record.frame = case.frame()
    record.shape = frame.shape
    with tempfile.TemporaryDirectory() as tmp:
        path = write_file(frame, case.file_format, Path(tmp), case.name)
        body = path.read_bytes()
        _contract_and_upload(client, bucket, queue_url, case, path, body, record)
    clock.lap("validate")
    if record.stopped_at != "spec_put":
        return record
    _train(client, queue_url, case, record)
    clock.lap("train")
    if record.stopped_at is not None:
        return record
    record.reference = reference.fit_reference(frame, case.spec(), record.types, list(record.run["metrics"]))
    clock.lap("reference")
    if not _servable(record):
        return record
    _serve_later_slice(client, case, frame, record)
    clock.lap("serve")
    _check_drift(client, case, record)
    _upload_labels(client, bucket, case, record)
    clock.lap("drift")
    _predict_holdout(client, case, frame, record)  # after the check: these rows are not the later slice
    _drift_reference(case, frame, record)
    clock.lap("predict")
    return record


def _contract_and_upload(client: Any, bucket: str, queue_url: str, case: Case, path: Path, body: bytes,
                         record: Record) -> None:
    from chalicelib.core.validation.infer import infer_contract

    try:
        record.contract = infer_contract(str(path), case.name)
    except Exception as exc:  # a crash is a verdict too
        record.infer_error = f"{type(exc).__name__}: {exc}"
        return
    record.contract_put = send(client, "put", f"/datasets/{case.name}/contract", record.contract)
    if record.contract_put[0] != 201:
        return
    outcome = upload(client, bucket, f"raw/{case.name}/{path.name}", body)
    processed = outcome.get("processed") or [{}]
    version = processed[0].get("version")
    if version is None:
        record.upload = {"status": None, "outcome": outcome}
        return
    _, record.upload = send(client, "get", f"/datasets/{case.name}/versions/{version}")
    if record.upload.get("curated_path"):
        record.curated_columns = curated_columns(record.upload["curated_path"])
    run_queued(client, queue_url)  # on_dataset_version: no model trains on it yet


def curated_columns(path: str) -> list[str]:
    """The column names of a curated version's Parquet (its first file's schema)."""
    import io

    import boto3
    import pyarrow.parquet as pq

    bucket, prefix = path.removeprefix("s3://").split("/", 1)
    s3 = boto3.client("s3", region_name=REGION)
    first = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"][0]["Key"]
    return pq.read_schema(io.BytesIO(s3.get_object(Bucket=bucket, Key=first)["Body"].read())).names


def _train(client: Any, queue_url: str, case: Case, record: Record) -> None:
    from chalicelib.storage import s3

    record.spec_put = send(client, "put", f"/models/{case.name}/spec", case.spec())
    if record.spec_put[0] != 201:
        return
    status, started = send(client, "post", f"/models/{case.name}/train", {"reason": "corpus"})
    if status != 202:
        record.run = {"status": f"HTTP {status}", "error": started}
        return
    run_queued(client, queue_url)
    _, record.run = send(client, "get", f"/models/{case.name}/runs/{started['run_id']}")
    if record.run.get("status") == "succeeded":
        record.metadata = s3.get_json(f"models/{case.name}/{record.run['version']}/metadata.json")


def _servable(record: Record) -> bool:
    """Whether the trained version answers predictions: the gate promoted it to ``production`` (a rejected
    version does not answer; a candidate would need a reviewer)."""
    return bool((record.run.get("promotion") or {}).get("promoted"))


def _predict(client: Any, case: Case, rows: pd.DataFrame, names: list[str]) -> dict[str, Any]:
    """``rows`` through ``POST /models/{d}/predict`` in requests of ``CHUNK`` records."""
    predictions: list[Any] = []
    probabilities: list[Any] = []
    ids: list[tuple[str, int]] = []  # (request_id, record_index) of each row: what labels join on
    errors = []
    for start in range(0, len(rows), CHUNK):
        status, answer = send(client, "post", f"/models/{case.name}/predict",
                              {"records": records(rows.iloc[start:start + CHUNK], names)})
        if status != 200:
            errors.append({"status": status, "answer": answer})
            continue
        predictions.extend(answer["predictions"])
        probabilities.extend(answer.get("probabilities") or [])
        ids.extend((answer["request_id"], i) for i in range(len(answer["predictions"])))
    return {"rows": len(rows), "errors": errors, "predictions": predictions,
            "probabilities": probabilities or None, "ids": ids}


def _predict_holdout(client: Any, case: Case, frame: pd.DataFrame, record: Record) -> None:
    ref = record.reference
    rows = reference.drop_missing_target(frame, case.target).iloc[ref.test]
    record.predict = _predict(client, case, rows, ref.features)


def later_slice(case: Case, frame: pd.DataFrame) -> pd.DataFrame:
    """The last ``LATER_SHARE`` of the rows, by time where the table has a time column, else by file order."""
    ordered = frame
    if case.order:
        ordered = frame.iloc[np.argsort(pd.to_datetime(frame[case.order]).to_numpy(), kind="stable")]
    n = max(1, round(len(ordered) * LATER_SHARE))
    return ordered.iloc[-n:]


def _serve_later_slice(client: Any, case: Case, frame: pd.DataFrame, record: Record) -> None:
    from chalicelib.services.serving import get_service

    rows = later_slice(case, frame)
    record.served = _predict(client, case, rows, record.reference.features)
    record.served["frame"] = rows[record.reference.features]
    record.served["truth"] = rows[case.target]
    get_service().capture.drain()  # every capture written before the check reads the window


def _upload_labels(client: Any, bucket: str, case: Case, record: Record) -> None:
    """The later slice's true targets, as the user has them, under ``labels/{model}/`` (the
    ``on_label_object`` event delivered): sluice's live performance check."""
    import boto3

    from chalicelib.core.events import ObjectRef, eventbridge_object_created

    served = record.served
    if served["errors"]:
        return
    labels = pd.DataFrame({"request_id": [r for r, _ in served["ids"]],
                           "record_index": [i for _, i in served["ids"]],
                           "label": served["truth"].to_numpy()})
    key = f"labels/{case.name}/later-slice.csv"
    body = labels.to_csv(index=False).encode()
    out = boto3.client("s3", region_name=REGION).put_object(Bucket=bucket, Key=key, Body=body)
    ref = ObjectRef(bucket, key, out.get("VersionId"), out["ETag"].strip('"'), len(body))
    answers = client.lambda_.invoke("on_label_object", eventbridge_object_created(ref)).payload
    record.performance = answers[0] if answers else None


def _check_drift(client: Any, case: Case, record: Record) -> None:
    from chalicelib.storage import s3

    record.drift = send(client, "post", f"/models/{case.name}/drift/check")  # the spec's drift config
    if record.drift[0] == 200:
        reports = record.drift[1].get("reports", {})
        record.monitor_files = {name: s3.get_json(reports[name]) for name in
                                ("statistics", "constraints", "violations") if name in reports}


def _drift_reference(case: Case, frame: pd.DataFrame, record: Record) -> None:
    """scipy's tests of the served later slice against what the docs say the reference profiles: every
    row with a target (training rows and holdout), raw dates as the parts the pipeline derives (month,
    weekday, hour as categories; year and day as numbers; no hour for a date), and the predictions of
    those rows — out-of-fold for the training rows, the final model's for the holdout."""
    ref = record.reference
    if record.served["errors"] or not record.predict or record.predict["errors"]:
        return
    rows = reference.drop_missing_target(frame, case.target)
    served = record.served["frame"]
    for name in ref.features:
        if record.types[name] in reference.DATES:
            for part, kind in _date_parts(record.types[name]):
                record.drift_reference[f"{name}.{part}"] = reference.drift_statistic(
                    kind, _date_part(rows[name], part), _date_part(served[name], part))
            continue
        kind = "numeric" if record.types[name] in reference.NUMERIC else "categorical"
        record.drift_reference[name] = reference.drift_statistic(kind, rows[name], served[name])
    kind = "categorical" if case.task == "classification" else "numeric"
    predictions = [*ref.out_of_fold.tolist(), *record.predict["predictions"]]
    record.drift_reference["prediction"] = reference.drift_statistic(
        kind, pd.Series(predictions, dtype=object if kind == "categorical" else float),
        pd.Series(record.served["predictions"], dtype=object if kind == "categorical" else float))


def _date_parts(contract_type: str) -> list[tuple[str, str]]:
    cycles = {"month", "dayofweek", "hour"}
    return [(part, "categorical" if part in cycles else "numeric") for part in reference.DATE_PARTS
            if not (part == "hour" and contract_type == "date")]


def _date_part(values: pd.Series, part: str) -> pd.Series:
    """A date part as pandas gives it (UTC calendar fields), whole numbers as integers."""
    stamps = pd.to_datetime(values, utc=True, errors="coerce")
    return getattr(stamps.dt, "day_of_week" if part == "dayofweek" else part).astype("Int64")


def upload_keyed_by(client: Any, bucket: str, queue_url: str, case: Case, key: str) -> dict[str, Any]:
    """The inferred contract with ``key`` unique and the primary key (a daily/yearly table keyed by its
    date: a user's first natural contract), then the same file uploaded; the version record."""
    from chalicelib.core.validation.infer import infer_contract

    frame = case.frame()
    with tempfile.TemporaryDirectory() as tmp:
        path = write_file(frame, case.file_format, Path(tmp), case.name)
        contract = infer_contract(str(path), case.name)
        for column in contract["columns"]:
            if column["name"] == key:
                column["unique"] = True
        contract["rules"]["primary_key"] = {"columns": [key]}
        status, body = send(client, "put", f"/datasets/{case.name}/contract", contract)
        if status != 201:
            return {"status": None, "contract_put": (status, body)}
        outcome = upload(client, bucket, f"raw/{case.name}/{path.name}", path.read_bytes())
    version = (outcome.get("processed") or [{}])[0].get("version")
    if version is None:
        return {"status": None, "outcome": outcome}
    run_queued(client, queue_url)
    return send(client, "get", f"/datasets/{case.name}/versions/{version}")[1]


def utf16_export(client: Any, bucket: str, queue_url: str, case: Case) -> dict[str, Any]:
    """The table saved as a UTF-16 CSV (with its byte-order mark, as spreadsheet "Unicode text" exports
    are): contract inference on it, then the file uploaded under the contract inferred from the UTF-8
    file. ``{"infer": contract | error text, "version": the version record}``."""
    from chalicelib.core.validation.infer import infer_contract

    frame = case.frame()
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        utf8 = write_file(frame, "csv", Path(tmp), case.name)
        utf16 = Path(tmp) / f"{case.name}-utf16.csv"
        frame.to_csv(utf16, index=False, encoding="utf-16")
        try:
            out["infer"] = infer_contract(str(utf16), case.name)
        except Exception as exc:
            out["infer"] = f"{type(exc).__name__}: {exc}"
        send(client, "put", f"/datasets/{case.name}/contract", infer_contract(str(utf8), case.name))
        outcome = upload(client, bucket, f"raw/{case.name}/{utf16.name}", utf16.read_bytes())
    version = (outcome.get("processed") or [{}])[0].get("version")
    run_queued(client, queue_url)
    out["version"] = (send(client, "get", f"/datasets/{case.name}/versions/{version}")[1] if version
                      else outcome)
    return out

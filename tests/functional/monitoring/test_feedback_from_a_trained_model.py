"""A model trained by sluice on a contract with a PII column: its captured requests never hold that column,
and labels for them become feedback rows validated under a contract derived from the one it trained on."""

from __future__ import annotations

import io
import json
import math

import boto3
import pandas as pd
import pytest

from chalicelib.core.datasets.feedback import METADATA_COLUMNS, REQUEST_ID
from chalicelib.core.events import ObjectRef, eventbridge_object_created
from chalicelib.services.serving import get_service, set_service
from chalicelib.storage import dataset_files, layout, s3
from chalicelib.storage import datasets as dataset_store
from tests.functional.training.conftest import drain_invocations, send
from tests.unit.training.conftest import CONTRACT, rides_frame, spec_body

pytestmark = pytest.mark.slow  # a real training run

MODEL = "tips"


def records_of(frame: pd.DataFrame) -> list[dict]:
    """Rows as a client sends them: every column (the PII one and non-features included), JSON types."""
    out = []
    for row in frame.to_dict("records"):
        record = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        record["pickup_ts"] = row["pickup_ts"].isoformat()
        record["night"] = bool(row["night"])
        record.pop("tipped")
        out.append(record)
    return out


@pytest.fixture
def trained(client, moto_world):
    from chalicelib.services.uploads import process_object

    status, body = send(client, "put", "/datasets/rides/contract", CONTRACT)
    assert status in (200, 201), body
    frame = rides_frame()
    raw = s3.put_bytes("raw/rides/january.csv", frame.to_csv(index=False).encode())
    assert process_object(ObjectRef(raw.bucket, raw.key, raw.version_id, raw.etag)).status == "passed"
    send(client, "put", f"/models/{MODEL}/spec", spec_body())
    status, run = send(client, "post", f"/models/{MODEL}/train", {"reason": "test"})
    assert status == 202, run
    drain_invocations(client, moto_world)
    _, done = send(client, "get", f"/models/{MODEL}/runs/{run['run_id']}")
    assert done["status"] == "succeeded" and done["promotion"]["promoted"], done
    set_service(None)
    yield frame
    set_service(None)


def test_captured_requests_never_hold_the_contracts_pii_column_nor_its_values(client, trained, moto_world):
    status, _ = send(client, "put", f"/models/{MODEL}/serving", {"capture_percent": 100})
    assert status == 200
    records = records_of(trained.iloc[:40])
    status, answer = send(client, "post", f"/models/{MODEL}/predict", {"records": records})
    assert status == 200, answer
    assert "rider_email" in answer["ignored_fields"]
    get_service().capture.drain()
    listing = boto3.client("s3").list_objects_v2(Bucket=moto_world.bucket, Prefix=f"capture/{MODEL}/")
    [item] = listing["Contents"]
    body = s3.get_bytes(item["Key"]).decode()
    assert "rider_email" not in body
    assert not any(r["rider_email"] in body for r in records)
    lines = [json.loads(line) for line in body.splitlines()]
    assert {k for line in lines for k in line["input"]} == {"distance_km", "zone", "night", "pickup_ts"}


def test_labels_for_its_requests_become_feedback_under_a_contract_derived_from_the_one_it_trained_on(
        client, trained, moto_world):
    send(client, "put", f"/models/{MODEL}/serving", {"capture_percent": 100})
    part = trained.iloc[40:100].reset_index(drop=True)
    _, answer = send(client, "post", f"/models/{MODEL}/predict", {"records": records_of(part)})
    get_service().capture.drain()
    labels = pd.DataFrame({"request_id": answer["request_id"], "record_index": range(len(part)),
                           "tipped": part["tipped"]})
    out = io.StringIO()
    labels.to_csv(out, index=False)
    stored = s3.put_bytes(f"labels/{MODEL}/week1.csv", out.getvalue().encode())
    event = eventbridge_object_created(ObjectRef(stored.bucket, stored.key, stored.version_id, stored.etag))
    [summary] = client.lambda_.invoke("on_label_object", event).payload
    assert summary["matched"] == 60 and summary["feedback"]["status"] == "passed", summary["feedback"]

    dataset = layout.feedback_dataset(MODEL)
    contract = dataset_store.get_contract(dataset).contract
    assert contract.column_names == ["distance_km", "zone", "night", "pickup_ts", "tipped",
                                     *METADATA_COLUMNS]
    trained_on = dataset_store.get_contract("rides", 1).contract
    for name in ("distance_km", "zone", "night", "pickup_ts", "tipped"):
        assert contract.column(name) == trained_on.column(name)  # the same rules, PII action included
    assert "contract v1 of dataset 'rides'" in contract.description

    record = dataset_store.get_version(dataset, summary["feedback"]["version"])
    curated = dataset_files.read_curated(record.curated_path, contract.column_names)
    curated = curated.sort_values("_record_index").reset_index(drop=True)
    assert curated["tipped"].tolist() == part["tipped"].tolist()
    assert set(curated[REQUEST_ID]) == {answer["request_id"]}
    sent = pd.to_datetime(part["pickup_ts"]).dt.tz_convert(None)
    assert pd.to_datetime(curated["pickup_ts"]).dt.tz_localize(None).tolist() == sent.tolist()
    assert curated["distance_km"].isna().tolist() == part["distance_km"].isna().tolist()

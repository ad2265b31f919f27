"""Batch: batch/{model}/input/ → batch/{model}/output/, same rows plus predictions, bad rows reported."""

import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chalicelib.aws import client
from chalicelib.events import ObjectRef, eventbridge_object_created
from chalicelib.serving.batch import batch_format, handle_batch_objects, output_key
from chalicelib.serving.errors import BatchFormatUnsupportedError
from chalicelib.serving.service import set_service
from tests.serving.conftest import MODEL, features_only


def encode(frame: pd.DataFrame, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "csv":
        frame.to_csv(buffer, index=False)
    elif fmt == "parquet":
        frame.to_parquet(buffer, index=False)
    else:
        buffer.write(frame.to_json(orient="records", lines=True).encode())
    return buffer.getvalue()


def decode(body: bytes, fmt: str) -> pd.DataFrame:
    if fmt == "csv":
        return pd.read_csv(io.BytesIO(body), dtype={"_error": object})
    if fmt == "parquet":
        return pd.read_parquet(io.BytesIO(body))
    return pd.read_json(io.BytesIO(body), lines=True, dtype=False)


def upload(world, key: str, body: bytes) -> dict:
    s3 = client("s3")
    out = s3.put_object(Bucket=world.bucket, Key=key, Body=body)
    ref = ObjectRef(world.bucket, key, out.get("VersionId"), out["ETag"].strip('"'), len(body))
    return eventbridge_object_created(ref)


def read_output(world, key: str, fmt: str) -> tuple[pd.DataFrame, dict]:
    out = client("s3").get_object(Bucket=world.bucket, Key=key)
    return decode(out["Body"].read(), fmt), out["Metadata"]


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_batch_output_equals_real_time_predictions_on_the_same_rows(world, rows, fmt):
    service = world.service()
    records = [features_only(r) for r in rows[:25]]
    frame = pd.DataFrame([{**r, "customer": f"c{i}"} for i, r in enumerate(records)])
    event = upload(world, f"batch/{MODEL}/input/day1.{fmt}", encode(frame, fmt))
    result = handle_batch_objects(event, service=service, chunk_rows=7)
    assert result["objects"][0]["status"] == "written"
    assert result["objects"][0]["rows"] == 25 and result["objects"][0]["error_rows"] == 0
    output, meta = read_output(world, f"batch/{MODEL}/output/day1.{fmt}", fmt)
    realtime = service.predict(MODEL, {"records": records})
    assert output["prediction"].tolist() == realtime["predictions"]
    assert np.allclose(output[["probability_0", "probability_1"]].to_numpy(),
                       [[p["0"], p["1"]] for p in realtime["probabilities"]])
    assert output["customer"].tolist() == [f"c{i}" for i in range(25)]  # the same rows, in order
    assert output["_error"].isna().all()
    assert (meta["model-version"], meta["rows"], meta["error-rows"]) == ("1", "25", "0")


def test_bad_rows_are_reported_in_an_error_column_and_the_rest_scored(world, rows):
    service = world.service()
    text = ("tenure,charges,plan,autopay,signup\n"
            "12,50.5,pro,true,2025-01-01\n"
            "abc,50.5,pro,true,2025-01-01\n"
            "12,50.5,pro,maybe,01/02/2025\n"
            "3,,basic,false,2025-03-01\n")
    event = upload(world, f"batch/{MODEL}/input/mixed.csv", text.encode())
    (outcome,) = handle_batch_objects(event, service=service)["objects"]
    assert (outcome["rows"], outcome["error_rows"]) == (4, 2)
    output, _ = read_output(world, f"batch/{MODEL}/output/mixed.csv", "csv")
    assert output["_error"].tolist()[1:3] == ["tenure: expected int",
                                              "autopay: expected bool; signup: expected date"]
    assert output["prediction"].isna().tolist() == [False, True, True, False]
    assert pd.isna(output["_error"][0]) and pd.isna(output["_error"][3])  # a null is a value, not an error
    good = [{"tenure": 12, "charges": 50.5, "plan": "pro", "autopay": True, "signup": "2025-01-01"},
            {"tenure": 3, "charges": None, "plan": "basic", "autopay": False, "signup": "2025-03-01"}]
    expected = service.predict(MODEL, {"records": good})["predictions"]
    assert output["prediction"].dropna().astype(int).tolist() == expected


def test_a_missing_column_is_an_error_on_every_row_not_a_crash(world, rows):
    frame = pd.DataFrame([features_only(r) for r in rows[:3]]).drop(columns=["plan"])
    event = upload(world, f"batch/{MODEL}/input/noplan.jsonl", encode(frame, "jsonl"))
    (outcome,) = handle_batch_objects(event, service=world.service())["objects"]
    assert outcome["error_rows"] == 3
    output, _ = read_output(world, f"batch/{MODEL}/output/noplan.jsonl", "jsonl")
    assert output["_error"].tolist() == ["plan: missing"] * 3


def test_redelivery_of_the_same_input_version_is_skipped(world, rows):
    service = world.service()
    frame = pd.DataFrame([features_only(r) for r in rows[:5]])
    event = upload(world, f"batch/{MODEL}/input/again.csv", encode(frame, "csv"))
    assert handle_batch_objects(event, service=service)["objects"][0]["status"] == "written"
    first = client("s3").head_object(Bucket=world.bucket, Key=f"batch/{MODEL}/output/again.csv")
    assert handle_batch_objects(event, service=service)["objects"][0]["status"] == "skipped"
    second = client("s3").head_object(Bucket=world.bucket, Key=f"batch/{MODEL}/output/again.csv")
    assert first.get("VersionId") == second.get("VersionId") and first["ETag"] == second["ETag"]
    changed = upload(world, f"batch/{MODEL}/input/again.csv", encode(frame.head(2), "csv"))
    assert handle_batch_objects(changed, service=service)["objects"][0]["rows"] == 2  # a new version


def test_a_late_event_for_an_older_input_version_does_not_overwrite_the_newer_output(moto_world, world, rows):
    service = world.service()
    frame = pd.DataFrame([features_only(r) for r in rows[:5]])
    old = upload(world, f"batch/{MODEL}/input/late.csv", encode(frame, "csv"))
    new = upload(world, f"batch/{MODEL}/input/late.csv", encode(frame.head(3), "csv"))
    assert handle_batch_objects(new, service=service)["objects"][0]["rows"] == 3
    assert handle_batch_objects(old, service=service)["objects"][0]["status"] == "skipped"
    output, _ = read_output(world, f"batch/{MODEL}/output/late.csv", "csv")
    assert len(output) == 3


def test_the_lambda_ignores_keys_outside_batch_inputs_and_scores_the_rest(world, client, rows):
    set_service(world.service())
    outside = upload(world, f"batch/{MODEL}/output/x.csv", b"a\n1\n")
    assert client.lambda_.invoke("on_batch_object", outside).payload == {"objects": []}
    frame = pd.DataFrame([features_only(r) for r in rows[:3]])
    inside = upload(world, f"batch/{MODEL}/input/sub/dir/y.csv", encode(frame, "csv"))
    payload = client.lambda_.invoke("on_batch_object", inside).payload
    assert payload["objects"][0]["output_key"] == f"batch/{MODEL}/output/sub/dir/y.csv"


def test_an_unknown_model_or_format_writes_an_error_object(world):
    service = world.service()
    event = upload(world, "batch/ghost/input/a.csv", b"tenure\n1\n")
    (outcome,) = handle_batch_objects(event, service=service)["objects"]
    assert (outcome["status"], outcome["code"]) == ("failed", "alias_not_found")
    error = json.loads(client("s3").get_object(Bucket=world.bucket,
                                                Key="batch/ghost/output/a.csv.error.json")["Body"].read())
    assert error["error"]["code"] == "alias_not_found"
    event = upload(world, f"batch/{MODEL}/input/a.xlsx", b"nope")
    assert handle_batch_objects(event, service=service)["objects"][0]["code"] == "unsupported_batch_format"


def test_an_unreadable_file_is_reported_not_raised(world):
    event = upload(world, f"batch/{MODEL}/input/garbage.parquet", b"this is not parquet")
    (outcome,) = handle_batch_objects(event, service=world.service())["objects"]
    assert (outcome["status"], outcome["code"]) == ("failed", "unreadable_batch_file")


def test_output_keys_and_formats():
    assert output_key(f"batch/{MODEL}/input/a/b.csv") == f"batch/{MODEL}/output/a/b.csv"
    assert output_key(f"batch/{MODEL}/output/a.csv") is None
    assert batch_format("x.PARQUET") == "parquet" and batch_format("x.ndjson") == "jsonl"
    with pytest.raises(BatchFormatUnsupportedError) as caught:
        batch_format("x.json")
    assert caught.value.code == "unsupported_batch_format"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_first_chunk_of_only_bad_rows_does_not_break_the_output(world, rows, fmt):
    records = [features_only(r) for r in rows[:6]]
    for record in records[:2]:
        record["tenure"] = "n/a"
    frame = pd.DataFrame(records).astype({"tenure": str})
    event = upload(world, f"batch/{MODEL}/input/badstart.{fmt}", encode(frame, fmt))
    (outcome,) = handle_batch_objects(event, service=world.service(), chunk_rows=2)["objects"]
    assert (outcome["status"], outcome["rows"], outcome["error_rows"]) == ("written", 6, 2)
    output, _ = read_output(world, f"batch/{MODEL}/output/badstart.{fmt}", fmt)
    assert output["prediction"].isna().tolist() == [True, True, False, False, False, False]


def test_a_csv_with_a_header_only_gives_an_empty_output(world):
    event = upload(world, f"batch/{MODEL}/input/empty.csv", b"tenure,charges,plan,autopay,signup\n")
    (outcome,) = handle_batch_objects(event, service=world.service())["objects"]
    assert (outcome["status"], outcome["rows"]) == ("written", 0)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_without_pyarrow_as_in_the_ml_layer_the_output_is_the_same(world, rows, fmt, monkeypatch):
    import datetime as dt

    from chalicelib.serving import batch

    monkeypatch.setattr(batch, "has_pyarrow", lambda: False)  # fastparquet and pandas' CSV writer
    service = world.service()
    records = [features_only(r) for r in rows[:9]]
    frame = pd.DataFrame(records)
    if fmt == "parquet":  # a real Parquet date column (fastparquet reads it as epoch nanoseconds)
        frame["signup"] = [dt.date.fromisoformat(v) for v in frame["signup"]]
    frame.loc[4, "tenure"] = None  # a missing value: imputed, not an error
    records[4]["tenure"] = None
    body = encode(frame, fmt)
    event = upload(world, f"batch/{MODEL}/input/nopa.{fmt}", body)
    (outcome,) = handle_batch_objects(event, service=service, chunk_rows=4)["objects"]
    assert (outcome["status"], outcome["rows"], outcome["error_rows"]) == ("written", 9, 0)
    raw = client("s3").get_object(Bucket=world.bucket, Key=f"batch/{MODEL}/output/nopa.{fmt}")["Body"].read()
    if fmt == "parquet":
        import fastparquet

        path = Path(tempfile.mkdtemp()) / "out.parquet"
        path.write_bytes(raw)
        output = fastparquet.ParquetFile(str(path)).to_pandas()
    else:
        output = decode(raw, fmt)
    realtime = service.predict(MODEL, {"records": records})
    assert output["prediction"].tolist() == realtime["predictions"]
    expected = [p["1"] for p in realtime["probabilities"]]
    assert np.allclose(output["probability_1"].to_numpy(dtype=float), expected)

"""Batch: batch/{model}/input/ → batch/{model}/output/, same rows plus predictions, bad rows reported."""

import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chalicelib.core.events import ObjectRef, eventbridge_object_created
from chalicelib.services.serving import set_service
from chalicelib.storage import client
from chalicelib.triggers.batch import handle_batch_objects
from tests.functional.serving.conftest import MODEL, features_only


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

    from chalicelib.core.serving import batch_files

    monkeypatch.setattr(batch_files, "has_pyarrow", lambda: False)  # fastparquet and pandas' CSV writer
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


# ---- the input's values come back as they went in: numbers as numbers, text as text, types kept --------


CSV_INPUT = ("tenure,charges,plan,autopay,signup,customer,note\n"
             "12,50.5,pro,true,2025-01-01,007,\"Berlin, Mitte\"\n"
             "3,,basic,false,2025-03-01,42,\"said \"\"hi\"\"\"\n"
             "40,99.25,team,true,2024-06-30,x-9,plain\n")


@pytest.mark.parametrize("arrow", [True, False], ids=["with-pyarrow", "ml-layer"])
def test_a_csv_output_repeats_each_input_line_unchanged_with_numbers_unquoted(world, monkeypatch, arrow):
    from chalicelib.core.serving import batch_files

    monkeypatch.setattr(batch_files, "has_pyarrow", lambda: arrow)
    event = upload(world, f"batch/{MODEL}/input/typed-{arrow}.csv", CSV_INPUT.encode())
    (outcome,) = handle_batch_objects(event, service=world.service())["objects"]
    assert (outcome["status"], outcome["error_rows"]) == ("written", 0)
    body = client("s3").get_object(Bucket=world.bucket, Key=f"batch/{MODEL}/output/typed-{arrow}.csv")
    lines = body["Body"].read().decode().splitlines()
    inputs = CSV_INPUT.splitlines()
    assert lines[0] == inputs[0] + ",prediction,probability_0,probability_1,_error"
    for line, given in zip(lines[1:], inputs[1:], strict=True):
        assert line.startswith(given + ","), (line, given)  # 12 and 50.5 unquoted, "007" kept, quotes only
        prediction, p0, p1, error = line[len(given) + 1:].split(",")  # where RFC 4180 needs them
        assert prediction in ("0", "1") and float(p0) + float(p1) == pytest.approx(1) and error == ""


def test_a_jsonl_output_keeps_every_input_value_and_its_json_type(world):
    records = [{"tenure": 12, "charges": 50.5, "plan": "pro", "autopay": True, "signup": "2025-01-01",
                "customer": "007", "visits": 3, "account": 9007199254740993, "meta": {"source": "web"}},
               {"tenure": 3, "charges": None, "plan": "basic", "autopay": False, "signup": "2025-03-01",
                "customer": "42", "visits": None, "account": 1, "meta": None}]
    body = "".join(json.dumps(r) + "\n" for r in records).encode()
    event = upload(world, f"batch/{MODEL}/input/typed.jsonl", body)
    (outcome,) = handle_batch_objects(event, service=world.service())["objects"]
    assert (outcome["status"], outcome["error_rows"]) == ("written", 0)
    raw = client("s3").get_object(Bucket=world.bucket, Key=f"batch/{MODEL}/output/typed.jsonl")["Body"].read()
    outputs = [json.loads(line) for line in raw.decode().splitlines()]
    for out, given in zip(outputs, records, strict=True):
        kept = {k: out[k] for k in given}
        assert kept == given
        assert [type(v) for v in kept.values()] == [type(v) for v in given.values()]  # 3 stays 3, not 3.0
        assert isinstance(out["prediction"], int) and isinstance(out["probability_1"], float)
        assert out["_error"] is None


@pytest.mark.parametrize("arrow", [True, False], ids=["with-pyarrow", "ml-layer"])
def test_a_parquet_output_keeps_the_input_column_types_and_types_the_added_columns(world, rows, monkeypatch,
                                                                                   arrow):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from chalicelib.core.serving import batch_files

    monkeypatch.setattr(batch_files, "has_pyarrow", lambda: arrow)
    records = [features_only(r) for r in rows[:6]]
    table = pa.table({"tenure": pa.array([r["tenure"] for r in records], pa.int32()),
                      "charges": pa.array([r["charges"] for r in records], pa.float64()),
                      "plan": pa.array([r["plan"] for r in records], pa.string()),
                      "autopay": pa.array([r["autopay"] for r in records], pa.bool_()),
                      "signup": pa.array([r["signup"] for r in records], pa.string()),
                      "visits": pa.array([1, None, 3, 4, 5, 6], pa.int64())})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    event = upload(world, f"batch/{MODEL}/input/typed-{arrow}.parquet", buffer.getvalue())
    (outcome,) = handle_batch_objects(event, service=world.service(), chunk_rows=4)["objects"]
    assert (outcome["status"], outcome["error_rows"]) == ("written", 0)
    raw = client("s3").get_object(Bucket=world.bucket, Key=f"batch/{MODEL}/output/typed-{arrow}.parquet")
    output = pq.read_table(io.BytesIO(raw["Body"].read()))
    schema = output.schema
    for field in table.schema:
        assert schema.field(field.name).type == field.type, field.name
    assert output.select(table.column_names).to_pylist() == table.to_pylist()
    assert pa.types.is_integer(schema.field("prediction").type)
    assert pa.types.is_floating(schema.field("probability_1").type)
    assert pa.types.is_string(schema.field("_error").type) or pa.types.is_large_string(
        schema.field("_error").type)

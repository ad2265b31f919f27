"""Every query of docs/queries.md, on DuckDB over what sluice wrote to (moto's) S3, equals pandas computed
directly from the stored objects: the capture objects, the labels files users uploaded, the validation
reports, the check summaries in the state table, the curated Parquet. And on Athena as far as moto goes:
the same text reaches StartQueryExecution with the stack's database and workgroup."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path

import boto3
import numpy as np
import pandas as pd
import pytest

from chalicelib.core.sql_query import PartitionFilterMissingError, QueryError, UnknownTableError
from chalicelib.services.drift import CheckRequest, run_drift_check
from chalicelib.services.performance import LabelsRequest, run_performance_check
from chalicelib.storage import s3, sql_tables
from chalicelib.storage.sql_query import LocalEngine, athena_query
from tests.functional.datasets.conftest import put_contract, rides_contract, rides_csv, upload_and_process
from tests.functional.monitoring.conftest import capture, make_frame, register_model

DOCS = Path(__file__).resolve().parents[3] / "docs" / "queries.md"
NOW = dt.datetime.now(dt.UTC).replace(minute=30)
MODEL = "fare"  # the docs' model and dataset
DATASET = "rides"


def documented_queries() -> dict[str, str]:
    """Heading → the SQL block under it, for every ``### …`` of the useful queries."""
    text = DOCS.read_text()
    blocks = re.finditer(r"^### (.+?)\n(?:(?!^### ).)*?```sql\n(.+?)```", text, re.M | re.S)
    return {m[1]: m[2] for m in blocks}


def test_the_docs_hold_the_queries_this_file_checks():
    assert set(documented_queries()) == set(ORACLES)


# ---- the world: what sluice wrote while serving, checking and validating ----------------------------


def _labels_csv(rows: list[tuple[str, int, int]]) -> bytes:
    out = io.StringIO()
    pd.DataFrame(rows, columns=["request_id", "record_index", "label"]).to_csv(out, index=False)
    return out.getvalue().encode()


@pytest.fixture(scope="module")
def world(moto_session):
    with pytest.MonkeyPatch.context() as patch:
        from tests.functional.conftest import fresh_world

        with fresh_world(moto_session, patch.setenv) as resources:
            yield _build(resources)


def _build(resources) -> dict:
    model = register_model(MODEL)
    frames = [make_frame(200, seed=31), make_frame(150, seed=32, shift=6.0)]
    ids = [capture(model, frames[0], NOW - dt.timedelta(hours=3), per_request=50),
           capture(model, frames[1], NOW - dt.timedelta(hours=1), per_request=50)]
    # the first labels object labels the first hour; the second relabels 20 of its records (flipped:
    # the latest wins) and labels half of the second hour
    first = [(rid, i, int(frames[0]["label"].iloc[n * 50 + i]))
             for n, rid in enumerate(ids[0]) for i in range(50)]
    second = [(rid, i, 1 - label) for rid, i, label in first[:20]]
    second += [(rid, i, int(frames[1]["label"].iloc[n * 50 + i])) for n, rid in enumerate(ids[1][:2])
               for i in range(50)]
    labels = {f"labels/{MODEL}/one.csv": first, f"labels/{MODEL}/two.csv": second}
    for offset, (key, rows) in enumerate(labels.items()):
        s3.put_bytes(key, _labels_csv(rows))
        run_performance_check(LabelsRequest(MODEL, key, now=NOW + dt.timedelta(minutes=offset)))
    run_drift_check(CheckRequest(MODEL, now=NOW - dt.timedelta(hours=2), window_hours=2))
    run_drift_check(CheckRequest(MODEL, now=NOW, window_hours=2))
    _validate()
    batch = [{"key": "batch/fare/input/a.csv", "status": "written", "output_key": "batch/fare/output/a.csv",
              "model": MODEL, "version": 1, "rows": 120, "error_rows": 3},
             {"key": "batch/fare/input/b.csv", "status": "written", "output_key": "batch/fare/output/b.csv",
              "model": MODEL, "version": 1, "rows": 80, "error_rows": 0},
             {"key": "batch/fare/input/c.txt", "status": "failed", "model": MODEL,
              "output_key": "batch/fare/output/c.txt.error.json", "code": "batch_format_unsupported"},
             {"key": "batch/fare/input/a.csv", "status": "skipped", "model": MODEL}]
    for outcome in batch:
        sql_tables.put_batch_output(outcome)
    return {"resources": resources, "labels": labels, "batch": batch}


def _validate() -> None:
    """Three versions of rides through the real upload path (the third rejected), which records each in
    the SQL tables."""
    from chalice.test import Client

    import app

    with Client(app.app, stage_name="local") as client:
        put_contract(client, rides_contract(DATASET, policy="quarantine_rows", max_invalid_fraction=0.3))
        for n, body in enumerate([rides_csv(40), rides_csv(30, bad=(1, 4, 9), seed=3),
                                  rides_csv(10, bad=tuple(range(8)), seed=4)]):
            upload_and_process(client, f"raw/{DATASET}/{n}.csv", body)  # the upload path writes the rows


@pytest.fixture
def engine(world):
    resources = world["resources"]
    return LocalEngine(boto3.client("s3"), resources.bucket, glue=boto3.client("glue"),
                       database=resources.glue_database)


# ---- pandas on the stored objects ------------------------------------------------------------------


def _objects(prefix: str) -> dict[str, bytes]:
    client = boto3.client("s3")
    bucket = client.list_buckets()["Buckets"][0]["Name"]
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    return {k: client.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


def _captured() -> pd.DataFrame:
    rows = []
    for key, body in _objects(f"capture/{MODEL}/").items():
        day, hour = re.search(r"date=([^/]+)/hour=(\d+)/", key).groups()
        rows += [{**json.loads(line), "day": day, "hour": int(hour)} for line in body.decode().splitlines()]
    return pd.DataFrame(rows)


def volume_per_hour(world) -> pd.DataFrame:
    c = _captured()
    return c.groupby(["day", "hour", "version"]).size().rename("predictions").reset_index()


def accuracy_per_version(world) -> pd.DataFrame:
    latest: dict[tuple[str, int], int] = {}
    for rows in world["labels"].values():  # in upload order: a later object's label replaces
        latest.update({(rid, i): label for rid, i, label in rows})
    c = _captured()
    c["label"] = [latest.get((r, i)) for r, i in zip(c["request_id"], c["record_index"], strict=True)]
    c = c.dropna(subset=["label"])
    c["hit"] = (c["prediction"].astype(int) == c["label"].astype(int)).astype(float)
    return c.groupby("version").agg(labelled=("hit", "size"), accuracy=("hit", "mean")).reset_index()


def _reports() -> list[dict]:
    return [json.loads(b) for k, b in _objects(f"reports/validation/{DATASET}/").items()]


def top_failing_rules(world) -> pd.DataFrame:
    rules = pd.DataFrame([{**r, "dataset": rep["dataset"]} for rep in _reports() for r in rep["rules"]])
    failed = rules[rules["status"] == "failed"]
    out = failed.groupby(["dataset", "id", "column", "severity"]).agg(
        failed_versions=("id", "size"), failing_rows=("failing_rows", "sum")).reset_index()
    out = out.rename(columns={"id": "rule", "column": "column_name"})
    return out.sort_values(["failed_versions", "failing_rows", "dataset", "rule"],
                           ascending=[False, False, True, True]).head(10)


def _checks() -> list[dict]:
    from chalicelib.storage.checks import list_checks

    items, _ = list_checks(MODEL, limit=100)
    return items


def drifting_features(world) -> pd.DataFrame:
    rows = [{**f, "drift": f["status"] == "drift"}
            for c in _checks() if c["kind"] == "drift" for f in c["features"]]
    f = pd.DataFrame(rows)
    out = f.groupby("name").agg(checks=("name", "size"), drifted=("drift", "sum"), max_psi=("psi", "max"))
    out = out.reset_index().rename(columns={"name": "feature"})
    return out.sort_values(["drifted", "feature"], ascending=[False, True])


def checks_per_day(world) -> pd.DataFrame:
    c = pd.DataFrame(_checks())
    c["checked_day"] = pd.to_datetime(c["checked_at"], utc=True).dt.floor("D")
    return c.groupby(["checked_day", "kind", "status"]).size().rename("checks").reset_index()


def pass_rate(world) -> pd.DataFrame:
    r = pd.DataFrame(_reports())
    return pd.DataFrame({"dataset": [DATASET], "versions": [len(r)],
                         "passed": [int((r["status"] == "passed").sum())],
                         "quarantined_rows": [int(r["invalid_rows"].sum())]})


def curated_rows(world) -> pd.DataFrame:
    counts = {}
    for key, body in _objects(f"curated/{DATASET}/").items():
        if key.endswith(".parquet"):
            version = int(re.search(r"dataset_version=(\d+)/", key)[1])
            counts[version] = counts.get(version, 0) + len(pd.read_parquet(io.BytesIO(body)))
    return pd.DataFrame(sorted(counts.items()), columns=["dataset_version", "rows_curated"])


def batch_per_version(world) -> pd.DataFrame:
    b = pd.DataFrame([o for o in world["batch"] if o["status"] == "written"])
    return b.groupby(["model", "version"]).agg(files=("key", "size"), rows_scored=("rows", "sum"),
                                               rows_refused=("error_rows", "sum")).reset_index()


ORACLES = {
    "Prediction volume per hour": volume_per_hour,
    "Live accuracy per version": accuracy_per_version,
    "Top failing rules": top_failing_rules,
    "Which features drift most often": drifting_features,
    "Checks per day": checks_per_day,
    "Validation pass rate per dataset": pass_rate,
    "A curated dataset's rows per version": curated_rows,
    "Batch scoring per model version": batch_per_version,
}


def _same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Equal values, column by column and row by row (in the query's order), whatever the dtypes."""
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want) > 0
    for column in got.columns:
        a, b = got[column].tolist(), want[column].tolist()
        if all(isinstance(v, int | float | np.number) for v in a + b):
            np.testing.assert_allclose(np.array(a, dtype=float), np.array(b, dtype=float), rtol=1e-9)
        else:
            assert [str(pd.Timestamp(v)) if isinstance(v, pd.Timestamp | dt.datetime) else v for v in a] == \
                [str(pd.Timestamp(v)) if isinstance(v, pd.Timestamp | dt.datetime) else v for v in b], column


@pytest.mark.parametrize("heading", list(ORACLES))
def test_each_documented_query_answers_on_duckdb_what_pandas_finds_in_the_objects(world, engine, heading):
    _same(engine.query(documented_queries()[heading]), ORACLES[heading](world))


def test_the_world_exercises_what_the_queries_distinguish(world):
    """Not vacuous: two hours, a relabelled record whose latest label differs, a failed rule, a drift."""
    assert len(volume_per_hour(world)) == 2
    assert 0 < accuracy_per_version(world)["accuracy"].iloc[0] < 1
    assert top_failing_rules(world)["failed_versions"].max() >= 2
    assert drifting_features(world)["drifted"].sum() >= 1


# ---- errors -------------------------------------------------------------------------------------


def test_a_missing_table_is_named_with_the_tables_there_are(engine):
    with pytest.raises(UnknownTableError, match=r"unknown table sluice_capture;.* rides, sluice_batch_out"):
        engine.query("SELECT * FROM sluice_capture WHERE model = 'fare'")


def test_bad_sql_answers_with_the_engines_message(engine):
    with pytest.raises(QueryError, match='Parser Error: syntax error at or near "sluice_checks"'):
        engine.query("SELECT * FORM sluice_checks")
    with pytest.raises(QueryError, match="nope"):
        engine.query("SELECT nope FROM sluice_checks")


def test_captures_without_the_model_are_refused_as_athena_would(engine):
    with pytest.raises(PartitionFilterMissingError):
        engine.query("SELECT count(*) FROM sluice_captures")


def test_a_qualified_table_reads_the_same_as_on_athena(world, engine):
    database = world["resources"].glue_database
    assert engine.query(f"SELECT count(*) AS n FROM {database}.sluice_checks")["n"].iloc[0] == len(_checks())


# ---- Athena, as far as moto goes ------------------------------------------------------------------


def test_athena_gets_the_same_text_with_the_stacks_database_and_workgroup(world):
    """moto's Athena runs no SQL: it records the execution and answers with results queued for it. What
    is tested: the text, database and workgroup sent, and the answer read back through awswrangler."""
    from moto.athena.models import QueryResults, athena_backends

    resources = world["resources"]
    boto3.client("athena").create_work_group(Name="sluice-test", Configuration={
        "ResultConfiguration": {"OutputLocation": f"s3://{resources.bucket}/athena-results/"}})
    backend = athena_backends["123456789012"]["us-east-1"]
    sql = documented_queries()["Prediction volume per hour"]
    want = volume_per_hour(world)
    header = [{"VarCharValue": c} for c in want.columns]
    body = [[{"VarCharValue": str(v)} for v in row] for row in want.itertuples(index=False)]
    backend.query_results_queue.append(QueryResults(
        rows=[{"Data": header}] + [{"Data": r} for r in body],
        column_info=[{"Name": "day", "Type": "varchar"}, {"Name": "hour", "Type": "integer"},
                     {"Name": "version", "Type": "integer"}, {"Name": "predictions", "Type": "bigint"}]))
    got = athena_query(sql, database=resources.glue_database, workgroup="sluice-test",
                       session=boto3.session.Session())
    [execution] = [e for e in backend.executions.values() if e.query == sql]
    assert execution.context == {"Database": resources.glue_database}
    assert execution.workgroup.name == "sluice-test"
    _same(got, want)

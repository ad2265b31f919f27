"""`sluice query` as a user runs it against `sluice up`: the CLI process finds the local stack from its state
file and answers the documented queries on DuckDB over the stack's S3 (moto server) with what pandas
computes from the same objects; its errors name the problem and exit 1."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from tests.functional.query.test_documented_queries import (
    MODEL,
    _same,
    accuracy_per_version,
    documented_queries,
    volume_per_hour,
)

NOW = dt.datetime.now(dt.UTC).replace(minute=30)


@pytest.fixture(scope="module")
def seeded(stack, tmp_path_factory):
    from chalicelib import storage as aws
    from chalicelib.storage import s3
    from tests.functional.monitoring.conftest import capture, make_frame, register_model

    aws.reset()
    model = register_model(MODEL)
    frames = [make_frame(120, seed=51), make_frame(80, seed=52)]
    ids = [capture(model, frames[0], NOW - dt.timedelta(hours=2), per_request=40),
           capture(model, frames[1], NOW - dt.timedelta(hours=1), per_request=40)]
    rows = [(rid, i, int(frames[0]["label"].iloc[n * 40 + i]))
            for n, rid in enumerate(ids[0]) for i in range(40)]
    body = io.StringIO()
    pd.DataFrame(rows, columns=["request_id", "record_index", "label"]).to_csv(body, index=False)
    key = f"labels/{MODEL}/e2e.csv"
    s3.put_bytes(key, body.getvalue().encode())  # the stack's pump delivers it to on_label_object
    _wait_for_check()
    state = tmp_path_factory.mktemp("query") / "local.json"
    stack.info.save(state)
    return {"state": state, "labels": {key: rows}}


def _wait_for_check(timeout: float = 90.0) -> None:
    import time

    import boto3

    from chalicelib.core.settings import get_settings

    s3 = boto3.client("s3")
    deadline = time.monotonic() + timeout  # the check's row is its last write (after the labels rows)
    while not s3.list_objects_v2(Bucket=get_settings().bucket, Prefix="tables/checks/").get("KeyCount"):
        assert time.monotonic() < deadline, "on_label_object did not check the labels"
        time.sleep(0.5)


def sluice_query(state, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SLUICE_"))}
    return subprocess.run([sys.executable, "-m", "sluice.cli", "query", "--state-file", str(state), *args],
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize(("heading", "oracle"), [("Prediction volume per hour", volume_per_hour),
                                                 ("Live accuracy per version", accuracy_per_version)])
def test_the_cli_answers_a_documented_query_with_what_the_objects_hold(seeded, heading, oracle):
    done = sluice_query(seeded["state"], "--format", "json", documented_queries()[heading])
    assert done.returncode == 0, done.stdout + done.stderr
    _same(pd.DataFrame(json.loads(done.stdout)), oracle(seeded))


def test_the_cli_prints_a_table_and_csv(seeded):
    sql = "SELECT kind, status, matched FROM sluice_checks WHERE model = 'fare'"
    table = sluice_query(seeded["state"], sql)
    assert table.returncode == 0 and "performance" in table.stdout and "1 row" in table.stdout
    csv = sluice_query(seeded["state"], "--format", "csv", sql)
    assert csv.stdout.splitlines() == ["kind,status,matched", "performance,ok,120"]


@pytest.mark.parametrize(("sql", "code"), [
    ("SELECT * FROM sluice_predictions", "unknown_table"),
    ("SELECT count(*) FROM sluice_captures", "partition_filter_missing"),
    ("SELEC 1", "sql_error")])
def test_the_cli_names_what_is_wrong_and_exits_1(seeded, sql, code):
    done = sluice_query(seeded["state"], sql)
    assert done.returncode == 1 and f"error {code}:" in done.stdout


def test_without_a_stack_the_cli_says_how_to_get_one(tmp_path):
    done = sluice_query(tmp_path / "none.json", "SELECT 1")
    assert done.returncode == 1 and "error no_stack:" in done.stdout and "sluice up" in done.stdout

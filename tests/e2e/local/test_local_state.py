"""The local stack keeps its AWS state across a restart (a state folder): datasets, objects with their
version ids, items, and the events a stopped handler held. ``sluice up`` as a process (signals, kill -9):
test_sluice_up.py."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import boto3
import pytest
import requests
import yaml

from sluice.local import LocalStack
from tests.e2e.conftest import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
RIDES = (ROOT / "examples" / "rides.csv").read_bytes()


def stack_on(state: Path, **options) -> LocalStack:
    return LocalStack(ROOT, api_port=0, aws_port=0, state_dir=state, key_file=state.parent / "state.key",
                      **options)


def upload(stack: LocalStack, key: str, body: bytes) -> str:
    s3 = boto3.client("s3", endpoint_url=stack.info.aws_endpoint, region_name=stack.info.region)
    version = s3.put_object(Bucket=stack.info.bucket, Key=key, Body=body)["VersionId"]
    deadline = time.monotonic() + 60
    while not any(d.function == "on_raw_object" and d.what == key for d in stack.pump.deliveries):
        assert time.monotonic() < deadline, stack.pump.deliveries
        time.sleep(0.1)
    return version


def world(stack: LocalStack) -> dict:
    """Everything a restart must keep, read through the AWS APIs and the sluice API."""
    s3 = boto3.client("s3", endpoint_url=stack.info.aws_endpoint, region_name=stack.info.region)
    ddb = boto3.client("dynamodb", endpoint_url=stack.info.aws_endpoint, region_name=stack.info.region)
    glue = boto3.client("glue", endpoint_url=stack.info.aws_endpoint, region_name=stack.info.region)
    bucket = stack.info.bucket
    versions = s3.list_object_versions(Bucket=bucket)["Versions"]
    return {
        "objects": sorted((v["Key"], v["VersionId"], v["ETag"], s3.get_object(
            Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])["Body"].read()) for v in versions),
        "items": sorted(map(repr, ddb.scan(TableName=stack.info.table)["Items"])),
        "glue_tables": [t["Name"] for t in
                        glue.get_tables(DatabaseName=stack.info.glue_database)["TableList"]],
        "dataset_versions": requests.get(f"{stack.info.api_url}/datasets/rides/versions", timeout=30).json(),
        "pii_key": stack.info.pii_key,
    }


def test_a_dataset_its_objects_and_items_survive_a_restart_and_the_next_upload_is_the_next_version(tmp_path):
    state = tmp_path / ".sluice"
    with stack_on(state) as first:
        contract = yaml.safe_load((ROOT / "examples" / "rides.contract.yaml").read_text())
        assert requests.put(f"{first.info.api_url}/datasets/rides/contract", json=contract,
                            timeout=30).status_code == 201
        raw_version = upload(first, "raw/rides/day-1.csv", RIDES)
        first.pump.wait_for("on_dataset_version", timeout=60)
        before = world(first)
    assert [v["version"] for v in before["dataset_versions"]["items"]] == [1]
    assert before["dataset_versions"]["items"][0]["raw"]["version_id"] == raw_version
    assert "rides" in before["glue_tables"]

    with stack_on(state) as second:
        assert second.info.restored_from
        assert world(second) == before
        upload(second, "raw/rides/day-2.csv", RIDES.replace(b"R", b"S"))
        listed = requests.get(f"{second.info.api_url}/datasets/rides/versions", timeout=30).json()["items"]
    assert [v["version"] for v in listed] == [2, 1]


def test_a_fresh_start_ignores_the_saved_state(tmp_path):
    state = tmp_path / ".sluice"
    with stack_on(state) as first:
        boto3.client("s3", endpoint_url=first.info.aws_endpoint, region_name=first.info.region).put_object(
            Bucket=first.info.bucket, Key="curated/x/kept.txt", Body=b"x")
    with stack_on(state, fresh=True) as fresh:
        s3 = boto3.client("s3", endpoint_url=fresh.info.aws_endpoint, region_name=fresh.info.region)
        assert "Contents" not in s3.list_objects_v2(Bucket=fresh.info.bucket)
        assert not fresh.info.restored_from


def test_an_event_a_handler_held_when_the_stack_stopped_is_delivered_again_after_the_restart(tmp_path):
    from chalicelib.storage.invoke import invoke_async

    state = tmp_path / ".sluice"
    release = threading.Event()
    started = threading.Event()

    def held(event, context):  # a long run the stop does not wait for
        started.set()
        release.wait(60)

    try:
        first = stack_on(state, stop_grace=0.5)
        first.start()
        first.pump._handlers["probe"] = held
        invoke_async("probe", {"run": "r1"})
        assert started.wait(30)
        stopped_at = time.monotonic()
        first.stop()
        assert time.monotonic() - stopped_at < 5 and first.left_running
    finally:
        release.set()

    calls = []
    delivered = threading.Event()
    second = stack_on(state)
    second.start()
    try:
        second.pump._handlers["probe"] = lambda event, context: (calls.append(event), delivered.set())
        assert delivered.wait(30), second.pump.deliveries  # a first try before the line above is retried
        assert calls == [{"run": "r1"}]
    finally:
        second.stop()

"""The thin storage layer against moto: S3 objects with identity, the state table, alerts, invokes."""

import hashlib
import json
import threading

import boto3
import jsonschema
import pytest

from chalicelib.core.errors import BadRequestError, NotFoundError
from chalicelib.storage import notify, s3, table
from chalicelib.storage.invoke import invoke_async
from tests.unit.alerts.chatbot_schema import SCHEMA


def test_put_and_get_round_trip_with_version_and_sha256(moto_world):
    stored = s3.put_json("reports/x.json", {"b": 1.5, "a": [1, 2]})
    assert stored.version_id
    body = s3.get_bytes("reports/x.json")
    assert hashlib.sha256(body).hexdigest() == stored.sha256
    assert s3.get_json("reports/x.json") == {"a": [1, 2], "b": 1.5}
    assert s3.head("reports/x.json").sha256 == stored.sha256
    assert s3.sha256_of("reports/x.json") == stored.sha256


def test_an_old_version_stays_readable_after_an_overwrite(moto_world):
    first = s3.put_bytes("models/m/1/x", b"one")
    s3.put_bytes("models/m/1/x", b"two")
    assert s3.get_bytes("models/m/1/x", version_id=first.version_id) == b"one"
    assert s3.get_bytes("models/m/1/x") == b"two"


def test_missing_objects_are_not_found_errors(moto_world):
    with pytest.raises(NotFoundError) as caught:
        s3.get_bytes("nope.json")
    assert caught.value.code == "object_not_found"
    with pytest.raises(NotFoundError):
        s3.head("nope.json")
    assert not s3.exists("nope.json")


def test_concurrent_counters_never_hand_out_the_same_number(moto_world):
    numbers: list[int] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(5):
            n = table.next_number("MODEL#m", "version")
            with lock:
                numbers.append(n)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(numbers) == list(range(1, 41))


def test_query_pages_continue_where_they_stopped_and_reject_foreign_tokens(moto_world):
    from boto3.dynamodb.conditions import Key

    for i in range(5):
        table.table().put_item(Item={"pk": "P", "sk": f"S#{i}"})
    items, last = table.query_page(Key("pk").eq("P"), limit=3)
    rest, end = table.query_page(Key("pk").eq("P"), limit=3, start_key=last)
    assert [i["sk"] for i in items + rest] == [f"S#{i}" for i in range(5)]
    assert end is None
    with pytest.raises(BadRequestError) as caught:
        table.query_page(Key("pk").eq("P"), limit=3, start_key={"bogus": "x"})
    assert caught.value.code == "invalid_token"


def test_alerts_reach_the_topic_subscribers(moto_world):
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName="alerts-probe")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns").subscribe(TopicArn=moto_world.topic_arn, Protocol="sqs", Endpoint=arn)
    assert notify.publish_alert("drift on fare", "3 of 8 features drifted", {"model": "fare", "report": "r"},
                                kind="drift", severity="medium", reports=["reports/drift/fare/1/report.html"])
    message = json.loads(sqs.receive_message(QueueUrl=queue)["Messages"][0]["Body"])
    assert message["Subject"] == "drift on fare"
    event = json.loads(message["Message"])
    jsonschema.validate(event, SCHEMA)  # what AWS Chatbot shows as a custom notification
    assert event["content"]["description"] == "3 of 8 features drifted"
    assert event["metadata"]["additionalContext"] == {"model": "fare", "report": "r"}
    assert event["metadata"]["relatedResources"] == [
        f"s3://{moto_world.bucket}/reports/drift/fare/1/report.html"]
    assert {k: v["Value"] for k, v in message["MessageAttributes"].items()} == {
        "kind": "drift", "severity": "medium", "model": "fare"}


def test_async_invocations_go_to_the_local_queue(moto_world):
    invoke_async("train", {"model": "m", "run_id": "r"})
    body = boto3.client("sqs").receive_message(QueueUrl=moto_world.invoke_queue_url)["Messages"][0]["Body"]
    assert json.loads(body) == {"function": "train", "payload": {"model": "m", "run_id": "r"}}

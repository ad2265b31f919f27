"""moto's state saved and loaded back (sluice/local/snapshot.py): every object version, item, message,
topic and Glue table of the moto world is there again after moto forgot everything."""

from __future__ import annotations

import boto3
import pytest

from sluice.local.snapshot import StateDir, capture, install


def forget_and_load(tmp_path) -> None:
    """Save the world, reset moto (as a new process starts empty), load the save into it."""
    from moto.core.base_backend import BackendDict

    state = StateDir(tmp_path / ".sluice", tmp_path / "state.key")
    state.write(state.dump(capture(), pii_key="p" * 64))
    BackendDict.reset()
    install(state.load().services)


def test_object_versions_keep_their_ids_and_bodies(moto_world, tmp_path):
    s3 = boto3.client("s3")
    ids = [s3.put_object(Bucket=moto_world.bucket, Key="raw/rides/a.csv", Body=f"v{n}".encode())["VersionId"]
           for n in range(3)]
    s3.delete_object(Bucket=moto_world.bucket, Key="raw/rides/a.csv")  # a delete marker on top

    forget_and_load(tmp_path)

    versions = s3.list_object_versions(Bucket=moto_world.bucket, Prefix="raw/")
    assert sorted(v["VersionId"] for v in versions["Versions"]) == sorted(ids)
    assert len(versions["DeleteMarkers"]) == 1
    bodies = [s3.get_object(Bucket=moto_world.bucket, Key="raw/rides/a.csv", VersionId=i)["Body"].read()
              for i in ids]
    assert bodies == [b"v0", b"v1", b"v2"]
    after = s3.put_object(Bucket=moto_world.bucket, Key="raw/rides/a.csv", Body=b"v3")["VersionId"]
    assert after not in ids


def test_items_and_conditional_counters_carry_on_where_they_stopped(moto_world, tmp_path):
    table = boto3.resource("dynamodb").Table(moto_world.table)
    table.put_item(Item={"pk": "DATASET#rides", "sk": "COUNTER", "next": 7})

    forget_and_load(tmp_path)

    counter = table.update_item(Key={"pk": "DATASET#rides", "sk": "COUNTER"},
                                UpdateExpression="ADD #n :one", ExpressionAttributeNames={"#n": "next"},
                                ExpressionAttributeValues={":one": 1}, ReturnValues="UPDATED_NEW")
    assert counter["Attributes"]["next"] == 8


def test_queued_messages_stay_and_a_received_one_is_visible_again(moto_world, tmp_path):
    sqs = boto3.client("sqs")
    url = moto_world.invoke_queue_url
    sqs.send_message(QueueUrl=url, MessageBody="taken")
    sqs.send_message(QueueUrl=url, MessageBody="waiting")
    [taken] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=900)["Messages"]
    assert taken["Body"] == "taken"  # by a handler that stopped before it deleted the message

    forget_and_load(tmp_path)

    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    assert sorted(m["Body"] for m in messages) == ["taken", "waiting"]


def test_topics_subscriptions_glue_tables_and_the_event_rule_are_there(moto_world, tmp_path):
    sns, glue, events = boto3.client("sns"), boto3.client("glue"), boto3.client("events")
    sns.subscribe(TopicArn=moto_world.topic_arn, Protocol="email", Endpoint="ops@example.com")
    glue.create_table(DatabaseName=moto_world.glue_database, TableInput={
        "Name": "rides", "StorageDescriptor": {"Columns": [{"Name": "fare_eur", "Type": "double"}]}})
    rules = [r["Name"] for r in events.list_rules()["Rules"]]

    forget_and_load(tmp_path)

    assert [s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=moto_world.topic_arn)[
        "Subscriptions"]] == ["ops@example.com"]
    columns = glue.get_table(DatabaseName=moto_world.glue_database, Name="rides")["Table"][
        "StorageDescriptor"]["Columns"]
    assert columns == [{"Name": "fare_eur", "Type": "double"}]
    assert [r["Name"] for r in events.list_rules()["Rules"]] == rules


def test_bucket_events_still_reach_the_queue_after_loading(moto_world, tmp_path):
    forget_and_load(tmp_path)

    boto3.client("s3").put_object(Bucket=moto_world.bucket, Key="raw/d/after.csv", Body=b"a\n1\n")
    messages = boto3.client("sqs").receive_message(QueueUrl=moto_world.events_queue_url, WaitTimeSeconds=1)
    assert '"raw/d/after.csv"' in messages["Messages"][0]["Body"]


@pytest.fixture(autouse=True)
def _no_home_key(monkeypatch, tmp_path):
    monkeypatch.setenv("SLUICE_HOME", str(tmp_path / "home"))  # no test writes the user's key


def test_a_table_saved_before_an_index_existed_gets_it_at_the_next_start_and_keeps_its_items(
        moto_world, moto_session, tmp_path):
    from sluice.local.resources import LocalNames, create_resources

    ddb = boto3.client("dynamodb")
    ddb.update_table(TableName=moto_world.table, GlobalSecondaryIndexUpdates=[{"Delete": {
        "IndexName": "gsi1"}}])  # the table as an older sluice saved it
    ddb.put_item(TableName=moto_world.table, Item={"pk": {"S": "MODEL#fare"}, "sk": {"S": "V#1"},
                                                   "gsi1pk": {"S": "ALIAS"}, "gsi1sk": {"S": "fare"}})
    forget_and_load(tmp_path)

    create_resources(moto_session.clients, None, LocalNames(prefix=moto_world.bucket), moto_session.template)

    found = ddb.query(TableName=moto_world.table, IndexName="gsi1", KeyConditionExpression="gsi1pk = :p",
                      ExpressionAttributeValues={":p": {"S": "ALIAS"}})["Items"]
    assert [item["pk"]["S"] for item in found] == ["MODEL#fare"]

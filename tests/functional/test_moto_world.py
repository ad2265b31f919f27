"""The shared moto world keeps tests independent: what one test leaves behind, the next never sees.

``fresh_world`` is what the ``moto_world`` fixture runs around every functional test; here it runs
twice in a row, the first world filled in every service sluice uses, the second checked empty.
"""

from __future__ import annotations

import os

import boto3
import pytest

from tests.conftest import REGION
from tests.functional.conftest import MotoSession, fresh_world


def _fill(world) -> None:
    """Leave something in every service: objects, items, messages, subscriptions, tables, parameters."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket=world.bucket, Key="raw/rides/a.csv", Body=b"a\n1\n")
    s3.create_bucket(Bucket=f"{world.bucket}-extra")
    boto3.client("dynamodb", region_name=REGION).put_item(
        TableName=world.table, Item={"pk": {"S": "MODEL#m"}, "sk": {"S": "VERSION#1"}})
    sqs = boto3.client("sqs", region_name=REGION)
    sqs.send_message(QueueUrl=world.invoke_queue_url, MessageBody="{}")
    probe = sqs.create_queue(QueueName=f"{world.bucket}-probe")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=probe, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns", region_name=REGION).subscribe(TopicArn=world.topic_arn, Protocol="sqs", Endpoint=arn)
    boto3.client("glue", region_name=REGION).create_table(
        DatabaseName=world.glue_database, TableInput={"Name": "rides"})
    boto3.client("ssm", region_name=REGION).put_parameter(Name="/sluice/pii-key", Value="k",
                                                          Type="SecureString")
    boto3.client("secretsmanager", region_name=REGION).create_secret(Name="sluice/pii-key",
                                                                      SecretString="k")


def test_a_world_starts_empty_whatever_the_world_before_it_left(moto_session: MotoSession,
                                                                  monkeypatch: pytest.MonkeyPatch):
    from chalicelib.services.serving import get_service, set_service

    with fresh_world(moto_session, monkeypatch.setenv) as first:
        _fill(first)
        set_service(get_service())  # a test that pins a prediction service and forgets it
        pinned = get_service()
    with fresh_world(moto_session, monkeypatch.setenv) as second:
        assert second.bucket != first.bucket and os.environ["SLUICE_BUCKET"] == second.bucket
        s3 = boto3.client("s3", region_name=REGION)
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [second.bucket]
        assert s3.list_object_versions(Bucket=second.bucket).get("Versions", []) == []
        assert boto3.client("dynamodb", region_name=REGION).scan(TableName=second.table)["Items"] == []
        sqs = boto3.client("sqs", region_name=REGION)
        assert sorted(sqs.list_queues()["QueueUrls"]) == sorted([second.invoke_queue_url,
                                                                  second.events_queue_url])
        assert sqs.receive_message(QueueUrl=second.invoke_queue_url).get("Messages", []) == []
        sns = boto3.client("sns", region_name=REGION)
        assert [t["TopicArn"] for t in sns.list_topics()["Topics"]] == [second.topic_arn]
        assert sns.list_subscriptions()["Subscriptions"] == []
        glue = boto3.client("glue", region_name=REGION)
        assert [d["Name"] for d in glue.get_databases()["DatabaseList"]] == [second.glue_database]
        assert glue.get_tables(DatabaseName=second.glue_database)["TableList"] == []
        assert boto3.client("ssm", region_name=REGION).describe_parameters()["Parameters"] == []
        assert boto3.client("secretsmanager", region_name=REGION).list_secrets()["SecretList"] == []
        assert get_service() is not pinned

"""The local stack creates exactly what infra/resources.yaml declares (they cannot drift apart)."""

import json

import boto3

from sluice.local.template import load_template, resources_of_type


def test_the_bucket_is_versioned_encrypted_private_and_sends_events_to_eventbridge(moto_world):
    s3 = boto3.client("s3")
    bucket = moto_world.bucket
    props = next(iter(resources_of_type(load_template(), "AWS::S3::Bucket").values()))
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == props["VersioningConfiguration"]["Status"]
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    declared = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert (rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
            == declared["ServerSideEncryptionByDefault"]["SSEAlgorithm"])
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == {k: True for k in props["PublicAccessBlockConfiguration"]}
    assert props["NotificationConfiguration"]["EventBridgeConfiguration"]["EventBridgeEnabled"]
    # moto does not echo the EventBridge setting back, so prove the events flow instead
    s3.put_object(Bucket=bucket, Key="raw/d/x.csv", Body=b"a\n1\n")
    messages = boto3.client("sqs").receive_message(QueueUrl=moto_world.events_queue_url,
                                                   WaitTimeSeconds=1)["Messages"]
    event = json.loads(messages[0]["Body"])
    assert (event["source"], event["detail-type"]) == ("aws.s3", "Object Created")
    assert event["detail"]["object"]["key"] == "raw/d/x.csv"


def test_the_state_table_has_the_declared_keys_indexes_and_ttl(moto_world):
    ddb = boto3.client("dynamodb")
    props = next(iter(resources_of_type(load_template(), "AWS::DynamoDB::Table").values()))
    table = ddb.describe_table(TableName=moto_world.table)["Table"]
    assert table["KeySchema"] == props["KeySchema"]
    assert sorted(table["AttributeDefinitions"], key=str) == sorted(props["AttributeDefinitions"], key=str)
    assert [(i["IndexName"], i["KeySchema"]) for i in table["GlobalSecondaryIndexes"]] == [
        (i["IndexName"], i["KeySchema"]) for i in props["GlobalSecondaryIndexes"]]
    ttl = ddb.describe_time_to_live(TableName=moto_world.table)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == props["TimeToLiveSpecification"]["AttributeName"]


def test_the_alerts_topic_exists(moto_world):
    arns = [t["TopicArn"] for t in boto3.client("sns").list_topics()["Topics"]]
    assert moto_world.topic_arn in arns

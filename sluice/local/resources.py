"""Create the resources of infra/resources.yaml in a moto server, plus the local delivery queues.

Each CloudFormation resource type we use has one small function that makes the same API calls
CloudFormation would make for its properties. Unknown types are skipped (they have no local role:
IAM, Lambda permissions, ...); :data:`LOCAL_TYPES` says which are created.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sluice.local.snapshot import SnapshotError
from sluice.local.template import load_template, resources_of_type

LOCAL_TYPES = ("AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::SNS::Topic", "AWS::Glue::Database")
# Types with no local role (the local stack delivers events and invocations itself); a type in
# neither list fails a test, so a new resource is a conscious choice.
NOT_LOCAL_TYPES = ("AWS::S3::BucketPolicy", "AWS::SQS::Queue", "AWS::SQS::QueuePolicy",
                   "AWS::Events::Rule", "AWS::Lambda::Permission", "AWS::Lambda::LayerVersion",
                   "AWS::IAM::ManagedPolicy", "AWS::IAM::Role", "AWS::IAM::OIDCProvider",
                   "AWS::KMS::Key", "AWS::KMS::Alias", "AWS::SNS::TopicPolicy",
                   "AWS::Serverless::LayerVersion", "AWS::Logs::LogGroup",
                   "AWS::CloudWatch::Alarm", "AWS::SecretsManager::Secret",
                   # sluice query's local engine reads chalicelib/core/sql_tables.py itself (DuckDB)
                   "AWS::Glue::Table", "AWS::Athena::WorkGroup")


@dataclass(frozen=True)
class LocalNames:
    """The physical names the local stack gives to the template's resources."""

    prefix: str = "sluice-local"

    @property
    def bucket(self) -> str:
        return self.prefix

    @property
    def table(self) -> str:
        return self.prefix

    @property
    def topic(self) -> str:
        return f"{self.prefix}-alerts"

    @property
    def glue_database(self) -> str:
        return self.prefix.replace("-", "_")

    @property
    def events_queue(self) -> str:
        return f"{self.prefix}-object-events"

    @property
    def invoke_queue(self) -> str:
        return f"{self.prefix}-invocations"


@dataclass(frozen=True)
class LocalResources:
    bucket: str
    table: str
    topic_arn: str
    glue_database: str
    events_queue_url: str
    invoke_queue_url: str


def create_resources(session: Any, endpoint_url: str, names: LocalNames | None = None,
                     template: dict[str, Any] | None = None) -> LocalResources:
    """Create every resource of the template, and route the bucket's events to an SQS queue.

    What exists already (a state restored from a snapshot) is kept as it is, not created again."""
    names = names or LocalNames()
    template = template or load_template()
    clients = _Clients(session, endpoint_url)
    creators: dict[str, Callable[[_Clients, LocalNames, dict[str, Any]], None]] = {
        "AWS::S3::Bucket": _create_bucket,
        "AWS::DynamoDB::Table": _create_table,
        "AWS::SNS::Topic": _create_topic,
        "AWS::Glue::Database": _create_glue_database,
    }
    for resource_type, create in creators.items():
        found = resources_of_type(template, resource_type)
        if len(found) > 1:
            raise ValueError(f"the local stack expects one {resource_type}, found {sorted(found)}")
        for properties in found.values():
            if not _EXISTS[resource_type](clients, names):
                create(clients, names, properties)
            elif resource_type == "AWS::DynamoDB::Table":  # saved by an older sluice: indexes added since
                _add_missing_indexes(clients, names, properties)
    topic_arn = clients("sns").create_topic(Name=names.topic)["TopicArn"]
    events_queue_url = _route_bucket_events(clients, names)
    invoke_queue_url = clients("sqs").create_queue(QueueName=names.invoke_queue)["QueueUrl"]
    return LocalResources(
        bucket=names.bucket, table=names.table, topic_arn=topic_arn,
        glue_database=names.glue_database, events_queue_url=events_queue_url,
        invoke_queue_url=invoke_queue_url,
    )


class _Clients:
    def __init__(self, session: Any, endpoint_url: str) -> None:
        self._session = session
        self._endpoint_url = endpoint_url
        self._cache: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._cache:
            self._cache[service] = self._session.client(service, endpoint_url=self._endpoint_url)
        return self._cache[service]


def _create_bucket(clients: _Clients, names: LocalNames, props: dict[str, Any]) -> None:
    s3 = clients("s3")
    s3.create_bucket(Bucket=names.bucket)
    if "VersioningConfiguration" in props:
        s3.put_bucket_versioning(Bucket=names.bucket, VersioningConfiguration={
            "Status": props["VersioningConfiguration"]["Status"]})
    if "BucketEncryption" in props:
        s3.put_bucket_encryption(Bucket=names.bucket, ServerSideEncryptionConfiguration={
            "Rules": [_encryption_rule(rule) for rule in
                      props["BucketEncryption"]["ServerSideEncryptionConfiguration"]]})
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(Bucket=names.bucket,
                                   PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
    eventbridge = props.get("NotificationConfiguration", {}).get("EventBridgeConfiguration", {})
    if _truthy(eventbridge.get("EventBridgeEnabled")):
        s3.put_bucket_notification_configuration(
            Bucket=names.bucket, NotificationConfiguration={"EventBridgeConfiguration": {}})


def _encryption_rule(rule: dict[str, Any]) -> dict[str, Any]:
    default = dict(rule["ServerSideEncryptionByDefault"])
    out: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": {
        "SSEAlgorithm": default["SSEAlgorithm"]}}
    if isinstance(default.get("KMSMasterKeyID"), str):
        out["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] = default["KMSMasterKeyID"]
    if "BucketKeyEnabled" in rule:
        out["BucketKeyEnabled"] = _truthy(rule["BucketKeyEnabled"])
    return out


def _create_table(clients: _Clients, names: LocalNames, props: dict[str, Any]) -> None:
    ddb = clients("dynamodb")
    kwargs: dict[str, Any] = {
        "TableName": names.table,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if props.get("SSESpecification"):
        kwargs["SSESpecification"] = {"Enabled": _truthy(props["SSESpecification"]["SSEEnabled"])}
    ddb.create_table(**kwargs)
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        ddb.update_time_to_live(TableName=names.table, TimeToLiveSpecification={
            "AttributeName": ttl["AttributeName"], "Enabled": _truthy(ttl["Enabled"])})
    if props.get("PointInTimeRecoverySpecification"):
        ddb.update_continuous_backups(TableName=names.table, PointInTimeRecoverySpecification={
            "PointInTimeRecoveryEnabled": _truthy(
                props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"])})


def _add_missing_indexes(clients: _Clients, names: LocalNames, props: dict[str, Any]) -> None:
    ddb = clients("dynamodb")
    table = ddb.describe_table(TableName=names.table)["Table"]
    if table["KeySchema"] != props["KeySchema"]:
        raise SnapshotError(f"the saved table {names.table} has the key {table['KeySchema']}, the template "
                         f"{props['KeySchema']}: start with --fresh (or move the state folder away)")
    present = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
    for index in props.get("GlobalSecondaryIndexes", []):
        if index["IndexName"] not in present:
            ddb.update_table(TableName=names.table, AttributeDefinitions=props["AttributeDefinitions"],
                             GlobalSecondaryIndexUpdates=[{"Create": {
                                 k: index[k] for k in ("IndexName", "KeySchema", "Projection")}}])


def _create_topic(clients: _Clients, names: LocalNames, props: dict[str, Any]) -> None:
    attributes = {}
    if isinstance(props.get("KmsMasterKeyId"), str):
        attributes["KmsMasterKeyId"] = props["KmsMasterKeyId"]
    clients("sns").create_topic(Name=names.topic, Attributes=attributes)


def _create_glue_database(clients: _Clients, names: LocalNames, props: dict[str, Any]) -> None:
    clients("glue").create_database(DatabaseInput={"Name": names.glue_database})


def _route_bucket_events(clients: _Clients, names: LocalNames) -> str:
    """bucket → EventBridge (default bus) → rule → SQS: the same envelopes AWS delivers."""
    sqs = clients("sqs")
    queue_url = sqs.create_queue(QueueName=names.events_queue)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    events = clients("events")
    rule = f"{names.prefix}-object-created"
    events.put_rule(Name=rule, State="ENABLED", EventPattern=json.dumps({
        "source": ["aws.s3"], "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [names.bucket]}},
    }))
    events.put_targets(Rule=rule, Targets=[{"Id": "local-pump", "Arn": queue_arn}])
    # SageMaker's state changes of the stack's training jobs (the local runner sends them, as SageMaker
    # would): the same queue, the pump routes them by source (scripts/render_template.py's rule on AWS)
    jobs = f"{names.prefix}-training-jobs"
    events.put_rule(Name=jobs, State="ENABLED", EventPattern=json.dumps({
        "source": ["aws.sagemaker"], "detail-type": ["SageMaker Training Job State Change"],
        "detail": {"TrainingJobName": [{"prefix": f"{names.prefix}-"}]},
    }))
    events.put_targets(Rule=jobs, Targets=[{"Id": "local-pump", "Arn": queue_arn}])
    return queue_url


def _answers(call: Callable[[], Any]) -> bool:
    from botocore.exceptions import ClientError

    try:
        call()
    except ClientError:
        return False
    return True


_EXISTS: dict[str, Callable[[_Clients, LocalNames], bool]] = {
    "AWS::S3::Bucket": lambda c, n: _answers(lambda: c("s3").head_bucket(Bucket=n.bucket)),
    "AWS::DynamoDB::Table": lambda c, n: _answers(lambda: c("dynamodb").describe_table(TableName=n.table)),
    "AWS::SNS::Topic": lambda c, n: False,  # creating a topic again returns the one there is
    "AWS::Glue::Database": lambda c, n: _answers(lambda: c("glue").get_database(Name=n.glue_database)),
}


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"

"""Render the merge template that ``chalice package --merge-template`` merges into the SAM template.

    python scripts/render_template.py --stage dev [--out build/dev/merge.json]

Inputs, all in the repository: ``infra/resources.yaml`` (the data plane, also used by the local stack),
``infra/functions.yaml`` (layers, IAM and environment per function), ``infra/api_access.yaml`` (public
routes and the reader/operator/approver roles), ``chalicelib/triggers/table.py`` (object triggers, schedules,
asynchronous functions) and the Chalice app itself (its functions and route table). What is generated
here is what must follow the code: one IAM role and log group per function, the EventBridge rules of
``OBJECT_TRIGGERS``, dead-letter queues for every asynchronous function and the execute-api policies of
the three API roles. A trigger or route the infra files do not account for is an error, not a guess.

Sizes come from ``infra/sizing.json`` (written by ``bench/sizing.py``, ``make sizing``): each function's
memory, timeout and ephemeral storage, and the measured limits the code checks (environment variables).
A function that publishes versions (``AutoPublishAlias`` in infra/functions.yaml: the API function, for
SnapStart) is invoked through its alias: every API Gateway integration and the invoke permission are
rewritten to ``APIHandler.Alias``, which the SAM transform resolves to the alias.
"""

from __future__ import annotations

import argparse
import copy
import fnmatch
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import alarms  # scripts/alarms.py: the stack's CloudWatch alarms and dashboard

ROOT = Path(__file__).resolve().parents[1]
INFRA = ROOT / "infra"
API_FUNCTION = "api_handler"
API_LOGICAL_ID = "APIHandler"
PLACEHOLDER_ROLE = "replaced-by-infra"
API_REST_ID = "RestAPI"
API_PERMISSION_ID = "APIHandlerInvokePermission"  # chalice's name for API Gateway's invoke permission
SIZING_FILE = INFRA / "sizing.json"
SNAPSTART_MAX_EPHEMERAL_MB = 512  # Lambda refuses SnapStart with more ephemeral storage
RESERVE_PARAMETER = "ReserveConcurrency"
RESERVES_CONCURRENCY = "ReservesConcurrency"  # the condition on it
XRAY_POLICY = "arn:${AWS::Partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"
GLUE_ACTIONS = ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:CreateTable",
                "glue:UpdateTable", "glue:GetPartition", "glue:GetPartitions", "glue:CreatePartition",
                "glue:BatchCreatePartition", "glue:UpdatePartition", "glue:BatchGetPartition"]
FUNCTION_SKIPS = [
    {"id": "CKV_AWS_117", "comment": "No VPC on purpose: the functions reach only AWS APIs (S3, DynamoDB, "
     "SNS, Lambda); a VPC would add NAT gateways or endpoints and cost without isolating anything."},
]
SYNC_SKIPS = [{"id": "CKV_AWS_116", "comment": "Invoked synchronously by API Gateway: errors go back to "
               "the caller, a dead-letter queue would never receive anything."}]
API_SKIPS = [
    {"id": "CKV_AWS_120", "comment": "No response caching: responses depend on the caller's IAM identity "
     "and change with every registry write (aliases, versions)."},
    {"id": "CKV_AWS_76", "comment": "API Gateway logging needs the account-wide CloudWatch role "
     "(AWS::ApiGateway::Account), an account setting this stack must not own; the handler logs every "
     "request (Powertools) and X-Ray tracing is on."},
]


@dataclass
class Rendered:
    template: dict[str, Any]
    functions: dict[str, str] = field(default_factory=dict)  # function name -> logical id
    warnings: list[str] = field(default_factory=list)


def load_yaml(path: Path) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from sluice.local.template import load_template

    return load_template(path)


def load_app() -> Any:
    """The Chalice app object of app.py (light to import by design)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import app

    return app.app


def logical_id(function: str) -> str:
    """The logical id ``chalice package`` gives a function (``on_raw_object`` -> ``OnRawObject``)."""
    if function == API_FUNCTION:
        return API_LOGICAL_ID
    from chalice.utils import to_cfn_resource_name

    return to_cfn_resource_name(function)


def deployed_functions(chalice_app: Any) -> dict[str, str]:
    """Every Lambda function the package will contain: name -> logical id."""
    names = [f.name for f in chalice_app.pure_lambda_functions]
    names += [e.name for e in chalice_app.event_sources]
    if chalice_app.routes:
        names.append(API_FUNCTION)
    return {name: logical_id(name) for name in sorted(set(names))}


def function_spec(config: dict[str, Any], name: str) -> dict[str, Any]:
    """``defaults`` then the function's own entry of infra/functions.yaml (lists added, maps merged)."""
    if name not in config.get("functions", {}):
        raise SystemExit(f"function {name!r} of app.py has no entry in infra/functions.yaml: "
                         "say which layers and which S3 prefixes it needs")
    spec = copy.deepcopy(config["defaults"])
    for key, value in (config["functions"][name] or {}).items():
        if key == "layers":
            spec["layers"] = list(value)  # a function's layers replace the default set
        elif isinstance(value, list):
            spec[key] = list(spec.get(key, [])) + list(value)
        elif isinstance(value, dict):
            spec[key] = _deep_merge(spec.get(key, {}), value)
        else:
            spec[key] = value
    return spec


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        out[key] = _deep_merge(out[key], value) if isinstance(value, dict) and isinstance(
            out.get(key), dict) else copy.deepcopy(value)
    return out


def _sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def _function_arn(name: str) -> dict[str, str]:
    return _sub(f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:"
                f"${{AWS::StackName}}-{name}")


def _objects(prefixes: list[str]) -> list[dict[str, str]]:
    return [_sub(f"${{DataBucket.Arn}}/{prefix}") for prefix in prefixes]


def _leading_keys(patterns: list[str]) -> dict[str, Any]:
    """Only items whose partition key matches one of ``patterns`` (every key of a request must)."""
    return {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": list(patterns)}}


def _via(service: str, context_key: str, value: Any) -> dict[str, Any]:
    """The data key only through ``service`` and only for this stack's resource of it (the encryption
    context the service passes to KMS)."""
    return {"StringEquals": {"kms:ViaService": _sub(f"{service}.${{AWS::Region}}.amazonaws.com"),
                             f"kms:EncryptionContext:{context_key}": value}}


def s3_statements(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Object reads, listings, writes, deletes and create-only writes, each on its own prefixes."""
    out: list[dict[str, Any]] = []
    if spec.get("reads"):
        out.append({"Sid": "ReadData", "Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                    "Resource": _objects(spec["reads"])})
    if spec.get("lists"):
        out.append({"Sid": "ListData", "Effect": "Allow", "Action": ["s3:ListBucket"],
                    "Resource": {"Fn::GetAtt": ["DataBucket", "Arn"]},
                    "Condition": {"StringLike": {"s3:prefix": list(spec["lists"])}}})
    if spec.get("writes"):
        out.append({"Sid": "WriteOwnPrefixes", "Effect": "Allow",
                    "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
                    "Resource": _objects(spec["writes"])})
    if spec.get("deletes"):  # versioned bucket: a delete adds a marker, the data stays
        out.append({"Sid": "DeleteOwnPrefixes", "Effect": "Allow", "Action": ["s3:DeleteObject"],
                    "Resource": _objects(spec["deletes"])})
    if spec.get("creates"):  # presigned uploads and exports: S3 refuses to overwrite (If-None-Match: *)
        out.append({"Sid": "CreateOnce", "Effect": "Allow", "Action": ["s3:PutObject"],
                    "Resource": _objects(spec["creates"]),
                    "Condition": {"Null": {"s3:if-none-match": "false"}}})
    kms = (["kms:Decrypt"] if spec.get("reads") or spec.get("writes") else []) + (
        ["kms:GenerateDataKey"] if spec.get("writes") or spec.get("creates") else [])
    if kms:  # SSE-KMS with a bucket key: S3 passes the bucket's ARN (not the object's) as the context
        out.append({"Sid": "DataKeyViaS3", "Effect": "Allow", "Action": kms,
                    "Resource": {"Fn::GetAtt": ["DataKey", "Arn"]},
                    "Condition": _via("s3", "aws:s3:arn", {"Fn::GetAtt": ["DataBucket", "Arn"]})})
    return out


# What no role may do on an insert-only partition (the audit logs): change or delete an item, by any API
INSERT_ONLY_DENIED = ["dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
                      "dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete"]


def table_statements(table: dict[str, list[str]], insert_only: list[str] | None = None
                     ) -> list[dict[str, Any]]:
    """The state table by partition key (``dynamodb:LeadingKeys``): reads, writes, inserts, deletes, index
    queries; and an explicit Deny of every change to the ``insert_only`` partitions (whatever else allows)."""
    table_arn = {"Fn::GetAtt": ["StateTable", "Arn"]}
    out: list[dict[str, Any]] = []
    for sid, key, actions in (("TableRead", "read", ["dynamodb:GetItem", "dynamodb:Query"]),
                              ("TableWrite", "write", ["dynamodb:PutItem", "dynamodb:UpdateItem"]),
                              ("TableInsert", "insert", ["dynamodb:PutItem"]),
                              ("TableDelete", "delete", ["dynamodb:DeleteItem"]),
                              ("TableCheck", "check", ["dynamodb:ConditionCheckItem"])):
        if table.get(key):
            out.append({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": table_arn,
                        "Condition": _leading_keys(table[key])})
    if table.get("index"):  # a Query on the index: its leading key is the index's partition key (gsi1pk)
        out.append({"Sid": "IndexQuery", "Effect": "Allow", "Action": ["dynamodb:Query"],
                    "Resource": _sub("${StateTable.Arn}/index/gsi1"),
                    "Condition": _leading_keys(table["index"])})
    if out and insert_only:  # a Deny wins over any Allow; ForAnyValue: one such key in a request is enough
        out.append({"Sid": "InsertOnlyPartitions", "Effect": "Deny", "Action": INSERT_ONLY_DENIED,
                    "Resource": table_arn,
                    "Condition": {"ForAnyValue:StringLike": {"dynamodb:LeadingKeys": list(insert_only)}}})
    if out:  # the table's key (SSE-KMS): only through DynamoDB, only for this table
        out.append({"Sid": "DataKeyViaDynamoDB", "Effect": "Allow",
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                    "Resource": {"Fn::GetAtt": ["DataKey", "Arn"]},
                    "Condition": _via("dynamodb", "aws:dynamodb:tableName", {"Ref": "StateTable"})})
    return out


def role_statements(name: str, spec: dict[str, Any], asynchronous: bool) -> list[dict[str, Any]]:
    """The least-privilege policy of one function, scoped to this stack's own resources and, inside
    them, to the S3 prefixes and table partitions infra/functions.yaml gives it."""
    key = {"Fn::GetAtt": ["DataKey", "Arn"]}
    statements: list[dict[str, Any]] = [
        {"Sid": "OwnLogGroup", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": _sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
                          f"/aws/lambda/${{AWS::StackName}}-{name}:*")},
        *s3_statements(spec),
        *table_statements(spec.get("table") or {}, spec.get("insert_only")),
    ]
    if spec.get("publishes"):
        statements += [
            {"Sid": "Alerts", "Effect": "Allow", "Action": ["sns:Publish"],
             "Resource": {"Ref": "AlertsTopic"}},
            {"Sid": "DataKeyViaSns", "Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
             "Resource": key, "Condition": _via("sns", "aws:sns:topicArn", {"Ref": "AlertsTopic"})}]
    if spec.get("pii_key"):
        statements += [
            {"Sid": "PiiKey", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
             "Resource": {"Ref": "PiiKeySecret"}},
            {"Sid": "DataKeyViaSecretsManager", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": key,
             "Condition": _via("secretsmanager", "SecretARN", {"Ref": "PiiKeySecret"})}]
    if spec.get("glue"):
        prefix = "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}"
        statements.append({"Sid": "GlueCatalog", "Effect": "Allow", "Action": GLUE_ACTIONS, "Resource": [
            _sub(f"{prefix}:catalog"), _sub(f"{prefix}:database/${{GlueDatabase}}"),
            _sub(f"{prefix}:table/${{GlueDatabase}}/*")]})
    statements += training_job_statements(spec.get("training_jobs") or [])
    if spec.get("invokes"):
        statements.append({"Sid": "StartFunctions", "Effect": "Allow", "Action": ["lambda:InvokeFunction"],
                           "Resource": [_function_arn(target) for target in spec["invokes"]]})
    queue = {"Fn::GetAtt": ["FailedEventsQueue", "Arn"]}
    if spec.get("dead_letters"):  # the reconciler: read, hide again, delete (*Batch: the same actions)
        statements.append({"Sid": "ReadDeadLetters", "Effect": "Allow", "Action": [
            "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:DeleteMessage"], "Resource": queue})
    if asynchronous:  # Lambda sends the failed event with the function's role
        statements.append({"Sid": "DeadLetterQueue", "Effect": "Allow", "Action": ["sqs:SendMessage"],
                           "Resource": queue})
    # the queue is SSE-KMS: a sender encrypts, a reader decrypts, through SQS, for this queue
    sqs_kms = (["kms:GenerateDataKey"] if asynchronous else []) + (
        ["kms:Decrypt"] if asynchronous or spec.get("dead_letters") else [])
    if sqs_kms:
        statements.append({"Sid": "DataKeyViaSqs", "Effect": "Allow", "Action": sqs_kms, "Resource": key,
                           "Condition": _via("sqs", "aws:sqs:arn", queue)})
    return statements


# ---- SageMaker training jobs (docs/sagemaker.md) ---------------------------------------------------

TRAINING_JOB_ROLE = "TrainingJobRole"
TRAINING_JOB_RULE = "OnTrainingJobStateChangeRule"
TRAINING_JOB_FUNCTION = "on_training_job"
# a function's `training_jobs:` verbs -> the SageMaker actions on this stack's jobs
TRAINING_JOB_ACTIONS = {
    "start": ["sagemaker:CreateTrainingJob", "sagemaker:AddTags"],  # AddTags: the Tags of the create call
    "stop": ["sagemaker:StopTrainingJob"],
    "describe": ["sagemaker:DescribeTrainingJob"],
}


def _training_jobs_arn() -> dict[str, str]:
    """This stack's training jobs: their names begin with the stack's name (core/training/jobs.py)."""
    return _sub("arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:training-job/"
                "${AWS::StackName}-*")


def training_job_statements(verbs: list[str]) -> list[dict[str, Any]]:
    """A function's grants on this stack's training jobs; who starts one also passes the jobs' role (only
    that role, only to SageMaker)."""
    unknown = [v for v in verbs if v not in TRAINING_JOB_ACTIONS]
    if unknown:
        raise SystemExit(f"unknown training_jobs verbs {unknown} (infra/functions.yaml)")
    if not verbs:
        return []
    actions = [a for verb in TRAINING_JOB_ACTIONS if verb in verbs for a in TRAINING_JOB_ACTIONS[verb]]
    out: list[dict[str, Any]] = [{"Sid": "TrainingJobs", "Effect": "Allow", "Action": actions,
                                  "Resource": _training_jobs_arn()}]
    if "start" in verbs:
        out.append({"Sid": "PassTrainingJobRole", "Effect": "Allow", "Action": ["iam:PassRole"],
                    "Resource": {"Fn::GetAtt": [TRAINING_JOB_ROLE, "Arn"]},
                    "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}})
    return out


def training_job_role(spec: dict[str, Any]) -> dict[str, Any]:
    """The execution role of the stack's SageMaker training jobs: infra/functions.yaml's ``training_job``
    (the prefixes and partitions the training code reaches, as for a function) and the jobs' log streams.

    A static role cannot name one run's prefixes: it reaches every model's ``models/*`` and the curated
    data of every dataset (docs/sagemaker.md, "What the job's role reaches")."""
    logs = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/sagemaker/TrainingJobs"
    statements = [
        {"Sid": "JobLogGroup", "Effect": "Allow", "Action": ["logs:CreateLogGroup"], "Resource": _sub(logs)},
        {"Sid": "JobLogStreams", "Effect": "Allow",
         "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
         "Resource": _sub(f"{logs}:log-stream:${{AWS::StackName}}-*")},
        *s3_statements(spec),
        *table_statements(spec.get("table") or {}, spec.get("insert_only")),
    ]
    return {TRAINING_JOB_ROLE: {"Type": "AWS::IAM::Role", "Properties": {
        "Description": _sub("sluice ${AWS::StackName}: SageMaker training jobs (compute: sagemaker)"),
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}}]},
        "Policies": [{"PolicyName": "sluice-training-job", "PolicyDocument": {
            "Version": "2012-10-17", "Statement": statements}}]}}}


def training_job_rule(lid: str) -> dict[str, Any]:
    """SageMaker's state changes of this stack's jobs (its names, its role) -> ``on_training_job``."""
    return {
        TRAINING_JOB_RULE: {"Type": "AWS::Events::Rule", "Properties": {
            "Description": f"SageMaker training jobs of this stack change state -> {TRAINING_JOB_FUNCTION}",
            "State": "ENABLED",
            "EventPattern": {"source": ["aws.sagemaker"],
                             "detail-type": ["SageMaker Training Job State Change"],
                             "detail": {"TrainingJobName": [{"prefix": _sub("${AWS::StackName}-")}],
                                        "RoleArn": [{"Fn::GetAtt": [TRAINING_JOB_ROLE, "Arn"]}]}},
            "Targets": [{"Id": TRAINING_JOB_FUNCTION, "Arn": {"Fn::GetAtt": [lid, "Arn"]},
                         "RetryPolicy": {"MaximumRetryAttempts": 10, "MaximumEventAgeInSeconds": 3600},
                         "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["FailedEventsQueue", "Arn"]}}}]}},
        f"{lid}StateChangePermission": {"Type": "AWS::Lambda::Permission", "Properties": {
            "FunctionName": {"Ref": lid}, "Action": "lambda:InvokeFunction",
            "Principal": "events.amazonaws.com", "SourceArn": {"Fn::GetAtt": [TRAINING_JOB_RULE, "Arn"]}}},
    }


def training_cost_environment(sizing: dict[str, Any]) -> dict[str, str]:
    """What a run costs per row and in total (the training workload's measurements): where a SageMaker run
    fits, and when even the largest instance cannot hold it (chalicelib/core/training/compute.py)."""
    work = sizing.get("workloads", {}).get("training")
    if not work:
        return {}
    headroom = sizing.get("measured", {}).get("headroom", {}).get("memory", 0.8)
    return {"SLUICE_TRAIN_KB_PER_ROW": str(work["kb_per_row"]),
            "SLUICE_TRAIN_FIXED_MB": str(work["fixed_mb"]),
            "SLUICE_TRAIN_SECONDS_PER_MILLION_ROWS": str(work["seconds_per_million_rows"]),
            "SLUICE_TRAIN_FIXED_SECONDS": str(work["fixed_s"]), "SLUICE_TRAIN_MEMORY_HEADROOM": str(headroom)}


def reserved_concurrency(name: str, spec: dict[str, Any]) -> int:
    value = spec.get("reserved_concurrency")
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SystemExit(f"{name}: reserved_concurrency must be a whole number >= 1 (infra/functions.yaml)")
    return value


def concurrency_parameter() -> dict[str, Any]:
    """The stack parameter that turns every function's reservation off (and its condition)."""
    return {
        "Parameters": {RESERVE_PARAMETER: {
            "Type": "String", "AllowedValues": ["true", "false"], "Default": "true",
            "Description": "Reserve each function's concurrency (infra/functions.yaml reserved_concurrency). "
                           "false when the account's concurrency limit leaves no room (docs/deploy.md)."}},
        "Conditions": {RESERVES_CONCURRENCY: {"Fn::Equals": [{"Ref": RESERVE_PARAMETER}, "true"]}}}


def load_sizing(path: Path = SIZING_FILE) -> dict[str, Any]:
    if not path.exists():
        raise SystemExit(f"{path.name} is missing: run `make sizing` (bench/sizing.py) to measure and write "
                         "it")
    sizing: dict[str, Any] = json.loads(path.read_text())
    return sizing


def size_properties(name: str, sizing: dict[str, Any]) -> dict[str, Any]:
    """MemorySize, Timeout, EphemeralStorage of ``name`` and the measured limits in its environment."""
    size = sizing["functions"].get(name)
    if size is None:
        raise SystemExit(f"function {name!r} of app.py has no entry in infra/sizing.json: "
                         "add it to bench/sizing.py's FUNCTIONS and run `make sizing`")
    variables = {**sizing.get("environment", {}), **training_cost_environment(sizing),
                 **size.get("environment", {})}  # stack-wide, then own
    return {"MemorySize": int(size["memory_mb"]), "Timeout": int(size["timeout_s"]),
            "EphemeralStorage": {"Size": int(size["ephemeral_storage_mb"])},
            "Environment": {"Variables": {k: str(v) for k, v in variables.items()}}}


def check_snapstart(name: str, properties: dict[str, Any]) -> None:
    """What Lambda refuses for a SnapStart function, refused here instead of at deploy time."""
    if properties.get("SnapStart", {}).get("ApplyOn", "None") == "None":
        return
    if not properties.get("AutoPublishAlias"):
        raise SystemExit(f"{name}: SnapStart applies to published versions: set AutoPublishAlias")
    if properties["EphemeralStorage"]["Size"] > SNAPSTART_MAX_EPHEMERAL_MB:
        raise SystemExit(f"{name}: SnapStart allows at most {SNAPSTART_MAX_EPHEMERAL_MB} MB of ephemeral "
                         f"storage (infra/sizing.json gives {properties['EphemeralStorage']['Size']})")


def function_resources(name: str, lid: str, spec: dict[str, Any], layers: dict[str, Any],
                       asynchronous: bool, sizing: dict[str, Any] | None = None) -> dict[str, Any]:
    """The function's merge entry, its role and its log group."""
    unknown = [layer for layer in spec["layers"] if layer not in layers]
    if unknown:
        raise SystemExit(f"{name}: unknown layers {unknown} (infra/functions.yaml `layers`)")
    properties = _deep_merge(size_properties(name, sizing or load_sizing()), spec.get("properties", {}))
    properties.update({
        "FunctionName": _sub(f"${{AWS::StackName}}-{name}"),
        "Role": {"Fn::GetAtt": [f"{lid}Role", "Arn"]},
        "Layers": [copy.deepcopy(layers[layer]) for layer in spec["layers"]],
    })
    check_snapstart(name, properties)
    properties["ReservedConcurrentExecutions"] = {"Fn::If": [
        RESERVES_CONCURRENCY, reserved_concurrency(name, spec), {"Ref": "AWS::NoValue"}]}
    if asynchronous:
        properties["DeadLetterQueue"] = {"Type": "SQS",
                                         "TargetArn": {"Fn::GetAtt": ["FailedEventsQueue", "Arn"]}}
        properties["EventInvokeConfig"] = {"MaximumRetryAttempts": int(spec["retries"]),
                                           "MaximumEventAgeInSeconds": 21600}
    skips = FUNCTION_SKIPS + ([] if asynchronous else SYNC_SKIPS)
    return {
        lid: {"DependsOn": [f"{lid}LogGroup"], "Properties": properties,
              "Metadata": {"checkov": {"skip": skips}}},
        f"{lid}Role": {"Type": "AWS::IAM::Role", "Properties": {
            "Description": _sub(f"sluice ${{AWS::StackName}}: the {name} function"),
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}}]},
            # X-Ray's PutTraceSegments/PutTelemetryRecords support no resource scoping: AWS's managed
            # policy is the one "*" a function gets.
            "ManagedPolicyArns": [_sub(XRAY_POLICY)],
            "Policies": [{"PolicyName": "sluice-function", "PolicyDocument": {
                "Version": "2012-10-17", "Statement": role_statements(name, spec, asynchronous)}}],
        }},
        f"{lid}LogGroup": {"Type": "AWS::Logs::LogGroup", "Properties": {
            "LogGroupName": _sub(f"/aws/lambda/${{AWS::StackName}}-{name}"),
            "RetentionInDays": {"Ref": "LogRetentionDays"},
            "KmsKeyId": {"Fn::GetAtt": ["DataKey", "Arn"]}}},
    }


def object_trigger_resources(trigger: Any, lid: str) -> dict[str, Any]:
    """bucket (EventBridge notifications on) -> rule on the key pattern -> the function."""
    rule = f"{lid}ObjectCreatedRule"
    return {
        rule: {"Type": "AWS::Events::Rule", "Properties": {
            "Description": f"Object created under {trigger.pattern} -> {trigger.function}",
            "State": "ENABLED",
            "EventPattern": {"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {
                "bucket": {"name": [{"Ref": "DataBucket"}]},
                "object": {"key": [{"wildcard": trigger.pattern}]}}},
            "Targets": [{"Id": trigger.function, "Arn": {"Fn::GetAtt": [lid, "Arn"]},
                         "RetryPolicy": {"MaximumRetryAttempts": 10, "MaximumEventAgeInSeconds": 3600},
                         "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["FailedEventsQueue", "Arn"]}}}]}},
        f"{lid}ObjectCreatedPermission": {"Type": "AWS::Lambda::Permission", "Properties": {
            "FunctionName": {"Ref": lid}, "Action": "lambda:InvokeFunction",
            "Principal": "events.amazonaws.com", "SourceArn": {"Fn::GetAtt": [rule, "Arn"]}}},
    }


def schedule_resources(schedule: Any, lid: str) -> dict[str, Any]:
    """A schedule for a function app.py declares with @app.lambda_function instead of @app.schedule."""
    rule = f"{lid}ScheduleRule"
    return {
        rule: {"Type": "AWS::Events::Rule", "Properties": {
            "Description": f"{schedule.expression} -> {schedule.function}", "State": "ENABLED",
            "ScheduleExpression": schedule.expression,
            "Targets": [{"Id": schedule.function, "Arn": {"Fn::GetAtt": [lid, "Arn"]},
                         "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["FailedEventsQueue", "Arn"]}}}]}},
        f"{lid}SchedulePermission": {"Type": "AWS::Lambda::Permission", "Properties": {
            "FunctionName": {"Ref": lid}, "Action": "lambda:InvokeFunction",
            "Principal": "events.amazonaws.com", "SourceArn": {"Fn::GetAtt": [rule, "Arn"]}}},
    }


def queue_policy() -> dict[str, Any]:
    """EventBridge may drop undeliverable events of this stack's rules (generated or SAM's) in the queue."""
    queue = {"Fn::GetAtt": ["FailedEventsQueue", "Arn"]}
    return {"FailedEventsQueuePolicy": {"Type": "AWS::SQS::QueuePolicy", "Properties": {
        "Queues": [{"Ref": "FailedEventsQueue"}],
        "PolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Sid": "DenyWithoutTLS", "Effect": "Deny", "Principal": "*", "Action": "sqs:*",
             "Resource": queue, "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            {"Sid": "DeadLettersOfThisStacksRules", "Effect": "Allow",
             "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": queue,
             "Condition": {"ArnLike": {"aws:SourceArn": _sub(
                 "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/${AWS::StackName}-*")}}},
        ]}}}}


def schedule_dead_letters(schedule: Any, lid: str) -> dict[str, Any]:
    """Merge entry: a dead-letter queue on the target of the rule chalice renders for @app.schedule."""
    from chalice.utils import to_cfn_resource_name

    event = to_cfn_resource_name(f"{schedule.function}-event")  # chalice's name for the SAM event
    return {"Properties": {"Events": {event: {"Properties": {
        "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["FailedEventsQueue", "Arn"]}},
        "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600}}}}}}


# ---- the HTTP API: IAM authorization and the three roles -----------------------------------------


def route_keys(chalice_app: Any) -> list[str]:
    """``"METHOD /path"`` of every route, sorted."""
    return sorted(f"{method} {path}" for path, methods in chalice_app.routes.items() for method in methods)


def classify_routes(keys: list[str], access: dict[str, Any]) -> dict[str, list[str]]:
    """role -> its routes; every route is public or in exactly one role (SystemExit otherwise)."""
    public = set(access.get("public", []))
    roles = {role: [] for role in access["roles"]}
    problems = []
    for key in keys:
        matched = [role for role, spec in access["roles"].items()
                   if any(fnmatch.fnmatchcase(key, pattern) for pattern in spec["routes"])]
        if key in public:
            continue
        if len(matched) != 1:
            problems.append(f"{key}: matched by {matched or 'no role'}")
            continue
        roles[matched[0]].append(key)
    missing_public = sorted(public - set(keys))
    if problems:
        raise SystemExit("infra/api_access.yaml must give every non-public route exactly one role:\n  "
                         + "\n  ".join(problems))
    if missing_public:
        print(f"note: public routes not (yet) in the app: {missing_public}", file=sys.stderr)
    return roles


def execute_api_arn(key: str, api_stage: str) -> dict[str, str]:
    """The execute-api ARN of one route; path parameters become ``*``."""
    method, path = key.split(" ", 1)
    resource_path = re.sub(r"\{[^}]+\}", "*", path).lstrip("/")
    return _sub("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"
                f"${{RestAPI}}/{api_stage}/{method}/{resource_path}")


def integration_uri(target: dict[str, Any]) -> dict[str, Any]:
    """API Gateway's Lambda proxy integration URI invoking ``target`` (a function, version or alias ARN).
    The ARN is a variable of the ``Fn::Sub`` (not ``${APIHandler.Alias}`` in its string, which cfn-lint
    reads as an attribute of the function)."""
    return {"Fn::Sub": ["arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
                        "${Function}/invocations", {"Function": target}]}


def alias_wiring(chalice_app: Any) -> dict[str, Any]:
    """Merge entries that make API Gateway invoke the API function's alias (its published version: what
    SnapStart restores) instead of ``$LATEST``: every route's integration URI and the invoke permission
    (a permission on the unqualified function does not cover an alias)."""
    alias = {"Ref": f"{API_LOGICAL_ID}.Alias"}  # the SAM transform resolves it to the AutoPublishAlias alias
    paths = {path: {method.lower(): {"x-amazon-apigateway-integration": {"uri": integration_uri(alias)}}
                    for method in methods}
             for path, methods in chalice_app.routes.items()}
    return {API_REST_ID: {"Properties": {"DefinitionBody": {"paths": paths}}},
            API_PERMISSION_ID: {"Properties": {"FunctionName": alias}}}


def publish_layer_versions(template: dict[str, Any], layer_refs: list[Any]) -> None:
    """A new version of a layer of this template publishes a new version of the functions that use it
    (SAM's ``PublishLambdaVersion``): otherwise an alias keeps the old layer until the code changes."""
    for ref in layer_refs:
        layer = template["Resources"].get(ref.get("Ref", "")) if isinstance(ref, dict) else None
        if layer is not None and layer.get("Type") == "AWS::Serverless::LayerVersion":
            layer["Properties"]["PublishLambdaVersion"] = True


def api_resources(chalice_app: Any, access: dict[str, Any], api_stage: str) -> tuple[dict, dict]:
    roles = classify_routes(route_keys(chalice_app), access)
    resources: dict[str, Any] = {API_REST_ID: {
        "Properties": {
            # Without it SAM's Deployment also creates a stage named "Stage", without the api stage's
            # throttling, metrics and tracing, where the public routes answer too. Any valid value turns it
            # off; "2.0" is what Chalice's DefinitionBody is (swagger 2.0), so SAM leaves the body as it is
            # (a 3.x value would have it rewrite the definitions as OpenAPI 3).
            "OpenApiVersion": "2.0",
            # the name CloudWatch's API Gateway metrics (and the alarms on them) go by: one per stack
            "Name": {"Fn::Sub": "${AWS::StackName}"},
            "TracingEnabled": True,
            "MethodSettings": [{"ResourcePath": "/*", "HttpMethod": "*", "MetricsEnabled": True,
                                "ThrottlingRateLimit": 50, "ThrottlingBurstLimit": 100}]},
        "Metadata": {"checkov": {"skip": API_SKIPS}}}}
    outputs = {}
    for role, keys in roles.items():
        lid = f"Api{role.capitalize()}Policy"
        resources[lid] = {"Type": "AWS::IAM::ManagedPolicy", "Properties": {
            "Description": _sub(f"sluice ${{AWS::StackName}} API {role}: "
                                f"{access['roles'][role]['description']}"),
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Sid": "InvokeRoutes", "Effect": "Allow", "Action": "execute-api:Invoke",
                "Resource": [execute_api_arn(key, api_stage) for key in keys]}]}}}
        outputs[f"Api{role.capitalize()}PolicyArn"] = {
            "Description": f"Attach to the IAM identities of API {role}s", "Value": {"Ref": lid}}
    return resources, outputs


def api_stage_name(stage: str) -> str:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return config["stages"][stage].get("api_gateway_stage", "api")


def render(stage: str, chalice_app: Any = None) -> Rendered:
    """The merge template for ``stage``: infra/resources.yaml plus everything generated."""
    chalice_app = chalice_app or load_app()
    template = load_yaml(INFRA / "resources.yaml")
    out = Rendered(template=template, functions=deployed_functions(chalice_app))
    config = load_yaml(INFRA / "functions.yaml")
    sizing = load_sizing()
    for section, values in concurrency_parameter().items():
        template.setdefault(section, {}).update(values)
    for name, lid in out.functions.items():
        _add(out, function_resources(name, lid, function_spec(config, name), config["layers"],
                                     asynchronous=name != API_FUNCTION, sizing=sizing))
        if template["Resources"][lid]["Properties"].get("AutoPublishAlias"):
            publish_layer_versions(template, template["Resources"][lid]["Properties"]["Layers"])
    _add_triggers(out, chalice_app)
    if "training_job" in config:
        _add(out, training_job_role(_deep_merge({"insert_only": config["defaults"].get("insert_only", [])},
                                                config["training_job"])))
        if TRAINING_JOB_FUNCTION in out.functions:
            _add(out, training_job_rule(out.functions[TRAINING_JOB_FUNCTION]))
    _add(out, queue_policy())
    if chalice_app.routes:
        api, api_outputs = api_resources(chalice_app, load_yaml(INFRA / "api_access.yaml"),
                                         api_stage_name(stage))
        if api_publishes_versions(template):
            api = _deep_merge(api, alias_wiring(chalice_app))
        _add(out, api)
        template.setdefault("Outputs", {}).update(api_outputs)
    api_stage = api_stage_name(stage) if chalice_app.routes else None
    _add(out, alarms.alarm_resources(out.functions, api_stage))
    _add(out, alarms.dashboard_resource(out.functions, api_stage))
    return out


def api_publishes_versions(template: dict[str, Any]) -> bool:
    api = template["Resources"].get(API_LOGICAL_ID, {})
    return bool(api.get("Properties", {}).get("AutoPublishAlias"))


def _add(out: Rendered, new: dict[str, Any]) -> None:
    resources = out.template["Resources"]
    clash = set(new) & set(resources)
    if clash:
        raise SystemExit(f"generated resources clash with infra/resources.yaml: {sorted(clash)}")
    resources.update(new)


def _add_triggers(out: Rendered, chalice_app: Any) -> None:
    """chalicelib/triggers/table.py: object-created rules, schedules, asynchronous functions."""
    from chalicelib.triggers.table import ASYNC_FUNCTIONS, OBJECT_TRIGGERS, SCHEDULES

    functions, resources = out.functions, out.template["Resources"]
    for trigger in OBJECT_TRIGGERS:
        if trigger.function in functions:
            _add(out, object_trigger_resources(trigger, functions[trigger.function]))
        else:
            out.warnings.append(f"trigger {trigger.pattern} -> {trigger.function}: not a function of app.py")
    chalice_schedules = {e.name: e for e in chalice_app.event_sources
                         if type(e).__name__ == "ScheduledEventConfig"}
    for schedule in SCHEDULES:
        if schedule.function in chalice_schedules:  # @app.schedule: chalice renders the rule
            declared = str(chalice_schedules[schedule.function].schedule_expression)
            if declared != schedule.expression:
                raise SystemExit(f"@app.schedule {schedule.function!r} says {declared!r}, "
                                 f"chalicelib/triggers/table.py says {schedule.expression!r}")
            lid = functions[schedule.function]
            resources[lid] = _deep_merge(resources[lid], schedule_dead_letters(schedule, lid))
        elif schedule.function in functions:
            _add(out, schedule_resources(schedule, functions[schedule.function]))
        else:
            out.warnings.append(f"schedule {schedule.function}: not a function of app.py")
    out.warnings += [f"asynchronous function {name}: not a function of app.py"
                     for name in ASYNC_FUNCTIONS if name not in functions]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    rendered = render(args.stage)
    for warning in rendered.warnings:
        print(f"WARNING: {warning}", file=sys.stderr)
    out = args.out or ROOT / "build" / args.stage / "merge.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rendered.template, indent=1, sort_keys=False) + "\n")
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

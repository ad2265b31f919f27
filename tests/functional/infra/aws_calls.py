"""Every AWS call a Lambda function of app.py makes, as the IAM requests AWS would authorize.

:class:`FunctionRuntime` stands in for Lambda in one moto process: it runs each function of app.py as
Lambda would (one invocation at a time, each in a cold container: the per-container caches of the
PII key and of the prediction service are dropped first) and answers the functions' own
``lambda:Invoke`` calls by running the target function (a ``RequestResponse`` invoke at once, an
``Event`` invoke after the current invocation, as Lambda queues it). A botocore hook on every session
(``provide-client-params``, the same way moto installs itself) records each call with the function
that made it, awswrangler's calls included; presigned URLs are recorded too (their requests are made
with the signer's permissions).

:func:`iam_requests` turns one recorded call into what IAM evaluates: an action, a resource ARN and the
condition keys of the request (``s3:prefix``, ``s3:if-none-match``, ``dynamodb:LeadingKeys``), plus the
KMS requests the service makes with the caller's credentials on the data key (``kms:ViaService`` and
the encryption context each service passes).
"""

from __future__ import annotations

import io
import json
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "123456789012"  # moto's
REGION = "us-east-1"
PREFIX = "sluice-iam-"  # SLUICE_FUNCTION_PREFIX of the scenario: function names as on AWS


@dataclass(frozen=True)
class Call:
    """One AWS API call (or presigned URL) made by a function."""

    function: str
    service: str
    operation: str
    params: dict[str, Any]
    presigned: bool = False


@dataclass(frozen=True)
class Request:
    """What IAM authorizes: one action on one resource, with the request's condition keys."""

    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict)
    call: str = ""  # the call it comes from (for messages)


@dataclass(frozen=True)
class Names:
    """The scenario's resources, to spell ARNs as the template's intrinsics resolve them."""

    bucket: str
    table: str
    topic_arn: str
    queue_arn: str
    glue_database: str
    secret_arn: str
    key_arn: str
    stack: str = PREFIX.rstrip("-")

    @property
    def training_role_arn(self) -> str:
        """TrainingJobRole's ARN (the template's name for the jobs' execution role)."""
        return f"arn:aws:iam::{ACCOUNT}:role/{self.stack}-TrainingJobRole"


class FunctionRuntime:
    """Lambda for the scenario: runs app.py's functions by name and records their calls."""

    def __init__(self, test_client: Any) -> None:
        self.client = test_client
        self.current: str | None = None
        self.calls: dict[str, list[Call]] = defaultdict(list)
        self.invocations: dict[str, int] = defaultdict(int)
        self._queued: deque[tuple[str, dict[str, Any]]] = deque()

    # ---- running functions ------------------------------------------------------------------

    @contextmanager
    def invocation(self, function: str) -> Iterator[None]:
        """Everything inside is one invocation of ``function`` in a fresh container."""
        from chalicelib.services.serving import get_service, set_service
        from chalicelib.storage import pii_key

        outer = self.current
        pii_key.clear_cache()
        set_service(None)
        self.current = function
        self.invocations[function] += 1
        try:
            yield
            if function in ("api_handler", "on_batch_object"):
                get_service().capture.drain()  # the container's buffered capture writes
        finally:
            set_service(None)
            self.current = outer

    def invoke(self, function: str, payload: Any) -> Any:
        with self.invocation(function):
            return self.client.lambda_.invoke(function, payload).payload

    def http(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        kwargs: dict[str, Any] = {"headers": {"Content-Type": "application/json"}}
        if body is not None:
            kwargs["body"] = json.dumps(body)
        with self.invocation("api_handler"):
            response = getattr(self.client.http, method)(path, **kwargs)
        text = (response.body or b"null").decode()
        is_json = "json" in response.headers.get("Content-Type", "application/json")
        return response.status_code, json.loads(text) if is_json else text

    def drain(self) -> list[tuple[str, Any]]:
        """Run every queued ``Event`` invocation (and those they queue), oldest first."""
        ran = []
        while self._queued:
            function, payload = self._queued.popleft()
            ran.append((function, self.invoke(function, payload)))
        return ran

    def drop(self, function: str) -> int:
        """Lose the queued ``Event`` invocations of ``function`` (its container died before it ran)."""
        kept = deque(q for q in self._queued if q[0] != function)
        lost = len(self._queued) - len(kept)
        self._queued = kept
        return lost

    # ---- botocore hooks ---------------------------------------------------------------------

    def on_params(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if self.current is None:
            return
        service = model.service_model.service_name
        call = Call(self.current, service, model.name, dict(params), bool(context.get("is_presign_request")))
        self.calls[self.current].append(call)
        context["sluice_call"] = call

    def on_call(self, model: Any, context: dict[str, Any], **_: Any) -> Any:
        """Answer a function's ``lambda:Invoke`` by running the target function (and SageMaker's
        StopTrainingJob, which moto does not implement: the job stops, nothing to answer)."""
        call = context.get("sluice_call")
        if call is not None and call.service == "sagemaker" and call.operation == "StopTrainingJob":
            from botocore.awsrequest import AWSResponse

            return AWSResponse("sagemaker", 200, {}, None), {"ResponseMetadata": {"HTTPStatusCode": 200}}
        if call is None or call.service != "lambda" or call.operation != "Invoke":
            return None
        target = str(call.params["FunctionName"]).removeprefix(PREFIX)
        payload = json.loads(call.params.get("Payload") or b"{}")
        from botocore.awsrequest import AWSResponse
        from botocore.response import StreamingBody

        if call.params.get("InvocationType") == "Event":
            self._queued.append((target, payload))
            return (
                AWSResponse("lambda", 202, {}, None),
                {"StatusCode": 202, "ResponseMetadata": {"HTTPStatusCode": 202}},
            )
        answer = json.dumps(self.invoke(target, payload), default=str).encode()
        return (
            AWSResponse("lambda", 200, {}, None),
            {
                "StatusCode": 200,
                "ResponseMetadata": {"HTTPStatusCode": 200},
                "Payload": StreamingBody(io.BytesIO(answer), len(answer)),
            },
        )

    @contextmanager
    def installed(self) -> Iterator[FunctionRuntime]:
        """The hooks on every botocore session created meanwhile (moto's way: BUILTIN_HANDLERS)."""
        from botocore.handlers import BUILTIN_HANDLERS

        from chalicelib import storage as aws

        hooks = [("provide-client-params.*.*", self.on_params), ("before-call.lambda.Invoke", self.on_call),
                 ("before-call.sagemaker.StopTrainingJob", self.on_call)]
        BUILTIN_HANDLERS.extend(hooks)
        aws.reset()  # chalicelib's clients come from a new session, with the hooks
        try:
            yield self
        finally:
            for hook in hooks:
                BUILTIN_HANDLERS.remove(hook)
            aws.reset()


# ---- calls -> IAM requests ----------------------------------------------------------------------

S3_OBJECT_READS = {"GetObject": "s3:GetObject", "HeadObject": "s3:GetObject"}
S3_OBJECT_WRITES = {
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "DeleteObject": "s3:DeleteObject",
}
S3_BUCKET = {
    "ListObjectsV2": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
    "HeadBucket": "s3:ListBucket",
    "ListObjectVersions": "s3:ListBucketVersions",
    "GetBucketLocation": "s3:GetBucketLocation",
}
DYNAMODB_ITEM = {
    "GetItem": "dynamodb:GetItem",
    "PutItem": "dynamodb:PutItem",
    "UpdateItem": "dynamodb:UpdateItem",
    "DeleteItem": "dynamodb:DeleteItem",
    "Query": "dynamodb:Query",
    "Scan": "dynamodb:Scan",
}
TRANSACT = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}


def _plain(value: Any) -> Any:
    """A key value as the resource layer or the client passes it (``{"S": "x"}`` or ``"x"``)."""
    return value["S"] if isinstance(value, dict) and "S" in value else value


def _partition_of_query(params: dict[str, Any]) -> str:
    """The partition key value of a Query (the resource layer's condition object, or an expression)."""
    condition = params["KeyConditionExpression"]
    if not isinstance(condition, str):  # boto3.dynamodb.conditions: (pk = x) [AND sk ...]
        while condition.expression_operator == "AND":
            condition = condition._values[0]
        return str(_plain(condition._values[1]))
    values = params.get("ExpressionAttributeValues", {})
    first = condition.split(" AND ")[0].split("=")[1].strip()
    return str(_plain(values[first]))


def iam_requests(call: Call, names: Names) -> list[Request]:
    """The IAM requests of one call (an unknown operation is an error: the test must learn it)."""
    handler = _HANDLERS.get(call.service)
    if handler is None:
        raise AssertionError(f"{call.function}: no IAM model for {call.service}:{call.operation}")
    label = f"{call.service}:{call.operation}"
    return [Request(r.action, r.resource, r.context, label) for r in handler(call, names)]


def _s3(call: Call, names: Names) -> list[Request]:
    p, op = call.params, call.operation
    bucket_arn = f"arn:aws:s3:::{p['Bucket']}"
    kms = {
        "kms:ViaService": f"s3.{REGION}.amazonaws.com",
        "kms:EncryptionContext:aws:s3:arn": bucket_arn,
    }  # BucketKeyEnabled: the bucket's ARN
    if op in S3_OBJECT_READS:
        action = "s3:GetObjectVersion" if p.get("VersionId") else S3_OBJECT_READS[op]
        return [Request(action, f"{bucket_arn}/{p['Key']}"), Request("kms:Decrypt", names.key_arn, kms)]
    if op in S3_OBJECT_WRITES:
        context = {"s3:if-none-match": p["IfNoneMatch"]} if p.get("IfNoneMatch") else {}
        out = [Request(S3_OBJECT_WRITES[op], f"{bucket_arn}/{p['Key']}", context)]
        if op in ("PutObject", "CreateMultipartUpload"):
            out.append(Request("kms:GenerateDataKey", names.key_arn, kms))
        if op in ("UploadPart", "CompleteMultipartUpload"):
            out.append(Request("kms:Decrypt", names.key_arn, kms))
        return out
    if op == "DeleteObjects":
        return [Request("s3:DeleteObject", f"{bucket_arn}/{o['Key']}") for o in p["Delete"]["Objects"]]
    if op == "CopyObject":
        source = p["CopySource"]
        source_key = source["Key"] if isinstance(source, dict) else source.split("/", 1)[1]
        return [
            Request("s3:GetObject", f"{bucket_arn}/{source_key}"),
            Request("s3:PutObject", f"{bucket_arn}/{p['Key']}"),
            Request("kms:Decrypt", names.key_arn, kms),
            Request("kms:GenerateDataKey", names.key_arn, kms),
        ]
    if op in S3_BUCKET:
        context = {"s3:prefix": p.get("Prefix", "")} if S3_BUCKET[op].startswith("s3:ListBucket") else {}
        return [Request(S3_BUCKET[op], bucket_arn, context)]
    raise AssertionError(f"{call.function}: no IAM model for s3:{op}")


def _dynamodb(call: Call, names: Names) -> list[Request]:
    p, op = call.params, call.operation
    table_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{p.get('TableName', names.table)}"
    kms = [
        Request(
            action,
            names.key_arn,
            {
                "kms:ViaService": f"dynamodb.{REGION}.amazonaws.com",
                "kms:EncryptionContext:aws:dynamodb:tableName": names.table,
            },
        )
        for action in ("kms:Decrypt", "kms:GenerateDataKey")
    ]
    if op == "DescribeTable":
        return [Request("dynamodb:DescribeTable", table_arn)]
    if op == "Query":
        resource = f"{table_arn}/index/{p['IndexName']}" if p.get("IndexName") else table_arn
        return [Request("dynamodb:Query", resource, {"dynamodb:LeadingKeys": [_partition_of_query(p)]}), *kms]
    if op in DYNAMODB_ITEM:
        key = p.get("Key") or p.get("Item")
        return [
            Request(DYNAMODB_ITEM[op], table_arn, {"dynamodb:LeadingKeys": [str(_plain(key["pk"]))]}),
            *kms,
        ]
    if op == "TransactWriteItems":
        out = []
        for item in p["TransactItems"]:
            [(kind, body)] = item.items()
            key = body.get("Key") or body.get("Item")
            out.append(
                Request(
                    TRANSACT[kind],
                    table_arn,
                    {
                        "dynamodb:LeadingKeys": [str(_plain(key["pk"]))],
                        "dynamodb:EnclosingOperation": "TransactWriteItems",
                    },
                )
            )
        return [*out, *kms]
    if op in ("BatchGetItem", "BatchWriteItem"):
        raise AssertionError(f"{call.function}: dynamodb:{op} (model its per-table keys before using it)")
    raise AssertionError(f"{call.function}: no IAM model for dynamodb:{op}")


def _glue(call: Call, names: Names) -> list[Request]:
    base = f"arn:aws:glue:{REGION}:{ACCOUNT}"
    database = call.params.get("DatabaseName", names.glue_database)
    resources = [f"{base}:catalog", f"{base}:database/{database}"]
    table = call.params.get("TableName") or (call.params.get("TableInput") or {}).get("Name")
    if table:
        resources.append(f"{base}:table/{database}/{table}")
    return [Request(f"glue:{call.operation}", r) for r in resources]


def _sns(call: Call, names: Names) -> list[Request]:
    topic = call.params["TopicArn"]
    kms = {"kms:ViaService": f"sns.{REGION}.amazonaws.com", "kms:EncryptionContext:aws:sns:topicArn": topic}
    return [
        Request(f"sns:{call.operation}", topic),
        Request("kms:GenerateDataKey", names.key_arn, kms),
        Request("kms:Decrypt", names.key_arn, kms),
    ]


def _secretsmanager(call: Call, names: Names) -> list[Request]:
    kms = {
        "kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com",
        "kms:EncryptionContext:SecretARN": names.secret_arn,
    }
    return [
        Request(f"secretsmanager:{call.operation}", names.secret_arn),
        Request("kms:Decrypt", names.key_arn, kms),
    ]


def _lambda(call: Call, names: Names) -> list[Request]:
    assert call.operation == "Invoke", call
    name = call.params["FunctionName"]
    return [Request("lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}")]


# The failed-events queue's API: a batch operation is authorized as its single one (SQS's permission
# reference: DeleteMessage, ChangeMessageVisibility also grant their *Batch versions).
SQS_ACTIONS = {
    "ReceiveMessage": "sqs:ReceiveMessage",
    "DeleteMessage": "sqs:DeleteMessage",
    "DeleteMessageBatch": "sqs:DeleteMessage",
    "ChangeMessageVisibility": "sqs:ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "SendMessage": "sqs:SendMessage",
    "SendMessageBatch": "sqs:SendMessage",
    "GetQueueAttributes": "sqs:GetQueueAttributes",
}


def _sqs(call: Call, names: Names) -> list[Request]:
    """A queue's ARN from its URL (``https://sqs.{region}.amazonaws.com/{account}/{name}``); reading
    messages of an SSE-KMS queue decrypts them with the caller's credentials, sending encrypts."""
    action = SQS_ACTIONS.get(call.operation)
    if action is None:
        raise AssertionError(f"{call.function}: no IAM model for sqs:{call.operation}")
    account, name = str(call.params["QueueUrl"]).rstrip("/").split("/")[-2:]
    queue = f"arn:aws:sqs:{REGION}:{account}:{name}"
    kms = {"kms:ViaService": f"sqs.{REGION}.amazonaws.com", "kms:EncryptionContext:aws:sqs:arn": queue}
    out = [Request(action, queue)]
    if action == "sqs:ReceiveMessage":
        out.append(Request("kms:Decrypt", names.key_arn, kms))
    if action == "sqs:SendMessage":
        out += [Request(a, names.key_arn, kms) for a in ("kms:GenerateDataKey", "kms:Decrypt")]
    return out


def _sagemaker(call: Call, names: Names) -> list[Request]:
    """A training job's actions on its ARN; creating one with tags is also sagemaker:AddTags, and passes
    its execution role (iam:PassRole, with the service it is passed to)."""
    if call.operation not in ("CreateTrainingJob", "StopTrainingJob", "DescribeTrainingJob"):
        raise AssertionError(f"{call.function}: no IAM model for sagemaker:{call.operation}")
    job = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{call.params['TrainingJobName']}"
    out = [Request(f"sagemaker:{call.operation}", job)]
    if call.operation == "CreateTrainingJob":
        if call.params.get("Tags"):
            out.append(Request("sagemaker:AddTags", job))
        out.append(Request("iam:PassRole", call.params["RoleArn"],
                           {"iam:PassedToService": "sagemaker.amazonaws.com"}))
    return out


def _sts(call: Call, names: Names) -> list[Request]:
    assert call.operation == "GetCallerIdentity", call  # needs no permission
    return []


_HANDLERS = {
    "s3": _s3,
    "dynamodb": _dynamodb,
    "glue": _glue,
    "sns": _sns,
    "secretsmanager": _secretsmanager,
    "lambda": _lambda,
    "sqs": _sqs,
    "sts": _sts,
    "sagemaker": _sagemaker,
}

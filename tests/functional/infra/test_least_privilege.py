"""Least privilege, proven: each function's role allows exactly the AWS calls its code makes.

A day of sluice runs through every Lambda function of app.py in moto (reach_scenario.py); every call is
recorded with the function that made it and turned into the IAM requests AWS would authorize
(aws_calls.py). Then, against the roles of the deployment template (build/dev/sam.json):

* every request must be allowed by its function's role (moto and the local stack do not enforce IAM:
  without this a role narrowed too far would pass every other test and fail on AWS);
* every grant of a role (each action x resource x condition value) must be used by a request of its
  function, so a role cannot grant more than the code needs.

A few calls happen only on paths the day does not walk (a failed check gives its claim back, an alert,
rejected feedback rows): they are listed in ``UNWALKED`` with the code that makes them, and held to the
same two rules. A few grants are used by Lambda or the SDK rather than by sluice's code: ``NOT_SLUICE``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.infra.aws_calls import ACCOUNT, REGION, Names, Request, iam_requests
from tests.functional.infra.iam_eval import allowed, grants, matches, resolve, resolver
from tests.functional.infra.reach_scenario import MODEL, run, scenario_world

pytestmark = pytest.mark.slow  # real training runs, validation and awswrangler (~10 s)

# Grants no call of sluice's code uses: Lambda writes the logs and sends failed asynchronous events to the
# dead-letter queue with the function's role; the SDK aborts a multipart upload that failed; awswrangler
# updates a Glue table whose columns changed and reads partitions on paths the day does not take.
# SageMaker writes a training job's logs with the job's role (JobLogGroup, JobLogStreams).
NOT_SLUICE = {"OwnLogGroup", "DeadLetterQueue", "DataKeyViaSqs", "s3:AbortMultipartUpload", "glue:",
              "JobLogGroup", "JobLogStreams"}


def _unwalked(names: Names) -> dict[str, list[Request]]:
    """Calls made only on paths the day does not walk, per function, with the code that makes them."""
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{names.table}"
    bucket = f"arn:aws:s3:::{names.bucket}"
    via = {
        "sns": {
            "kms:ViaService": f"sns.{REGION}.amazonaws.com",
            "kms:EncryptionContext:aws:sns:topicArn": names.topic_arn,
        }
    }
    model = {"dynamodb:LeadingKeys": [f"MODEL#{MODEL}"]}
    # chalicelib/storage/checks.py once() -> release_claim: a failed drift or performance check
    release = Request("dynamodb:DeleteItem", table, model, "checks.release_claim")
    # chalicelib/services/drift.py: drift found is in the model's audit log (the day's data does not drift)
    drifted = Request(
        "dynamodb:PutItem",
        table,
        {"dynamodb:LeadingKeys": [f"AUDIT#{MODEL}"]},
        "registry.append_audit(drift_detected)",
    )
    # chalicelib/storage/notify.py publish_alert: drift found, performance dropped, labels rejected
    alert = [
        Request("sns:Publish", names.topic_arn, {}, "notify.publish_alert"),
        Request("kms:GenerateDataKey", names.key_arn, via["sns"], "notify.publish_alert"),
        Request("kms:Decrypt", names.key_arn, via["sns"], "notify.publish_alert"),
    ]
    # chalicelib/services/schedule.py, performance.py: retraining on drift / on a performance drop
    retrain = Request(
        "lambda:InvokeFunction",
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:sluice-iam-train",
        {},
        "invoke_async(train)",
    )
    # chalicelib/storage/dataset_files.py quarantine_rows: feedback rows that fail their contract
    # dataset_files.py write_curated / quarantine_rows: what a crashed attempt left is deleted first
    quarantine = [
        Request("s3:DeleteObject", f"{bucket}/curated/tips-feedback/dataset_version=2/part.parquet"),
        Request("s3:ListBucket", bucket, {"s3:prefix": "quarantine/tips-feedback/0000000002/rows/"}),
        Request("s3:PutObject", f"{bucket}/quarantine/tips-feedback/0000000002/rows/part.parquet"),
        Request("s3:DeleteObject", f"{bucket}/quarantine/tips-feedback/0000000002/rows/part.parquet"),
    ]
    return {
        "api_handler": [release, *alert],
        "on_dataset_version": [release, *alert, drifted],
        "monitor": [release, *alert, retrain, drifted],
        "on_label_object": [release, *alert, retrain],
        "process_feedback": [*alert, *quarantine],
    }


@pytest.fixture(scope="module")
def day(moto_session: Any) -> Any:
    """(requests per function, invocations per function, the scenario's names)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1), scenario_world(moto_session) as (runtime, names):
        run(runtime, names)
    requests = {
        function: [r for call in calls for r in iam_requests(call, names)]
        for function, calls in runtime.calls.items()
    }
    for function, extra in _unwalked(names).items():
        requests.setdefault(function, []).extend(extra)
    return requests, dict(runtime.invocations), names


@pytest.fixture(scope="module")
def policies(resources: dict, functions: dict, day: Any) -> dict[str, list[dict]]:
    """function name -> the statements of its role, intrinsics resolved to the scenario's names."""
    values = resolver(day[2])
    out = {}
    for function in functions.values():
        name = function["Properties"]["FunctionName"]["Fn::Sub"].removeprefix("${AWS::StackName}-")
        role = resources[function["Properties"]["Role"]["Fn::GetAtt"][0]]
        out[name] = [
            resolve(s, values)
            for p in role["Properties"]["Policies"]
            for s in p["PolicyDocument"]["Statement"]
        ]
    # a SageMaker training job's program runs with the jobs' execution role
    out["training_job"] = [resolve(s, values) for p in resources["TrainingJobRole"]["Properties"]["Policies"]
                           for s in p["PolicyDocument"]["Statement"]]
    return out


def test_the_day_runs_every_function_of_the_template(day, policies):
    _, invocations, _ = day
    assert set(invocations) == set(policies)


def test_every_call_a_function_makes_is_allowed_by_its_role(day, policies):
    requests, _, _ = day
    denied = sorted(
        {
            f"{function}: {r.action} {r.resource} {r.context} ({r.call})"
            for function, made in requests.items()
            for r in made
            if not allowed(policies[function], r)
        }
    )
    assert not denied, "\n".join(denied)


def _area(key: str) -> str:
    """The layout area of an S3 key or prefix (chalicelib/storage/layout.py): ``reports/drift``,
    ``batch/*/input``, ``curated``..."""
    parts = key.split("/")
    if parts[0] == "reports":
        return "/".join(parts[:2])
    if parts[0] == "batch" and len(parts) > 2:
        return f"batch/*/{parts[2]}"
    return parts[0]


# Verbs one grant stands for: reading an object version is reading the object; a partition read by
# GetItem or Query is read, written by PutItem or UpdateItem is written (functions.yaml's table classes).
VERB_CLASS = {
    "s3:GetObjectVersion": "s3:GetObject",
    "dynamodb:GetItem": "dynamodb:read",
    "dynamodb:Query": "dynamodb:read",
    "dynamodb:PutItem": "dynamodb:write",
    "dynamodb:UpdateItem": "dynamodb:write",
}


def area(request: Request) -> tuple[Any, ...]:
    """What a request reaches, at the granularity of the layout: the kind of action (VERB_CLASS), the S3
    area or the resource, the kind of each partition key (``MODEL#``), the listed area."""
    action = VERB_CLASS.get(request.action, request.action)
    resource = request.resource
    if ":s3:::" in resource and "/" in resource:
        resource = "s3 " + _area(resource.split("/", 1)[1])
    elif ":training-job/" in resource:  # every training job of the stack is one area (their names vary)
        resource = "sagemaker training-job"
    context = []
    for key, value in sorted(request.context.items()):
        if key == "dynamodb:LeadingKeys":
            context.append((key, tuple(sorted(v.split("#")[0] + "#" if "#" in v else v for v in value))))
        elif key == "s3:prefix":
            context.append((key, _area(value)))
        elif key not in ("s3:if-none-match", "dynamodb:EnclosingOperation"):
            context.append((key, str(value)))
    return action, resource, tuple(context)


def _probes(requests: dict[str, list[Request]], names: Names) -> list[Request]:
    """Every request any function made, and some nobody makes (other areas, other partition kinds)."""
    bucket = f"arn:aws:s3:::{names.bucket}"
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{names.table}"
    odd = [Request("s3:GetObject", f"{bucket}/{key}") for key in ("raw/d/f.csv", "labels/m/l.csv", "other/x")]
    odd += [Request("s3:ListBucket", bucket, {"s3:prefix": p}) for p in ("", "raw/", "labels/")]
    odd += [Request("dynamodb:GetItem", table, {"dynamodb:LeadingKeys": [pk]}) for pk in ("OTHER#x", "x")]
    return [r for made in requests.values() for r in made] + odd


def test_every_grant_of_a_role_reaches_only_areas_its_function_uses(day, policies):
    """Each grant (action x resource x condition value) must be used by a call of its function, and every
    area it opens (S3 layout prefix, partition key kind, listed prefix) must be one the function uses:
    ``bucket/*`` for a function that reads curated/ fails, as ``MODEL#*`` for one that reads datasets."""
    requests, _, names = day
    probes = _probes(requests, names)
    wider = []
    for function, statements in policies.items():
        made = requests.get(function, [])
        used = {area(r) for r in made}
        for statement in statements:
            if statement["Sid"] in NOT_SLUICE or statement["Effect"] == "Deny":  # a Deny grants nothing
                continue
            for label, grant in grants(statement):
                action = label.split(" ")[1]
                if any(action.startswith(skip) for skip in NOT_SLUICE):
                    continue
                mine = [_as(r, action) for r in made if area(r)[0] == VERB_CLASS.get(action, action)]
                if not any(matches(grant, r) for r in mine):
                    wider.append(f"{function}: {label} (no call uses it)")
                    continue
                extra = {area(_as(p, action)) for p in probes if matches(grant, _as(p, action))} - used
                wider += [f"{function}: {label} also reaches {e}" for e in sorted(extra, key=str)]
    assert not wider, "granted beyond what the code calls:\n" + "\n".join(wider)


def _as(request: Request, action: str) -> Request:
    return Request(action, request.resource, request.context, request.call)


def test_a_role_that_reads_the_whole_bucket_is_refused(day, policies):
    """What every role granted before: the proof above refuses it (train never reads raw/)."""
    requests, _, names = day
    wide = {
        "Sid": "ReadData",
        "Effect": "Allow",
        "Action": ["s3:GetObject"],
        "Resource": f"arn:aws:s3:::{names.bucket}/*",
    }
    used = {area(r) for r in requests["train"]}
    reached = {area(p) for p in _probes(requests, names) if matches(wide, _as(p, "s3:GetObject"))}
    assert ("s3:GetObject", "s3 raw", ()) in reached - used


def test_a_role_narrowed_below_what_its_function_calls_is_refused(day, policies):
    requests, _, _ = day
    narrowed = [s for s in policies["on_raw_object"] if s["Sid"] != "DeleteOwnPrefixes"]
    deletes = [r for r in requests["on_raw_object"] if r.action == "s3:DeleteObject"]
    assert deletes, "the day leaves a crashed attempt's objects for validation to delete"
    assert not any(allowed(narrowed, r) for r in deletes)


def test_only_validation_and_inference_read_uploads_and_only_validation_reads_the_pii_key(day, policies):
    _, _, names = day
    upload = Request("s3:GetObject", f"arn:aws:s3:::{names.bucket}/raw/rides/january.csv")
    assert {f for f, s in policies.items() if allowed(s, upload)} == {"on_raw_object", "contract_inference"}
    secret = Request("secretsmanager:GetSecretValue", names.secret_arn)
    assert {f for f, s in policies.items() if allowed(s, secret)} == {"on_raw_object", "process_feedback"}


AUDIT_LOGS = (f"AUDIT#{MODEL}", "OPS#AUDIT")  # a model's audit log, the reconciler's
CHANGES = (
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
)


def test_audit_records_are_insert_only_for_every_role_by_an_explicit_deny(day, policies):
    """The audit logs have partitions of their own, so IAM can single them out: no role may update,
    delete or batch-write an audit record, even one whose other grants would allow it (the Deny wins);
    the roles that audit may only put records there (the code's condition keeps a put from overwriting)."""
    requests, _, names = day
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{names.table}"
    wide = {"Sid": "Wide", "Effect": "Allow", "Action": "dynamodb:*", "Resource": table}
    for function, statements in policies.items():
        # a role that reaches the table at all carries the Deny (one that does not is denied anyway)
        reaches = any("dynamodb:" in str(s["Action"]) for s in statements)
        for pk in AUDIT_LOGS:
            for action in CHANGES:
                change = Request(action, table, {"dynamodb:LeadingKeys": [pk]})
                assert not allowed(statements, change), (function, action, pk)
                assert not reaches or not allowed([*statements, wide], change), (function, action, pk)
        if not reaches:
            continue
        mixed = Request(
            "dynamodb:BatchWriteItem", table, {"dynamodb:LeadingKeys": [f"MODEL#{MODEL}", AUDIT_LOGS[0]]}
        )
        assert not allowed([*statements, wide], mixed), function
    writers = {
        f
        for f, made in requests.items()
        if any(
            r.action == "dynamodb:PutItem" and r.context["dynamodb:LeadingKeys"][0].startswith("AUDIT#")
            for r in made
        )
    }
    assert writers == {
        "api_handler",
        "train",
        "training_job",
        "on_dataset_version",
        "on_label_object",
        "monitor",
        "reconcile",
    }
    put = Request("dynamodb:PutItem", table, {"dynamodb:LeadingKeys": [AUDIT_LOGS[0]]})
    assert {f for f, s in policies.items() if allowed(s, put)} == writers


def test_audit_records_are_written_in_their_own_partitions_only(day):
    """What the Deny relies on: no call of the day writes an audit record (``sk = AUDIT#…``) anywhere
    else, and none changes one in place."""
    requests, _, _ = day
    for function, made in requests.items():
        for r in made:
            keys = r.context.get("dynamodb:LeadingKeys") or []
            if r.action.startswith("dynamodb:") and any(k.startswith(("AUDIT#", "OPS#AUDIT")) for k in keys):
                assert r.action == "dynamodb:PutItem" or r.action in ("dynamodb:GetItem", "dynamodb:Query"), (
                    function,
                    r,
                )


def test_no_role_batch_writes_or_scans(day, policies):
    _, _, names = day
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{names.table}"
    for function, statements in policies.items():
        for action in ("dynamodb:BatchWriteItem", "dynamodb:Scan", "dynamodb:DeleteTable"):
            assert not allowed(
                statements, Request(action, table, {"dynamodb:LeadingKeys": [f"MODEL#{MODEL}"]})
            ), (function, action)


def test_only_the_reconciler_reads_dead_letters_deletes_model_artifacts_and_writes_its_log(day, policies):
    """The failed-events queue (the payloads of every failed event), a model's artifacts and the ops log
    are the reconciler's alone; it reads no object and cannot touch a dataset's items."""
    _, _, names = day
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{names.table}"
    bucket = f"arn:aws:s3:::{names.bucket}"

    def holders(request: Request) -> set[str]:
        return {f for f, s in policies.items() if allowed(s, request)}

    assert holders(Request("sqs:ReceiveMessage", names.queue_arn)) == {"reconcile"}
    assert holders(Request("sqs:DeleteMessage", names.queue_arn)) == {"reconcile"}
    assert holders(Request("s3:DeleteObject", f"{bucket}/models/{MODEL}/9/model.joblib")) == {"reconcile"}
    assert holders(Request("dynamodb:PutItem", table, {"dynamodb:LeadingKeys": ["OPS#AUDIT"]})) == {
        "reconcile"
    }
    reconciler = policies["reconcile"]
    assert not allowed(reconciler, Request("s3:GetObject", f"{bucket}/models/{MODEL}/1/model.joblib"))
    dataset = {"dynamodb:LeadingKeys": ["DATASET#rides"]}
    assert not any(
        allowed(reconciler, Request(a, table, dataset))
        for a in ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
    )

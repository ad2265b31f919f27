"""Least privilege: every function has its own role, scoped to this stack's resources."""

from __future__ import annotations

import json

import pytest

VALIDATION = ("OnRawObject", "ProcessFeedback")  # the upload path: on raw/ objects and on feedback rows


def _statements(role: dict) -> list[dict]:
    return [s for policy in role["Properties"]["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def _listify(value):
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def roles(resources, functions):
    out = {}
    for name, function in functions.items():
        role_ref = function["Properties"]["Role"]
        assert role_ref == {"Fn::GetAtt": [f"{name}Role", "Arn"]}, name
        out[name] = resources[f"{name}Role"]
    return out


def test_no_function_role_grants_a_wildcard_resource_or_action(roles):
    for name, role in roles.items():
        for statement in _statements(role):
            if statement["Sid"] == "InsertOnlyPartitions":  # the one Deny: the audit logs' changes
                continue
            assert statement["Effect"] == "Allow"
            assert all(r != "*" for r in _listify(statement["Resource"])), (name, statement["Sid"])
            assert all(not a.endswith(":*") and a != "*" for a in _listify(statement["Action"])), name


def test_the_only_unscoped_permission_is_aws_xray_managed_policy(roles):
    for role in roles.values():
        assert role["Properties"]["ManagedPolicyArns"] == [
            {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"}]


def test_roles_reach_only_the_stacks_own_bucket_table_topic_and_key_and_no_one_reads_the_whole_bucket(roles):
    for name, role in roles.items():
        by_sid = {s["Sid"]: s for s in _statements(role)}
        reads = [r["Fn::Sub"] for r in _listify(by_sid.get("ReadData", {}).get("Resource", []))]
        # the reconciler lists and deletes, a training job's end is table work: they read no object
        assert reads or name in ("Reconcile", "OnTrainingJob"), name
        assert all(r.startswith("${DataBucket.Arn}/") and r != "${DataBucket.Arn}/*" for r in reads)
        for sid in ("TableRead", "TableWrite", "TableInsert", "TableDelete", "TableCheck"):
            if sid in by_sid:
                assert by_sid[sid]["Resource"] == {"Fn::GetAtt": ["StateTable", "Arn"]}
                assert "dynamodb:LeadingKeys" in by_sid[sid]["Condition"]["ForAllValues:StringLike"]
        actions = {a for s in _statements(role) if s["Effect"] == "Allow" for a in _listify(s["Action"])}
        assert not actions & {"dynamodb:Scan", "dynamodb:BatchWriteItem", "dynamodb:BatchGetItem"}, name
        for statement in _statements(role):
            if any(a.startswith("kms:") for a in _listify(statement["Action"])):
                assert statement["Resource"] == {"Fn::GetAtt": ["DataKey", "Arn"]}
                assert "kms:ViaService" in statement["Condition"]["StringEquals"], (name, statement["Sid"])
        if "Alerts" in by_sid:
            assert by_sid["Alerts"]["Resource"] == {"Ref": "AlertsTopic"}, name


def test_every_function_has_its_reserved_concurrency_unless_the_stack_turns_reservations_off(
        sam_template, functions):
    assert sam_template["Parameters"]["ReserveConcurrency"]["Default"] == "true"
    for name, function in functions.items():
        value = function["Properties"]["ReservedConcurrentExecutions"]
        assert value["Fn::If"][0] == "ReservesConcurrency" and value["Fn::If"][2] == {"Ref": "AWS::NoValue"}
        assert isinstance(value["Fn::If"][1], int) and value["Fn::If"][1] >= 1, name
    total = sum(f["Properties"]["ReservedConcurrentExecutions"]["Fn::If"][1] for f in functions.values())
    assert total <= 900  # Lambda keeps 100 of a 1,000 account limit unreserved


def test_contract_inference_reads_only_raw_and_staging_and_writes_nothing(roles):
    statements = {s["Sid"]: s for s in _statements(roles["ContractInference"])}
    assert [r["Fn::Sub"] for r in statements["ReadData"]["Resource"]] == ["${DataBucket.Arn}/raw/*",
                                                                         "${DataBucket.Arn}/staging/*"]
    assert "WriteOwnPrefixes" not in statements and "CreateOnce" not in statements


def test_nobody_but_the_api_puts_objects_under_staging(roles):
    for name, role in roles.items():
        text = json.dumps([s for s in _statements(role) if "s3:PutObject" in _listify(s["Action"])])
        assert ("staging/" in text) == (name == "APIHandler"), name


def test_functions_may_start_only_the_functions_they_hand_work_to(roles, functions):
    invokes = {}
    for name, role in roles.items():
        statement = next((s for s in _statements(role) if s["Sid"] == "StartFunctions"), None)
        targets = statement["Resource"] if statement else []
        invokes[name] = sorted(r["Fn::Sub"].rsplit("-", 1)[-1] for r in targets)
    assert invokes["APIHandler"] == ["contract_inference", "reconcile", "train"]
    assert invokes["Reconcile"] == ["on_batch_object", "on_dataset_version", "on_label_object",
                                    "on_raw_object", "on_training_job"]  # redrives dead letters to their own
    assert invokes["OnRawObject"] == ["on_dataset_version"]
    assert invokes["OnLabelObject"] == ["process_feedback", "train"]
    assert invokes["ProcessFeedback"] == ["on_dataset_version"]
    assert invokes["Train"] == []
    deployed = {f["Properties"]["FunctionName"]["Fn::Sub"].removeprefix("${AWS::StackName}-")
                for f in functions.values()}
    assert set().union(*invokes.values()) <= deployed


def test_only_validation_writes_the_glue_catalog_and_functions_that_hash_pii_read_the_key(roles):
    glue = {name for name, role in roles.items() if any(s["Sid"] == "GlueCatalog" for s in _statements(role))}
    assert glue == set(VALIDATION)
    pii = {name for name, role in roles.items() if any(s["Sid"] == "PiiKey" for s in _statements(role))}
    assert "OnRawObject" in pii and "Train" not in pii


def test_the_bucket_refuses_requests_without_tls(resources):
    [statement] = resources["DataBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert (statement["Effect"], statement["Action"]) == ("Deny", "s3:*")
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def _writes(role: dict) -> list[str]:
    writes = next((s["Resource"] for s in _statements(role) if s["Sid"] == "WriteOwnPrefixes"), [])
    return [w["Fn::Sub"].removeprefix("${DataBucket.Arn}/") for w in writes]


def test_the_labels_function_writes_feedback_rows_and_hands_their_validation_to_process_feedback(roles):
    assert _writes(roles["OnLabelObject"]) == ["reports/drift/*", "feedback/*", "tables/checks/*",
                                               "tables/labels/*"]
    assert "feedback/*" not in _writes(roles["OnRawObject"]) + _writes(roles["APIHandler"])
    # process_feedback writes what validation of an upload writes, nothing under feedback/ or raw/
    assert _writes(roles["ProcessFeedback"]) == _writes(roles["OnRawObject"])
    assert not any(s["Sid"] == "GlueCatalog" for s in _statements(roles["OnLabelObject"]))


def test_every_role_with_table_access_is_denied_changes_to_the_audit_logs(roles):
    """The Deny is in the template itself, whatever else a role is granted (the least-privilege proof
    evaluates it: tests/functional/infra/test_least_privilege.py)."""
    for name, role in roles.items():
        statements = _statements(role)
        if not any(s["Sid"].startswith("Table") for s in statements):
            continue
        [deny] = [s for s in statements if s["Effect"] == "Deny"]
        assert deny["Resource"] == {"Fn::GetAtt": ["StateTable", "Arn"]}, name
        logs = ["AUDIT#*", "OPS#AUDIT"]
        assert deny["Condition"] == {"ForAnyValue:StringLike": {"dynamodb:LeadingKeys": logs}}, name
        changes = {"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
        assert changes <= set(deny["Action"]), name
        inserts = next((s for s in statements if s["Sid"] == "TableInsert"), None)
        if inserts:
            assert inserts["Action"] == ["dynamodb:PutItem"], name

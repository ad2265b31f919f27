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
            assert statement["Effect"] == "Allow"
            assert all(r != "*" for r in _listify(statement["Resource"])), (name, statement["Sid"])
            assert all(not a.endswith(":*") and a != "*" for a in _listify(statement["Action"])), name


def test_the_only_unscoped_permission_is_aws_xray_managed_policy(roles):
    for role in roles.values():
        assert role["Properties"]["ManagedPolicyArns"] == [
            {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"}]


def test_roles_reach_the_stacks_own_bucket_table_topic_and_key(roles):
    for name, role in roles.items():
        by_sid = {s["Sid"]: s for s in _statements(role)}
        if name != "ContractInference":  # reads only what it infers from (next test)
            assert by_sid["ReadData"]["Resource"] == {"Fn::Sub": "${DataBucket.Arn}/*"}, name
        assert by_sid["StateTable"]["Resource"] == [{"Fn::GetAtt": ["StateTable", "Arn"]},
                                                     {"Fn::Sub": "${StateTable.Arn}/index/*"}]
        assert "dynamodb:Scan" not in by_sid["StateTable"]["Action"]
        assert by_sid["DataKey"]["Resource"] == {"Fn::GetAtt": ["DataKey", "Arn"]}
        assert by_sid["Alerts"]["Resource"] == {"Ref": "AlertsTopic"}, name


def test_nothing_deletes_object_versions_and_only_the_api_writes_under_raw(roles):
    for name, role in roles.items():
        text = json.dumps(_statements(role))
        assert "s3:DeleteObjectVersion" not in text and "s3:PutBucket" not in text
        writes = next((s["Resource"] for s in _statements(role) if s["Sid"] == "WriteOwnPrefixes"), [])
        prefixes = [w["Fn::Sub"].removeprefix("${DataBucket.Arn}/") for w in writes]
        assert not any(p.startswith("labels/") for p in prefixes), name
        assert "raw/*" not in prefixes, name  # nobody deletes or overwrites through WriteOwnPrefixes
        uploads = next((s for s in _statements(role) if s["Sid"] == "CreateUploads"), None)
        if name == "APIHandler":  # presigned uploads and inference samples: create only
            assert uploads["Action"] == ["s3:PutObject"]
            assert [u["Fn::Sub"] for u in uploads["Resource"]] == ["${DataBucket.Arn}/raw/*",
                                                                   "${DataBucket.Arn}/staging/*"]
        else:
            assert uploads is None, name
        pii = any(s["Sid"] == "PiiKey" for s in _statements(role))
        assert pii == (name in VALIDATION), name  # only validation (uploads, feedback rows) hashes PII


def test_contract_inference_reads_only_raw_and_staging_and_writes_nothing(roles):
    statements = {s["Sid"]: s for s in _statements(roles["ContractInference"])}
    assert [r["Fn::Sub"] for r in statements["ReadData"]["Resource"]] == ["${DataBucket.Arn}/raw/*",
                                                                         "${DataBucket.Arn}/staging/*"]
    assert "WriteOwnPrefixes" not in statements and "CreateUploads" not in statements


def test_nobody_but_the_api_puts_objects_under_staging(roles):
    for name, role in roles.items():
        text = json.dumps([s for s in _statements(role) if "s3:PutObject" in s["Action"]])
        assert ("staging/" in text) == (name == "APIHandler"), name


def test_functions_may_start_only_the_functions_they_hand_work_to(roles, functions):
    invokes = {}
    for name, role in roles.items():
        statement = next((s for s in _statements(role) if s["Sid"] == "StartFunctions"), None)
        targets = statement["Resource"] if statement else []
        invokes[name] = sorted(r["Fn::Sub"].rsplit("-", 1)[-1] for r in targets)
    assert invokes["APIHandler"] == ["contract_inference", "reconcile", "train"]
    assert invokes["Reconcile"] == ["on_batch_object", "on_dataset_version", "on_label_object",
                                    "on_raw_object"]  # redrives dead letters to their own functions
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
    assert _writes(roles["OnLabelObject"]) == ["reports/drift/*", "feedback/*"]
    assert "feedback/*" not in _writes(roles["OnRawObject"]) + _writes(roles["APIHandler"])
    # process_feedback writes what validation of an upload writes, nothing under feedback/ or raw/
    assert _writes(roles["ProcessFeedback"]) == _writes(roles["OnRawObject"])
    assert not any(s["Sid"] == "GlueCatalog" for s in _statements(roles["OnLabelObject"]))

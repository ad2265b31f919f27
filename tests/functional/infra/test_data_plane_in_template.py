"""The deployed data plane is exactly what the local stack creates, and every check skip says why."""

from __future__ import annotations

import fnmatch

from sluice.local.template import load_template


def test_the_deployed_bucket_table_topic_and_database_are_the_local_stacks_definitions(resources):
    local = load_template()["Resources"]
    for name in ("DataBucket", "StateTable", "AlertsTopic", "GlueDatabase"):
        assert resources[name] == local[name], f"{name} changed between infra/resources.yaml and sam.json"


def test_the_bucket_keeps_versions_encrypts_with_the_stack_key_and_expires_captures(resources):
    bucket = resources["DataBucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    [rule] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms",
                                                     "KMSMasterKeyID": {"Fn::GetAtt": ["DataKey", "Arn"]}}
    assert bucket["NotificationConfiguration"]["EventBridgeConfiguration"]["EventBridgeEnabled"] is True
    rules = {r["Id"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-prediction-captures"]["Prefix"] == "capture/"
    assert rules["expire-prediction-captures"]["ExpirationInDays"] == {"Ref": "CaptureRetentionDays"}
    # users' uploads, labels, feedback rows and model artifacts keep every version: lineage points at
    # version ids (a feedback version's rows outlive the capture objects they were joined from)
    assert not any(r.get("Prefix", "").startswith(("raw/", "labels/", "feedback/", "models/"))
                   for r in rules.values())
    assert resources["DataBucket"]["DeletionPolicy"] == "Retain"


def test_inference_samples_under_staging_expire_after_a_day_with_their_old_versions(resources):
    from chalicelib.services.contracts import STAGING_RETENTION_DAYS

    rules = resources["DataBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    [staging] = [r for r in rules if r.get("Prefix") == "staging/"]
    assert staging["Status"] == "Enabled"
    assert staging["ExpirationInDays"] == STAGING_RETENTION_DAYS == 1
    assert staging["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}  # versioning keeps the sample else
    assert "ExpiredObjectDeleteMarker" not in staging  # S3 refuses it beside a Days expiry


def test_no_rule_of_the_template_fires_on_a_staging_sample(resources):
    from chalicelib.storage import layout
    from chalicelib.triggers.table import functions_for_key

    key = layout.staging_key("rides", "rides.csv")
    assert functions_for_key(key) == []  # the local stack's pump routes by the same table
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Events::Rule":
            continue
        keys = resource["Properties"].get("EventPattern", {}).get("detail", {}).get("object", {}).get("key")
        for pattern in keys or []:
            assert not fnmatch.fnmatchcase(key, pattern["wildcard"]), name


def test_the_table_is_on_demand_recoverable_and_encrypted(resources):
    table = resources["StateTable"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS",
                                         "KMSMasterKeyId": {"Ref": "DataKey"}}


def test_the_stack_outputs_what_a_user_needs(sam_template):
    wanted = {"EndpointURL", "DataBucketName", "StateTableName", "AlertsTopicArn", "GlueDatabaseName",
              "ApiReaderPolicyArn", "ApiOperatorPolicyArn", "ApiApproverPolicyArn"}
    assert wanted <= set(sam_template["Outputs"])


def test_every_checkov_skip_carries_its_reason(resources):
    skips = [(name, skip) for name, resource in resources.items()
             for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])]
    assert skips
    for name, skip in skips:
        assert skip["id"].startswith(("CKV_", "CKV2_")), name
        assert len(skip.get("comment", "")) > 40, f"{name}: {skip['id']} needs a reason"

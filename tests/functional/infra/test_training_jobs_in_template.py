"""SageMaker training jobs in the template (issue 18, item 3): the jobs' execution role (assumed by SageMaker
only, reaching the training code's prefixes and partitions and the jobs' log streams), who may start, stop
and describe the stack's jobs and pass that role, and the EventBridge rule that follows their state."""

from __future__ import annotations

import json

SAGEMAKER_ACTIONS = ("sagemaker:CreateTrainingJob", "sagemaker:AddTags", "sagemaker:StopTrainingJob",
                     "sagemaker:DescribeTrainingJob")
JOBS = {"Fn::Sub": "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:training-job/"
                   "${AWS::StackName}-*"}


def _statements(role: dict) -> list[dict]:
    return [s for policy in role["Properties"]["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def _listify(value):
    return value if isinstance(value, list) else [value]


def test_the_jobs_role_is_assumed_by_sagemaker_of_this_account_only(resources):
    role = resources["TrainingJobRole"]["Properties"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert "ManagedPolicyArns" not in role  # no AmazonSageMakerFullAccess


def test_the_jobs_role_reaches_what_the_training_code_reaches_and_its_log_streams(resources):
    by_sid = {s["Sid"]: s for s in _statements(resources["TrainingJobRole"])}
    prefixes = {sid: sorted(r["Fn::Sub"].removeprefix("${DataBucket.Arn}/")
                            for r in by_sid[sid]["Resource"]) for sid in ("ReadData", "WriteOwnPrefixes")}
    assert prefixes == {"ReadData": ["curated/*", "models/*", "sagemaker/code/*"],
                        "WriteOwnPrefixes": ["models/*", "sagemaker/output/*"]}
    assert by_sid["ListData"]["Condition"] == {"StringLike": {"s3:prefix": ["curated/*"]}}
    assert by_sid["TableWrite"]["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == ["MODEL#*"]
    assert by_sid["InsertOnlyPartitions"]["Effect"] == "Deny"  # the audit logs, as for every role
    assert by_sid["JobLogStreams"]["Resource"]["Fn::Sub"].endswith(
        "log-group:/aws/sagemaker/TrainingJobs:log-stream:${AWS::StackName}-*")
    text = json.dumps(_statements(resources["TrainingJobRole"]))
    assert '"*"' not in text and "raw/" not in text and "sagemaker:" not in text and "iam:" not in text


def test_only_train_starts_jobs_and_passes_the_role_to_sagemaker_only(resources, functions):
    holders: dict[str, set[str]] = {}
    for name in functions:
        for statement in _statements(resources[f"{name}Role"]):
            for action in _listify(statement["Action"]):
                if action.startswith(("sagemaker:", "iam:")):
                    holders.setdefault(action, set()).add(name)
                    if action.startswith("sagemaker:"):
                        assert statement["Resource"] == JOBS, (name, action)
                    else:
                        assert statement["Resource"] == {"Fn::GetAtt": ["TrainingJobRole", "Arn"]}
                        assert statement["Condition"] == {"StringEquals": {
                            "iam:PassedToService": "sagemaker.amazonaws.com"}}
    assert holders == {"sagemaker:CreateTrainingJob": {"Train"}, "sagemaker:AddTags": {"Train"},
                       "iam:PassRole": {"Train"}, "sagemaker:StopTrainingJob": {"APIHandler"},
                       "sagemaker:DescribeTrainingJob": {"Reconcile"}}
    variables = functions["Train"]["Properties"]["Environment"]["Variables"]
    assert variables["SLUICE_TRAINING_ROLE_ARN"] == {"Fn::GetAtt": ["TrainingJobRole", "Arn"]}
    assert variables["SLUICE_TRAIN_KB_PER_ROW"] and variables["SLUICE_TRAIN_MEMORY_HEADROOM"]


def test_the_stacks_job_state_changes_go_to_on_training_job_with_a_dead_letter_queue(resources):
    rule = resources["OnTrainingJobStateChangeRule"]["Properties"]
    assert rule["EventPattern"] == {
        "source": ["aws.sagemaker"], "detail-type": ["SageMaker Training Job State Change"],
        "detail": {"TrainingJobName": [{"prefix": {"Fn::Sub": "${AWS::StackName}-"}}],
                   "RoleArn": [{"Fn::GetAtt": ["TrainingJobRole", "Arn"]}]}}
    [target] = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["OnTrainingJob", "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["FailedEventsQueue", "Arn"]}}
    permission = resources["OnTrainingJobStateChangePermission"]["Properties"]
    assert permission["SourceArn"] == {"Fn::GetAtt": ["OnTrainingJobStateChangeRule", "Arn"]}
    assert permission["Principal"] == "events.amazonaws.com"


def test_the_jobs_output_and_code_prefixes_expire(resources):
    rules = {r["Prefix"]: r for r in resources["DataBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
             if r.get("Prefix", "").startswith("sagemaker/")}
    assert rules["sagemaker/output/"]["ExpirationInDays"] == 7
    assert rules["sagemaker/code/"]["ExpirationInDays"] == 30

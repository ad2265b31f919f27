"""infra/cicd.yaml: the deploy roles trust only this repository's main branch and production
environment, reach only their own stage, and the template passes cfn-lint."""

from __future__ import annotations

import re
from typing import Any

import pytest

from sluice.local.template import load_template
from tests.unit.cicd.conftest import CICD_TEMPLATE, REPO_ROOT

OIDC = "token.actions.githubusercontent.com"
STAGE_VAR = "${aws:PrincipalTag/SluiceStage}"
ROLES = {"DevDeployRole": ("dev", "ref:refs/heads/main"),
         "ProdDeployRole": ("prod", "environment:production")}
# Allowed resources that do not carry the stage's own name, each for a stated reason.
UNSCOPED_SIDS = {
    "SamTransform",                   # the AWS-owned SAM transform
    "TemplateChecksWithoutResource",  # ValidateTemplate supports no resource
    "ArtifactObjects", "ArtifactBucket",  # the dedicated artifact bucket
    "AwsSdkForPandasLayer",           # the AWS-managed layer
    "RestApis",                       # API ids are assigned by AWS
    "DevMayDeleteState",              # dev names, and only for the dev role (condition)
    "DescribeLogGroups",              # authorised on log-group:* only
    "CreateKeys",                     # CreateKey acts on no existing resource
    "GeneratedSecretValues",          # GetRandomPassword acts on no resource
    "StageKeys",                      # key ids are random: scoped by the stack's tag instead (tested)
}
# The only actions allowed on "*": none of them acts on an existing resource.
STAR_ACTIONS = {"cloudformation:ValidateTemplate", "kms:CreateKey", "secretsmanager:GetRandomPassword"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(CICD_TEMPLATE)


def _trust(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]


def _rendered_subjects(template: dict[str, Any], repository: str) -> set[str]:
    subjects = set()
    for role in ROLES:
        for statement in _trust(template, role):
            sub = statement["Condition"]["StringEquals"][f"{OIDC}:sub"]["Fn::Sub"]
            subjects.add(sub.replace("${GitHubRepository}", repository))
    return subjects


def _deploy_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    return template["Resources"]["DeployPolicy"]["Properties"]["PolicyDocument"]["Statement"]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _resource_texts(statement: dict[str, Any]) -> list[str]:
    """The statement's resources as text, ``${!x}`` unescaped to ``${x}`` as CloudFormation does."""
    texts = []
    for resource in _as_list(statement["Resource"]):
        if isinstance(resource, str):
            texts.append(resource)
        elif "Fn::Sub" in resource:
            sub = resource["Fn::Sub"]
            texts.append((sub if isinstance(sub, str) else sub[0]).replace("${!", "${"))
        else:
            texts.append(str(resource))
    return texts


@pytest.mark.parametrize(("role", "stage_and_subject"), sorted(ROLES.items()))
def test_each_deploy_role_trusts_only_the_repositorys_branch_or_environment_for_sts(
        template, role, stage_and_subject):
    _, subject = stage_and_subject
    (statement,) = _trust(template, role)
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {"Federated": {"Fn::If": [
        "CreateOidcProvider", {"Ref": "GitHubOidcProvider"}, {"Ref": "ExistingOidcProviderArn"}]}}
    assert statement["Condition"] == {"StringEquals": {
        f"{OIDC}:aud": "sts.amazonaws.com",
        f"{OIDC}:sub": {"Fn::Sub": f"repo:${{GitHubRepository}}:{subject}"},
    }}


def test_together_the_roles_trust_exactly_main_and_the_production_environment(template):
    assert _rendered_subjects(template, "octo-org/sluice") == {
        "repo:octo-org/sluice:ref:refs/heads/main",
        "repo:octo-org/sluice:environment:production",
    }


def test_no_trust_condition_uses_a_pattern_or_a_wildcard(template):
    for role in ROLES:
        for statement in _trust(template, role):
            assert set(statement["Condition"]) == {"StringEquals"}
            for value in statement["Condition"]["StringEquals"].values():
                text = value if isinstance(value, str) else value["Fn::Sub"]
                assert "*" not in text and "?" not in text


@pytest.mark.parametrize("repository", ["octo-org/sluice", "octo@123456/sluice@456789", "me/my.fork_2"])
def test_the_repository_parameter_accepts_owner_and_name_with_or_without_immutable_ids(template, repository):
    pattern = template["Parameters"]["GitHubRepository"]["AllowedPattern"]
    assert re.fullmatch(pattern, repository)


@pytest.mark.parametrize("repository", ["*", "octo-org/*", "*/sluice", "octo-org/sluice*", "octo-org/sl?ice",
                                        "octo-org/sluice:*", "octo-org/sluice:ref:refs/heads/dev",
                                        "octo-org", "", "octo-org/sluice/extra"])
def test_the_repository_parameter_rejects_wildcards_and_anything_but_one_repository(template, repository):
    pattern = template["Parameters"]["GitHubRepository"]["AllowedPattern"]
    assert not re.fullmatch(pattern, repository)
    assert "Default" not in template["Parameters"]["GitHubRepository"]


def test_the_oidc_provider_is_githubs_with_the_sts_audience(template):
    provider = template["Resources"]["GitHubOidcProvider"]
    assert provider["Condition"] == "CreateOidcProvider"
    assert provider["Properties"]["Url"] == f"https://{OIDC}"
    assert provider["Properties"]["ClientIdList"] == ["sts.amazonaws.com"]


@pytest.mark.parametrize(("role", "stage_and_subject"), sorted(ROLES.items()))
def test_each_role_is_tagged_with_its_stage_and_has_only_the_deploy_policy(template, role, stage_and_subject):
    stage, _ = stage_and_subject
    props = template["Resources"][role]["Properties"]
    assert props["Tags"] == [{"Key": "SluiceStage", "Value": stage}]
    assert props["ManagedPolicyArns"] == [{"Ref": "DeployPolicy"}]
    assert "Policies" not in props
    assert props["Path"] == "/sluice-cicd/"
    assert props["MaxSessionDuration"] <= 3600


def test_no_session_can_bring_its_own_stage_tag(template):
    for role in ROLES:
        for statement in _trust(template, role):
            assert "sts:TagSession" not in _as_list(statement["Action"])


def test_the_deploy_policy_grants_no_wildcard_action_and_no_iam_or_sts_beyond_the_stage(template):
    for statement in _deploy_statements(template):
        if statement["Effect"] != "Allow":
            continue
        for action in _as_list(statement["Action"]):
            service, _, name = action.partition(":")
            assert "*" not in name, f"{statement['Sid']}: {action}"
            assert service != "sts", f"{statement['Sid']}: {action}"
            if service == "iam":
                assert all(f"sluice-{STAGE_VAR}-*" in text for text in _resource_texts(statement)), action


def test_every_allowed_resource_is_the_stages_own_unless_its_reason_is_listed(template):
    for statement in _deploy_statements(template):
        if statement["Effect"] != "Allow" or statement["Sid"] in UNSCOPED_SIDS:
            continue
        for text in _resource_texts(statement):
            own = f"sluice-{STAGE_VAR}" in text or f"sluice_{STAGE_VAR}" in text
            # the Glue catalog itself, and change sets (named by the CLI, checked against the stack)
            assert own or text.endswith((":catalog", ":changeSet/*/*")), f"{statement['Sid']}: {text}"


def test_star_resources_are_only_for_actions_that_act_on_no_existing_resource(template):
    for statement in _deploy_statements(template):
        if statement["Effect"] == "Allow" and "*" in _as_list(statement["Resource"]):
            assert set(_as_list(statement["Action"])) <= STAR_ACTIONS, statement["Sid"]


def test_the_stages_keys_are_recognised_by_the_stacks_own_tag_and_never_deleted(template):
    (keys,) = [s for s in _deploy_statements(template) if s["Sid"] == "StageKeys"]
    assert keys["Condition"] == {"StringEquals": {
        "aws:ResourceTag/aws:cloudformation:stack-name": f"sluice-{STAGE_VAR}"}}
    granted = {action for statement in _deploy_statements(template) if statement["Effect"] == "Allow"
               for action in _as_list(statement["Action"])}
    assert not granted & {"kms:ScheduleKeyDeletion", "kms:DisableKey", "secretsmanager:DeleteSecret",
                          "secretsmanager:GetSecretValue"}


def test_roles_are_passed_only_to_lambda_and_only_the_stages_own(template):
    (passing,) = [s for s in _deploy_statements(template) if "iam:PassRole" in _as_list(s["Action"])]
    assert _as_list(passing["Action"]) == ["iam:PassRole"]
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}
    stage_roles = f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/sluice-{STAGE_VAR}-*"
    assert _resource_texts(passing) == [stage_roles]


def test_the_only_managed_policy_a_stage_role_can_get_is_aws_xray_write(template):
    attaching = [s for s in _deploy_statements(template) if s["Effect"] == "Allow"
                 and {"iam:AttachRolePolicy", "iam:DetachRolePolicy"} & set(_as_list(s["Action"]))]
    assert [s["Sid"] for s in attaching] == ["StageRolesManagedPolicies"]
    assert attaching[0]["Condition"] == {"ArnEquals": {"iam:PolicyARN": {
        "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"}}}


def test_deleting_state_is_allowed_in_dev_only(template):
    deleting = [s for s in _deploy_statements(template) if s["Effect"] == "Allow"
                and {"dynamodb:DeleteTable", "s3:DeleteBucket"} & set(_as_list(s["Action"]))]
    assert [s["Sid"] for s in deleting] == ["DevMayDeleteState"]
    assert deleting[0]["Condition"] == {"StringEquals": {"aws:PrincipalTag/SluiceStage": "dev"}}
    assert all("sluice-dev-" in text for text in _resource_texts(deleting[0]))


def test_a_deploy_cannot_change_the_pipelines_own_access(template):
    (deny,) = [s for s in _deploy_statements(template) if s["Effect"] == "Deny"]
    assert set(_as_list(deny["Action"])) == {"iam:*", "cloudformation:*"}
    texts = _resource_texts(deny)
    assert any(text.endswith(":role/sluice-cicd/*") for text in texts)
    assert any(text.endswith(":policy/sluice-cicd/*") for text in texts)
    assert {"Ref": "AWS::StackId"} in _as_list(deny["Resource"])
    assert template["Resources"]["DeployPolicy"]["Properties"]["Path"] == "/sluice-cicd/"


def test_the_artifact_bucket_is_private_encrypted_versioned_and_tls_only(template):
    bucket = template["Resources"]["ArtifactBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    (deny,) = template["Resources"]["ArtifactBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_every_checkov_skip_carries_its_reason(template):
    skips = [(name, skip) for name, resource in template["Resources"].items()
             for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])]
    for name, skip in skips:
        assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), name
        assert len(skip.get("comment", "")) > 20, f"{name}: {skip['id']} needs a reason"
        assert skip["id"] in template["Metadata"]["checkov"]["skips"], skip["id"]


def test_the_outputs_are_the_repository_variables_the_deploy_workflow_reads(template):
    deploy = (REPO_ROOT / ".github" / "workflows" / "deploy.yml").read_text(encoding="utf-8")
    for output in template["Outputs"].values():
        match = re.match(r"Repository variable ([A-Z_]+)", output["Description"])
        if match:
            assert f"vars.{match.group(1)}" in deploy, match.group(1)

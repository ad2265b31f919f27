"""The deploy rehearsal (rehearsal.py beside this file): the packaged template, SAM-transformed as
CloudFormation would (aws-sam-translator, offline), is created on moto's CloudFormation and must reach
CREATE_COMPLETE with every resource created and every output resolved; a broken reference, a resource
nobody creates or an environment variable naming the wrong resource fails it.

moto's gaps, patched in the rehearsal only (``rehearsal.MOTO_GAPS``; the deployed template is unchanged;
``test_each_patched_gap_is_still_a_gap_of_moto_so_the_list_stays_short`` fails when moto closes one):

- ``AWS::ApiGateway::RestApi``: moto needs Name and ignores the Body's methods: named from info.title, the
  Body's paths imported through moto's own importer
- ``AWS::ApiGateway::Stage``: skipped by moto: created with apigateway.create_stage, method settings patched
- ``AWS::Lambda::EventInvokeConfig``: skipped by moto: put_function_event_invoke_config
- ``AWS::Lambda::Version``: moto publishes it but answers no GetAtt Version (an Alias reads it):
  publish_version, Ref the version's ARN, Version its number
- ``AWS::Lambda::Alias``: skipped by moto (its Ref would be None, so the API's Permission on the SnapStart
  alias loses its FunctionName): create_alias
- ``AWS::Glue::Database``: skipped by moto (its Ref would be None): glue.create_database
- ``AWS::Glue::Table``: skipped by moto: glue.create_table
- ``AWS::Athena::WorkGroup``: skipped by moto: athena.create_work_group
- ``AWS::SecretsManager::Secret``: skipped by moto (its Ref would be None): create_secret, generated string
- ``AWS::S3::BucketPolicy``: skipped by moto: s3.put_bucket_policy
- ``AWS::SQS::QueuePolicy``: skipped by moto: sqs.set_queue_attributes(Policy)
- ``AWS::CloudWatch::Alarm``: skipped by moto: cloudwatch.put_metric_alarm

and what moto lets through that CloudFormation refuses, checked before the stack is created: a DependsOn
naming no resource, an Fn::Sub variable naming no resource.
"""

from __future__ import annotations

import copy
import re
import zipfile
from pathlib import Path

import pytest

from tests.functional.infra import rehearsal as rehearse
from tests.functional.infra.conftest import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rehearsal(sam_template):
    return rehearse.rehearse(sam_template, ROOT / "build" / "dev")


@pytest.fixture
def small_artifacts(tmp_path: Path) -> Path:
    """A folder like build/dev with a tiny deployment.zip: the broken copies fail before it matters."""
    out = tmp_path / "dev"
    out.mkdir()
    with zipfile.ZipFile(out / "deployment.zip", "w") as archive:
        archive.writestr("app.py", "")
    return out


def broken(sam_template: dict, small_artifacts: Path, change) -> str:
    """The rehearsal's failure on a copy of the template that ``change`` breaks."""
    template = copy.deepcopy(sam_template)
    change(template["Resources"])
    with pytest.raises(rehearse.RehearsalFailed) as failure:
        rehearse.rehearse(template, small_artifacts)
    return str(failure.value)


def test_the_packaged_stack_reaches_create_complete_on_moto(rehearsal):
    assert rehearsal.status == "CREATE_COMPLETE"


def test_every_resource_of_the_transformed_template_is_created_by_moto_or_a_listed_stand_in(
        rehearsal, sam_template):
    assert set(rehearsal.resources) == set(rehearsal.transformed["Resources"])
    assert set(rehearsal.stand_ins.values()) <= set(rehearse.MOTO_GAPS)
    moto_made = {n: t for n, t in rehearsal.resources.items() if n not in rehearsal.stand_ins}
    assert not set(moto_made.values()) & set(rehearse.MOTO_GAPS)
    # what SAM does not expand keeps its logical id: each of the data plane's resources is in the stack
    plain = {n for n, r in sam_template["Resources"].items() if not r["Type"].startswith("AWS::Serverless::")}
    assert plain <= set(rehearsal.resources)
    functions = [n for n, r in sam_template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"]
    assert all(rehearsal.resources[n] == "AWS::Lambda::Function" for n in functions)


def test_every_output_of_the_stack_has_a_value(rehearsal):
    assert set(rehearsal.outputs) == set(rehearsal.transformed["Outputs"])
    assert rehearsal.outputs["GlueDatabaseName"] == "sluice_dev"  # a stand-in's Ref, not moto's None
    assert rehearsal.outputs["EndpointURL"].endswith(".execute-api.us-east-1.amazonaws.com/api/")


def test_each_patched_gap_is_still_a_gap_of_moto_so_the_list_stays_short():
    """When moto learns a type, its stand-in goes (this fails and says which)."""
    from moto.cloudformation.parsing import get_model_map

    natively = get_model_map()
    still_needed = {kind for kind in rehearse.MOTO_GAPS if kind not in natively}
    # RestApi is known to moto but needs Name and ignores the Body: its stand-in wraps moto's own;
    # moto's Version answers no GetAtt
    assert set(rehearse.MOTO_GAPS) - still_needed == {"AWS::ApiGateway::RestApi", "AWS::Lambda::Version"}
    assert all(reason for reason in rehearse.MOTO_GAPS.values())


def test_the_moto_gaps_are_listed_in_this_docstring_and_in_the_docs():
    listed = set(re.findall(r"``(AWS::[A-Za-z0-9:]+)``", __doc__ or ""))
    documented = set(re.findall(r"`(AWS::[A-Za-z0-9:]+)`", (ROOT / "docs" / "local.md").read_text()))
    assert listed == set(rehearse.MOTO_GAPS)
    assert documented >= set(rehearse.MOTO_GAPS)


def test_a_ref_to_a_missing_resource_fails_the_rehearsal(sam_template, small_artifacts):
    def change(resources):
        resources["OnRawObject"]["Properties"]["Environment"]["Variables"]["SLUICE_TABLE"] = {
            "Ref": "StateTableRenamed"}

    assert "StateTableRenamed" in broken(sam_template, small_artifacts, change)


def test_a_getatt_of_a_missing_resource_in_a_resource_moto_skips_fails_the_rehearsal(
        sam_template, small_artifacts):
    def change(resources):  # the bucket policy is one of moto's gaps: its stand-in resolves it all the same
        statement = resources["DataBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
        statement["Resource"] = [{"Fn::GetAtt": ["NoSuchBucket", "Arn"]}]

    assert "NoSuchBucket" in broken(sam_template, small_artifacts, change)


def test_a_getatt_of_an_attribute_the_resource_lacks_fails_the_rehearsal(sam_template, small_artifacts):
    def change(resources):  # the name exists: only creating the resource shows the attribute does not
        resources["OnRawObject"]["Properties"]["Environment"]["Variables"]["SLUICE_TABLE"] = {
            "Fn::GetAtt": ["StateTable", "TableName"]}

    assert "TableName" in broken(sam_template, small_artifacts, change)


def test_a_depends_on_a_missing_resource_fails_the_rehearsal(sam_template, small_artifacts):
    def change(resources):
        resources["Train"]["DependsOn"] = ["TrainLogGroupGone"]

    assert "TrainLogGroupGone" in broken(sam_template, small_artifacts, change)


def test_a_resource_nobody_creates_fails_the_rehearsal(sam_template, small_artifacts):
    def change(resources):  # moto's CloudFormation skips this type silently, and MOTO_GAPS has no stand-in
        resources["ApiHandlerUrl"] = {"Type": "AWS::Lambda::Url", "Properties": {
            "TargetFunctionArn": {"Fn::GetAtt": ["APIHandler", "Arn"]}, "AuthType": "AWS_IAM"}}

    with pytest.warns(UserWarning, match="AWS::Lambda::Url"):  # moto's only sign that it skipped it
        message = broken(sam_template, small_artifacts, change)
    assert "not created" in message and "ApiHandlerUrl (AWS::Lambda::Url)" in message


def test_an_environment_variable_naming_the_wrong_resource_fails_the_rehearsal(sam_template, small_artifacts):
    def change(resources):  # resolves to a string (the topic's ARN), so only a look-up shows the mistake
        variables = resources["Monitor"]["Properties"]["Environment"]["Variables"]
        variables["SLUICE_TABLE"] = {"Ref": "AlertsTopic"}

    assert "SLUICE_TABLE" in broken(sam_template, small_artifacts, change)


def test_a_function_whose_code_was_not_packaged_fails_the_rehearsal(sam_template, tmp_path):
    with pytest.raises(rehearse.RehearsalFailed, match=r"deployment\.zip"):
        rehearse.rehearse(sam_template, tmp_path)


def test_a_sub_naming_a_missing_resource_fails_the_rehearsal(sam_template, small_artifacts):
    def change(resources):
        resources["APIHandler"]["Properties"]["FunctionName"] = {"Fn::Sub": "${AWS::StackName}-${NoSuchApi}"}

    assert "NoSuchApi" in broken(sam_template, small_artifacts, change)


def test_the_api_is_deployed_to_its_api_stage_alone(rehearsal):
    """Without OpenApiVersion on RestAPI, SAM's Deployment also created a stage named 'Stage' without the api
    stage's throttling, metrics and tracing (the public routes answered there too)."""
    assert rehearsal.api_stages == {"sluice-dev": ["api"]}  # the API is named after its stack

"""The API function answers from a SnapStart snapshot of its published alias, and every function's sizes
are infra/sizing.json's (the measured settings of bench/sizing.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import package
import pytest
import render_template

ROOT = Path(__file__).resolve().parents[3]
SIZING = json.loads((ROOT / "infra" / "sizing.json").read_text())
ALIAS = {"Ref": "APIHandler.Alias"}


def _uris(sam_template: dict) -> list[dict]:
    body = sam_template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    return [operation["x-amazon-apigateway-integration"]["uri"]
            for methods in body["paths"].values() for operation in methods.values()
            if "x-amazon-apigateway-integration" in operation]


def test_the_api_function_snapshots_published_versions_behind_an_alias(functions):
    api = functions["APIHandler"]["Properties"]
    assert api["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    assert api["AutoPublishAlias"] == "live"
    assert api["AutoPublishAliasAllProperties"] is True  # a new environment or layer publishes a version
    assert api["EphemeralStorage"]["Size"] <= 512  # Lambda refuses SnapStart with more /tmp


def test_only_the_api_function_preloads_and_snapshots(functions):
    for name, function in functions.items():
        properties = function["Properties"]
        preload = properties["Environment"]["Variables"].get("SLUICE_PRELOAD")
        if name == "APIHandler":
            assert preload == "serving"
        else:
            assert preload is None and "SnapStart" not in properties and "AutoPublishAlias" not in properties


def test_every_route_of_the_api_invokes_the_alias_and_api_gateway_may_invoke_it(sam_template, chalice_app):
    uris = _uris(sam_template)
    assert len(uris) == sum(len(methods) for methods in chalice_app.routes.values())
    assert all(uri == render_template.integration_uri(ALIAS) for uri in uris), uris
    text, variables = uris[0]["Fn::Sub"]
    assert text.endswith(":lambda:path/2015-03-31/functions/${Function}/invocations")
    assert variables == {"Function": ALIAS}
    permission = sam_template["Resources"]["APIHandlerInvokePermission"]["Properties"]
    assert permission["FunctionName"] == ALIAS
    assert permission["Principal"] == "apigateway.amazonaws.com"


def test_a_layer_of_the_api_publishes_a_new_version_of_it_when_it_changes(resources, functions):
    for layer in functions["APIHandler"]["Properties"]["Layers"]:
        if isinstance(layer, dict) and resources.get(layer.get("Ref", ""), {}).get("Type", "").endswith(
                "LayerVersion"):
            assert resources[layer["Ref"]]["Properties"]["PublishLambdaVersion"] is True


def test_the_sam_transform_wires_api_gateway_to_the_alias_of_a_snapstart_version(sam_template):
    # aws-sam-translator: CloudFormation's SAM transform as a library (the deploy rehearsal's dependency)
    translator = pytest.importorskip("samtranslator.translator.transform")
    template = copy.deepcopy(sam_template)
    for resource in template["Resources"].values():  # what `aws cloudformation package` uploads
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://artifacts/deployment.zip"
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            resource["Properties"]["ContentUri"] = "s3://artifacts/ml-layer.zip"
    out = translator.transform(template, {"AwsSdkPandasLayerArn": "arn:aws:lambda:us-east-1:1:layer:p:1"},
                               _NoManagedPolicies())
    resources = out["Resources"]
    alias = next(k for k, v in resources.items() if v["Type"] == "AWS::Lambda::Alias"
                 and v["Properties"]["FunctionName"] == {"Ref": "APIHandler"})
    version = resources[alias]["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
    assert resources[version]["Type"] == "AWS::Lambda::Version"
    assert resources["APIHandler"]["Properties"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    assert resources["APIHandlerInvokePermission"]["Properties"]["FunctionName"] == {"Ref": alias}
    body = json.dumps(next(v for v in resources.values() if v["Type"] == "AWS::ApiGateway::RestApi")
                      ["Properties"]["Body"])
    assert "${APIHandler.Arn}" not in body and "APIHandler.Alias" not in body
    assert body.count(json.dumps({"Function": {"Ref": alias}})) == len(_uris(sam_template))


class _NoManagedPolicies:
    """The transform's managed-policy loader: the template names no SAM policy templates."""

    def load(self) -> dict:
        return {}


def test_packaging_refuses_a_template_whose_api_still_invokes_latest(sam_template):
    broken = copy.deepcopy(sam_template)
    path = next(iter(broken["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"].values()))
    operation = next(iter(path.values()))
    operation["x-amazon-apigateway-integration"]["uri"] = {
        "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
                   "${APIHandler.Arn}/invocations"}  # what chalice writes
    with pytest.raises(SystemExit, match="still invokes"):
        package.check_api_invokes_alias(broken)
    broken = copy.deepcopy(sam_template)
    broken["Resources"]["APIHandlerInvokePermission"]["Properties"]["FunctionName"] = {"Ref": "APIHandler"}
    with pytest.raises(SystemExit, match="does not grant"):
        package.check_api_invokes_alias(broken)


def test_snapstart_with_more_than_512_mb_of_tmp_is_refused_when_rendering():
    properties = {"SnapStart": {"ApplyOn": "PublishedVersions"}, "AutoPublishAlias": "live",
                  "EphemeralStorage": {"Size": 1024}}
    with pytest.raises(SystemExit, match="at most 512 MB"):
        render_template.check_snapstart("api_handler", properties)
    with pytest.raises(SystemExit, match="AutoPublishAlias"):
        render_template.check_snapstart("api_handler", {**properties, "AutoPublishAlias": None,
                                                        "EphemeralStorage": {"Size": 512}})


# ---- sizes: infra/sizing.json is the one source ----------------------------------------------------


def test_every_function_has_the_memory_timeout_and_tmp_the_sizing_file_measured(functions, chalice_app):
    by_id = {render_template.logical_id(name): name for name in SIZING["functions"]}
    assert set(functions) <= set(by_id), "a function without an entry in infra/sizing.json"
    for lid, function in functions.items():
        size, properties = SIZING["functions"][by_id[lid]], function["Properties"]
        assert (properties["MemorySize"], properties["Timeout"], properties["EphemeralStorage"]["Size"]) == (
            size["memory_mb"], size["timeout_s"], size["ephemeral_storage_mb"]), lid


def test_every_function_knows_the_training_limit_the_sizing_file_measured(functions):
    expected = {k: str(v) for k, v in SIZING["environment"].items()}
    assert expected["SLUICE_TRAIN_MAX_ROWS"] == str(SIZING["functions"]["train"]["max_rows"])
    for lid, function in functions.items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert {k: variables.get(k) for k in expected} == expected, lid


def test_the_validation_functions_know_the_largest_upload_the_sizing_file_measured(functions):
    for lid, name in (("OnRawObject", "on_raw_object"), ("ProcessFeedback", "process_feedback")):
        variables = functions[lid]["Properties"]["Environment"]["Variables"]
        limit = SIZING["functions"][name]["max_upload_bytes"]
        assert variables["SLUICE_MAX_UPLOAD_BYTES"] == str(limit["csv"]) != "0"
        assert variables["SLUICE_MAX_UPLOAD_BYTES_PARQUET"] == str(limit["parquet"]) != "0"
    assert "SLUICE_MAX_UPLOAD_BYTES" not in functions["Train"]["Properties"]["Environment"]["Variables"]


def test_the_rendered_sizes_follow_the_sizing_file_not_a_copy_of_it(chalice_app):
    sizing = copy.deepcopy(SIZING)
    sizing["functions"]["train"].update(memory_mb=5120, timeout_s=600, ephemeral_storage_mb=2048)
    sizing["environment"]["SLUICE_TRAIN_MAX_ROWS"] = 1234
    config = render_template.load_yaml(render_template.INFRA / "functions.yaml")
    spec = render_template.function_spec(config, "train")
    entry = render_template.function_resources("train", "Train", spec, config["layers"], asynchronous=True,
                                               sizing=sizing)
    properties = entry["Train"]["Properties"]
    assert (properties["MemorySize"], properties["Timeout"], properties["EphemeralStorage"]) == (
        5120, 600, {"Size": 2048})
    assert properties["Environment"]["Variables"]["SLUICE_TRAIN_MAX_ROWS"] == "1234"
    del sizing["functions"]["train"]
    with pytest.raises(SystemExit, match=r"no entry in infra/sizing\.json"):
        render_template.function_resources("train", "Train", spec, config["layers"], asynchronous=True,
                                           sizing=sizing)


def test_the_sizing_file_gives_each_dataset_function_the_largest_dataset_it_takes():
    for name, size in SIZING["functions"].items():
        if size["workload"] is None:
            continue
        assert size["max_rows"] > 0 and size["limited_by"] in size["bounds"], name
        assert size["max_rows"] <= min(size["bounds"].values()), name
        assert size["workload"] in SIZING["workloads"], name

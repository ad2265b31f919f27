"""Each function gets the stack's resources in its environment, its layers, and stays under the limit."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
import size_budget

from chalicelib.core import settings

ROOT = Path(__file__).resolve().parents[3]
ML, PANDAS = {"Ref": "MlLayer"}, {"Ref": "AwsSdkPandasLayerArn"}


def test_every_function_reads_the_stacks_own_resources_from_its_environment(functions):
    expected = {settings.ENV_BUCKET: {"Ref": "DataBucket"}, settings.ENV_TABLE: {"Ref": "StateTable"},
                settings.ENV_TOPIC_ARN: {"Ref": "AlertsTopic"},
                settings.ENV_GLUE_DATABASE: {"Ref": "GlueDatabase"},
                settings.ENV_PII_KEY_SECRET: {"Ref": "PiiKeySecret"},
                settings.ENV_FUNCTION_PREFIX: {"Fn::Sub": "${AWS::StackName}-"},
                settings.ENV_INVOKE_MODE: "lambda", settings.ENV_STAGE: "dev"}
    for name, function in functions.items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert {k: variables.get(k) for k in expected} == expected, name
        assert "000000000000" not in json.dumps(variables), name  # no placeholder survived the merge


def test_function_names_follow_the_prefix_that_invoke_async_uses(functions):
    for name, function in functions.items():
        assert function["Properties"]["FunctionName"]["Fn::Sub"].startswith("${AWS::StackName}-"), name


def test_the_ml_layer_and_the_pandas_layer_never_go_together(functions):
    for name, function in functions.items():
        layers = function["Properties"]["Layers"]
        assert len(layers) == 1 and layers[0] in (ML, PANDAS), name


def test_validation_gets_pyarrow_and_everything_that_needs_scikit_learn_gets_the_ml_layer(functions):
    assert functions["OnRawObject"]["Properties"]["Layers"] == [PANDAS]
    assert functions["ProcessFeedback"]["Properties"]["Layers"] == [PANDAS]  # validates feedback rows
    for name in ("APIHandler", "Train", "OnBatchObject", "OnLabelObject", "Monitor", "OnDatasetVersion"):
        assert functions[name]["Properties"]["Layers"] == [ML], name


def test_the_ml_layer_is_built_from_the_pinned_requirements_without_pyarrow():
    pins, dev = (dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (ROOT / name).read_text(), re.M))
                 for name in ("requirements-layer-ml.txt", "requirements-dev.txt"))
    assert "pyarrow" not in pins and "awswrangler" not in pins
    for package in ("numpy", "scipy", "scikit-learn", "joblib", "pandas"):
        assert pins[package] == dev[package], f"{package}: the layer must ship what the tests ran against"


def test_packaging_fails_loudly_when_chalice_could_not_install_dependencies():
    import package

    with pytest.raises(SystemExit, match="Could not install dependencies"):
        package.check_chalice_output("Creating deployment package.\nCould not install dependencies:\n"
                                     "numpy==2.5.5\nYou will have to build these yourself", 0)
    with pytest.raises(SystemExit, match="exit 2"):
        package.check_chalice_output("Error: something", 2)
    package.check_chalice_output("Creating deployment package.\n", 0)


def _zip(path: Path, size: int) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("python/blob.bin", b"\0" * size)
    return path


def test_the_size_budget_counts_code_plus_every_layer_and_flags_a_function_over_the_limit(tmp_path):
    _zip(tmp_path / "deployment.zip", 600)
    _zip(tmp_path / "ml.zip", 300)
    template = {"Resources": {
        "Small": {"Type": "AWS::Serverless::Function",
                  "Properties": {"CodeUri": "./deployment.zip", "Layers": [{"Ref": "Managed"}]}},
        "Big": {"Type": "AWS::Serverless::Function",
                "Properties": {"CodeUri": "./deployment.zip", "Layers": [{"Ref": "Ml"}, {"Ref": "Managed"}]}},
        "Ml": {"Type": "AWS::Serverless::LayerVersion", "Properties": {"ContentUri": "./ml.zip"}}}}
    (tmp_path / "sam.json").write_text(json.dumps(template))
    rows = {r["function"]: r for r in size_budget.budget(tmp_path / "sam.json", {"Managed": ("m", 100)},
                                                         limit=900)}
    assert (rows["Small"]["total"], rows["Small"]["ok"]) == (700, True)
    assert (rows["Big"]["total"], rows["Big"]["ok"]) == (1000, False)
    assert "OVER THE LIMIT" in size_budget.render(list(rows.values()))

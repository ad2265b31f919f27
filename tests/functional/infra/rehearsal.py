"""Deploy rehearsal: create the packaged stack on moto's CloudFormation, offline, as `make deploy` would.

    .venv/bin/python -m tests.functional.infra.rehearsal --stage dev

after `make template`; it exits 1 naming what failed. ``tests/functional/infra/test_deploy_rehearsal.py``
runs it in `make test` (docs/local.md, "Deploy rehearsal").

What `make deploy` does on AWS, step by step, with moto standing in:

1. **package** (`aws cloudformation package`): upload ``deployment.zip`` and the ML layer zip to an
   artifacts bucket and point ``CodeUri``/``ContentUri`` at them. The ML layer zip is only there after
   `make layers`; without it a small stand-in zip is uploaded (the rehearsal checks wiring, not bytes).
2. **transform** (``AWS::Serverless-2016-10-31``): ``samtranslator.translator.transform``, the library
   CloudFormation's SAM transform runs, offline: the managed policies it may resolve by name come from
   :data:`MANAGED_POLICIES` instead of IAM.
3. **create** the stack on moto's CloudFormation with the stack's parameters; every ``Ref``,
   ``Fn::GetAtt``, ``Fn::Sub`` and ``DependsOn`` is resolved against the resources it creates, so a
   reference to a missing resource or attribute fails here.
4. **check**: the stack is ``CREATE_COMPLETE``, every resource of the transformed template (whose
   condition holds) was created, by moto or by one of the stand-ins below, and every output resolved.

moto's CloudFormation has gaps; :data:`MOTO_GAPS` lists each, with its reason, and the rehearsal
patches only those (nothing here changes the template that is deployed):
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import secrets
import string
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
ARTIFACTS_BUCKET = "sluice-rehearsal-artifacts"
PANDAS_LAYER = f"arn:aws:lambda:{REGION}:336392948345:layer:AWSSDKPandas-Python312:1"
MANAGED_POLICIES = {"AWSXRayDaemonWriteAccess": "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess"}

# type -> why the rehearsal creates it itself (through the service's API, with the properties moto's
# CloudFormation resolved) instead of moto's CloudFormation
MOTO_GAPS: dict[str, str] = {
    "AWS::ApiGateway::RestApi": "moto requires Name (CloudFormation takes it from the Body's info.title) and "
                                "ignores a Body-defined API's methods, so the Deployment fails with 'no "
                                "methods': the rehearsal names it and imports the Body's paths and "
                                "integrations (relabelled OpenAPI 3: moto's importer refuses 'swagger: 2.0')",
    "AWS::ApiGateway::Stage": "skipped by moto's CloudFormation: apigateway.create_stage, its method "
                              "settings (metrics, throttling) as update_stage patches (moto's Ref to a "
                              "Deployment gives the object: its id is taken)",
    "AWS::Lambda::EventInvokeConfig": "skipped by moto's CloudFormation: put_function_event_invoke_config",
    "AWS::Lambda::Version": "moto publishes it but answers no Fn::GetAtt (Version, which an Alias reads): "
                            "lambda.publish_version, its ARN as Ref and its number as Version",
    "AWS::Lambda::Alias": "skipped by moto's CloudFormation (its Ref would be None, so a Permission on the "
                          "alias loses its FunctionName): lambda.create_alias",
    "AWS::Glue::Database": "skipped by moto's CloudFormation (Ref would be None): glue.create_database",
    "AWS::Glue::Table": "skipped by moto's CloudFormation: glue.create_table",
    "AWS::Athena::WorkGroup": "skipped by moto's CloudFormation: athena.create_work_group",
    "AWS::SecretsManager::Secret": "skipped by moto's CloudFormation (Ref would be None): "
                                   "secretsmanager.create_secret with the generated string",
    "AWS::S3::BucketPolicy": "skipped by moto's CloudFormation: s3.put_bucket_policy",
    "AWS::SQS::QueuePolicy": "skipped by moto's CloudFormation: sqs.set_queue_attributes(Policy)",
    "AWS::CloudWatch::Alarm": "skipped by moto's CloudFormation: cloudwatch.put_metric_alarm",
}
# what CloudFormation refuses and moto lets through: the rehearsal checks it before creating the stack
MOTO_LETS_THROUGH = {
    "DependsOn naming no resource": "moto orders resources by the names it finds and skips the others; "
                                    "CloudFormation fails with 'Unresolved resource dependencies'",
    "Fn::Sub naming no resource": "moto fails on it, but names the resource that holds it, not the name",
}
__doc__ = (__doc__ or "") + "".join(f"\n- ``{kind}``: {why}" for kind, why in MOTO_GAPS.items()) + (
    "\n\nand checks itself what moto lets through:\n") + "".join(
    f"\n- {what}: {why}" for what, why in MOTO_LETS_THROUGH.items()) + "\n"


class RehearsalFailed(Exception):
    """The stack would not deploy: the message names the step and the resource."""


@dataclass
class Rehearsal:
    """What the rehearsal created."""

    status: str
    resources: dict[str, str]  # logical id -> type, every resource the stack holds
    stand_ins: dict[str, str]  # logical id -> type, created by the rehearsal (MOTO_GAPS)
    outputs: dict[str, str]
    api_stages: dict[str, list[str]]  # API name -> its stages, as deployed
    transformed: dict[str, Any] = field(repr=False)


def rehearse(template: dict[str, Any], artifacts_dir: Path, *, stack_name: str = "sluice-dev",
             parameters: dict[str, str] | None = None) -> Rehearsal:
    """Package, transform and create ``template`` (a ``chalice package`` SAM template) on moto."""
    from moto import mock_aws

    parameters = {"AwsSdkPandasLayerArn": PANDAS_LAYER, **(parameters or {})}
    with _offline_credentials(), mock_aws(), _fresh_clients():
        packaged = package(template, artifacts_dir, _client("s3"))
        transformed = transform(packaged, stack_name, parameters)
        check_references(transformed)
        cfn = _client("cloudformation")
        with _moto_gaps_patched() as stand_ins:
            try:
                cfn.create_stack(StackName=stack_name, TemplateBody=json.dumps(transformed),
                                 Parameters=[{"ParameterKey": k, "ParameterValue": v}
                                             for k, v in parameters.items()],
                                 Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
            except KeyError as missing:  # names were checked above: a property moto found empty
                raise RehearsalFailed(f"create: moto found no {missing}: a property left empty by a Ref to "
                                      f"a resource moto skipped (add its type to MOTO_GAPS), or a name the "
                                      f"template does not define") from None
            except Exception as error:
                raise RehearsalFailed(f"create: {type(error).__name__}: {error}") from error
        return _check(cfn, stack_name, transformed, stand_ins)


def package(template: dict[str, Any], artifacts_dir: Path, s3: Any) -> dict[str, Any]:
    """``aws cloudformation package``: code and layer zips uploaded, their URIs pointing at S3."""
    out = json.loads(json.dumps(template))
    s3.create_bucket(Bucket=ARTIFACTS_BUCKET)
    uploaded: dict[str, str] = {}
    for name, resource in out["Resources"].items():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
                local = (artifacts_dir / properties[key]).resolve()
                if str(local) not in uploaded:
                    uploaded[str(local)] = _upload(s3, local, name)
                properties[key] = uploaded[str(local)]
    return out


def _upload(s3: Any, local: Path, resource: str) -> str:
    if local.is_file():
        body = local.read_bytes()
    elif local.name == "ml-layer.zip":  # built by `make layers` (minutes, ~77 MB): a stand-in will do
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("python/README", "stand-in for the ML layer (make layers builds it)\n")
        body = buffer.getvalue()
    else:
        raise RehearsalFailed(f"package: {resource} points at {local}, which does not exist (make template)")
    key = f"{local.parent.name}/{local.name}"
    s3.put_object(Bucket=ARTIFACTS_BUCKET, Key=key, Body=body)
    return f"s3://{ARTIFACTS_BUCKET}/{key}"


def transform(template: dict[str, Any], stack_name: str, parameters: dict[str, str]) -> dict[str, Any]:
    """The ``AWS::Serverless-2016-10-31`` transform, as CloudFormation runs it (offline)."""
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.translator.transform import transform as sam_transform

    class ManagedPolicies:
        def load(self) -> dict[str, str]:
            return MANAGED_POLICIES

    values = {**parameters, "AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws",
              "AWS::StackName": stack_name}
    try:
        with _offline_credentials():  # the translator reads the region from a boto3 session
            return sam_transform(json.loads(json.dumps(template)), values, ManagedPolicies())
    except InvalidDocumentException as error:
        causes = "; ".join(str(cause) for cause in error.causes)
        raise RehearsalFailed(f"transform: {causes}") from None


PSEUDO_PARAMETERS = {"AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition",
                     "AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix"}
_SUB_NAME = re.compile(r"\$\{([^!}][^}]*)\}")


def check_references(template: dict[str, Any]) -> None:
    """Every ``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` variable and ``DependsOn`` names something the template
    defines (CloudFormation refuses the template otherwise; moto lets a DependsOn through, and reports
    a bad ``Fn::Sub`` against the resource that holds it, not the name)."""
    resources = template["Resources"]
    known = set(resources) | set(template.get("Parameters", {})) | PSEUDO_PARAMETERS
    problems = []
    for name, resource in resources.items():
        depends = resource.get("DependsOn", [])
        for target in sorted(set([depends] if isinstance(depends, str) else depends) - set(resources)):
            problems.append(f"{name} DependsOn {target}")
        problems += [f"{name} refers to {target}" for target in _names_used(resource) if target not in known]
    for name, output in template.get("Outputs", {}).items():
        problems += [f"output {name} refers to {t}" for t in _names_used(output) if t not in known]
    if problems:
        raise RehearsalFailed("create: names no resource, parameter or pseudo parameter: "
                              + "; ".join(problems))


def _names_used(node: Any) -> Iterator[str]:
    if isinstance(node, list):
        for item in node:
            yield from _names_used(item)
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "Ref" and isinstance(value, str):
            yield value
        elif key == "Fn::GetAtt":
            target = value.split(".", 1)[0] if isinstance(value, str) else value[0]
            yield target
        elif key == "Fn::Sub":
            text, variables = (value, {}) if isinstance(value, str) else value
            yield from _names_used(variables)
            yield from (n.split(".", 1)[0] for n in _SUB_NAME.findall(text) if n not in variables)
        else:
            yield from _names_used(value)


def _check(cfn: Any, stack_name: str, transformed: dict[str, Any], stand_ins: dict[str, str]) -> Rehearsal:
    [stack] = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise RehearsalFailed(f"create: {stack['StackStatus']} {stack.get('StackStatusReason', '')}")
    summaries = [r for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack_name)
                 for r in page["StackResourceSummaries"] if r["LogicalResourceId"]]
    listed = {r["LogicalResourceId"]: r["ResourceType"] for r in summaries}
    wanted = {name: r["Type"] for name, r in transformed["Resources"].items()
              if _condition_holds(stack_name, r.get("Condition"))}
    missing = sorted(set(wanted) - set(listed))
    if missing:
        raise RehearsalFailed(f"check: not created (moto skipped them, or their type is new: add it to "
                              f"MOTO_GAPS with a reason): {', '.join(f'{n} ({wanted[n]})' for n in missing)}")
    outputs = {o["OutputKey"]: str(o.get("OutputValue")) for o in stack.get("Outputs", [])}
    unresolved = sorted(set(transformed.get("Outputs", {})) - {k for k, v in outputs.items()
                                                                  if v and v != "None"})
    if unresolved:
        raise RehearsalFailed(f"check: outputs without a value: {', '.join(unresolved)}")
    _check_wiring([r["PhysicalResourceId"] for r in summaries
                   if r["ResourceType"] == "AWS::Lambda::Function"])
    apigateway = _client("apigateway")
    stages = {api["name"]: sorted(s["stageName"] for s in apigateway.get_stages(restApiId=api["id"])["item"])
              for api in apigateway.get_rest_apis()["items"]}
    return Rehearsal(stack["StackStatus"], listed, stand_ins, outputs, stages, transformed)


def _check_wiring(functions: list[str]) -> None:
    """Each function's environment names a resource that exists (a Ref to the wrong logical id, or to
    a parameter, resolves to a string too: only a look-up shows it names nothing)."""
    probes = {
        "SLUICE_BUCKET": lambda v: _client("s3").head_bucket(Bucket=v),
        "SLUICE_TABLE": lambda v: _client("dynamodb").describe_table(TableName=v),
        "SLUICE_TOPIC_ARN": lambda v: _client("sns").get_topic_attributes(TopicArn=v),
        "SLUICE_GLUE_DATABASE": lambda v: _client("glue").get_database(Name=v),
        "SLUICE_PII_KEY_SECRET": lambda v: _client("secretsmanager").describe_secret(SecretId=v),
    }
    for function in functions:
        variables = _client("lambda").get_function_configuration(FunctionName=function).get(
            "Environment", {}).get("Variables", {})
        for name, probe in probes.items():
            if name not in variables:
                continue
            try:
                probe(variables[name])
            except Exception as error:
                raise RehearsalFailed(f"check: {function}'s {name}={variables[name]!r} names nothing "
                                      f"({type(error).__name__})") from None


def _condition_holds(stack_name: str, condition: str | None) -> bool:
    if condition is None:
        return True
    from moto.cloudformation.models import cloudformation_backends

    stack = cloudformation_backends[ACCOUNT][REGION].get_stack(stack_name)
    return bool(stack.resource_map.lazy_condition_map[condition])


@contextlib.contextmanager
def _fresh_clients() -> Iterator[None]:
    _clients.clear()
    try:
        yield
    finally:
        _clients.clear()


@contextlib.contextmanager
def _offline_credentials() -> Iterator[None]:
    """moto's fake account; nothing of the caller's AWS configuration may reach it."""
    values = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
              "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}
    removed = ("AWS_ENDPOINT_URL", "AWS_PROFILE")
    saved = {key: os.environ.get(key) for key in (*values, *removed)}
    os.environ.update(values)
    for key in removed:
        os.environ.pop(key, None)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# ---- the patches of MOTO_GAPS: in force only while the stack is created -----------------------------

@contextlib.contextmanager
def _moto_gaps_patched() -> Iterator[dict[str, str]]:
    """moto's CloudFormation finds the stand-ins for :data:`MOTO_GAPS`' types; yields what they created."""
    from moto.cloudformation import parsing

    created: dict[str, str] = {}
    original = parsing.resource_class_from_type
    stand_ins = {kind: _stand_in(kind, created) for kind in MOTO_GAPS}

    def resource_class_from_type(resource_type: str) -> Any:
        return stand_ins.get(resource_type) or original(resource_type)

    parsing.resource_class_from_type = resource_class_from_type  # type: ignore[assignment]
    try:
        yield created
    finally:
        parsing.resource_class_from_type = original  # type: ignore[assignment]


def _stand_in(kind: str, created: dict[str, str]) -> type:
    class StandIn(_StandInResource):
        @classmethod
        def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],
                                            account_id: str, region_name: str, **kwargs: Any) -> Any:
            created[kwargs["LogicalId"]] = kind
            return _CREATORS[kind](resource_name, cloudformation_json["Properties"], account_id, region_name)

        @staticmethod
        def cloudformation_type() -> str:
            return kind

    return StandIn


class _StandInResource:
    """What moto's CloudFormation reads of a resource it created: its physical id and attributes."""

    def __init__(self, physical_id: str, attributes: dict[str, str] | None = None) -> None:
        self.physical_resource_id = physical_id
        self.attributes = attributes or {}

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True  # checked when read: get_cfn_attribute

    def get_cfn_attribute(self, attr: str) -> str:
        if attr not in self.attributes:
            from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

            raise UnformattedGetAttTemplateException()
        return self.attributes[attr]

    def is_created(self) -> bool:
        return True

    @classmethod
    def delete_from_cloudformation_json(cls, *args: Any, **kwargs: Any) -> None:
        pass


_clients: dict[str, Any] = {}  # made inside the rehearsal's mock_aws, forgotten when it ends


def _client(service: str) -> Any:
    if service not in _clients:
        import boto3

        _clients[service] = boto3.session.Session(region_name=REGION).client(service)
    return _clients[service]


def _rest_api(name: str, props: dict[str, Any], account_id: str, region: str) -> Any:
    from moto.apigateway.models import RestAPI, apigateway_backends

    body = props.get("Body") or {}
    api = RestAPI.create_from_cloudformation_json(
        name, {"Properties": {"Name": props.get("Name") or body.get("info", {}).get("title", name),
                              **{k: v for k, v in props.items() if k != "Name"}}}, account_id, region)
    if body:
        document = {**body, "openapi": "3.0.1"}
        document.pop("swagger", None)
        apigateway_backends[account_id][region].put_rest_api(api.id, document, fail_on_warnings=False,
                                                            mode="overwrite")
    return api


_METHOD_SETTINGS = {"MetricsEnabled": "metrics/enabled", "LoggingLevel": "logging/loglevel",
                    "DataTraceEnabled": "logging/dataTrace", "ThrottlingBurstLimit": "throttling/burstLimit",
                    "ThrottlingRateLimit": "throttling/rateLimit", "CachingEnabled": "caching/enabled"}


def _stage(name: str, props: dict[str, Any], account_id: str, region: str) -> Any:
    apigateway = _client("apigateway")
    apigateway.create_stage(restApiId=props["RestApiId"], stageName=props["StageName"],
                            deploymentId=getattr(props["DeploymentId"], "id", props["DeploymentId"]),
                            tracingEnabled=bool(props.get("TracingEnabled", False)),
                            **({"variables": props["Variables"]} if props.get("Variables") else {}))
    patches = []
    for setting in props.get("MethodSettings", []):
        path = setting.get("ResourcePath", "/*")
        resource = "*" if path == "/*" else path.replace("/", "~1")
        for key, suffix in _METHOD_SETTINGS.items():
            if key in setting:
                patches.append({"op": "replace", "value": str(setting[key]).lower() if isinstance(
                    setting[key], bool) else str(setting[key]),
                    "path": f"/{resource}/{setting.get('HttpMethod', '*')}/{suffix}"})
    if patches:
        apigateway.update_stage(restApiId=props["RestApiId"], stageName=props["StageName"],
                                patchOperations=patches)
    return _StandInResource(props["StageName"])


def _event_invoke_config(name: str, props: dict[str, Any], account_id: str, region: str) -> Any:
    config = _client("lambda").put_function_event_invoke_config(**{
        k: v for k, v in props.items() if k in ("FunctionName", "Qualifier", "MaximumRetryAttempts",
                                                  "MaximumEventAgeInSeconds", "DestinationConfig")})
    return _StandInResource(f"{props['FunctionName']}:{props.get('Qualifier', '$LATEST')}",
                            {"FunctionArn": config["FunctionArn"]})


def _version(name: str, props: dict[str, Any], account_id: str, region: str) -> Any:
    version = _client("lambda").publish_version(**{k: v for k, v in props.items() if k in (
        "FunctionName", "Description", "CodeSha256")})
    return _StandInResource(version["FunctionArn"], {"Version": version["Version"]})


def _alias(name: str, props: dict[str, Any], account_id: str, region: str) -> Any:
    alias = _client("lambda").create_alias(**{k: v for k, v in props.items() if k in (
        "FunctionName", "Name", "FunctionVersion", "Description")})
    return _StandInResource(alias["AliasArn"], {"AliasArn": alias["AliasArn"]})


def _glue_database(name: str, props: dict[str, Any], account_id: str, region: str) -> Any:
    database = props["DatabaseInput"]
    _client("glue").create_database(CatalogId=props.get("CatalogId", account_id), DatabaseInput=database)
    return _StandInResource(database["Name"])


def _glue_table(name: str, props: dict[str, Any], account_id: str, region: str) -> Any:
    table = props["TableInput"]
    _client("glue").create_table(CatalogId=props.get("CatalogId", account_id),
                                 DatabaseName=props["DatabaseName"], TableInput=table)
    return _StandInResource(table["Name"])


def _athena_workgroup(name: str, props: dict[str, Any], account_id: str, region: str) -> Any:
    _client("athena").create_work_group(Name=props["Name"], Description=props.get("Description", ""),
                                        Configuration=props.get("WorkGroupConfiguration", {}))
    return _StandInResource(props["Name"])


def _secret(name: str, props: dict[str, Any], account_id: str, region: str) -> Any:
    generate = dict(props.get("GenerateSecretString") or {})
    template, key = generate.pop("SecretStringTemplate", None), generate.pop("GenerateStringKey", None)
    value = props.get("SecretString")
    if value is None:
        excluded = set(generate.get("ExcludeCharacters", ""))
        alphabet = [c for c in string.ascii_letters + string.digits if c not in excluded]
        value = "".join(secrets.choice(alphabet) for _ in range(int(generate.get("PasswordLength", 32))))
        if template and key:
            value = json.dumps({**json.loads(template), key: value})
    secret = _client("secretsmanager").create_secret(
        Name=props.get("Name", name), SecretString=value,
        **{k: props[k] for k in ("Description", "KmsKeyId", "Tags") if k in props})
    return _StandInResource(secret["ARN"], {"Id": secret["ARN"]})


def _bucket_policy(name: str, props: dict[str, Any], account_id: str, region: str) -> Any:
    _client("s3").put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(props["PolicyDocument"]))
    return _StandInResource(f"{props['Bucket']}-policy")


def _queue_policy(name: str, props: dict[str, Any], account_id: str, region: str) -> Any:
    for url in props["Queues"]:
        _client("sqs").set_queue_attributes(QueueUrl=url, Attributes={
            "Policy": json.dumps(props["PolicyDocument"])})
    return _StandInResource(name)


def _alarm(name: str, props: dict[str, Any], account_id: str, region: str) -> Any:
    arguments = {k: v for k, v in props.items() if v is not None}
    arguments.setdefault("AlarmName", name)
    _client("cloudwatch").put_metric_alarm(**arguments)
    alarm_arn = f"arn:aws:cloudwatch:{region}:{account_id}:alarm:{arguments['AlarmName']}"
    return _StandInResource(arguments["AlarmName"], {"Arn": alarm_arn})


_CREATORS = {
    "AWS::ApiGateway::RestApi": _rest_api,
    "AWS::ApiGateway::Stage": _stage,
    "AWS::Lambda::EventInvokeConfig": _event_invoke_config,
    "AWS::Lambda::Version": _version,
    "AWS::Lambda::Alias": _alias,
    "AWS::Glue::Database": _glue_database,
    "AWS::Glue::Table": _glue_table,
    "AWS::Athena::WorkGroup": _athena_workgroup,
    "AWS::SecretsManager::Secret": _secret,
    "AWS::S3::BucketPolicy": _bucket_policy,
    "AWS::SQS::QueuePolicy": _queue_policy,
    "AWS::CloudWatch::Alarm": _alarm,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--stage", default="dev")
    args = parser.parse_args(argv)
    template_path = ROOT / "build" / args.stage / "sam.json"
    if not template_path.is_file():
        print(f"no {template_path.relative_to(ROOT)}: run `make template STAGE={args.stage}` first",
              file=sys.stderr)
        return 1
    try:
        result = rehearse(json.loads(template_path.read_text()), template_path.parent,
                          stack_name=f"sluice-{args.stage}")
    except RehearsalFailed as failure:
        print(f"rehearsal failed: {failure}", file=sys.stderr)
        return 1
    print(f"{result.status}: {len(result.resources)} resources ({len(result.stand_ins)} created by the "
          f"rehearsal for moto's gaps), {len(result.outputs)} outputs")
    for logical_id, kind in sorted(result.stand_ins.items()):
        print(f"  stand-in  {logical_id:40} {kind}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

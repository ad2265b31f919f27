"""Every route uses IAM authorization except the public ones; each API role reaches exactly its routes."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
ACCESS = yaml.safe_load((ROOT / "infra" / "api_access.yaml").read_text())
PUBLIC = {tuple(reversed(key.split(" ", 1))) for key in ACCESS["public"]}  # {(path, METHOD)}
OPERATOR = {("PUT", "/datasets/{dataset}/contract"), ("POST", "/datasets/{dataset}/contract/infer"),
            ("POST", "/datasets/{dataset}/uploads"), ("POST", "/datasets/{dataset}/samples"),
            ("PUT", "/models/{model}/spec"),
            ("POST", "/models/{model}/train"), ("POST", "/models/{model}/predict"),
            ("PATCH", "/models/{model}/versions/{version}"), ("POST", "/models/{model}/drift/check"),
            ("PUT", "/models/{model}/serving"),  # capture percentage and shadow alias: operations
            ("POST", "/models/{model}/versions/{version}/exports"),
            ("POST", "/models/{model}/runs/{run}/cancel"),  # the reconciler's and runs' operations
            ("POST", "/ops/reconcile"), ("POST", "/ops/redrive"),
            ("POST", "/models/{model}/imports"),  # bring your own model (skops, MLflow)
            ("POST", "/models/{model}/imports/{import_id}/start")}
APPROVER = {("POST", "/models/{model}/versions/{version}/promote"),
            ("POST", "/models/{model}/versions/{version}/reject"), ("POST", "/models/{model}/rollback"),
            ("PUT", "/models/{model}/aliases/{alias}"), ("DELETE", "/models/{model}/aliases/{alias}"),
            ("POST", "/models/{model}/imports/pickle")}  # a pickle runs code when loaded: approvers vouch
ACCOUNT = "arn:aws:execute-api:us-east-1:123456789012:abc123"


def _routes(chalice_app) -> set[tuple[str, str]]:
    return {(method, path) for path, methods in chalice_app.routes.items() for method in methods}


def _request_arn(method: str, path: str) -> str:
    """The ARN API Gateway authorizes for a concrete request of this route."""
    return f"{ACCOUNT}/api/{method}/" + re.sub(r"\{[^}]+\}", "some-name_1", path).lstrip("/")


def _reach(policy: dict, routes: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Routes whose request ARN one of the policy's Allow statements matches (IAM's * and ? globbing)."""
    patterns = []
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        assert statement["Effect"] == "Allow" and statement["Action"] == "execute-api:Invoke"
        for resource in statement["Resource"]:
            patterns.append(resource["Fn::Sub"].replace(
                "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${RestAPI}", ACCOUNT))
    return {r for r in routes if any(fnmatch.fnmatchcase(_request_arn(*r), p) for p in patterns)}


def test_every_route_but_the_public_ones_requires_sigv4_in_the_deployed_api(resources, chalice_app):
    swagger = resources["RestAPI"]["Properties"]["DefinitionBody"]
    assert swagger["securityDefinitions"]["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    for method, path in _routes(chalice_app):
        operation = swagger["paths"][path][method.lower()]
        if (path, method) in PUBLIC:
            assert "security" not in operation, f"{method} {path} must stay public"
        else:
            assert operation.get("security") == [{"sigv4": []}], f"{method} {path} is not IAM-authorized"


def test_app_py_and_infra_agree_on_the_public_routes():
    import app

    assert {(path, method) for path, method in PUBLIC} == app.PUBLIC_ROUTES  # the dashboard: IAM


def test_health_is_public_and_a_registry_write_is_not(chalice_app):
    assert chalice_app.routes["/health"]["GET"].authorizer is None
    assert type(chalice_app.routes["/models/{model}/rollback"]["POST"].authorizer).__name__ == "IAMAuthorizer"


@pytest.mark.parametrize("role", ["reader", "operator", "approver"])
def test_each_api_role_reaches_exactly_its_routes(resources, chalice_app, role):
    routes = _routes(chalice_app)
    protected = {r for r in routes if (r[1], r[0]) not in PUBLIC}
    expected = {
        "reader": {r for r in protected if r[0] == "GET"},
        "operator": OPERATOR & routes,
        "approver": APPROVER & routes,
    }[role]
    assert _reach(resources[f"Api{role.capitalize()}Policy"], routes) == expected


def test_the_three_roles_split_the_protected_routes_without_overlap(resources, chalice_app):
    routes = _routes(chalice_app)
    reaches = [_reach(resources[f"Api{r}Policy"], routes) for r in ("Reader", "Operator", "Approver")]
    protected = {r for r in routes if (r[1], r[0]) not in PUBLIC}
    assert set().union(*reaches) == protected
    assert sum(len(r) for r in reaches) == len(protected)


def test_an_operator_can_train_and_predict_but_not_promote(resources, chalice_app):
    reach = _reach(resources["ApiOperatorPolicy"], _routes(chalice_app))
    assert {("POST", "/models/{model}/train"), ("POST", "/models/{model}/predict")} <= reach
    assert ("POST", "/models/{model}/versions/{version}/promote") not in reach
    assert not any(method == "GET" for method, _ in reach)


def test_an_unclassified_route_fails_the_packaging():
    import render_template

    with pytest.raises(SystemExit, match=r"POST /models/\{model\}/explode: matched by no role"):
        render_template.classify_routes(["GET /health", "POST /models/{model}/explode"], ACCESS)

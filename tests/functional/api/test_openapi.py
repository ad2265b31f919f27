"""The OpenAPI description is generated from the app's routes and is a valid OpenAPI 3.1 document."""

import re

from openapi_spec_validator import validate


def test_openapi_lists_exactly_the_apps_routes_and_methods(client, chalice_app):
    spec = client.http.get("/openapi.json").json_body
    documented = {(path, method.upper()) for path, item in spec["paths"].items() for method in item}
    routed = {(path, method) for path, methods in chalice_app.routes.items() for method in methods}
    assert documented == routed
    assert ("/models/{model}/predict", "POST") in routed  # the description follows real routes


def test_every_path_parameter_is_declared_and_private_routes_need_sigv4(client):
    spec = client.http.get("/openapi.json").json_body
    for path, item in spec["paths"].items():
        for operation in item.values():
            declared = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), path
            public = path == "/health"  # app.PUBLIC_ROUTES: the dashboard and this document need IAM too
            assert ("security" in operation) is not public, path


def test_the_document_is_valid_openapi_with_the_contract_and_spec_schemas(client):
    spec = client.http.get("/openapi.json").json_body
    validate(spec)
    put_contract = spec["paths"]["/datasets/{dataset}/contract"]["put"]["requestBody"]
    assert put_contract["required"] is True
    assert "columns" in put_contract["content"]["application/json"]["schema"]["properties"]
    listing = spec["paths"]["/models/{model}/versions"]["get"]["parameters"]
    assert {p["name"] for p in listing if p["in"] == "query"} == {"limit", "next_token"}

"""The dashboard shows model and dataset names and metrics: behind IAM like every other route unless a
stage asks for it to be public, and `sluice dashboard` signs a browser's requests through a local proxy."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from sluice.api_client import ApiClient
from sluice.cli.dashboard import proxy_server

ROOT = Path(__file__).resolve().parents[3]
AUTHORIZERS = """
import json, app
print(json.dumps({path: type(route.authorizer).__name__ for path, methods in app.app.routes.items()
                  for method, route in methods.items() if method == "GET" and path in ("/", "/health")}))
"""


def authorizers(env: dict[str, str]) -> dict[str, str]:
    done = subprocess.run([sys.executable, "-c", AUTHORIZERS], cwd=ROOT, capture_output=True, text=True,
                          env=env, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_dashboard_needs_iam_unless_a_stage_makes_it_public(monkeypatch):
    import os

    env = {k: v for k, v in os.environ.items() if k != "SLUICE_PUBLIC_DASHBOARD"}
    assert authorizers(env) == {"/": "IAMAuthorizer", "/health": "NoneType"}
    assert authorizers({**env, "SLUICE_PUBLIC_DASHBOARD": "true"}) == {"/": "NoneType", "/health": "NoneType"}


class _Api(BaseHTTPRequestHandler):
    seen: list[dict] = []

    def do_GET(self) -> None:
        _Api.seen.append({"path": self.path, "headers": dict(self.headers)})
        signed = "Authorization" in self.headers and "X-Amz-Date" in self.headers
        body = (b"<!DOCTYPE html><p>dashboard</p>" if signed
                else b'{"message": "Missing Authentication Token"}')
        self.send_response(200 if signed else 403)
        self.send_header("Content-Type", "text/html; charset=utf-8" if signed else "application/json")
        self.send_header("Content-Security-Policy", "default-src 'none'")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        return


def test_the_proxy_signs_each_get_and_passes_the_page_back(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    api_server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    threading.Thread(target=api_server.serve_forever, daemon=True).start()
    api = ApiClient(f"http://127.0.0.1:{api_server.server_address[1]}", sign=True)
    proxy = proxy_server(api, 0)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{proxy.server_address[1]}"
        page = requests.get(f"{base}/?model=fare&runs=a,b", timeout=10)
        assert page.status_code == 200 and page.text == "<!DOCTYPE html><p>dashboard</p>"
        assert page.headers["Content-Security-Policy"] == "default-src 'none'"
        [seen] = _Api.seen[-1:]
        assert seen["path"] == "/?model=fare&runs=a%2Cb"
        assert seen["headers"]["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
        assert "/eu-west-1/execute-api/aws4_request" in seen["headers"]["Authorization"]
        unsigned = requests.get(f"http://127.0.0.1:{api_server.server_address[1]}/", timeout=10)
        assert unsigned.status_code == 403  # what a browser gets without the proxy
    finally:
        proxy.shutdown()
        api_server.shutdown()


def test_the_packaged_api_refuses_an_unsigned_dashboard_request():
    """The deployed template (dev stage: no SLUICE_PUBLIC_DASHBOARD): GET / needs SigV4 like the reads."""
    import pytest

    template = ROOT / "build" / "dev" / "sam.json"
    if not template.exists():
        pytest.skip("`make template` writes build/dev/sam.json (make test runs it first)")
    paths = json.loads(template.read_text())["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    assert paths["/"]["get"]["security"] == [{"sigv4": []}] == paths["/models"]["get"]["security"]
    assert "security" not in paths["/health"]["get"]

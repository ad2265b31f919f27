"""The CLI's HTTP client: errors surface as code + message, deployed APIs are SigV4-signed."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sluice.api_client import ApiClient, ApiError, resolve_api_url
from sluice.cli import main


class _Recorder(BaseHTTPRequestHandler):
    seen: list[dict] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        _Recorder.seen.append({"path": self.path, "headers": dict(self.headers), "body": body})
        if self.path.startswith("/models/missing"):
            status, payload = 404, {"error": {"code": "model_not_found", "message": "no model 'missing'"}}
        else:
            status, payload = 200, {"items": [{"name": "fare", "latest_version": 3}], "next_token": None}
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def api_server():
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_api_error_carries_the_code_and_message(api_server):
    with pytest.raises(ApiError) as caught:
        ApiClient(api_server).get("/models/missing")
    assert (caught.value.status, caught.value.code) == (404, "model_not_found")
    assert caught.value.message == "no model 'missing'"


def test_requests_are_signed_with_sigv4_when_asked(api_server):
    ApiClient(api_server, sign=True).get("/models", limit=5)
    headers = _Recorder.seen[-1]["headers"]
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=testing/")
    assert "/us-east-1/execute-api/aws4_request" in headers["Authorization"]
    assert _Recorder.seen[-1]["path"] == "/models?limit=5"


def test_only_deployed_api_gateway_urls_are_signed_by_default():
    assert ApiClient("https://abc.execute-api.eu-west-1.amazonaws.com/api").sign is True
    assert ApiClient("http://127.0.0.1:8000").sign is False


def test_the_api_url_comes_from_the_flag_then_the_environment_then_the_local_stack(tmp_path, monkeypatch):
    state = tmp_path / "local.json"
    monkeypatch.delenv("SLUICE_API", raising=False)
    with pytest.raises(ApiError) as caught:
        resolve_api_url(None, state)
    assert caught.value.code == "no_api"
    state.write_text(json.dumps({"api_url": "http://127.0.0.1:9/"}))
    assert resolve_api_url(None, state) == "http://127.0.0.1:9"
    monkeypatch.setenv("SLUICE_API", "http://env:1")
    assert resolve_api_url(None, state) == "http://env:1"
    assert resolve_api_url("http://flag:2/", state) == "http://flag:2"


def test_a_failing_command_exits_non_zero_with_the_api_message(api_server, capsys):
    assert main(["versions", "list", "missing", "--api", api_server]) == 1
    assert "model_not_found: no model 'missing'" in capsys.readouterr().out


def test_json_output_is_the_api_payload(api_server, capsys):
    assert main(["models", "list", "--api", api_server, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["items"][0]["name"] == "fare"


def test_tables_show_listings_for_people(api_server, capsys):
    assert main(["models", "list", "--api", api_server]) == 0
    out = capsys.readouterr().out
    assert "fare" in out and "latest_version" in out

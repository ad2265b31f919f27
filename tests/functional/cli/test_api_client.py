"""The CLI's HTTP client: errors surface as code + message, deployed APIs are SigV4-signed."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sluice.api_client import ApiClient, ApiError
from sluice.cli import main


class _Recorder(BaseHTTPRequestHandler):
    seen: list[dict] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        _Recorder.seen.append({"path": self.path, "headers": dict(self.headers), "body": body})
        if self.path.startswith("/models/zip/predict"):
            status, payload = _predict_zip(json.loads(body))
        elif self.path.startswith("/models/Bad"):
            status, payload = 400, {"error": {"code": "invalid_name",
                                              "message": "model name must match ^[a-z0-9][a-z0-9_-]{0,62}$"}}
        elif self.path.startswith("/models/missing"):
            status, payload = 404, {"error": {"code": "model_not_found", "message": "no model 'missing'"}}
        else:
            status, payload = 200, {"items": [{"model": "fare", "version_count": 3,
                                               "created_at": "2026-11-26T16:33:47.123Z",
                                               "updated_at": "2026-11-26T17:01:02.345Z"}],
                                    "next_token": None}
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args) -> None:
        pass


def _predict_zip(body: dict) -> tuple[int, dict]:
    """A model whose ``zip`` feature is a string and ``rooms`` an int, as the serving API checks them."""
    problems = [{"record": i, "field": "zip", "problem": "wrong_type", "expected": "string",
                 "message": f"record {i}: zip must be a string"}
                for i, r in enumerate(body["records"]) if not isinstance(r["zip"], str)]
    problems += [{"record": i, "field": "rooms", "problem": "wrong_type", "expected": "int",
                  "message": f"record {i}: rooms must be an integer"}
                 for i, r in enumerate(body["records"]) if not isinstance(r["rooms"], int)]
    if problems:
        return 400, {"error": {"code": "invalid_records", "message": "problems", "details": problems}}
    return 200, {"model": "zip", "version": 1, "alias": "production", "request_id": "r1",
                 "predictions": [float(r["rooms"]) for r in body["records"]], "echo": body["records"]}


@pytest.fixture
def api_server():
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    # shutdown() waits for serve_forever's next poll: 0.5 s by default, per test
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
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


def test_a_failing_command_exits_non_zero_with_the_api_message(api_server, capsys):
    assert main(["versions", "list", "missing", "--api", api_server]) == 1
    assert "model_not_found: no model 'missing'" in capsys.readouterr().out


def test_json_output_is_the_api_payload(api_server, capsys):
    assert main(["models", "list", "--api", api_server, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["items"][0]["model"] == "fare"


def test_tables_show_listings_for_people(api_server, capsys):
    assert main(["models", "list", "--api", api_server]) == 0
    out = capsys.readouterr().out
    assert "model" in out and "versions" in out
    assert "fare" in out and "3" in out and "2026-11-26 17:01:02" in out  # UTC, to the second


def test_csv_columns_the_model_declares_as_text_are_sent_again_as_text(api_server, tmp_path, capsys):
    path = tmp_path / "homes.csv"
    path.write_text("zip,rooms\n01099,3\n10115,2\n")
    assert main(["predict", "zip", str(path), "--api", api_server, "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["echo"] == [{"zip": "01099", "rooms": 3}, {"zip": "10115", "rooms": 2}]
    assert "records" not in answer  # --json prints the API's answer as it came


def test_a_csv_value_of_the_wrong_type_still_fails_with_the_api_error(api_server, tmp_path, capsys):
    path = tmp_path / "homes.csv"
    path.write_text("zip,rooms\n01099,many\n")
    assert main(["predict", "zip", str(path), "--api", api_server]) == 1
    assert "error invalid_records: problems" in capsys.readouterr().out


def test_api_messages_are_printed_as_they_came_even_with_square_brackets(api_server, capsys):
    assert main(["versions", "list", "Bad", "--api", api_server]) == 1
    assert "invalid_name: model name must match ^[a-z0-9][a-z0-9_-]{0,62}$" in capsys.readouterr().out

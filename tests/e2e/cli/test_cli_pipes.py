"""``sluice … | head``: when the reader stops early the CLI ends quietly, as Python's docs advise
(https://docs.python.org/3/library/signal.html#note-on-sigpipe), instead of a BrokenPipeError traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

MODELS = 4000  # a listing far larger than a pipe's buffer (64 KiB), so writing it must hit the closed end


class _Listing(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        items = [{"model": f"model-{i:05d}", "version_count": i % 7, "created_at": "2026-11-26T16:33:47Z",
                  "updated_at": "2026-11-26T17:01:02Z"} for i in range(MODELS)]
        data = json.dumps({"items": items, "next_token": None}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Listing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def sluice(*args: str) -> subprocess.Popen:
    env = {**os.environ, "COLUMNS": "120"}
    return subprocess.Popen([sys.executable, "-m", "sluice.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)


@pytest.mark.parametrize("output", [["--json"], []], ids=["json", "table"])
def test_a_reader_that_stops_after_the_first_line_gets_no_traceback(api, output):
    proc = sluice("models", "list", "--api", api, *output)
    first = proc.stdout.readline()
    proc.stdout.close()  # what `head -1` does once it has its line
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert first.strip()  # the command did start writing
    assert stderr == ""
    # 1 is Python's status on EPIPE (the docs' note); 0 when the closed end cut a write short (the
    # kernel reports the bytes it took, and the rest is dropped without an error)
    assert proc.returncode in (0, 1)


def test_a_reader_that_closes_before_the_first_byte_gets_no_traceback(api):
    proc = sluice("models", "list", "--api", api, "--json")
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    assert stderr == ""
    assert proc.returncode in (0, 1)


def test_through_a_shell_pipe_into_head_only_heads_lines_are_printed(api):
    done = subprocess.run(f"{sys.executable} -m sluice.cli models list --api {api} --json | head -n 3",
                          shell=True, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "120"})
    assert done.stdout.splitlines() == ["{", '  "items": [', "    {"]
    assert done.stderr == ""


def test_a_reader_that_takes_everything_still_gets_everything(api):
    proc = sluice("models", "list", "--api", api, "--json")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and err == b""
    assert len(json.loads(out)["items"]) == MODELS

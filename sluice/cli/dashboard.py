"""``sluice dashboard``: the dashboard in a browser. A deployed API answers only SigV4-signed requests
(the dashboard included, unless a stage makes it public), which a browser cannot sign; so this serves a
local proxy on 127.0.0.1 that signs each GET with your AWS credentials and forwards it. The local stack
needs no signing: its URL is opened as it is."""

from __future__ import annotations

import argparse
import threading
import webbrowser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from rich.console import Console

from sluice.api_client import ApiClient, ApiError, resolve_api_url
from sluice.cli.grammar import default_state_file

# what the proxy passes back from the API's answer (hop-by-hop and length headers are the proxy's own)
PASSED_HEADERS = ("Content-Type", "Content-Security-Policy", "Cache-Control", "X-Content-Type-Options",
                  "Referrer-Policy", "Location")


def proxy_server(api: ApiClient, port: int = 0) -> ThreadingHTTPServer:
    """A server on 127.0.0.1:``port`` (0: a free one) that forwards every GET to ``api``, signed."""

    class Forward(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            try:
                answer = api.fetch(parts.path or "/", parse_qsl(parts.query, keep_blank_values=True))
            except ApiError as exc:
                self.send_error(502, exc.message)
                return
            self.send_response(answer.status_code)
            for name in PASSED_HEADERS:
                if name in answer.headers:
                    self.send_header(name, answer.headers[name])
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the browser shows what failed
            return

    return ThreadingHTTPServer(("127.0.0.1", port), Forward)


def cmd_dashboard(args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    try:
        api = ApiClient(resolve_api_url(args.api, args.state_file))
    except ApiError as exc:
        console.print(f"[red]{exc.code}[/]: {exc.message}")
        return 1
    if not api.sign:
        url = api.base_url + "/"
        console.print(f"the dashboard: {url}")
        if not args.no_browser:
            webbrowser.open(url)
        return 0
    server = proxy_server(api, args.port)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    console.print(f"the dashboard of {api.base_url}, signed with your AWS credentials: {url} (Ctrl-C stops)")
    if not args.no_browser:
        threading.Timer(0.3, webbrowser.open, args=(url,)).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def register(top: Any) -> None:
    parser = top.add_parser("dashboard", help="open the dashboard (a local signing proxy for a deployed API)",
                            description="Open the dashboard. A deployed API requires SigV4-signed requests: "
                                        "a local proxy on 127.0.0.1 signs them with your AWS credentials.")
    parser.add_argument("--api", default=None, help="the API's URL (default: SLUICE_API or `sluice up`'s)")
    parser.add_argument("--state-file", type=Path, default=default_state_file())
    parser.add_argument("--port", type=int, default=8765, help="the proxy's local port (0: a free one)")
    parser.add_argument("--no-browser", action="store_true", help="print the URL, do not open a browser")
    parser.set_defaults(func=cmd_dashboard)

"""The sluice HTTP API from Python: the local stack by default, a deployed stage with SigV4 signing.

Where the API is: ``--api``, else ``$SLUICE_API``, else the running local stack's state file.
A deployed API (``*.execute-api.*.amazonaws.com``) is signed with the caller's AWS credentials,
since every route but ``/health`` and the dashboard uses IAM authorization.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests


class ApiError(Exception):
    """The API answered with an error (or could not be reached)."""

    def __init__(self, status: int, code: str, message: str, details: list[Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []  # the API's field-level problems, when it lists them


def resolve_api_url(explicit: str | None, state_file: Path) -> str:
    if explicit:
        return explicit.rstrip("/")
    if os.environ.get("SLUICE_API"):
        return os.environ["SLUICE_API"].rstrip("/")
    if state_file.exists():
        return json.loads(state_file.read_text())["api_url"].rstrip("/")
    raise ApiError(0, "no_api", "no API to talk to: start `sluice up`, or pass --api / set SLUICE_API")


@dataclass
class ApiClient:
    base_url: str
    sign: bool | None = None  # None: sign when the URL is a deployed API Gateway endpoint
    timeout: float = 120.0

    def __post_init__(self) -> None:
        self._session = requests.Session()
        if self.sign is None:
            self.sign = ".execute-api." in (urlsplit(self.base_url).hostname or "")

    def request(self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None,
                raw: bytes | None = None, content_type: str = "application/json") -> Any:
        url = self.base_url + path
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {"Content-Type": content_type} if data is not None else {}
        query = {k: v for k, v in (params or {}).items() if v is not None}
        if self.sign:
            headers = self._signed_headers(method, url, query, data, headers)
        try:
            response = self._session.request(method, url, params=query, data=data, headers=headers,
                                             timeout=self.timeout)
        except requests.RequestException as exc:
            raise ApiError(0, "unreachable", f"cannot reach {self.base_url}: {exc}") from exc
        return _parse(response)

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def fetch(self, path: str, query: list[tuple[str, str]]) -> requests.Response:
        """GET ``path`` as it is (any content type, any status), signed when the API is deployed: what
        ``sluice dashboard``'s local proxy forwards to the browser."""
        url = self.base_url + path
        headers = self._signed_headers("GET", url, query, None, {}) if self.sign else {}
        try:
            return self._session.get(url, params=query, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ApiError(0, "unreachable", f"cannot reach {self.base_url}: {exc}") from exc

    def _signed_headers(self, method: str, url: str, query: Any, data: bytes | None,
                        headers: dict[str, str]) -> dict[str, str]:
        import boto3
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        session = boto3.session.Session()
        credentials = session.get_credentials()
        if credentials is None:
            raise ApiError(0, "no_credentials", "signing a request to a deployed API needs AWS credentials")
        region = session.region_name or (urlsplit(url).hostname or "").split(".")[2]
        prepared = requests.Request(method, url, params=query).prepare()
        aws_request = AWSRequest(method=method, url=prepared.url, data=data or b"", headers=headers)
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(aws_request)
        return dict(aws_request.headers.items())


def _parse(response: requests.Response) -> Any:
    try:
        payload = response.json() if response.content else None
    except ValueError:
        payload = None
    if response.status_code >= 400:
        body = payload if isinstance(payload, dict) else {}
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        message = error.get("message") or body.get("Message")  # ours, or API Gateway's own
        details = error.get("details") if isinstance(error.get("details"), list) else None
        raise ApiError(response.status_code, error.get("code", "http_error"),
                       message or response.text[:500] or response.reason, details)
    return payload

"""What the demo's steps share: the running stack, a boto3 session on it, the output folder."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from rich.console import Console

from sluice.local import LocalStack


@dataclass
class Demo:
    """What the steps share: the running stack, a boto3 session on it, the output folder."""

    stack: LocalStack
    out: Path
    console: Console
    session: Any
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def api(self) -> str:
        return self.stack.info.api_url  # type: ignore[union-attr]

    @property
    def bucket(self) -> str:
        return self.stack.info.bucket  # type: ignore[union-attr]

    def s3(self) -> Any:
        return self.session.client("s3", endpoint_url=self.stack.info.aws_endpoint)  # type: ignore[union-attr]

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = requests.request(method, self.api + path, timeout=120, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path} → {response.status_code}: {response.text}")
        return response.json()

    def upload(self, key: str, body: bytes, wait_for: str) -> Any:
        """Put an object and wait until ``wait_for``'s handler has processed it."""
        after = len(self.stack.pump.deliveries)  # type: ignore[union-attr]
        self.s3().upload_fileobj(io.BytesIO(body), self.bucket, key)
        delivery = self.stack.pump.wait_for(wait_for, key, after=after, timeout=120)  # type: ignore[union-attr]
        if not delivery.ok:
            raise RuntimeError(f"{wait_for} failed on {key}:\n{delivery.error}")
        return delivery


def step_health(demo: Demo) -> None:
    health = demo.call("GET", "/health")
    demo.console.print(f"API answers: sluice {health['version']} ({health['status']})")

"""``sluice demo``: the whole loop, narrated, on a fresh local stack. Each step is one function."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
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


def all_steps() -> list[tuple[str, Callable[[Demo], None]]]:
    """The loop in order: each feature's steps live beside it (imported here, not at import time)."""
    from sluice import demo_datasets, demo_models, demo_monitoring, demo_serving

    return [("The local stack answers", step_health), *demo_datasets.STEPS, *demo_models.STEPS,
            *demo_serving.STEPS, *demo_monitoring.STEPS]


def run_demo(project_dir: Path | None, out: Path, console: Console) -> int:
    """The loop on a fresh stack of the installed sluice (or of ``project_dir``'s checkout)."""
    import boto3

    from chalicelib.core.log import logger

    out.mkdir(parents=True, exist_ok=True)
    logger.setLevel("WARNING")  # the narration says what happens; handler logs stay for `sluice up`
    started = time.perf_counter()
    console.rule("[bold]sluice demo")
    with LocalStack(project_dir, api_port=0, aws_port=0) as stack:
        info = stack.info
        console.print(f"local stack: API {info.api_url}, AWS (moto) {info.aws_endpoint}")  # type: ignore[union-attr]
        demo = Demo(stack, out.resolve(), console, boto3.session.Session(region_name=info.region))  # type: ignore[union-attr]
        for number, (title, step) in enumerate(all_steps(), start=1):
            console.rule(f"{number}. {title}", align="left", style="cyan")
            step(demo)
    console.rule(f"[bold green]done in {time.perf_counter() - started:.1f} s; reports in {out.resolve()}")
    return 0

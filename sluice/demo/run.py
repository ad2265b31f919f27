"""``sluice demo``: the whole loop, narrated, on a fresh local stack. Each step is one function."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from sluice.demo import datasets, healing, models, monitoring, serving
from sluice.demo.base import Demo, step_health
from sluice.local import LocalStack


def all_steps() -> list[tuple[str, Callable[[Demo], None]]]:
    """The loop in order: each feature's steps live in their own module."""
    return [("The local stack answers", step_health), *datasets.STEPS, *models.STEPS, *serving.STEPS,
            *monitoring.STEPS,
            *healing.STEPS]


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

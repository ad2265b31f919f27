"""``sluice up|env|demo|health``: the whole system on this machine, and whether an API answers."""

from __future__ import annotations

import argparse
import shlex
import signal
import threading
from pathlib import Path
from typing import Any

from chalicelib import __version__
from sluice.api_client import ApiClient
from sluice.cli.grammar import Cli, Command, default_state_file
from sluice.cli.output import console, fields

PROJECT_DIR_HELP = "a sluice checkout to run instead of the installed one (the folder of its app.py)"


def cmd_up(args: argparse.Namespace) -> int:
    from sluice.local import LocalStack

    def show(delivery: Any) -> None:
        colour = "green" if delivery.ok else "red"
        console.print(f"[{colour}]{delivery.function}[/] ← {delivery.what} "
                      f"({delivery.seconds * 1000:.0f} ms){'' if delivery.ok else ' FAILED'}")
        if delivery.error:
            console.print(delivery.error, style="dim red")

    stack = LocalStack(args.project_dir, host=args.host, api_port=args.api_port,
                       aws_port=args.aws_port, schedule_interval=args.schedule_interval,
                       on_delivery=show)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    info = stack.start()
    try:  # from here on, Ctrl-C or SIGTERM at any moment stops the stack and removes the state file
        info.save(args.state_file)
        console.print(f"[bold]sluice {__version__}[/] local stack is up")
        console.print(f"  API        {info.api_url}")
        console.print(f"  AWS (moto) {info.aws_endpoint}   region {info.region}")
        console.print(f"  bucket     s3://{info.bucket}   table {info.table}")
        console.print(f"  schedules  every {args.schedule_interval:g} s")
        console.print(f"  `eval \"$(sluice env)\"` to point the AWS CLI and boto3 here "
                      f"(state in {args.state_file}); Ctrl-C stops.")
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        console.print("stopping…")
        stack.stop()
        args.state_file.unlink(missing_ok=True)
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    from sluice.local import StackInfo

    if not args.state_file.exists():
        console.print(f"no local stack is running (no {args.state_file}); start one with `sluice up`",
                      style="red")
        return 1
    info = StackInfo.load(args.state_file)
    for key, value in info.environment().items():
        print(f"export {key}={shlex.quote(value)}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from sluice.demo import run_demo

    return run_demo(args.project_dir, Path(args.out), console)


def health(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.get("/health")


HEALTH = Command(health, "check that the API answers", view=fields())


def register(cli: Cli) -> None:
    up = cli.top.add_parser("up", help="run the whole system locally (moto stands in for AWS)",
                            description="Run the whole system locally (moto stands in for AWS).")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--api-port", type=int, default=8000, help="0 picks a free port")
    up.add_argument("--aws-port", type=int, default=5000, help="0 picks a free port")
    up.add_argument("--schedule-interval", type=float, default=3600.0,
                    help="seconds between scheduled checks (default: hourly, as deployed)")
    up.add_argument("--project-dir", type=Path, default=None, help=PROJECT_DIR_HELP)
    up.add_argument("--state-file", type=Path, default=default_state_file())
    up.set_defaults(func=cmd_up)

    env = cli.top.add_parser("env", help="print export lines that point AWS tools at the local stack")
    env.add_argument("--state-file", type=Path, default=default_state_file())
    env.set_defaults(func=cmd_env)

    demo = cli.top.add_parser("demo", help="run the whole loop end to end on a fresh local stack")
    demo.add_argument("--project-dir", type=Path, default=None, help=PROJECT_DIR_HELP)
    demo.add_argument("--out", default="sluice-demo", help="folder for the reports it leaves")
    demo.set_defaults(func=cmd_demo)

    HEALTH.add(cli.top, "health")

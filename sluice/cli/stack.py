"""``sluice up|env|demo|health``: the whole system on this machine, and whether an API answers."""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
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
    from sluice.local.snapshot import SnapshotError

    def show(delivery: Any) -> None:
        colour = "green" if delivery.ok else "red"
        console.print(f"[{colour}]{delivery.function}[/] ← {delivery.what} "
                      f"({delivery.seconds * 1000:.0f} ms){'' if delivery.ok else ' FAILED'}")
        if delivery.error:
            console.print(delivery.error, style="dim red")

    stack = LocalStack(args.project_dir, host=args.host, api_port=args.api_port,
                       aws_port=args.aws_port, schedule_interval=args.schedule_interval,
                       on_delivery=show, state_dir=None if args.no_state else args.state_dir,
                       snapshot_interval=args.snapshot_interval, fresh=args.fresh)
    stopped = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        if stopped.is_set():  # a second Ctrl-C: leave now (the last snapshot stays as it was)
            os._exit(128 + signum)
        stopped.set()

    # Ctrl-C and SIGTERM only ask to stop: start-up runs to its end, then everything stops in order
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        info = stack.start()
    except SnapshotError as error:
        console.print(str(error), style="red")
        stack.stop()
        return 1
    try:
        info.save(args.state_file)
        console.print(f"[bold]sluice {__version__}[/] local stack is up")
        console.print(f"  API        {info.api_url}")
        console.print(f"  AWS (moto) {info.aws_endpoint}   region {info.region}")
        console.print(f"  bucket     s3://{info.bucket}   table {info.table}")
        console.print(f"  schedules  every {args.schedule_interval:g} s")
        console.print(f"  state      {_state_line(info, args)}")
        console.print(f"  `eval \"$(sluice env)\"` to point the AWS CLI and boto3 here "
                      f"(state in {args.state_file}); Ctrl-C stops.")
        # a timed wait: a signal the kernel hands to another thread only sets a flag, and the handler
        # runs when the main thread next runs Python code (a wait without timeout may never return)
        while not stopped.wait(0.1):
            pass
    finally:
        console.print("stopping…")
        try:
            stack.stop()
        finally:
            args.state_file.unlink(missing_ok=True)
    console.print("stopped" + (f"; state saved in {info.state_dir}" if info.state_dir else ""))
    # everything is stopped and saved: leave without the interpreter's teardown, which takes 1-3 s
    # (moto's backends, pandas, pyarrow) and, with a handler left running, would wait for it to end
    # and then crash (a daemon thread inside pyarrow at finalization)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _state_line(info: Any, args: argparse.Namespace) -> str:
    if not info.state_dir:
        return "not saved (--no-state): everything goes when the stack stops"
    where = f"{info.state_dir} (saved at stop"
    where += f" and every {args.snapshot_interval:g} s)" if args.snapshot_interval > 0 else ")"
    return f"{where}; restored from {info.restored_from}" if info.restored_from else f"{where}; started empty"


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
    up.add_argument("--state-dir", type=Path, default=Path(".sluice"),
                    help="where the local AWS state is saved and restored from (default: .sluice/ here)")
    up.add_argument("--snapshot-interval", type=float, default=5.0,
                    help="seconds between saves while running, when something changed (0: only at stop)")
    up.add_argument("--fresh", action="store_true",
                    help="start from an empty state (the next save replaces what the state folder held)")
    up.add_argument("--no-state", action="store_true", help="keep nothing: the state lives in memory only")
    up.set_defaults(func=cmd_up)

    env = cli.top.add_parser("env", help="print export lines that point AWS tools at the local stack")
    env.add_argument("--state-file", type=Path, default=default_state_file())
    env.set_defaults(func=cmd_env)

    demo = cli.top.add_parser("demo", help="run the whole loop end to end on a fresh local stack")
    demo.add_argument("--project-dir", type=Path, default=None, help=PROJECT_DIR_HELP)
    demo.add_argument("--out", default="sluice-demo", help="folder for the reports it leaves")
    demo.set_defaults(func=cmd_demo)

    HEALTH.add(cli.top, "health")
    from sluice.cli import dashboard

    dashboard.register(cli.top)

"""The ``sluice`` command: ``up``, ``env``, ``demo`` (more commands join as features land)."""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import threading
from pathlib import Path

from rich.console import Console

from chalicelib import __version__

console = Console()


def default_state_file() -> Path:
    """Where ``sluice up`` records its endpoints for ``sluice env`` and the CLI."""
    home = os.environ.get("SLUICE_HOME") or str(Path.home() / ".sluice")
    return Path(home) / "local.json"


def cmd_up(args: argparse.Namespace) -> int:
    from sluice.local import LocalStack

    def show(delivery) -> None:
        colour = "green" if delivery.ok else "red"
        console.print(f"[{colour}]{delivery.function}[/] ← {delivery.what} "
                      f"({delivery.seconds * 1000:.0f} ms){'' if delivery.ok else ' FAILED'}")
        if delivery.error:
            console.print(delivery.error, style="dim red")

    stack = LocalStack(args.project_dir, host=args.host, api_port=args.api_port,
                       aws_port=args.aws_port, schedule_interval=args.schedule_interval,
                       on_delivery=show)
    info = stack.start()
    info.save(args.state_file)
    console.print(f"[bold]sluice {__version__}[/] local stack is up")
    console.print(f"  API        {info.api_url}")
    console.print(f"  AWS (moto) {info.aws_endpoint}   region {info.region}")
    console.print(f"  bucket     s3://{info.bucket}   table {info.table}")
    console.print(f"  schedules  every {args.schedule_interval:g} s")
    console.print(f"  `eval \"$(sluice env)\"` to point the AWS CLI and boto3 here "
                  f"(state in {args.state_file}); Ctrl-C stops.")
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
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


def add_api_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api", default=None, help="API URL (default: $SLUICE_API, else the local stack)")
    parser.add_argument("--json", action="store_true", help="print the API's JSON")
    parser.add_argument("--state-file", type=Path, default=default_state_file(), help=argparse.SUPPRESS)


def cmd_api(args: argparse.Namespace) -> int:
    """One API command: its view (or JSON) on success; the error's code and message, exit 1, on failure."""
    import json

    from rich.markup import escape

    from sluice.api_client import ApiClient, ApiError, resolve_api_url

    try:
        api = ApiClient(resolve_api_url(args.api, args.state_file))
        result = args.api_call(api, args)
    except ApiError as exc:
        console.print(f"[red]error[/] {escape(exc.code)}: {escape(exc.message)}", highlight=False,
                      soft_wrap=True)
        return 1
    if args.json:
        to_json = getattr(args, "to_json", None) or _for_scripts
        print(json.dumps(to_json(result), indent=2, default=str))
    else:
        args.view(console, result)
    return 0


def _for_scripts(result: object) -> object:
    """The API's answer as it came (views may keep local context in it under ``records``)."""
    if isinstance(result, dict) and "predictions" in result:
        return {k: v for k, v in result.items() if k != "records"}
    return result


EPILOG = """\
Every API command prints a table for people, or the API's JSON with --json; on failure it prints
the API's error code and message and exits 1. It talks to --api, else $SLUICE_API, else the stack
`sluice up` started; a deployed API (*.execute-api.*) is signed with your AWS credentials (SigV4).

first hour:
  sluice up                                     # the whole system, locally
  sluice contract infer rides rides.csv -o rides.contract.yaml   # then review it
  sluice contract put rides rides.contract.yaml
  sluice upload rides rides.csv                 # the gate validates it
  sluice datasets versions rides
  sluice spec put fare fare.spec.yaml
  sluice train fare --wait
  sluice promote fare 1
  sluice predict fare to-score.csv
  sluice drift check fare

`sluice COMMAND --help` tells more.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sluice", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Serverless MLOps on AWS: data contracts, validated datasets, training, a model "
                    "registry,\nserving and drift monitoring behind one HTTP API.",
        epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"sluice {__version__}")
    sub = parser.add_subparsers(title="commands", dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="run the whole system locally (moto stands in for AWS)")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--api-port", type=int, default=8000, help="0 picks a free port")
    up.add_argument("--aws-port", type=int, default=5000, help="0 picks a free port")
    up.add_argument("--schedule-interval", type=float, default=3600.0,
                    help="seconds between scheduled checks (default: hourly, as deployed)")
    up.add_argument("--project-dir", type=Path, default=None)
    up.add_argument("--state-file", type=Path, default=default_state_file())
    up.set_defaults(func=cmd_up)

    env = sub.add_parser("env", help="print export lines that point AWS tools at the local stack")
    env.add_argument("--state-file", type=Path, default=default_state_file())
    env.set_defaults(func=cmd_env)

    demo = sub.add_parser("demo", help="run the whole loop end to end on a fresh local stack")
    demo.add_argument("--project-dir", type=Path, default=None)
    demo.add_argument("--out", default="sluice-demo", help="folder for the reports it leaves")
    demo.set_defaults(func=cmd_demo)

    from sluice.commands import register

    register(sub, add_api_options)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if hasattr(args, "api_call"):
        return cmd_api(args)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

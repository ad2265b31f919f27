# PYTHON_ARGCOMPLETE_OK  (argcomplete's global completion looks for this marker)
"""The ``sluice`` command: ``sluice NOUN VERB`` over the HTTP API, plus the local stack's commands.

One module per command group adds its own commands (:mod:`sluice.cli.contracts`, ``datasets``,
``training``, ``registry``, ``serving``, ``monitoring``, ``ops``, ``stack``, ``completion``); everything the
CLI prints goes through :mod:`sluice.cli.output`. The grammar, and the older spellings it still
accepts, are in docs/cli.md.
"""

from __future__ import annotations

import argparse
import os
import sys

from chalicelib import __version__
from sluice.cli import (
    completion,
    contracts,
    datasets,
    monitoring,
    ops,
    query,
    registry,
    serving,
    stack,
    training,
)
from sluice.cli.calls import run_api
from sluice.cli.grammar import Cli

GROUPS = (contracts, datasets, training, registry, serving, monitoring, ops)

EPILOG = """\
Commands read `sluice NOUN VERB ARGS`. Every API command prints a table for people, or the API's
JSON with --json; on failure it prints the API's error code and message and exits 1. It talks to
--api, else $SLUICE_API, else the stack `sluice up` started; a deployed API (*.execute-api.*) is
signed with your AWS credentials (SigV4).

first hour:
  sluice up                                     # the whole system, locally
  sluice contract infer rides rides.csv -o rides.contract.yaml   # then review it
  sluice contract put rides rides.contract.yaml
  sluice datasets upload rides rides.csv        # the gate validates it
  sluice datasets versions rides
  sluice spec put fare fare.spec.yaml
  sluice runs start fare --wait
  sluice models promote fare 1
  sluice models predict fare to-score.csv
  sluice drift check fare

shortcuts (earlier spellings, still accepted):
  sluice upload = datasets upload     sluice train = runs start       sluice predict = models predict
  sluice promote|reject|rollback|lineage = models promote|reject|rollback|lineage
  sluice versions list|show|update = models versions|show|update
  contract get = contract show        spec get = spec show            alias get = aliases show

`sluice COMMAND --help` tells more; `sluice completion bash` completes commands in your shell.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sluice", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Serverless MLOps on AWS: data contracts, validated datasets, training, a model "
                    "registry,\nserving and drift monitoring behind one HTTP API.",
        epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"sluice {__version__}")
    sub = parser.add_subparsers(title="commands", dest="command", required=True, metavar="COMMAND")
    cli = Cli(sub)
    stack.register(cli)
    cli.add_nouns()
    for group in GROUPS:
        group.register(cli)
    query.register(cli)
    completion.register(cli)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    _complete(parser)
    args = parser.parse_args(argv)
    try:
        code = run_api(args) if hasattr(args, "api_call") else args.func(args)
        sys.stdout.flush()  # a reader that went away fails here, inside the try, not at exit
    except BrokenPipeError:
        _drop_stdout()
        return 1
    return code


def _complete(parser: argparse.ArgumentParser) -> None:
    """When the shell asks for completions (``_ARGCOMPLETE`` is set), answer and exit."""
    if "_ARGCOMPLETE" in os.environ:
        import argcomplete

        argcomplete.autocomplete(parser)


def _drop_stdout() -> None:
    """The reader of our output closed it (``sluice … | head``): end quietly, as Python's docs advise
    (https://docs.python.org/3/library/signal.html#note-on-sigpipe): point stdout at devnull so the
    interpreter's final flush does not raise again."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):  # replaced by a stream without a descriptor
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


__all__ = ["build_parser", "main"]

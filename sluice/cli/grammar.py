"""The shape of ``sluice NOUN VERB``: the noun groups, one :class:`Command` per API operation, and
the older spellings each command keeps answering to (see docs/cli.md).

A command is declared once and may be added in several places: under its noun (the spelling the help
shows) and, hidden, where an earlier version of the CLI had it (``sluice upload`` for
``sluice datasets upload``). Both parse to the same handler, view and arguments.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sluice.api_client import ApiClient
from sluice.cli.output import View, render

Run = Callable[[ApiClient, argparse.Namespace], Any]
Adder = Callable[[argparse.ArgumentParser], None]
Subparsers = Any  # argparse._SubParsersAction: argparse keeps its class private

# The nouns in the order ``sluice --help`` lists them; each group's help names its verbs.
NOUNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "contract": ("a dataset's data contract: show, put, infer", ()),
    "datasets": ("datasets and their validated versions: list, versions, show, upload", ()),
    "spec": ("a model's training spec: show, put", ()),
    "runs": ("training runs: start, list, show, cancel", ()),
    "models": ("the model registry: list, versions, show, update, promote, reject, rollback, audit, "
               "lineage, serving, predict, export, import", ()),
    "aliases": ("a model's aliases: show, set, delete, history", ("alias",)),
    "drift": ("drift checks of the production version: check, history", ()),
    "ops": ("after a crash: what the reconciler finds and does: list, reconcile, redrive, audit", ()),
}

POSITIONAL_HELP = {
    "dataset": "dataset name (lower case, digits, '-', '_')", "model": "model name",
    "version": "version number", "file": "path of a local file",
    "run": "run id (as `sluice runs start` printed it)", "alias": "alias name (e.g. production, staging)",
}


def default_state_file() -> Path:
    """Where ``sluice up`` records its endpoints for ``sluice env`` and the CLI."""
    home = os.environ.get("SLUICE_HOME") or str(Path.home() / ".sluice")
    return Path(home) / "local.json"


def add_api_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api", default=None, help="API URL (default: $SLUICE_API, else the local stack)")
    parser.add_argument("--json", action="store_true", help="print the API's JSON")
    parser.add_argument("--state-file", type=Path, default=default_state_file(), help=argparse.SUPPRESS)


def paging(p: argparse.ArgumentParser) -> None:
    p.add_argument("--limit", type=int, default=None, help="items per page (1-100; default 50)")
    p.add_argument("--next-token", default=None, help="the page after the one that printed this token")
    p.add_argument("--all", action="store_true", help="follow next_token to the end")


def reason(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reason", default=None, help="why (kept in the audit trail)")


def both(*adders: Adder) -> Adder:
    def add(p: argparse.ArgumentParser) -> None:
        for adder in adders:
            adder(p)

    return add


def sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def _set_help(parser: argparse.ArgumentParser, option: str, text: str) -> None:
    for action in parser._actions:  # argparse has no public accessor for an option's help
        if option in action.option_strings:
            action.help = text


@dataclass(frozen=True)
class Command:
    """One API operation: its call, its arguments, and how people (``view``) and scripts (``to_json``,
    what ``--json`` prints; the API's answer by default) see its answer."""

    run: Run
    help: str
    positional: tuple[str, ...] = ()
    view: View = render
    extra: Adder | None = None
    to_json: Callable[[Any], Any] | None = None

    def add(self, parent: Subparsers, name: str, *, aliases: Sequence[str] = (),
            hidden: bool = False) -> argparse.ArgumentParser:
        """This command as ``name`` under ``parent``; a hidden one is left out of the help's list."""
        listed = {} if hidden else {"help": self.help}
        parser = parent.add_parser(name, aliases=list(aliases), description=sentence(self.help), **listed)
        for arg in self.positional:
            parser.add_argument(arg, type=int if arg == "version" else str, help=POSITIONAL_HELP.get(arg))
        if self.extra:
            self.extra(parser)
        add_api_options(parser)
        parser.set_defaults(api_call=self.run, view=self.view, to_json=self.to_json)
        if self.to_json is not None and self.to_json.__doc__:
            _set_help(parser, "--json", self.to_json.__doc__)
        return parser


def group(parent: Subparsers, name: str, help_text: str, *, aliases: Sequence[str] = (),
          hidden: bool = False) -> Subparsers:
    """A noun: its own sub-commands (the verbs)."""
    listed = {} if hidden else {"help": help_text}
    parser = parent.add_parser(name, aliases=list(aliases), description=sentence(help_text), **listed)
    return parser.add_subparsers(title="commands", dest=f"{name}_command", required=True, metavar="COMMAND")


class Cli:
    """The ``sluice`` parser as the group modules fill it: top-level commands, nouns, old spellings."""

    def __init__(self, top: Subparsers) -> None:
        self.top = top
        self._nouns: dict[str, Subparsers] = {}
        self._legacy: dict[str, Subparsers] = {}

    def add_nouns(self) -> None:
        for name, (help_text, aliases) in NOUNS.items():
            self._nouns[name] = group(self.top, name, help_text, aliases=aliases)

    def noun(self, name: str) -> Subparsers:
        return self._nouns[name]

    def legacy_group(self, name: str, help_text: str) -> Subparsers:
        """A group an earlier CLI had (``sluice versions …``): still parsed, no longer listed."""
        if name not in self._legacy:
            self._legacy[name] = group(self.top, name, help_text, hidden=True)
        return self._legacy[name]


def iter_commands(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every (``group command``, parser) pair under ``parser``, aliases included (for help checks)."""
    for action in parser._actions:  # argparse has no public accessor for sub-parsers
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield name, child
                for sub_name, grandchild in iter_commands(child):
                    yield f"{name} {sub_name}", grandchild

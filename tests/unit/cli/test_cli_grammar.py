"""``sluice NOUN VERB``: every command has one listed spelling, and every spelling the CLI had before the
noun-verb grammar still parses to the same handler, view and arguments."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from sluice.cli import build_parser
from sluice.cli.grammar import NOUNS, iter_commands

ROOT = Path(__file__).resolve().parents[3]

# The command paths of the parser before the grammar (commit cff2715), and what each one is now.
EARLIER_SPELLINGS = {
    "up": "up", "env": "env", "demo": "demo", "health": "health",
    "contract put": "contract put", "contract get": "contract show", "contract infer": "contract infer",
    "upload": "datasets upload",
    "datasets list": "datasets list", "datasets versions": "datasets versions",
    "datasets show": "datasets show",
    "spec put": "spec put", "spec get": "spec show",
    "train": "runs start", "runs list": "runs list", "runs show": "runs show",
    "models list": "models list", "models audit": "models audit",
    "versions list": "models versions", "versions show": "models show", "versions update": "models update",
    "alias get": "aliases show", "alias set": "aliases set", "alias delete": "aliases delete",
    "alias history": "aliases history",
    "promote": "models promote", "reject": "models reject", "rollback": "models rollback",
    "predict": "models predict", "lineage": "models lineage",
    "models serving": "models serving",  # new with per-model serving settings: no earlier spelling
    "models export": "models export",  # new with exports: no earlier spelling
    "models import": "models import",  # new with imports: no earlier spelling
    "dashboard": "dashboard",  # new with the signing proxy: no earlier spelling
    "drift check": "drift check", "drift history": "drift history",
    # new with crash recovery (issue 16): no earlier spelling
    "runs cancel": "runs cancel", "ops list": "ops list", "ops reconcile": "ops reconcile",
    "ops redrive": "ops redrive", "ops audit": "ops audit",
}
SAMPLE = {"dataset": "rides", "model": "fare", "version": "2", "file": "in.csv", "run": "r1",
          "alias": "staging", "shell": "bash", "path": "model.skops"}
REQUIRED_OPTIONS = {"--dataset": "rides:2"}  # a value for each option a command requires
ROUTING = {"command", "help"}  # which sub-parser was chosen: differs between spellings by design


@pytest.fixture(scope="module")
def parser() -> argparse.ArgumentParser:
    return build_parser()


def leaf(parser: argparse.ArgumentParser, path: str) -> argparse.ArgumentParser:
    found = dict(iter_commands(parser))
    assert path in found, f"`sluice {path}` is not a command"
    return found[path]


def argv_for(parser: argparse.ArgumentParser, path: str) -> list[str]:
    """``path`` with a value for each positional, and ``--json`` when the command takes it."""
    command = leaf(parser, path)
    values = [SAMPLE[a.dest] for a in command._actions if not a.option_strings and a.dest in SAMPLE]
    required = [x for a in command._actions if a.option_strings and a.required
                for x in (a.option_strings[0], REQUIRED_OPTIONS[a.option_strings[0]])]
    takes_json = any("--json" in a.option_strings for a in command._actions)
    return [*path.split(), *values, *required, *(["--json"] if takes_json else [])]


def parsed(parser: argparse.ArgumentParser, argv: list[str]) -> dict[str, object]:
    namespace = vars(parser.parse_args(argv))
    return {k: v for k, v in namespace.items() if k not in ROUTING and not k.endswith("_command")}


def options(parser: argparse.ArgumentParser, path: str) -> list[tuple[str, ...]]:
    return sorted(tuple(a.option_strings) or (a.dest,) for a in leaf(parser, path)._actions)


@pytest.mark.parametrize(("earlier", "now"), sorted(EARLIER_SPELLINGS.items()))
def test_each_earlier_spelling_parses_to_the_same_handler_and_arguments_as_the_noun_verb_one(
        parser, earlier, now):
    before, after = parsed(parser, argv_for(parser, earlier)), parsed(parser, argv_for(parser, now))
    assert before == after
    handler = before.get("api_call") or before.get("func")
    assert callable(handler)
    assert options(parser, earlier) == options(parser, now)


def test_the_table_covers_every_api_command_and_every_noun_verb_command_is_listed_in_help(parser):
    commands = dict(iter_commands(parser))
    every_handler = {p._defaults["api_call"] for p in commands.values() if "api_call" in p._defaults}
    reached = {commands[now]._defaults.get("api_call") for now in EARLIER_SPELLINGS.values()}
    assert every_handler == reached - {None}
    top = parser.format_help()
    for noun in NOUNS:
        assert re.search(rf"^\s+{noun}\b", top, re.MULTILINE), noun
        for verb_path in (path for path in commands if path.startswith(noun + " ")):
            verb = verb_path.split()[1]
            if verb_path in EARLIER_SPELLINGS.values():
                assert re.search(rf"^\s+{verb}\b", commands[noun].format_help(), re.MULTILINE), verb_path


def test_shortcuts_are_left_out_of_the_command_list_but_named_in_the_epilog(parser):
    listed = parser.format_help().split("commands:", 1)[1].split("Commands read", 1)[0]
    for shortcut in ("upload", "train", "predict", "promote", "reject", "rollback", "lineage", "versions"):
        assert not re.search(rf"^\s{{4}}{shortcut}\b", listed, re.MULTILINE), shortcut
        assert f"sluice {shortcut}" in parser.epilog or f"|{shortcut}" in parser.epilog, shortcut


def test_the_grammar_table_in_docs_cli_md_is_the_parser(parser):
    """Every row of docs/cli.md's table names a command and the earlier spellings that reach it."""
    rows = [line for line in (ROOT / "docs" / "cli.md").read_text().splitlines()
            if line.startswith("| `sluice ")]
    documented = {}
    for row in rows:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", row.strip("|"))]
        now = _path(cells[0])
        documented[now] = [_path(s) for s in re.findall(r"`(sluice [^`]+)`", cells[-1])]
    assert set(documented) == set(EARLIER_SPELLINGS.values()) | {"completion"}
    for now, earlier in documented.items():
        leaf(parser, now)
        assert sorted(earlier) == sorted(e for e, n in EARLIER_SPELLINGS.items() if n == now and e != n), now


def _path(command: str) -> str:
    """``sluice models show MODEL VERSION`` → ``models show``: the words before the arguments."""
    words = command.strip("`").split()[1:]
    return " ".join(w for w in words[:2] if re.fullmatch(r"[a-z]+", w))

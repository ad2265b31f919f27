"""``sluice completion bash|zsh|fish``: the shell code that completes sluice's commands and options.

argcomplete reads the parser the CLI already has: the shell calls ``sluice`` with the line typed so
far in ``COMP_LINE``, and :func:`argcomplete.autocomplete` answers before any command runs.
"""

from __future__ import annotations

import argparse

from sluice.cli.grammar import Cli

SHELLS = ("bash", "zsh", "fish")
HOW = """\
Load it in your shell's start-up file:
  bash  ~/.bashrc                    eval "$(sluice completion bash)"
  zsh   ~/.zshrc (after compinit)    eval "$(sluice completion zsh)"
  fish  ~/.config/fish/config.fish   sluice completion fish | source
"""


def cmd_completion(args: argparse.Namespace) -> int:
    import argcomplete

    print(argcomplete.shellcode(["sluice"], shell=args.shell), end="")
    return 0


def register(cli: Cli) -> None:
    parser = cli.top.add_parser("completion", help="print the shell code that completes sluice commands",
                                description="Print the shell code that completes sluice commands.",
                                epilog=HOW, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("shell", choices=SHELLS)
    parser.set_defaults(func=cmd_completion)

"""Declaring subcommands: what every `ragcode` command and command group shares. Light on
imports (argparse only): `ragcode search` parses with it before anything heavy is loaded."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

Handler = Callable[[argparse.Namespace], int]
Add = Callable[[str, Handler, str], argparse.ArgumentParser]


def command_adder(commands: Any, wrap: Callable[[Handler], Handler] | None = None) -> Add:
    """`add(name, handler, help_text)`: a new subcommand of `commands` (argparse subparsers)
    with `--data-dir`, run by `handler` (through `wrap` when given)."""

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        command: argparse.ArgumentParser = commands.add_parser(name, help=help_text)
        command.add_argument("--data-dir", type=Path, default=None, help="데이터 디렉터리")
        command.set_defaults(handler=handler if wrap is None else wrap(handler))
        return command

    return add

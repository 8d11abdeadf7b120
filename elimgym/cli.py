"""The ``elimgym`` command line. Each sub-command lives in a module of :mod:`elimgym.commands`
that defines ``add_parser(subparsers)``; the parser's ``func`` default runs it."""

from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["main", "COMMAND_MODULES"]

COMMAND_MODULES = (
    "elimgym.commands.solve",
    "elimgym.commands.bench",
    "elimgym.commands.verify",
    "elimgym.commands.graphs",
    "elimgym.commands.rad",
)
"""Modules that provide sub-commands, in the order ``--help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="elimgym", description="Cross-country vertex elimination as a game.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        importlib.import_module(module).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

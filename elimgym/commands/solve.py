"""``elimgym solve TASK|EXAMPLE|FILE``: the costs of the classical elimination orders."""

from __future__ import annotations

import argparse

from elimgym.commands.common import resolve_target
from elimgym.policies import baseline_costs

__all__ = ["add_parser"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("solve", help="print the forward, reverse and Markowitz costs of a graph")
    parser.add_argument("target", help="a task name, a built-in example name, or a graph file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    target = resolve_target(args.target)
    print(target.graph.summary())
    costs = baseline_costs(target.graph)
    width = max(map(len, costs))
    for name, cost in costs.items():
        print(f"  {name:<{width}}  {cost:>12,d} multiplications")
    return 0

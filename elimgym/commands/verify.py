"""``elimgym verify TASK|EXAMPLE|FILE --order FILE|NAME``: check the executor on a function.

Runs :func:`elimgym.executor.verify`: the executor's Jacobian for the order against
``jax.jacrev``/``jax.jacfwd``, and the multiplications it performs against the cost model. The
Jacobian is taken with respect to every argument of the function (the graph ``trace(f, *args)``
makes, the one tasks and orders refer to). Exit status 0 when it passes, 1 when it does not, 2
for bad input (unknown target, bad order, a graph file without a function).
"""

from __future__ import annotations

import argparse
import os
import sys

from elimgym.commands.common import Target, resolve_target
from elimgym.executor import NAMED_ORDERS, verify
from elimgym.orders import Order, OrderError

__all__ = ["add_parser"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="check the executor's Jacobian for an elimination order against jax.jacrev and the cost model",
    )
    parser.add_argument("target", help="a task name, a built-in example name, or a graph file")
    parser.add_argument(
        "--order",
        required=True,
        help=f"an elimgym order file, or one of {', '.join(NAMED_ORDERS)}",
    )
    parser.add_argument("--rtol", type=float, default=None, help="normwise relative tolerance (default: sqrt(eps) of the dtype)")
    parser.set_defaults(func=run)


def _function_of(target: Target):
    """The function and arguments behind the target; exits with a message if there are none."""
    if target.function is not None:
        return target.function, target.args
    from graphs.generators import GeneratorError, function_from_metadata

    try:
        return function_from_metadata(target.graph.metadata)
    except GeneratorError as err:
        raise SystemExit(
            f"elimgym verify: graph file {target.name!r} holds no function to differentiate ({err}); "
            "verify needs a task, an example, or a graph made by graphs.generators.random_graph"
        ) from None


def _order_of(spec: str):
    if spec in NAMED_ORDERS:
        return spec
    if not os.path.exists(spec):
        raise SystemExit(f"elimgym verify: --order {spec!r} is neither an order file nor one of {', '.join(NAMED_ORDERS)}")
    try:
        return Order.load(spec)
    except OrderError as err:
        raise SystemExit(f"elimgym verify: {err}") from None


def run(args: argparse.Namespace) -> int:
    try:
        target = resolve_target(args.target)
        function, arguments = _function_of(target)
        order = _order_of(args.order)
    except SystemExit as err:
        print(err, file=sys.stderr)
        return 2
    print(target.graph.summary())
    print(f"order: {args.order}")
    try:
        result = verify(function, order, *arguments, argnums=tuple(range(len(arguments))), rtol=args.rtol)
    except OrderError as err:
        print(f"elimgym verify: bad order: {err}", file=sys.stderr)
        return 2
    print(result)
    return 0 if result.passed else 1

"""``elimgym solve TASK|EXAMPLE|FILE``: the best elimination order we can find, and how far from
optimal it can be.

Prints a table of every method's cost (forward, reverse, Markowitz, the other heuristics, beam
search, annealing, the exact DP), the best order, a proven lower bound and the certified gap;
verifies the best order with the executor when the target has a function; saves it as an order
file for ``elimgym verify`` and the executor. See ``docs/solvers.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import Any

from elimgym.commands.common import Target, resolve_target
from elimgym.solvers.exact import GraphTooLargeForExact
from elimgym.solvers.portfolio import METHODS, SolveReport, solve

__all__ = ["add_parser", "DEFAULT_BUDGET", "parse_methods", "check_budget", "progress_bar", "verify_order", "enable_compilation_cache"]

DEFAULT_BUDGET = 60.0
"""Seconds of search by default: with compilation and the executor check, ``elimgym solve
RoeFlux_1d`` takes about a minute and a half on 2 CPU cores."""


def enable_compilation_cache() -> None:
    """Keep compiled JAX kernels on disk between runs (``$ELIMGYM_JAX_CACHE``, default
    ``~/.cache/elimgym/jax``; set it empty to disable) unless a JAX compilation cache is already
    configured: the game's kernels take seconds to compile, and every solve uses the same few."""
    import jax

    path = os.environ.get("ELIMGYM_JAX_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "elimgym", "jax"))
    if jax.config.jax_compilation_cache_dir or not path:
        return
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def parse_methods(text: str | None) -> tuple[str, ...] | None:
    """Method names from a comma-separated list; ``None`` (the defaults of
    :func:`~elimgym.solvers.portfolio.solve`) when ``text`` is None.

    Raises:
        SystemExit: naming an unknown method and listing the valid ones.
    """
    if text is None:
        return None
    names = tuple(m.strip() for m in text.split(",") if m.strip())
    unknown = [m for m in names if m not in METHODS]
    if unknown or not names:
        raise SystemExit(f"elimgym: unknown method(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(METHODS)}")
    return names


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "solve",
        help="find a cheap elimination order (heuristics, beam search, annealing, exact DP) with a lower bound",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("target", help="a task name, a built-in example name, or a graph file")
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET, help=f"seconds of search (default {DEFAULT_BUDGET:g})")
    parser.add_argument(
        "--methods",
        default=None,
        help="comma-separated methods to run (default: all but the costlier pilots); "
        "forward, reverse and markowitz always run. Available: " + ", ".join(METHODS),
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the randomised methods")
    parser.add_argument("--json", metavar="FILE", help="also write the full report as JSON")
    parser.add_argument("--out", metavar="ORDERFILE", help="where to save the best order (default: <target>.order.json)")
    parser.add_argument("--start", metavar="ORDERFILE", action="append", default=[], help="also start the searches from this order file")
    parser.add_argument("--no-verify", action="store_true", help="skip checking the best order with the executor")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def progress_bar(budget: float, label: str, enabled: bool = True):
    """A tqdm bar over the search budget and the callback that advances it (``None``, ``None``
    when disabled)."""
    if not enabled:
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=round(budget, 1), desc=label, unit="s", leave=False, file=sys.stderr, disable=None,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f}s {postfix}")

    def update(phase: str, elapsed: float, best: int | None) -> None:
        bar.n = min(round(elapsed, 1), bar.total)
        bar.set_postfix_str(f"{phase}, best {best:,}" if best is not None else phase, refresh=True)

    return bar, update


def verify_order(target: Target, order) -> tuple[str, Any]:
    """Check ``order`` with :func:`elimgym.executor.verify` on the target's function.

    Graph files made by :func:`graphs.generators.random_graph` carry their function in their
    metadata; other graph files have none to differentiate.

    Returns:
        ``(status, verification)``: status is ``"passed"``, ``"FAILED"`` or ``"no function"``;
        verification is the executor's result or None.
    """
    from elimgym.executor import verify
    from graphs.generators import GeneratorError, function_from_metadata

    function, args = target.function, target.args
    if function is None:
        try:
            function, args = function_from_metadata(target.graph.metadata)
        except GeneratorError:
            return "no function", None
    result = verify(function, order, *args, argnums=tuple(range(len(args))))
    return ("passed" if result.passed else "FAILED"), result


def _load_starts(paths: list[str], target: Target) -> list[tuple[int, ...]]:
    from elimgym.orders import Order, OrderError

    starts = []
    for path in paths:
        try:
            order = Order.load(path)
            order.check(target.graph)
        except (OrderError, OSError) as err:
            raise SystemExit(f"elimgym solve: --start {path}: {err}") from None
        starts.append(order.vertices)
    return starts


def check_budget(budget: float, command: str) -> None:
    """Refuse a negative or non-finite budget (``SystemExit`` naming the command)."""
    if not math.isfinite(budget) or budget < 0:
        raise SystemExit(f"elimgym {command}: --budget must be a number of seconds >= 0, got {budget:g}")


def run(args: argparse.Namespace) -> int:
    check_budget(args.budget, "solve")
    methods = parse_methods(args.methods)
    enable_compilation_cache()
    target = resolve_target(args.target)
    starts = _load_starts(args.start, target)
    print(target.graph.summary(), flush=True)
    bar, update = progress_bar(args.budget, target.name, enabled=not args.quiet)
    try:
        report: SolveReport = solve(
            target.graph, budget=args.budget, methods=methods, seed=args.seed, starts=starts, progress=update
        )
    except GraphTooLargeForExact as err:
        raise SystemExit(f"elimgym solve: {err}") from None
    finally:
        if bar is not None:
            bar.close()
    print(report.table())
    best = report.best
    order = best.to_order(target.graph)
    out = args.out or f"{target.name}.order.json"
    order.save(out)
    print(f"best order ({best.method}, {best.cost:,} multiplications, {100 * report.gain:.1f}% below "
          f"min(forward, reverse, markowitz) = {report.baseline:,}) saved to {out}")
    status, verification = ("skipped", None) if args.no_verify else verify_order(target, order)
    if verification is not None:
        print(f"executor check: {status} (max relative error {verification.max_rel_error:.2e}, "
              f"{verification.multiplications:,} multiplications performed, model says {verification.model_cost:,})")
    else:
        print(f"executor check: {status}")
    if args.json:
        payload = report.to_dict()
        payload["target"] = target.name
        payload["order_file"] = os.path.abspath(out)
        payload["verification"] = status
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=1)
            fh.write("\n")
    return 1 if status == "FAILED" else 0

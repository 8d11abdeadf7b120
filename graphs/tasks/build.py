"""Re-trace every task and rewrite its stored graph: ``python -m graphs.tasks.build [NAME ...]``.

Run it after a deliberate change to a task or to the tracer (or a JAX upgrade that changes the
jaxprs), review the diff of ``graphs/data/tasks/``, then regenerate ``docs/tasks.md`` with
``elimgym graphs docs``. ``--check`` only compares and exits with status 1 on a difference.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from graphs.lcg import LCG
from graphs.tasks import TASKS, get_task
from graphs.tasks.store import load_task_graph, save_task_graph, task_graph_path

__all__ = ["graph_difference", "main"]


def graph_difference(stored: LCG, traced: LCG) -> str | None:
    """What differs between a stored and a freshly traced task graph (None if nothing that
    matters: fingerprint, vertex names and primitives)."""
    if stored.fingerprint() != traced.fingerprint():
        return (
            f"the structure changed: fingerprint {stored.fingerprint()} -> {traced.fingerprint()} "
            f"({stored.summary()} -> {traced.summary()})"
        )
    for k, (a, b) in enumerate(zip(stored.vertices, traced.vertices)):
        if (a.name, a.primitive) != (b.name, b.primitive):
            return f"vertex {k} changed: {a.name!r} ({a.primitive}) -> {b.name!r} ({b.primitive})"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m graphs.tasks.build", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="tasks to rebuild (default: all)")
    parser.add_argument("--check", action="store_true", help="only compare with the stored graphs")
    args = parser.parse_args(argv)
    names = [get_task(n).name for n in args.names] or list(TASKS)
    status = 0
    for name in names:
        traced = TASKS[name].traced_graph()
        if args.check:
            try:
                difference = graph_difference(load_task_graph(name), traced)
            except FileNotFoundError as err:
                difference = str(err)
            print(f"{name}: {difference or 'up to date'}")
            status |= difference is not None
        else:
            save_task_graph(traced)
            print(f"{traced.summary()} -> {task_graph_path(name)}")
    return status


if __name__ == "__main__":
    sys.exit(main())

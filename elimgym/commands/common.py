"""Helpers shared by the sub-commands: resolving a TASK|EXAMPLE|FILE argument."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphs import io
from graphs.examples import EXAMPLES
from graphs.lcg import LCG
from graphs.tasks import TASKS, get_task
from graphs.trace import trace_function

__all__ = ["Target", "resolve_target"]


@dataclass(frozen=True)
class Target:
    """What a TASK|EXAMPLE|FILE argument names: a graph, and its function if there is one."""

    name: str
    graph: LCG
    function: Callable[..., Any] | None = None
    args: tuple[Any, ...] | None = None


def resolve_target(spec: str) -> Target:
    """Resolve a task name, a built-in example name, or a graph file path.

    Raises:
        SystemExit: with a message listing the valid names if ``spec`` is none of them.
    """
    if spec in EXAMPLES:
        f, args = EXAMPLES[spec]
        return Target(spec, trace_function(f, *args, name=spec).lcg, f, args)
    try:
        task = get_task(spec)
    except KeyError:
        task = None
    if task is not None:
        return Target(task.name, task.graph(), task.function, task.make_args())
    if os.path.exists(spec):
        return Target(os.path.basename(spec), io.load(spec))
    raise SystemExit(
        f"elimgym: {spec!r} is neither a task ({', '.join(sorted(TASKS)) or 'none'}), "
        f"an example ({', '.join(sorted(EXAMPLES))}) nor an existing graph file"
    )

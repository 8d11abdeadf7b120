"""The benchmark tasks: real JAX functions with realistic inputs and their stored LCGs.

``TASKS`` maps each task name (``"RoeFlux_1d"``, ...) to a :class:`Task`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphs.lcg import LCG
from graphs.trace import TracedFunction, trace_function

__all__ = ["Task", "TASKS", "get_task"]


@dataclass(frozen=True)
class Task:
    """A benchmark task.

    Attributes:
        name: the task name, e.g. ``"RoeFlux_1d"``.
        env_name: the ``<Task>`` part of its Gymnasium id ``VertexElim-<Task>-v0``.
        function: the JAX function.
        make_args: returns realistic example arguments.
        description: what it computes.
        reference: where its definition comes from.
    """

    name: str
    env_name: str
    function: Callable[..., Any]
    make_args: Callable[[], tuple[Any, ...]]
    description: str
    reference: str

    def trace(self) -> TracedFunction:
        """Trace the function now (with this JAX version)."""
        return trace_function(self.function, *self.make_args(), name=self.name)

    def graph(self) -> LCG:
        """The stored LCG (``graphs/data/tasks/<name>.json``)."""
        from graphs.tasks.store import load_task_graph

        return load_task_graph(self.name)


TASKS: dict[str, Task] = {}
"""Task name -> :class:`Task`."""


def get_task(name: str) -> Task:
    """The task called ``name`` (its task name or its Gymnasium ``<Task>`` name)."""
    for task in TASKS.values():
        if name in (task.name, task.env_name):
            return task
    raise KeyError(f"unknown task {name!r}; available: {sorted(TASKS)}")

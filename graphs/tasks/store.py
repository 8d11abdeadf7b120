"""Where the tasks' traced graphs are stored, and loading them.

Each task's LCG lives in ``graphs/data/tasks/<name>.json`` (:mod:`graphs.io` format). The files
are written by ``python -m graphs.tasks.build`` and pinned by the tests: a JAX upgrade that
changes the traced graphs makes the tests fail instead of silently changing the benchmark.
"""

from __future__ import annotations

from pathlib import Path

from graphs import io
from graphs.lcg import LCG

__all__ = ["TASK_DATA_DIR", "REGENERATE_COMMAND", "task_graph_path", "load_task_graph", "save_task_graph"]

TASK_DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "tasks"
"""Directory of the stored task graphs."""

REGENERATE_COMMAND = "python -m graphs.tasks.build"
"""The command that re-traces every task and rewrites the stored graphs."""


def task_graph_path(name: str) -> Path:
    """The file that stores the graph of task ``name``."""
    return TASK_DATA_DIR / f"{name}.json"


def load_task_graph(name: str) -> LCG:
    """Load the stored graph of task ``name``.

    Raises:
        FileNotFoundError: no graph is stored for ``name`` (the message says how to make it).
    """
    path = task_graph_path(name)
    if not path.exists():
        raise FileNotFoundError(f"no stored graph for task {name!r} at {path}; run `{REGENERATE_COMMAND}` to trace and store it")
    return io.load(path)


def save_task_graph(graph: LCG) -> Path:
    """Store ``graph`` as the graph of the task ``graph.name``; returns the path written."""
    path = task_graph_path(graph.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    io.save(graph, path)
    return path

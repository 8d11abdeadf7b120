"""Registers the ``VertexElim-*`` Gymnasium ids (imported by ``import elimgym``).

The registry is a table: one :class:`EnvEntry` per id, built from :data:`graphs.tasks.TASKS`
plus the random-graph env and the any-graph env. Every id has the single env
(:class:`elimgym.envs.single.VertexElimEnv`) as entry point and the JAX-backed vector env
(:class:`elimgym.envs.vector.VertexElimVectorEnv`) as vector entry point. Registering imports
nothing heavy and compiles nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from graphs.tasks import TASKS

__all__ = ["EnvEntry", "ENV_ENTRIES", "ENV_IDS", "ENTRY_POINT", "VECTOR_ENTRY_POINT", "register_envs"]

ENTRY_POINT = "elimgym.envs.single:VertexElimEnv"
VECTOR_ENTRY_POINT = "elimgym.envs.vector:VertexElimVectorEnv"


@dataclass(frozen=True)
class EnvEntry:
    """One registered id.

    Attributes:
        env_id: the Gymnasium id.
        kwargs: the registered keyword arguments of :class:`~elimgym.envs.single.VertexElimEnv`.
        description: what the env plays.
    """

    env_id: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    description: str = ""


def _entries() -> tuple[EnvEntry, ...]:
    tasks = tuple(
        EnvEntry(f"VertexElim-{task.env_name}-v0", {"task": task.name}, f"{task.name}: {task.description}")
        for task in TASKS.values()
    )
    return tasks + (
        EnvEntry(
            "VertexElim-Random-v0",
            {"split": "train"},
            "a new random graph of a split at every reset (split='train' by default; band= picks a size band)",
        ),
        EnvEntry("VertexElim-v0", {}, "any LCG or graph file: gym.make('VertexElim-v0', graph=...)"),
    )


ENV_ENTRIES: tuple[EnvEntry, ...] = _entries()
"""Every registered id, benchmark tasks first."""

ENV_IDS: tuple[str, ...] = tuple(entry.env_id for entry in ENV_ENTRIES)


def register_envs() -> None:
    """Register every id of :data:`ENV_ENTRIES` that is not registered yet."""
    for entry in ENV_ENTRIES:
        if entry.env_id not in gym.registry:
            gym.register(
                id=entry.env_id,
                entry_point=ENTRY_POINT,
                vector_entry_point=VECTOR_ENTRY_POINT,
                kwargs=dict(entry.kwargs),
            )


register_envs()

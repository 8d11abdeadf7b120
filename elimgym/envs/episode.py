"""One game on one pool graph, driven from the host through shared jitted functions.

:class:`Episode` is what the single-env Gymnasium and PettingZoo environments step. The JAX
functions are jitted once at module level, so every episode of a given capacity (and pool size)
reuses the same compiled code.
"""

from __future__ import annotations

import operator
from typing import Any

import jax
import numpy as np

from graphs.lcg import LCG, Role

from elimgym import game
from elimgym.envs.layout import LayoutObservation, to_layout
from elimgym.envs.pool import GraphPool
from elimgym.envs.rendering import Snapshot
from elimgym.game import GameState
from elimgym.reference import IllegalAction

__all__ = ["Episode", "IllegalAction", "as_action", "explain_illegal"]


@jax.jit
def _first(initial: GameState, index: jax.Array) -> tuple[GameState, LayoutObservation]:
    """The initial state of pool graph ``index`` and its observation."""
    state = jax.tree_util.tree_map(lambda x: x[index], initial)
    return state, to_layout(game.observe(state))


@jax.jit
def _advance(state: GameState, action: jax.Array) -> tuple[GameState, LayoutObservation]:
    """Eliminate ``action`` and observe the result."""
    state, _, _ = game.step(state, action)
    return state, to_layout(game.observe(state))


def as_action(action: Any) -> int:
    """``action`` as a Python int (accepts ints, NumPy integer scalars and 0-d integer arrays).

    Raises:
        TypeError: for anything that is not a single integer.
    """
    array = np.asarray(action)
    if array.ndim != 0 or not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"an action is one integer vertex index, got {action!r}")
    return operator.index(array.item())


def explain_illegal(graph: LCG, capacity: int, eliminated: np.ndarray, action: int) -> str:
    """Why eliminating ``action`` is illegal (``eliminated``: ``[N] bool``), or ``""`` if it is legal."""
    if not 0 <= action < capacity:
        return f"action {action} is out of range: the action space is Discrete({capacity})"
    if action >= graph.num_vertices:
        return f"vertex {action} is a padding slot: graph {graph.name!r} has {graph.num_vertices} vertices"
    vertex = graph.vertices[action]
    label = f"vertex {action}" + (f" ({vertex.name})" if vertex.name else "")
    if vertex.role is not Role.INTERMEDIATE:
        return f"{label} is an {vertex.role.name.lower()}; only intermediate vertices can be eliminated"
    if eliminated[action]:
        return f"{label} is already eliminated"
    return ""


class Episode:
    """A game on graph ``index`` of ``pool``, with the exact cost and the latest observation.

    Attributes:
        pool: the pool the graph comes from.
        index: the graph's index in the pool.
        state: the current :class:`GameState` (device arrays).
        observation: the latest observation dict (keys of :mod:`elimgym.envs.layout`).
        cost: exact multiplications so far.
        terminated: no intermediate is left.
    """

    def __init__(self, pool: GraphPool, index: int) -> None:
        self.pool = pool
        self.index = int(index)
        self.state, observation = _first(pool.initial, np.int32(self.index))
        self.observation = observation.as_dict()
        self.cost = 0
        self.terminated = bool(self.state.terminated)

    @property
    def graph(self) -> LCG:
        return self.pool.graphs[self.index]

    @property
    def eliminated(self) -> np.ndarray:
        """``[N] bool``: eliminated vertices."""
        return np.asarray(self.state.eliminated)

    @property
    def order(self) -> np.ndarray:
        """``[N] int32``: the vertices eliminated so far, in order, then -1."""
        return np.array(self.state.order)

    @property
    def num_steps(self) -> int:
        return int(self.state.num_steps)

    def illegal_reason(self, action: int) -> str:
        """Why ``action`` cannot be played now (``""`` if it can)."""
        if self.terminated:
            return "the episode has terminated"
        if 0 <= action < self.pool.capacity and self.observation["action_mask"][action]:
            return ""
        return explain_illegal(self.graph, self.pool.capacity, self.eliminated, action)

    def play(self, action: int) -> int:
        """Eliminate vertex ``action``; returns the elimination's exact cost.

        Raises:
            IllegalAction: naming the vertex and the reason if the action is illegal.
        """
        reason = self.illegal_reason(action)
        if reason:
            raise IllegalAction(f"illegal action on graph {self.graph.name!r}: {reason}")
        self.state, observation = _advance(self.state, np.int32(action))
        self.observation = observation.as_dict()
        previous, self.cost = self.cost, game.total_cost(self.state)
        self.terminated = bool(self.state.terminated)
        return self.cost - previous

    def info(self) -> dict[str, Any]:
        """The env info: ``action_mask``, ``cost``, ``order`` and ``baselines``."""
        return {
            "action_mask": self.observation["action_mask"],
            "cost": self.cost,
            "order": self.order,
            "baselines": self.pool.baseline_costs(self.index),
        }

    def snapshot(self) -> Snapshot:
        """The episode now, for rendering."""
        return Snapshot(
            graph=self.graph,
            edges=self.observation["edges"],
            eliminated=self.eliminated,
            order=self.order,
            cost=self.cost,
            baselines=self.pool.baseline_costs(self.index),
            terminated=self.terminated,
        )

"""What the network sees: per-vertex features, per-game features and the structure codes.

Everything is derived from a :class:`~elimgym.game.GameState`, the game's normaliser ``scale``
(the cost of the best classical order of the graph, see :mod:`agents.alphazero.pool`) and the
node's heuristic :class:`~agents.alphazero.baseline.Completions` (what forward, reverse and
Markowitz would do from here). No feature depends on the capacity ``N`` or on the absolute size
of the costs, so one network serves every graph.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from graphs.lcg import Role

from elimgym import game
from elimgym.game import VERTEX_FEATURE_NAMES, GameState

from agents.alphazero.baseline import Completions, accumulated_cost
from agents.alphazero.config import BASELINE_POLICIES

__all__ = ["NetworkInput", "VERTEX_FEATURES", "GAME_FEATURES", "network_input"]

VERTEX_FEATURES = VERTEX_FEATURE_NAMES + (
    "topological_position",
    *(f"next_of_{name}" for name in BASELINE_POLICIES),
    "next_of_cheapest_completion",
)
"""Columns of :attr:`NetworkInput.vertices`: the game's observation features; the vertex's index
divided by the index of the last real vertex (0 = first input, 1 = last output); whether each
heuristic would eliminate the vertex next; whether the heuristic with the cheapest completion
would (all 0 when no completion was played)."""

GAME_FEATURES = (
    "fraction_eliminated",
    "paid_over_scale",
    "baseline_over_scale",
    "log1p_remaining_over_4",
    *(f"excess_of_{name}" for name in BASELINE_POLICIES),
)
"""Columns of :attr:`NetworkInput.game`: the fraction of intermediates already eliminated; the
cost paid so far over ``scale``; the baseline (cheapest completion over ``scale``);
``log1p(remaining intermediates) / 4``; for each heuristic, how much dearer its completion is than
the cheapest, ``min(log((c + 0.01) / (c_min + 0.01)), 4) / 4`` (1 when not played)."""


class NetworkInput(NamedTuple):
    """The network's input for one game (``N`` = capacity). Batch it with a leading axis.

    Attributes:
        edges: ``[N, N] int16``: structure code of edge ``s -> t`` (0 = none).
        vertices: ``[N, len(VERTEX_FEATURES)] float32``.
        game: ``[len(GAME_FEATURES)] float32``.
        real: ``[N] bool``: the slot holds a vertex (not padding).
        legal: ``[N] bool``: the vertex can be eliminated now (all False once the game is over).
    """

    edges: jax.Array
    vertices: jax.Array
    game: jax.Array
    real: jax.Array
    legal: jax.Array


def network_input(state: GameState, scale: jax.Array, completions: Completions) -> NetworkInput:
    """The network input of one (unbatched) state.

    Args:
        state: the game state (capacity ``N``).
        scale: ``[] float32``: the graph's normaliser (> 0).
        completions: the state's heuristic completions (unbatched: ``costs [P]``, ``first [P]``).
    """
    observation = game.observe(state)
    n = state.roles.shape[-1]
    index = jnp.arange(n)
    real = state.roles != Role.PAD
    last = jnp.maximum(jnp.max(jnp.where(real, index, 0)), 1).astype(jnp.float32)
    position = jnp.where(real, index.astype(jnp.float32) / last, 0.0)
    intermediates = state.roles == Role.INTERMEDIATE
    total = jnp.maximum(jnp.sum(intermediates), 1).astype(jnp.float32)
    remaining = jnp.sum(intermediates & ~state.eliminated).astype(jnp.float32)
    legal = intermediates & ~state.eliminated & ~state.terminated
    cheapest = jnp.min(completions.costs)
    played = jnp.isfinite(cheapest)
    baseline = jnp.where(played, cheapest, 0.0)
    next_of = (index[:, None] == completions.first[None, :]).astype(jnp.float32)
    best_first = completions.first[jnp.argmin(completions.costs)]
    next_of_best = ((index == best_first) & played).astype(jnp.float32)
    excess = jnp.log((completions.costs + 0.01) / (baseline + 0.01))
    excess = jnp.where(jnp.isfinite(completions.costs), jnp.minimum(excess, 4.0) / 4.0, 1.0)
    game_features = jnp.concatenate(
        [
            jnp.stack([1.0 - remaining / total, accumulated_cost(state) / scale, baseline, jnp.log1p(remaining) / 4.0]),
            excess,
        ]
    ).astype(jnp.float32)
    vertices = jnp.concatenate([observation.vertices, position[:, None], next_of, next_of_best[:, None]], axis=-1)
    return NetworkInput(edges=state.edges, vertices=vertices, game=game_features, real=real, legal=legal)

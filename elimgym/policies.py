"""The classical elimination orders as JAX policies, and rollouts of any policy.

A policy is a pure function ``(state, key) -> action``. ``forward`` and ``reverse`` eliminate the
intermediates in increasing / decreasing topological index; ``markowitz`` eliminates the vertex
with the fewest ``|predecessors| * |successors|`` in the *current* graph (dynamic Markowitz), ties
broken by the lowest index (the field's usual baseline), the highest, or uniformly at random.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from graphs.lcg import LCG, Role

from elimgym import game
from elimgym.game import GameState
from elimgym.orders import Order

__all__ = [
    "Policy",
    "forward",
    "reverse",
    "markowitz",
    "TIE_BREAKS",
    "Rollout",
    "rollout",
    "play",
    "baseline_costs",
]

Policy = Callable[[GameState, jax.Array], jax.Array]
TIE_BREAKS = ("lowest", "highest", "random")


def _candidates(state: GameState) -> jax.Array:
    return (state.roles == Role.INTERMEDIATE) & ~state.eliminated


def forward(state: GameState, key: jax.Array | None = None) -> jax.Array:
    """The lowest-index remaining intermediate (forward mode)."""
    del key
    return jnp.argmax(_candidates(state)).astype(jnp.int32)


def reverse(state: GameState, key: jax.Array | None = None) -> jax.Array:
    """The highest-index remaining intermediate (reverse mode)."""
    del key
    n = state.roles.shape[-1]
    return (n - 1 - jnp.argmax(_candidates(state)[::-1])).astype(jnp.int32)


@functools.lru_cache(maxsize=None)
def markowitz(tie_break: str = "lowest") -> Policy:
    """Dynamic Markowitz: the remaining intermediate with the smallest in-degree x out-degree.

    Args:
        tie_break: ``"lowest"`` index, ``"highest"`` index, or ``"random"`` (uniform among the
            minimisers; consumes the key).

    The same ``tie_break`` returns the same function object, so jitted rollouts are reused.
    """
    if tie_break not in TIE_BREAKS:
        raise ValueError(f"unknown Markowitz tie_break {tie_break!r}; choose one of {TIE_BREAKS}")

    def policy(state: GameState, key: jax.Array | None = None) -> jax.Array:
        n = state.roles.shape[-1]
        degree = (state.in_degree * state.out_degree).astype(jnp.float32)
        score = jnp.where(_candidates(state), degree, jnp.inf)
        if tie_break == "lowest":
            return jnp.argmin(score).astype(jnp.int32)
        if tie_break == "highest":
            return (n - 1 - jnp.argmin(score[::-1])).astype(jnp.int32)
        if key is None:
            raise ValueError("markowitz(tie_break='random') needs a PRNG key")
        noise = jax.random.uniform(key, (n,), minval=0.0, maxval=0.5)
        return jnp.argmin(score + noise).astype(jnp.int32)

    return policy


class Rollout(NamedTuple):
    """Result of :func:`rollout` (``N`` = capacity).

    Attributes:
        state: the final state (``state.order`` holds the order played).
        actions: ``[N] int32``: the action chosen at each of the ``N`` steps (no-ops after the end).
        rewards: ``[N] float32``.
    """

    state: GameState
    actions: jax.Array
    rewards: jax.Array


def rollout(state: GameState, policy: Policy, key: jax.Array | None = None) -> Rollout:
    """Play ``policy`` from ``state`` for ``N`` steps (enough to finish any graph) with ``lax.scan``."""
    n = state.roles.shape[-1]
    key = jax.random.PRNGKey(0) if key is None else key

    def body(carry, step_key):
        state = carry
        action = policy(state, step_key)
        state, reward, _ = game.step(state, action)
        return state, (action, reward)

    state, (actions, rewards) = jax.lax.scan(body, state, jax.random.split(key, n))
    return Rollout(state, actions, rewards)


_jitted_rollout = jax.jit(rollout, static_argnums=1)


def play(graph: LCG, policy: Policy, method: str = "", key: jax.Array | None = None, capacity: int | None = None) -> Order:
    """Play ``policy`` on ``graph`` to the end and return the order with its exact cost."""
    state = game.init(game.encode(graph, capacity))
    result = _jitted_rollout(state, policy, key)
    steps = int(result.state.num_steps)
    vertices = np.asarray(result.state.order)[:steps].tolist()
    return Order.for_graph(graph, vertices, cost=game.total_cost(result.state), method=method)


def baseline_costs(graph: LCG, capacity: int | None = None) -> dict[str, int]:
    """Costs of forward, reverse and Markowitz (lowest-index ties) on ``graph``."""
    policies = {"forward": forward, "reverse": reverse, "markowitz": markowitz("lowest")}
    return {name: play(graph, p, name, capacity=capacity).cost for name, p in policies.items()}

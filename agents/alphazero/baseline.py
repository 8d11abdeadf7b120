"""Heuristic completions: finishing a game with forward, reverse or Markowitz from any node.

Every node the search evaluates is also finished by each configured heuristic
(``SearchConfig.baseline_policies``). The cheapest completion is the node's *baseline*: a cost the
agent can certainly still achieve from there. The network sees the completions and the first move
of each heuristic, and its value head only learns how much better than the baseline it can do
(:func:`agents.alphazero.network.value_from_head`). So an untrained network already searches like
a rollout algorithm over the heuristics, and values stay meaningful across graphs whose costs
differ by orders of magnitude.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp

from elimgym import game, policies
from elimgym.game import GameState

from agents.alphazero.config import BASELINE_POLICIES

__all__ = ["Completions", "accumulated_cost", "next_actions", "play_out", "completion_costs", "complete", "baseline_of"]

_POLICIES = {
    "forward": policies.forward,
    "reverse": policies.reverse,
    "markowitz": policies.markowitz("lowest"),
}


class Completions(NamedTuple):
    """What the heuristics would do from each of ``B`` nodes (``P = len(BASELINE_POLICIES)``).

    Attributes:
        costs: ``[B, P] float32``: cost still to pay when heuristic ``p`` finishes the game,
            divided by the game's scale; ``+inf`` for heuristics not configured.
        first: ``[B, P] int32``: the vertex heuristic ``p`` would eliminate next.
    """

    costs: jax.Array
    first: jax.Array


def accumulated_cost(state: GameState) -> jax.Array:
    """``[...] float32``: the cost paid so far (exact up to float32 rounding)."""
    return state.cost_hi.astype(jnp.float32) * 65536.0 + state.cost_lo.astype(jnp.float32)


def next_actions(state: GameState) -> jax.Array:
    """``[P] int32``: the next move of each of :data:`BASELINE_POLICIES` in one (unbatched) state."""
    return jnp.stack([_POLICIES[name](state, None) for name in BASELINE_POLICIES]).astype(jnp.int32)


def play_out(states: GameState, names: Sequence[str]) -> GameState:
    """Finish every game with every heuristic of ``names``.

    Args:
        states: a batch of ``B`` states (leading axis on every leaf).
        names: heuristics from :data:`~agents.alphazero.config.BASELINE_POLICIES`.

    Returns:
        ``len(names) * B`` final states, heuristic-major (copy ``p * B + b`` is game ``b``
        finished by heuristic ``p``). All copies are stepped together in one ``while_loop`` that
        stops when every one has ended.
    """
    unknown = [n for n in names if n not in BASELINE_POLICIES]
    if unknown or not names:
        raise ValueError(f"play_out needs heuristics from {BASELINE_POLICIES}, got {list(names)}")
    num = len(names)
    batch = states.terminated.shape[0]
    tiled = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (num,) + x.shape).reshape((num * batch,) + x.shape[1:]), states)
    which = jnp.repeat(jnp.arange(num, dtype=jnp.int32), batch)
    chosen = [_POLICIES[n] for n in names]

    def choose(state: GameState, k: jax.Array) -> jax.Array:
        return jnp.stack([policy(state, None) for policy in chosen])[k]

    def unfinished(s: GameState) -> jax.Array:
        return ~jnp.all(s.terminated)

    def advance(s: GameState) -> GameState:
        return jax.vmap(game.step)(s, jax.vmap(choose)(s, which))[0]

    return jax.lax.while_loop(unfinished, advance, tiled)


def completion_costs(states: GameState, names: Sequence[str]) -> jax.Array:
    """``[len(names), B] float32``: multiplications still to pay when each heuristic of ``names``
    finishes each game (0 for finished games)."""
    final = play_out(states, names)
    batch = states.terminated.shape[0]
    return (accumulated_cost(final).reshape(len(names), batch) - accumulated_cost(states)[None, :])


def complete(states: GameState, scale: jax.Array, names: Sequence[str]) -> Completions:
    """:class:`Completions` of a batch of states; only the heuristics ``names`` are played out
    (none: every cost is ``+inf``)."""
    batch = states.terminated.shape[0]
    costs = jnp.full((batch, len(BASELINE_POLICIES)), jnp.inf, jnp.float32)
    if names:
        played = completion_costs(states, names) / scale[None, :]
        columns = jnp.array([BASELINE_POLICIES.index(n) for n in names])
        costs = costs.at[:, columns].set(played.T)
    return Completions(costs=costs, first=jax.vmap(next_actions)(states))


def baseline_of(completions: Completions) -> jax.Array:
    """``[B] float32``: the cheapest completion over scale (0 when no heuristic was played)."""
    best = jnp.min(completions.costs, axis=-1)
    return jnp.where(jnp.isfinite(best), best, 0.0)

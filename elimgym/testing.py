"""A contract test of the JAX game, shipped with the package (like ``pgx.api_test``).

:func:`check_game` plays random legal episodes on the given graphs, single and ``vmap``-ed, and
checks dtypes and shapes, mask invariants, step counts, finiteness, that rewards add up to the
exact total cost, that the host reference eliminator agrees, the illegal-action rule and that
stepping a finished game is a no-op. Use it on your own graphs::

    from elimgym.testing import check_game
    check_game([my_lcg], capacity=64)
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from graphs.lcg import LCG, Role

from elimgym import game, reference
from elimgym.game import GameState

__all__ = ["check_game", "random_legal_action"]

_STATE_DTYPES = {
    "edges": jnp.int16,
    "shapes": jnp.int32,
    "roles": jnp.int8,
    "eliminated": jnp.bool_,
    "in_degree": jnp.int32,
    "out_degree": jnp.int32,
    "order": jnp.int32,
    "num_steps": jnp.int32,
    "cost_hi": jnp.int32,
    "cost_lo": jnp.int32,
    "terminated": jnp.bool_,
    "illegal": jnp.bool_,
    "illegal_penalty": jnp.float32,
}


def random_legal_action(state: GameState, key: jax.Array) -> jax.Array:
    """A uniformly random legal action (any slot once the game has terminated)."""
    logits = jnp.where(game.legal_action_mask(state), 0.0, -jnp.inf)
    return jax.random.categorical(key, logits).astype(jnp.int32)


def _episode(state: GameState, key: jax.Array):
    def body(state, key):
        action = random_legal_action(state, key)
        mask = game.legal_action_mask(state)
        next_state, reward, terminated = game.step(state, action)
        return next_state, (action, reward, terminated, mask, next_state.in_degree, next_state.out_degree, next_state.edges)

    n = state.roles.shape[-1]
    return jax.lax.scan(body, state, jax.random.split(key, n))


_batched_episode = jax.jit(jax.vmap(_episode))
_single_episode = jax.jit(_episode)
_step = jax.jit(game.step)


def check_game(graphs: Sequence[LCG], capacity: int, episodes_per_graph: int = 2, seed: int = 0) -> None:
    """Play random legal episodes and check the game's contract; raise AssertionError if broken."""
    padded = [game.encode(g, capacity) for g in graphs]
    stacked = jax.tree_util.tree_map(lambda *xs: np.stack(xs), *padded)
    keys = jax.random.split(jax.random.PRNGKey(seed), episodes_per_graph)
    for episode in range(episodes_per_graph):
        states = jax.vmap(game.init)(stacked)
        for field, dtype in _STATE_DTYPES.items():
            actual = getattr(states, field).dtype
            assert actual == dtype, f"GameState.{field} has dtype {actual}, expected {dtype}"
        batch_keys = jax.random.split(keys[episode], len(graphs))
        final, (actions, rewards, terminated, masks, in_deg, out_deg, edges) = _batched_episode(states, batch_keys)
        for b, graph in enumerate(graphs):
            _check_one(graph, capacity, jax.tree_util.tree_map(lambda x: x[b], final), np.asarray(actions[b]),
                       np.asarray(rewards[b]), np.asarray(terminated[b]), np.asarray(masks[b]),
                       np.asarray(in_deg[b]), np.asarray(out_deg[b]), np.asarray(edges[b]))
        single_final, (single_actions, *_) = _single_episode(jax.tree_util.tree_map(lambda x: x[0], states), batch_keys[0])
        assert np.array_equal(np.asarray(single_actions), np.asarray(actions[0])), "vmapped and single episodes diverge"
        assert game.total_cost(single_final) == int(game.total_cost(final)[0]), "vmapped and single costs differ"
    _check_illegal_actions(padded[0], graphs[0])


def _check_one(graph, capacity, final, actions, rewards, terminated, masks, in_deg, out_deg, edges) -> None:
    name = graph.name
    intermediates = set(graph.intermediates)
    k = len(intermediates)
    assert bool(final.terminated), f"{name}: not terminated after {capacity} random legal steps"
    assert int(final.num_steps) == k, f"{name}: {int(final.num_steps)} steps for {k} intermediates"
    order = [int(v) for v in np.asarray(final.order)[:k]]
    assert sorted(order) == sorted(intermediates), f"{name}: the recorded order is not a permutation of the intermediates"
    assert order == [int(a) for a in actions[:k]], f"{name}: the recorded order differs from the actions"
    assert np.all(np.asarray(final.order)[k:] == -1), f"{name}: order has entries after the last step"
    assert np.all(np.isfinite(rewards)), f"{name}: non-finite reward"
    assert np.all(rewards[k:] == 0), f"{name}: stepping a finished game gave a reward"
    assert np.all(terminated[k - 1 :]) and not np.any(terminated[: k - 1]), f"{name}: terminated flag at the wrong step"
    exact = game.total_cost(final)
    assert abs(-float(rewards.sum()) - exact) <= 1e-6 * max(exact, 1), f"{name}: rewards sum to {-rewards.sum()}, total cost {exact}"
    expected, _ = reference.play(graph, order)
    assert exact == expected, f"{name}: JAX game cost {exact} != reference {expected} for order {order}"
    roles = np.asarray(final.roles)
    for t in range(k):
        legal = masks[t]
        assert not np.any(legal & (roles != Role.INTERMEDIATE)), f"{name}: a non-intermediate is legal at step {t}"
        assert legal.sum() == k - t, f"{name}: {legal.sum()} legal actions at step {t}, expected {k - t}"
        present = edges[t] != 0
        assert np.array_equal(present.sum(0), in_deg[t]), f"{name}: in-degrees drift at step {t}"
        assert np.array_equal(present.sum(1), out_deg[t]), f"{name}: out-degrees drift at step {t}"
    assert np.all(masks[k:]), f"{name}: the mask of a finished game is not all True"


def _check_illegal_actions(padded, graph: LCG) -> None:
    state = game.init(padded, illegal_penalty=7.0)
    if bool(state.terminated):
        return
    illegal_actions = [-1, padded.capacity, *graph.inputs, *graph.outputs]
    if graph.num_vertices < padded.capacity:
        illegal_actions.append(graph.num_vertices)
    for action in illegal_actions:
        next_state, reward, terminated = _step(state, jnp.int32(action))
        assert bool(next_state.illegal), f"{graph.name}: action {action} not flagged illegal"
        assert float(reward) == -7.0, f"{graph.name}: illegal action {action} gave reward {float(reward)}"
        unchanged = next_state._replace(illegal=state.illegal)
        same = jax.tree_util.tree_map(lambda a, b: bool(jnp.array_equal(a, b)), unchanged, state)
        assert all(jax.tree_util.tree_leaves(same)), f"{graph.name}: illegal action {action} changed the state"
        assert not bool(terminated)
    v = graph.intermediates[0]
    once, _, _ = _step(state, jnp.int32(v))
    twice, reward, _ = _step(once, jnp.int32(v))
    assert bool(twice.illegal) and float(reward) == -7.0, f"{graph.name}: eliminating {v} twice was not illegal"

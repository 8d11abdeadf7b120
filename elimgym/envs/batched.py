"""A JAX-native batched environment with autoreset: pure functions, no host transfers.

For JAX agents that keep everything on the device: ``reset`` and ``step`` are pure functions of
pytrees, so they compose with ``jit``, ``lax.scan`` and ``vmap`` (``B`` = number of envs, ``N`` =
capacity, ``G`` = graphs in the pool)::

    import jax, jax.numpy as jnp, elimgym
    from elimgym.envs import batched

    params = batched.make_params("VertexElim-RoeFlux-v0")
    key = jax.random.PRNGKey(0)
    state, obs = batched.reset(params, key, num_envs=512)

    def body(carry, key):
        state, obs = carry
        action_key, reset_key = jax.random.split(key)
        logits = jnp.where(obs.action_mask, 0.0, -jnp.inf)
        action = jax.random.categorical(action_key, logits)
        state, obs, reward, terminated = batched.step(params, state, action, reset_key)
        return (state, obs), reward

    (state, obs), rewards = jax.lax.scan(body, (state, obs), jax.random.split(key, 1000))

Semantics are Gymnasium's next-step autoreset: the step that ends an episode returns its final
observation with ``terminated = True``; the *next* step ignores that env's action, starts a new
episode on a graph drawn uniformly from the pool with the step's key, and returns the new
episode's first observation with reward 0 and ``terminated = False``. Episodes never truncate.

Observation: :class:`elimgym.game.Observation` (``edges [B, N, N] int16`` codes, ``vertices
[B, N, F] float32``, ``action_mask [B, N] bool``); see :mod:`elimgym.envs.layout` for the columns.
Reward: ``[B] float32``, minus the elimination's multiplications divided by the graph's reward
scale (:attr:`EnvParams.reward_scale`); an illegal action gives ``-illegal_penalty`` and, with
``terminate_on_illegal``, ends the episode (otherwise the state is unchanged, the game's rule).
The exact integer cost so far is ``elimgym.game.total_cost(state.game)`` (host-side).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from graphs.lcg import LCG

from elimgym import game
from elimgym.envs.pool import BASELINE_NAMES, GraphPool, graph_pool
from elimgym.envs.rewards import RewardRule
from elimgym.game import GameState, Observation

__all__ = [
    "EnvParams",
    "EnvState",
    "make_params",
    "params_for_pool",
    "initial_states",
    "start",
    "reset",
    "step",
    "restart",
    "reset_envs",
    "autoreset_step",
    "step_with_reset_index",
]


class EnvParams(NamedTuple):
    """What the batched env plays (a pytree of device arrays; ``G`` graphs of capacity ``N``).

    Attributes:
        initial: :class:`GameState` with leaves ``[G, ...]``: the initial state of each graph.
        reward_scale: ``[G] float32``: rewards are minus multiplications divided by this.
        illegal_penalty: ``[G] float32``: reward magnitude of an illegal action (in reward units).
        terminate_on_illegal: ``[] bool``: an illegal action ends the episode.
    """

    initial: GameState
    reward_scale: jax.Array
    illegal_penalty: jax.Array
    terminate_on_illegal: jax.Array

    @property
    def num_graphs(self) -> int:
        return int(self.reward_scale.shape[0])

    @property
    def capacity(self) -> int:
        return int(self.initial.roles.shape[-1])


class EnvState(NamedTuple):
    """State of ``B`` batched envs.

    Attributes:
        game: :class:`GameState` with leaves ``[B, ...]``.
        graph_index: ``[B] int32``: the pool graph each env plays.
        autoreset: ``[B] bool``: the env's episode ended at the last step; the next step resets it.
    """

    game: GameState
    graph_index: jax.Array
    autoreset: jax.Array


def params_for_pool(pool: GraphPool, rule: RewardRule = RewardRule(), terminate_on_illegal: bool = True) -> EnvParams:
    """The :class:`EnvParams` of ``pool``; computes the baselines of every graph if ``rule``
    needs them."""
    baselines = pool.baselines if rule.needs_baselines else np.zeros((len(pool), len(BASELINE_NAMES)), np.int64)
    return EnvParams(
        initial=pool.initial,
        reward_scale=jnp.asarray(rule.scales(baselines), jnp.float32),
        illegal_penalty=jnp.asarray(rule.penalties(baselines), jnp.float32),
        terminate_on_illegal=jnp.asarray(terminate_on_illegal),
    )


def make_params(
    env_id: str | None = None,
    *,
    graph: LCG | str | os.PathLike | None = None,
    task: str | None = None,
    split: str | None = None,
    band: str | None = None,
    capacity: int | None = None,
    reward_scaling: str | float = "raw",
    illegal_penalty: float | None = None,
    terminate_on_illegal: bool = True,
) -> EnvParams:
    """The :class:`EnvParams` of a registered id (``"VertexElim-RoeFlux-v0"``...) or of a graph
    source given like the Gymnasium env's keyword arguments (``graph=``, ``task=``, ``split=``).

    Keyword arguments override the registered ones (e.g. ``make_params("VertexElim-Random-v0",
    band="small")``).
    """
    sources = {"graph": graph, "task": task, "split": split, "band": band, "capacity": capacity}
    if env_id is not None:
        from gymnasium.envs.registration import spec

        registered = {k: v for k, v in spec(env_id).kwargs.items() if k in sources}
        sources = {**registered, **{k: v for k, v in sources.items() if v is not None}}
    pool = graph_pool(**sources)
    return params_for_pool(pool, RewardRule(reward_scaling, illegal_penalty), terminate_on_illegal)


# ------------------------------------------------------------------------------ functions
def _gather(tree: GameState, index: jax.Array) -> GameState:
    return jax.tree_util.tree_map(lambda x: x[index], tree)


def _select(mask: jax.Array, on_true: GameState, on_false: GameState) -> GameState:
    """Per-env choice between two batched states (``mask`` is ``[B] bool``)."""

    def pick(a: jax.Array, b: jax.Array) -> jax.Array:
        return jnp.where(mask.reshape(mask.shape + (1,) * (a.ndim - 1)), a, b)

    return jax.tree_util.tree_map(pick, on_true, on_false)


def _sample_graphs(params: EnvParams, key: jax.Array, num_envs: int) -> jax.Array:
    return jax.random.randint(key, (num_envs,), 0, params.reward_scale.shape[0], dtype=jnp.int32)


def _observe(state: GameState) -> Observation:
    return jax.vmap(game.observe)(state)


def initial_states(params: EnvParams, graph_index: jax.Array) -> GameState:
    """The initial states of the pool graphs ``graph_index`` (``[B] int32``): leaves ``[B, ...]``."""
    return _gather(params.initial, jnp.asarray(graph_index, jnp.int32))


def restart(state: EnvState, mask: jax.Array, fresh: GameState, graph_index: jax.Array) -> tuple[EnvState, Observation]:
    """Restart the envs where ``mask`` (``[B] bool``) is True from ``fresh`` (initial states,
    leaves ``[B, ...]``) on graphs ``graph_index`` (``[B] int32``); the other envs are unchanged."""
    index = jnp.where(mask, graph_index, state.graph_index).astype(jnp.int32)
    game_state = _select(mask, fresh, state.game)
    return EnvState(game_state, index, state.autoreset & ~mask), _observe(game_state)


def reset_envs(params: EnvParams, state: EnvState, mask: jax.Array, graph_index: jax.Array) -> tuple[EnvState, Observation]:
    """Start new episodes in the envs where ``mask`` (``[B] bool``) is True, on the graphs
    ``graph_index`` (``[B] int32``, read where ``mask`` is True); the other envs are unchanged."""
    return restart(state, mask, initial_states(params, graph_index), graph_index)


def start(params: EnvParams, graph_index: jax.Array) -> tuple[EnvState, Observation]:
    """New episodes on the pool graphs ``graph_index`` (``[B] int32``), one env each."""
    index = jnp.asarray(graph_index, jnp.int32)
    game_state = initial_states(params, index)
    return EnvState(game_state, index, jnp.zeros(index.shape, bool)), _observe(game_state)


def reset(params: EnvParams, key: jax.Array, num_envs: int) -> tuple[EnvState, Observation]:
    """``num_envs`` new episodes, each on a graph drawn uniformly from the pool with ``key``
    (``num_envs`` is static under ``jit``)."""
    return start(params, _sample_graphs(params, key, num_envs))


def autoreset_step(
    state: EnvState,
    action: jax.Array,
    reset_index: jax.Array,
    fresh: Callable[[jax.Array], GameState],
    terminate_on_illegal: jax.Array,
) -> tuple[EnvState, jax.Array, jax.Array]:
    """The transition of :func:`step` without rewards, for callers that supply the initial states.

    Args:
        state: the current state.
        action: ``[B]`` vertex indices (ignored for envs that autoreset now).
        reset_index: ``[B] int32``: the graphs of the envs that autoreset now (read where
            ``state.autoreset``).
        fresh: maps the ``[B]`` graph indices to their initial states (leaves ``[B, ...]``); only
            evaluated when some env autoresets.
        terminate_on_illegal: ``[] bool``.

    Returns:
        ``(state, game_reward, illegal)``: the next state, the game's ``[B] float32`` reward
        (minus the multiplications) and ``[B] bool`` illegal flags, both of the stepped envs
        (meaningless where the env autoreset).
    """
    stepped, game_reward, _ = jax.vmap(game.step)(state.game, action.astype(jnp.int32))
    terminated = stepped.terminated | (stepped.illegal & terminate_on_illegal)
    resetting = state.autoreset
    index = jnp.where(resetting, reset_index, state.graph_index).astype(jnp.int32)
    game_state = jax.lax.cond(jnp.any(resetting), lambda s: _select(resetting, fresh(index), s), lambda s: s, stepped)
    return EnvState(game_state, index, terminated & ~resetting), game_reward, stepped.illegal


def step_with_reset_index(
    params: EnvParams, state: EnvState, action: jax.Array, reset_index: jax.Array
) -> tuple[EnvState, Observation, jax.Array, jax.Array]:
    """:func:`step` with the graphs of the envs that autoreset given (``reset_index``, ``[B] int32``,
    read where ``state.autoreset``) instead of drawn from a key."""
    new_state, game_reward, illegal = autoreset_step(
        state, action, reset_index, lambda index: initial_states(params, index), params.terminate_on_illegal
    )
    scale = params.reward_scale[state.graph_index]
    penalty = params.illegal_penalty[state.graph_index]
    reward = jnp.where(illegal, -penalty, game_reward / scale)
    reward = jnp.where(state.autoreset, 0.0, reward).astype(jnp.float32)
    return new_state, _observe(new_state.game), reward, new_state.autoreset


def step(
    params: EnvParams, state: EnvState, action: jax.Array, key: jax.Array
) -> tuple[EnvState, Observation, jax.Array, jax.Array]:
    """One step of every env (next-step autoreset; see the module docstring).

    Args:
        params: what the envs play.
        state: the current state.
        action: ``[B]`` integer vertex indices (ignored for envs that autoreset now).
        key: consumed to draw the graphs of the envs that autoreset now.

    Returns:
        ``(state, observation, reward [B] float32, terminated [B] bool)``.
    """
    reset_index = _sample_graphs(params, key, action.shape[0])
    return step_with_reset_index(params, state, action, reset_index)

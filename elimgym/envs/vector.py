"""The Gymnasium vector environment, backed by the batched JAX game (``gym.make_vec``).

``gym.make_vec("VertexElim-RoeFlux-v0", num_envs=512)`` returns a :class:`VertexElimVectorEnv`:
all envs step in one jitted call of :func:`elimgym.envs.batched.autoreset_step` (the
state stays on the device and is updated in place), and each step copies one observation batch
to the host (edges as ``uint8``). It behaves exactly like
``gym.make_vec(id, num_envs, vectorization_mode="sync")`` over :class:`VertexElimEnv` with the same
seeds and actions — observations, rewards, terminations, infos and graph draws — only faster:

* Autoreset: ``AutoresetMode.NEXT_STEP`` (``metadata["autoreset_mode"]``). The step that ends an
  episode returns its last observation with ``terminated[i] = True``; the next step ignores
  ``actions[i]`` and returns the first observation of a new episode, reward 0, not terminated.
* Rewards are ``float64``, computed on the host from the exact integer costs.
* Infos: ``action_mask [B, N] int8``, ``cost [B] int64``, ``order [B, N] int32``, ``baselines``
  (``{"forward", "reverse", "markowitz"}`` of ``[B] int64``) and ``illegal [B] bool``, each with
  Gymnasium's ``_key`` mask (all True).
* Observation arrays are read-only views of fresh device buffers (no copy); copy them before
  writing into them.
"""

from __future__ import annotations

import functools
import os
from typing import Any, NamedTuple

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from graphs.lcg import LCG

from elimgym import game
from elimgym.envs import batched, rendering
from elimgym.envs.episode import IllegalAction, explain_illegal
from elimgym.envs.layout import VERTEX_FEATURE_NAMES, LayoutObservation, observation_space, to_layout
from elimgym.envs.pool import BASELINE_NAMES, GraphPool, graph_pool
from elimgym.envs.rewards import RewardRule
from elimgym.envs.single import check_illegal_policy

__all__ = ["VertexElimVectorEnv"]

_ELIMINATED_COLUMN = VERTEX_FEATURE_NAMES.index("eliminated")


class _HostView(NamedTuple):
    """Everything the host reads after a step (fresh buffers, never donated; ``B`` envs)."""

    observation: LayoutObservation
    cost_hi: jax.Array  # [B] int32: high limb of the exact cost (read with game.total_cost)
    cost_lo: jax.Array  # [B] int32: low limb
    terminated: jax.Array  # [B] bool: the episode ended at this step (the env autoresets next)
    illegal: jax.Array  # [B] bool: the step's action was illegal (penalized)
    order: jax.Array  # [B, N] int32


def _host_view(state: batched.EnvState, observation: game.Observation) -> _HostView:
    g = state.game
    return _HostView(to_layout(observation), g.cost_hi, g.cost_lo, state.autoreset, g.illegal, g.order)


@jax.jit
def _initial_states(initial: game.GameState, graph_index: jax.Array) -> game.GameState:
    """The initial states (leaves ``[G, ...]``) of graphs ``graph_index`` (``[B]``): leaves
    ``[B, ...]`` (compiled per pool size; a gather, quick to compile)."""
    return jax.tree_util.tree_map(lambda x: x[graph_index], initial)


@functools.partial(jax.jit, donate_argnums=0)
def _step(state: batched.EnvState, action: jax.Array, reset_index: jax.Array, fresh: game.GameState, terminate_on_illegal: jax.Array) -> tuple[batched.EnvState, _HostView]:
    """One step of every env; ``fresh`` holds the initial states of the envs that autoreset now
    (so that this function, the expensive one to compile, does not depend on the pool's size)."""
    state, _, _ = batched.autoreset_step(state, action, reset_index, lambda index: fresh, terminate_on_illegal)
    observation = jax.vmap(game.observe)(state.game)
    return state, _host_view(state, observation)


@jax.jit
def _start(fresh: game.GameState, graph_index: jax.Array) -> tuple[batched.EnvState, _HostView]:
    state = batched.EnvState(fresh, graph_index, jnp.zeros(graph_index.shape, bool))
    return state, _host_view(state, jax.vmap(game.observe)(fresh))


@functools.partial(jax.jit, donate_argnums=0)
def _restart(state: batched.EnvState, mask: jax.Array, fresh: game.GameState, graph_index: jax.Array) -> tuple[batched.EnvState, _HostView]:
    state, observation = batched.restart(state, mask, fresh, graph_index)
    return state, _host_view(state, observation)


class VertexElimVectorEnv(gym.vector.VectorEnv):
    """``num_envs`` copies of :class:`~elimgym.envs.single.VertexElimEnv` stepped together by the
    batched JAX game (same keyword arguments; see the module docstring for the semantics).

    Example::

        >>> import gymnasium as gym, numpy as np, elimgym
        >>> envs = gym.make_vec("VertexElim-RoeFlux-v0", num_envs=8)
        >>> obs, info = envs.reset(seed=0)
        >>> rng = np.random.default_rng(0)
        >>> actions = [rng.choice(np.flatnonzero(m)) for m in obs["action_mask"]]
        >>> obs, rewards, terminations, truncations, info = envs.step(actions)
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": list(rendering.RENDER_MODES)}

    def __init__(
        self,
        num_envs: int = 1,
        graph: LCG | str | os.PathLike | None = None,
        *,
        task: str | None = None,
        split: str | None = None,
        band: str | None = None,
        capacity: int | None = None,
        reward_scaling: str | float = "raw",
        illegal: str = "raise",
        illegal_penalty: float | None = None,
        render_mode: str | None = None,
    ) -> None:
        if not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        self.num_envs = int(num_envs)
        self.pool: GraphPool = graph_pool(graph=graph, task=task, split=split, band=band, capacity=capacity)
        self.illegal = check_illegal_policy(illegal)
        self.reward_rule = RewardRule(reward_scaling, illegal_penalty)
        self.render_mode = rendering.check_render_mode(render_mode)
        self.capacity = self.pool.capacity
        self.single_observation_space = observation_space(self.capacity)
        self.single_action_space = spaces.Discrete(self.capacity)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        # Rewards and penalties are applied on the host from exact costs; the device only needs
        # the graphs' initial states and the illegal-action rule.
        self._terminate_on_illegal = jnp.asarray(self.illegal == "penalize")
        self._fresh: game.GameState | None = None
        self._rngs: list[np.random.Generator | None] = [None] * self.num_envs
        self._state: batched.EnvState | None = None
        self._view: dict[str, Any] = {}
        self._graph_index = np.zeros(self.num_envs, np.int64)
        self._cost = np.zeros(self.num_envs, np.int64)
        self._autoreset = np.zeros(self.num_envs, bool)
        self._baselines = np.zeros((self.num_envs, len(BASELINE_NAMES)), np.int64)
        self._scale = np.ones(self.num_envs, np.float64)
        self._penalty = np.zeros(self.num_envs, np.float64)

    # ------------------------------------------------------------------------ Gymnasium API
    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Reset every env, or those of ``options["reset_mask"]`` (``[B] bool``).

        Seeds follow :class:`gymnasium.vector.SyncVectorEnv`: an int seeds env ``i`` with
        ``seed + i``, a list gives one seed (or ``None``) per env.
        """
        seeds = self._seeds(seed)
        mask = self._reset_mask(options)
        for i in np.flatnonzero(mask):
            if seeds[i] is not None or self._rngs[i] is None:
                self._rngs[i] = seeding.np_random(seeds[i])[0]
        index = self._draw_graphs(mask).astype(np.int32)
        self._fresh = _initial_states(self.pool.initial, index)
        if self._state is None or mask.all():
            self._state, view = _start(self._fresh, index)
        else:
            self._state, view = _restart(self._state, mask, self._fresh, index)
        self._autoreset &= ~mask
        self._adopt(mask, index)
        host = self._read(view)
        return self._observation(host), self._info(host)

    def step(self, actions: Any) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step every env (envs whose episode ended at the last step start a new one instead)."""
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        actions = self._check_actions(actions)
        resetting = self._autoreset.copy()
        index = self._draw_graphs(resetting).astype(np.int32)
        if resetting.any():
            self._fresh = _initial_states(self.pool.initial, index)
        action = np.clip(actions, -1, self.capacity).astype(np.int32)
        self._state, view = _step(self._state, action, index, self._fresh, self._terminate_on_illegal)
        self._adopt(resetting, index)
        host = self._read(view)
        cost = host["cost"]
        step_cost = cost - np.where(resetting, cost, self._cost)
        rewards = np.where(host["illegal"], -self._penalty, (-step_cost) / self._scale)
        rewards[resetting] = 0.0
        self._cost = cost
        terminated = host["terminated"].copy()
        truncated = np.zeros(self.num_envs, bool)
        self._autoreset = terminated | truncated
        return self._observation(host), rewards, terminated, truncated, self._info(host)

    def render(self) -> tuple[str | np.ndarray, ...] | None:
        """One rendering per env (``render_mode`` ``"ansi"`` or ``"rgb_array"``)."""
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='ansi' or 'rgb_array' to gym.make_vec")
            return None
        return tuple(rendering.render(self.snapshot(i), self.render_mode) for i in range(self.num_envs))

    def close_extras(self, **kwargs: Any) -> None:
        self._state = None
        self._fresh = None

    # ------------------------------------------------------------------------------ helpers
    def action_masks(self) -> np.ndarray:
        """``[B, N] bool``: the legal actions of every env."""
        return self._require_view()["action_mask"].astype(bool)

    def snapshot(self, i: int) -> rendering.Snapshot:
        """Env ``i`` now, for rendering."""
        view = self._require_view()
        graph_index = int(self._graph_index[i])
        return rendering.Snapshot(
            graph=self.pool.graphs[graph_index],
            edges=view["edges"][i],
            eliminated=view["vertices"][i, :, _ELIMINATED_COLUMN] > 0.5,
            order=view["order"][i],
            cost=int(view["cost"][i]),
            baselines=self.pool.baseline_costs(graph_index),
            terminated=bool(view["terminated"][i]),
        )

    def _require_view(self) -> dict[str, Any]:
        if not self._view:
            raise RuntimeError("call reset() first")
        return self._view

    def _seeds(self, seed: int | list[int | None] | None) -> list[int | None]:
        if seed is None:
            return [None] * self.num_envs
        if isinstance(seed, (int, np.integer)):
            return [int(seed) + i for i in range(self.num_envs)]
        seeds = list(seed)
        if len(seeds) != self.num_envs:
            raise ValueError(f"got {len(seeds)} seeds for {self.num_envs} envs")
        return seeds

    def _reset_mask(self, options: dict[str, Any] | None) -> np.ndarray:
        mask = (options or {}).get("reset_mask")
        if mask is None:
            return np.ones(self.num_envs, bool)
        if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.shape != (self.num_envs,):
            raise ValueError(f"options['reset_mask'] must be a bool NumPy array of shape ({self.num_envs},)")
        if not mask.any():
            raise ValueError("options['reset_mask'] must select at least one env")
        if self._state is None and not mask.all():
            raise ValueError("the first reset() must reset every env (no reset_mask)")
        return mask

    def _draw_graphs(self, mask: np.ndarray) -> np.ndarray:
        """``[B] int64``: a pool graph for every env of ``mask`` (each drawn with the env's own
        generator, as the single env does), the current graph elsewhere."""
        index = self._graph_index.copy()
        if len(self.pool) > 1:
            for i in np.flatnonzero(mask):
                index[i] = self._rngs[i].integers(len(self.pool))
        return index

    def _adopt(self, mask: np.ndarray, index: np.ndarray) -> None:
        """Record that the envs of ``mask`` started episodes on graphs ``index``."""
        if not mask.any():
            return
        self._graph_index = index
        self._cost[mask] = 0
        baselines = self.pool.baselines_for(index[mask])
        self._baselines[mask] = baselines
        self._scale[mask] = self.reward_rule.scales(baselines)
        self._penalty[mask] = self.reward_rule.penalties(baselines)

    def _read(self, view: _HostView) -> dict[str, Any]:
        """The step's results on the host (one transfer; observation arrays are not copied)."""
        host = jax.device_get(view)
        self._view = {
            **host.observation._asdict(),
            "cost": game.total_cost(host),
            "terminated": np.asarray(host.terminated),
            "illegal": np.asarray(host.illegal),
            "order": np.asarray(host.order),
        }
        return self._view

    def _check_actions(self, actions: Any) -> np.ndarray:
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,) or not np.issubdtype(actions.dtype, np.integer):
            raise TypeError(f"actions must be {self.num_envs} integer vertex indices, got {actions!r}")
        if self.illegal == "raise":
            mask = self._view["action_mask"]
            in_range = (actions >= 0) & (actions < self.capacity)
            legal = in_range & (mask[np.arange(self.num_envs), np.clip(actions, 0, self.capacity - 1)] == 1)
            bad = np.flatnonzero(~legal & ~self._autoreset)
            if bad.size:
                i = int(bad[0])
                snapshot = self.snapshot(i)
                reason = explain_illegal(snapshot.graph, self.capacity, snapshot.eliminated, int(actions[i]))
                raise IllegalAction(f"illegal action in env {i} (graph {snapshot.graph.name!r}): {reason}")
        return actions

    @staticmethod
    def _observation(host: dict[str, Any]) -> dict[str, np.ndarray]:
        return {"edges": host["edges"], "vertices": host["vertices"], "action_mask": host["action_mask"]}

    def _info(self, host: dict[str, Any]) -> dict[str, Any]:
        present = functools.partial(np.ones, self.num_envs, bool)
        baselines: dict[str, Any] = {}
        for k, name in enumerate(BASELINE_NAMES):
            baselines[name] = self._baselines[:, k].copy()
            baselines[f"_{name}"] = present()
        return {
            "action_mask": host["action_mask"],
            "_action_mask": present(),
            "cost": host["cost"].copy(),
            "_cost": present(),
            "order": host["order"],
            "_order": present(),
            "baselines": baselines,
            "_baselines": present(),
            "illegal": host["illegal"].copy(),
            "_illegal": present(),
        }

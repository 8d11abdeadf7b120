"""The Gymnasium environment: cross-country vertex elimination on one graph at a time.

Observation
    ``Dict`` of ``"edges" [N, N] uint8`` structure codes, ``"vertices" [N, 12] float32``
    features and ``"action_mask" [N] int8`` (layout: :mod:`elimgym.envs.layout`), ``N`` being
    the capacity.
Action
    ``Discrete(N)``: the vertex to eliminate. Legal: an intermediate vertex not yet eliminated
    (``action_mask``, also in ``info["action_mask"]`` and from :meth:`VertexElimEnv.action_masks`).
Reward
    Minus the elimination's scalar multiplications (``reward_scaling="raw"``), or divided by the
    graph's Markowitz / forward / reverse cost (``"markowitz"``, ...), or by a constant (a float).
    The undiscounted return of an episode is minus the Jacobian's total cost (scaled).
Termination
    When no intermediate vertex is left (after exactly as many steps as the graph has
    intermediates). Never truncated.
Illegal actions
    ``illegal="raise"`` (default) raises :class:`elimgym.reference.IllegalAction` naming the
    vertex and why; ``illegal="penalize"`` gives ``-illegal_penalty`` and terminates the episode.
Info
    ``action_mask`` (as in the observation), ``cost`` (exact multiplications so far, unscaled),
    ``order`` (``[N] int32``: eliminated vertices in order, then -1), ``baselines`` (``{"forward",
    "reverse", "markowitz"}`` costs of the graph) and ``illegal`` (the last action was illegal).

Version history
    v0: first version.
"""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from graphs.lcg import LCG

from elimgym.envs import rendering
from elimgym.envs.episode import Episode, as_action
from elimgym.envs.layout import observation_space
from elimgym.envs.pool import GraphPool, graph_pool
from elimgym.envs.rewards import RewardRule

__all__ = ["ILLEGAL_POLICIES", "VertexElimEnv"]

ILLEGAL_POLICIES = ("raise", "penalize")
"""What an env does with an illegal action: raise an error, or penalize and terminate."""


def check_illegal_policy(illegal: str) -> str:
    """``illegal`` if it is one of :data:`ILLEGAL_POLICIES`, else a ``ValueError``."""
    if illegal not in ILLEGAL_POLICIES:
        raise ValueError(f"unknown illegal-action policy {illegal!r}; use one of {ILLEGAL_POLICIES}")
    return illegal


class VertexElimEnv(gym.Env[dict[str, np.ndarray], np.int64]):
    """Eliminate the intermediate vertices of a graph one by one, paying each elimination's
    multiplications (see the module docstring for spaces, reward and termination).

    Args:
        graph: play this LCG or graph file (``VertexElim-v0``).
        task: play this benchmark task's stored graph (``VertexElim-<Task>-v0``).
        split: play a new graph of this random split at every reset (``VertexElim-Random-v0``).
        band: the size band of ``split`` (``None``: all bands).
        capacity: padded size ``N`` (default: the largest graph rounded up to a multiple of 8).
        reward_scaling: ``"raw"``, ``"markowitz"``, ``"forward"``, ``"reverse"`` or a positive float.
        illegal: ``"raise"`` or ``"penalize"``.
        illegal_penalty: penalty of an illegal action in reward units (default: the graph's worst
            baseline cost, scaled).
        render_mode: ``"ansi"`` or ``"rgb_array"``.

    Example::

        >>> import gymnasium as gym, elimgym
        >>> env = gym.make("VertexElim-RoeFlux-v0")
        >>> obs, info = env.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = env.step(int(obs["action_mask"].argmax()))
    """

    metadata = {"render_modes": list(rendering.RENDER_MODES), "render_fps": 4}

    def __init__(
        self,
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
        self.pool: GraphPool = graph_pool(graph=graph, task=task, split=split, band=band, capacity=capacity)
        self.illegal = check_illegal_policy(illegal)
        self.reward_rule = RewardRule(reward_scaling, illegal_penalty)
        self.render_mode = rendering.check_render_mode(render_mode)
        self.capacity = self.pool.capacity
        self.observation_space = observation_space(self.capacity)
        self.action_space = spaces.Discrete(self.capacity)
        self.episode: Episode | None = None
        self._last_illegal = False
        self._scale = 1.0
        self._penalty = 0.0

    # ------------------------------------------------------------------------ Gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Start an episode (on a graph drawn with ``self.np_random`` when the pool has several)."""
        super().reset(seed=seed, options=options)
        index = int(self.np_random.integers(len(self.pool))) if len(self.pool) > 1 else 0
        self.episode = Episode(self.pool, index)
        self._last_illegal = False
        baselines = self.pool.baselines_for([index])
        self._scale = float(self.reward_rule.scales(baselines)[0])
        self._penalty = float(self.reward_rule.penalties(baselines)[0])
        return self._observation(), self._info()

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Eliminate vertex ``action``."""
        episode = self._require_episode()
        if episode.terminated or self._last_illegal:
            raise RuntimeError("the episode has terminated; call reset() before stepping again")
        vertex = as_action(action)
        if self.illegal == "penalize" and episode.illegal_reason(vertex):
            self._last_illegal = True
            reward = -self._penalty
            # The state is unchanged, but every step returns new arrays.
            episode.observation = {key: value.copy() for key, value in episode.observation.items()}
        else:
            cost = episode.play(vertex)
            reward = (-cost) / self._scale
        terminated = episode.terminated or self._last_illegal
        return self._observation(), reward, terminated, False, self._info()

    def render(self) -> str | np.ndarray | None:
        """The current state as text (``"ansi"``) or as a picture (``"rgb_array"``)."""
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='ansi' or 'rgb_array' to gym.make")
            return None
        return rendering.render(self._require_episode().snapshot(), self.render_mode)

    # ------------------------------------------------------------------------------ helpers
    def action_masks(self) -> np.ndarray:
        """``[N] bool``: the legal actions (sb3-contrib's ``MaskablePPO`` convention)."""
        return self._require_episode().observation["action_mask"].astype(bool)

    @property
    def graph(self) -> LCG:
        """The graph of the current episode."""
        return self._require_episode().graph

    def _require_episode(self) -> Episode:
        if self.episode is None:
            raise RuntimeError("call reset() before step(), render() or action_masks()")
        return self.episode

    def _observation(self) -> dict[str, np.ndarray]:
        return dict(self._require_episode().observation)

    def _info(self) -> dict[str, Any]:
        return {**self._require_episode().info(), "illegal": self._last_illegal}

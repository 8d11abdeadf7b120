"""PettingZoo environments: a single-player AEC env and a two-player duel (AEC and parallel).

Observations follow PettingZoo's masking convention: a dict ``{"observation": {"edges",
"vertices"}, "action_mask"}`` with the arrays of :mod:`elimgym.envs.layout`; the mask is also in
each agent's info. Actions are ``Discrete(N)`` vertex indices.

* :class:`SoloAECEnv` (``solo_env()``): one agent, ``"player_0"``, plays
  :class:`~elimgym.envs.single.VertexElimEnv` (same rewards, termination and options), so
  PettingZoo tooling can drive the single-player puzzle.
* :class:`DuelAECEnv` (``duel_env()``) and :class:`DuelParallelEnv` (``duel_parallel_env()``):
  ``"player_0"`` and ``"player_1"`` each eliminate their own copy of the same graph (turns
  alternate in the AEC version, moves are simultaneous in the parallel one). Rewards are 0 until
  both are done; then the lower total cost wins: +1 for the winner, -1 for the loser, 0 each on a
  tie. Both episodes have the same length (the graph's number of intermediates). With
  ``illegal="raise"`` (default) an illegal move raises
  :class:`~elimgym.reference.IllegalAction`; with ``illegal="penalize"`` it loses the game at once
  (-1 for the offender, +1 for the other; -1 each if both offend in the same parallel step).
  Infos carry ``action_mask``, ``cost``, ``order``, ``baselines``, ``illegal`` and
  ``opponent_cost``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from pettingzoo import AECEnv, ParallelEnv

from graphs.lcg import LCG

from elimgym.envs import rendering
from elimgym.envs.episode import Episode, IllegalAction, as_action
from elimgym.envs.layout import observation_space
from elimgym.envs.pool import GraphPool, graph_pool
from elimgym.envs.single import VertexElimEnv, check_illegal_policy

__all__ = [
    "PLAYERS",
    "pettingzoo_observation_space",
    "SoloAECEnv",
    "DuelAECEnv",
    "DuelParallelEnv",
    "solo_env",
    "duel_env",
    "duel_parallel_env",
]

PLAYERS = ("player_0", "player_1")


def pettingzoo_observation_space(capacity: int) -> spaces.Dict:
    """``Dict({"observation": Dict(edges, vertices), "action_mask": Box})`` at capacity ``N``."""
    flat = observation_space(capacity)
    return spaces.Dict(
        {
            "observation": spaces.Dict({"edges": flat["edges"], "vertices": flat["vertices"]}),
            "action_mask": flat["action_mask"],
        }
    )


def _nest(observation: dict[str, np.ndarray]) -> dict[str, Any]:
    """A flat Gymnasium observation in PettingZoo's ``{"observation", "action_mask"}`` form."""
    return {
        "observation": {"edges": observation["edges"], "vertices": observation["vertices"]},
        "action_mask": observation["action_mask"],
    }


# ------------------------------------------------------------------------------------ solo
class SoloAECEnv(AECEnv):
    """The single-player game as a one-agent AEC env (arguments of
    :class:`~elimgym.envs.single.VertexElimEnv`)."""

    metadata = {"name": "vertex_elim_solo_v0", "render_modes": list(rendering.RENDER_MODES), "is_parallelizable": True}

    def __init__(self, graph: LCG | str | os.PathLike | None = None, **kwargs: Any) -> None:
        super().__init__()
        self.env = VertexElimEnv(graph, **kwargs)
        self.render_mode = self.env.render_mode
        self.possible_agents = [PLAYERS[0]]
        self._observation_space = pettingzoo_observation_space(self.env.capacity)
        self._observation: dict[str, Any] = {}

    def observation_space(self, agent: str) -> spaces.Space:
        return self._observation_space

    def action_space(self, agent: str) -> spaces.Space:
        return self.env.action_space

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        observation, info = self.env.reset(seed=seed, options=options)
        self.agents = list(self.possible_agents)
        self.agent_selection = self.agents[0]
        self._observation = _nest(observation)
        self.rewards = {PLAYERS[0]: 0.0}
        self._cumulative_rewards = {PLAYERS[0]: 0.0}
        self.terminations = {PLAYERS[0]: False}
        self.truncations = {PLAYERS[0]: False}
        self.infos = {PLAYERS[0]: info}

    def step(self, action: Any) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        self._cumulative_rewards[agent] = 0.0
        observation, reward, terminated, truncated, info = self.env.step(action)
        self._observation = _nest(observation)
        self.rewards[agent] = reward
        self.terminations[agent] = terminated
        self.truncations[agent] = truncated
        self.infos[agent] = info
        self._accumulate_rewards()

    def observe(self, agent: str) -> dict[str, Any]:
        return self._observation

    def render(self) -> str | np.ndarray | None:
        return self.env.render()

    def close(self) -> None:
        self.env.close()


# ------------------------------------------------------------------------------------ duel
class _Duel:
    """Two episodes on the same graph and the outcome (shared by the AEC and parallel duels)."""

    def __init__(self, pool: GraphPool, illegal: str) -> None:
        self.pool = pool
        self.illegal = check_illegal_policy(illegal)
        self.np_random, _ = seeding.np_random()
        self.episodes: dict[str, Episode] = {}
        self.offenders: set[str] = set()

    def start(self, seed: int | None) -> None:
        if seed is not None:
            self.np_random, _ = seeding.np_random(seed)
        index = int(self.np_random.integers(len(self.pool))) if len(self.pool) > 1 else 0
        self.episodes = {agent: Episode(self.pool, index) for agent in PLAYERS}
        self.offenders = set()

    def move(self, agent: str, action: Any) -> None:
        """Play ``agent``'s move (an illegal one raises, or marks ``agent`` as an offender)."""
        episode = self.episodes[agent]
        vertex = as_action(action)
        if self.illegal == "penalize" and episode.illegal_reason(vertex):
            self.offenders.add(agent)
            return
        try:
            episode.play(vertex)
        except IllegalAction as error:
            raise IllegalAction(f"{agent}: {error}") from None

    @property
    def finished(self) -> bool:
        return bool(self.offenders) or all(e.terminated for e in self.episodes.values())

    def outcome(self) -> dict[str, float]:
        """Final rewards: +1 / -1 by lower total cost (0 each on a tie), offenders lose."""
        if self.offenders:
            return {agent: -1.0 if agent in self.offenders else 1.0 for agent in PLAYERS}
        first, second = (self.episodes[agent].cost for agent in PLAYERS)
        sign = float(np.sign(second - first))
        return {PLAYERS[0]: sign, PLAYERS[1]: -sign}

    def observation(self, agent: str) -> dict[str, Any]:
        return _nest(self.episodes[agent].observation)

    def info(self, agent: str) -> dict[str, Any]:
        opponent = PLAYERS[1 - PLAYERS.index(agent)]
        return {
            **self.episodes[agent].info(),
            "illegal": agent in self.offenders,
            "opponent_cost": self.episodes[opponent].cost,
        }

    def render(self, render_mode: str | None) -> str | np.ndarray | None:
        if render_mode is None:
            return None
        frames = [rendering.render(self.episodes[agent].snapshot(), render_mode) for agent in PLAYERS]
        if render_mode == "ansi":
            return "".join(f"[{agent}] {frame}" for agent, frame in zip(PLAYERS, frames))
        height = max(frame.shape[0] for frame in frames)
        padded = [np.pad(f, ((0, height - f.shape[0]), (0, 0), (0, 0)), constant_values=255) for f in frames]
        return np.concatenate(padded, axis=1)


class DuelAECEnv(AECEnv):
    """Two players eliminate their own copy of the same graph, taking turns (see the module
    docstring). Arguments as :class:`~elimgym.envs.single.VertexElimEnv` (graph source,
    ``capacity``, ``illegal``, ``render_mode``)."""

    metadata = {"name": "vertex_elim_duel_v0", "render_modes": list(rendering.RENDER_MODES), "is_parallelizable": True}

    def __init__(
        self,
        graph: LCG | str | os.PathLike | None = None,
        *,
        task: str | None = None,
        split: str | None = None,
        band: str | None = None,
        capacity: int | None = None,
        illegal: str = "raise",
        render_mode: str | None = None,
    ) -> None:
        super().__init__()
        pool = graph_pool(graph=graph, task=task, split=split, band=band, capacity=capacity)
        self.duel = _Duel(pool, illegal)
        self.render_mode = rendering.check_render_mode(render_mode)
        self.possible_agents = list(PLAYERS)
        self._observation_space = pettingzoo_observation_space(pool.capacity)
        self._action_spaces = {agent: spaces.Discrete(pool.capacity) for agent in PLAYERS}

    def observation_space(self, agent: str) -> spaces.Space:
        return self._observation_space

    def action_space(self, agent: str) -> spaces.Space:
        return self._action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        self.duel.start(seed)
        self.agents = list(self.possible_agents)
        self.agent_selection = self.agents[0]
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos = {agent: self.duel.info(agent) for agent in self.agents}

    def step(self, action: Any) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        self._cumulative_rewards[agent] = 0.0
        self.duel.move(agent, action)
        last_turn = agent == PLAYERS[1] and all(e.terminated for e in self.duel.episodes.values())
        if self.duel.offenders or last_turn:
            self.rewards = self.duel.outcome()
            self.terminations = dict.fromkeys(self.agents, True)
        else:
            self.rewards = dict.fromkeys(self.agents, 0.0)
        self.infos = {a: self.duel.info(a) for a in self.agents}
        self.agent_selection = PLAYERS[1 - PLAYERS.index(agent)]
        self._accumulate_rewards()

    def observe(self, agent: str) -> dict[str, Any]:
        return self.duel.observation(agent)

    def render(self) -> str | np.ndarray | None:
        return self.duel.render(self.render_mode)

    def close(self) -> None:
        self.duel.episodes = {}


class DuelParallelEnv(ParallelEnv):
    """The duel with simultaneous moves (see the module docstring); arguments as
    :class:`DuelAECEnv`."""

    metadata = {"name": "vertex_elim_duel_parallel_v0", "render_modes": list(rendering.RENDER_MODES)}

    def __init__(
        self,
        graph: LCG | str | os.PathLike | None = None,
        *,
        task: str | None = None,
        split: str | None = None,
        band: str | None = None,
        capacity: int | None = None,
        illegal: str = "raise",
        render_mode: str | None = None,
    ) -> None:
        pool = graph_pool(graph=graph, task=task, split=split, band=band, capacity=capacity)
        self.duel = _Duel(pool, illegal)
        self.render_mode = rendering.check_render_mode(render_mode)
        self.possible_agents = list(PLAYERS)
        self.agents: list[str] = []
        self._observation_space = pettingzoo_observation_space(pool.capacity)
        self._action_spaces = {agent: spaces.Discrete(pool.capacity) for agent in PLAYERS}

    def observation_space(self, agent: str) -> spaces.Space:
        return self._observation_space

    def action_space(self, agent: str) -> spaces.Space:
        return self._action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        self.duel.start(seed)
        self.agents = list(self.possible_agents)
        return (
            {agent: self.duel.observation(agent) for agent in self.agents},
            {agent: self.duel.info(agent) for agent in self.agents},
        )

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        missing = [agent for agent in self.agents if agent not in actions]
        if missing:
            raise ValueError(f"no action for {missing}; every live agent moves at every step")
        for agent in self.agents:
            self.duel.move(agent, actions[agent])
        finished = self.duel.finished
        rewards = self.duel.outcome() if finished else dict.fromkeys(self.agents, 0.0)
        observations = {agent: self.duel.observation(agent) for agent in self.agents}
        infos = {agent: self.duel.info(agent) for agent in self.agents}
        terminations = dict.fromkeys(self.agents, finished)
        truncations = dict.fromkeys(self.agents, False)
        if finished:
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def render(self) -> str | np.ndarray | None:
        return self.duel.render(self.render_mode)

    def close(self) -> None:
        self.duel.episodes = {}


def solo_env(graph: LCG | str | os.PathLike | None = None, **kwargs: Any) -> SoloAECEnv:
    """The single-player AEC env (PettingZoo's ``env()`` convention)."""
    return SoloAECEnv(graph, **kwargs)


def duel_env(graph: LCG | str | os.PathLike | None = None, **kwargs: Any) -> DuelAECEnv:
    """The two-player AEC duel."""
    return DuelAECEnv(graph, **kwargs)


def duel_parallel_env(graph: LCG | str | os.PathLike | None = None, **kwargs: Any) -> DuelParallelEnv:
    """The two-player parallel duel."""
    return DuelParallelEnv(graph, **kwargs)

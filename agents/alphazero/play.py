"""Playing whole games with the search: self-play (with records for training) and evaluation.

A batch of ``B`` games of one capacity ``N`` advances in lock-step: each move is one batched
search (:func:`agents.alphazero.search.search_step`) and one batched game step; the loop stops
when every game has terminated. Arrays are placed with :mod:`agents.alphazero.sharding` so the
batch is split across all devices.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from elimgym import game
from elimgym.game import GameState

from agents.alphazero.config import BASELINE_POLICIES, Config, SearchConfig
from agents.alphazero.network import PolicyValueNet
from agents.alphazero.pool import GraphPool
from agents.alphazero.search import Node, search_step
from agents.alphazero.sharding import Placement

__all__ = ["Episodes", "play_games", "evaluate_pool", "cheapest_path_completion"]


@dataclass(frozen=True)
class Episodes:
    """``B`` finished games (``T`` moves, capacity ``N``).

    Attributes:
        orders: ``[B, N] int32``: each game's elimination order, then -1.
        costs: ``[B] int64``: exact total cost of each order.
        active: ``[T, B] bool``: game ``b`` was still running before move ``t``.
        policies: ``[T, B, N] float32``: the search's improved policy at each move (``None``
            unless recorded).
        completion_costs: ``[T, B, P] float32``: the root's heuristic completions over scale.
        completion_first: ``[T, B, P] int32``: the heuristics' next moves at the root.
        rewards: ``[T, B] float32``: normalised rewards (raw reward / scale).
    """

    orders: np.ndarray
    costs: np.ndarray
    active: np.ndarray
    policies: np.ndarray | None
    completion_costs: np.ndarray
    completion_first: np.ndarray
    rewards: np.ndarray

    def value_targets(self) -> np.ndarray:
        """``[T, B] float32``: value targets, a lower bound on the best return from each move.

        The game's normalised return from the move on, or the root's cheapest heuristic
        completion when that is better (both are achievable from the state, so the better one
        bounds the optimal value from below; exploration noise in self-play would otherwise
        teach the value head to expect worse than a heuristic surely achieves). Moves without
        heuristic completions (``value_baseline="none"``) get the plain return.
        """
        returns = np.flip(np.cumsum(np.flip(self.rewards, 0), 0), 0)
        cheapest = self.completion_costs.min(axis=-1, initial=np.inf)
        return np.where(np.isfinite(cheapest), np.maximum(returns, -cheapest), returns).astype(np.float32)


def play_games(
    model: PolicyValueNet,
    config: SearchConfig,
    states: GameState,
    scale: np.ndarray,
    key: jax.Array,
    placement: Placement,
    record: bool = True,
) -> Episodes:
    """Play ``B`` games to the end, choosing every move by search.

    Args:
        model: the network (replicated on every device by ``placement``).
        config: search settings (use ``gumbel_scale=0`` for deterministic evaluation).
        states: ``B`` initial (or partly played) states, all of one capacity.
        scale: ``[B] float32`` reward normalisers.
        key: PRNG key (consumed).
        placement: where arrays go (``B`` must be a multiple of its device count).
        record: keep the improved policies (needed for training targets; memory ``T * B * N``).
    """
    node = placement.batch(Node(states, jnp.asarray(scale, jnp.float32)))
    model = placement.replicate(model)
    active, policies, costs, firsts, rewards = [], [], [], [], []
    while True:
        running = ~np.asarray(node.state.terminated)
        if not running.any():
            break
        key, move_key = jax.random.split(key)
        out, node, reward, _ = search_step(model, config, node, move_key)
        active.append(running)
        costs.append(np.asarray(out.root.completions.costs))
        firsts.append(np.asarray(out.root.completions.first))
        rewards.append(np.asarray(reward) / np.asarray(scale, np.float32))
        if record:
            policies.append(np.asarray(out.policy))
    batch, n = node.state.order.shape
    width = len(BASELINE_POLICIES)
    return Episodes(
        orders=np.asarray(node.state.order, np.int32),
        costs=np.asarray(game.total_cost(node.state), np.int64).reshape(batch),
        active=np.array(active, bool).reshape(-1, batch),
        policies=np.array(policies, np.float32).reshape(-1, batch, n) if record else None,
        completion_costs=np.array(costs, np.float32).reshape(-1, batch, width),
        completion_first=np.array(firsts, np.int32).reshape(-1, batch, width),
        rewards=np.array(rewards, np.float32).reshape(-1, batch),
    )


def evaluate_pool(model: PolicyValueNet, config: Config, pool: GraphPool, placement: Placement, simulations: int, key: jax.Array) -> dict[str, Any]:
    """Deterministic search on every graph of ``pool``.

    Returns:
        ``costs [G] int64`` and ``orders`` (lists of vertices), plus mean ratios to
        ``min(forward, reverse, Markowitz)``, and ``completions``: per graph, the cheapest
        ``(move, heuristic index, estimated total cost)`` among "play the search's first ``move``
        moves, then finish with heuristic ``BASELINE_POLICIES[index]``" (see
        :func:`cheapest_path_completion`).
    """
    search = dataclasses.replace(config.search, num_simulations=simulations, gumbel_scale=0.0)
    costs = np.zeros(len(pool), np.int64)
    orders: list[list[int]] = [[] for _ in range(len(pool))]
    completions: list[tuple[int, int, float]] = [(0, 0, np.inf)] * len(pool)
    for bucket in pool.buckets:
        local = np.arange(len(bucket.graph_ids))
        padded = _pad_to_multiple(local, placement.num_devices)
        episodes = play_games(model, search, bucket.initial_states(padded), pool.scale[bucket.graph_ids[padded]], key, placement, record=False)
        costs[bucket.graph_ids] = episodes.costs[: len(local)]
        for k, graph_id in enumerate(bucket.graph_ids):
            row = episodes.orders[k]
            orders[graph_id] = [int(v) for v in row[row >= 0]]
            move, index, normalised = cheapest_path_completion(episodes, k)
            completions[graph_id] = (move, index, float(normalised * pool.scale[graph_id]))
    best = pool.best_classical()
    return {
        "costs": costs,
        "orders": orders,
        "completions": completions,
        "ratio": float(np.mean(costs / np.maximum(best, 1))),
        "beats": float(np.mean(costs < best)),
        "markowitz_ratio": float(np.mean(pool.baselines[:, 2] / np.maximum(best, 1))),
    }


def _pad_to_multiple(indices: np.ndarray, multiple: int) -> np.ndarray:
    extra = (-len(indices)) % multiple
    return np.concatenate([indices, np.repeat(indices[-1:], extra)]) if extra else indices


def cheapest_path_completion(episodes: Episodes, game_index: int) -> tuple[int, int, float]:
    """The cheapest heuristic completion seen along one played game.

    Every root the search visited was also finished by each baseline heuristic (the search's
    value baseline), so "the first ``t`` moves played, then heuristic ``p``" is a complete order
    whose cost the search already estimated: the cost paid before move ``t`` plus the root's
    completion cost at move ``t``.

    Returns:
        ``(t, p, total)``: the move, the index into :data:`BASELINE_POLICIES` and the estimated
        total cost over the game's scale (float32 rounding; ``inf`` when no completion was
        recorded, e.g. with ``value_baseline="none"``).
    """
    rewards = episodes.rewards[:, game_index]
    active = episodes.active[:, game_index]
    paid_before = -(np.cumsum(rewards) - rewards)
    totals = paid_before[:, None] + episodes.completion_costs[:, game_index, :]
    totals = np.where(active[:, None], totals, np.inf)
    if totals.size == 0 or not np.isfinite(totals).any():
        return 0, 0, float("inf")
    move, index = np.unravel_index(int(np.argmin(totals)), totals.shape)
    return int(move), int(index), float(totals[move, index])

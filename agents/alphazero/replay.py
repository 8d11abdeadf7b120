"""The replay buffer: training samples from self-play, kept on the host as NumPy arrays.

A sample is one move of one game. It does not store the game state (an ``N x N`` array): it
stores the game's complete order and the move number ``t``, and the training step replays the
first ``t`` eliminations from the graph's initial state (the game is deterministic). That keeps a
sample at a few hundred bytes, so the whole buffer goes into every checkpoint and a resumed run
trains on exactly the data it would have had.

Sampling first picks a capacity bucket (with probability proportional to its number of samples),
then samples uniformly inside it, so each training batch has one static shape.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from agents.alphazero.config import BASELINE_POLICIES
from agents.alphazero.play import Episodes

__all__ = ["ReplayBuffer", "SampleBatch"]

_FIELDS = ("graph", "move", "order", "policy", "value", "completion_costs", "completion_first")


class SampleBatch(NamedTuple):
    """``B`` samples (``W`` = the buffer's width)."""

    graph: np.ndarray  # [B] int64: pool index of the graph
    move: np.ndarray  # [B] int32: eliminations before the state
    order: np.ndarray  # [B, W] int32: the game's complete order, -1 padded
    policy: np.ndarray  # [B, W] float32: improved policy (target of the prior)
    value: np.ndarray  # [B] float32: normalised return (target of the value)
    completion_costs: np.ndarray  # [B, P] float32: heuristic completions over scale
    completion_first: np.ndarray  # [B, P] int32: the heuristics' next moves


class ReplayBuffer:
    """A ring buffer of at most ``capacity`` samples, orders and policies padded to ``width``.

    Attributes (arrays of length ``capacity``; only the first ``size`` are filled):
        graph: pool index of the sample's graph.
        move: number of eliminations before the sample's state.
        order: the game's complete order (``[capacity, width] int16``, -1 padded).
        policy: the search's improved policy (``[capacity, width] float32``).
        value: normalised return from the sample's state.
        completion_costs: ``[capacity, P] float32``: the state's heuristic completions over scale.
        completion_first: ``[capacity, P] int16``: the heuristics' next moves in the state.
    """

    def __init__(self, capacity: int, width: int):
        if capacity < 1 or width < 1:
            raise ValueError(f"a replay buffer needs capacity >= 1 and width >= 1, got {capacity}, {width}")
        self.capacity, self.width = int(capacity), int(width)
        self.graph = np.zeros(capacity, np.int64)
        self.move = np.zeros(capacity, np.int32)
        self.order = np.full((capacity, width), -1, np.int16)
        self.policy = np.zeros((capacity, width), np.float32)
        self.value = np.zeros(capacity, np.float32)
        self.completion_costs = np.zeros((capacity, len(BASELINE_POLICIES)), np.float32)
        self.completion_first = np.zeros((capacity, len(BASELINE_POLICIES)), np.int16)
        self.size = 0
        self.cursor = 0

    def add_episodes(self, graph_ids: np.ndarray, episodes: Episodes) -> int:
        """Add every move of every game that was running; returns the number of samples added."""
        if episodes.policies is None:
            raise ValueError("episodes were played without recording policies; they cannot be trained on")
        moves, games = np.nonzero(episodes.active)
        n = episodes.orders.shape[1]
        if n > self.width:
            raise ValueError(f"games of capacity {n} do not fit a replay buffer of width {self.width}")
        orders = np.full((len(games), self.width), -1, np.int16)
        orders[:, :n] = episodes.orders[games]
        policies = np.zeros((len(games), self.width), np.float32)
        policies[:, :n] = episodes.policies[moves, games]
        self._append(
            graph=np.asarray(graph_ids, np.int64)[games],
            move=moves.astype(np.int32),
            order=orders,
            policy=policies,
            value=episodes.value_targets()[moves, games],
            completion_costs=episodes.completion_costs[moves, games],
            completion_first=episodes.completion_first[moves, games],
        )
        return int(len(games))

    def _append(self, **fields: np.ndarray) -> None:
        count = len(fields["graph"])
        for start in range(0, count, self.capacity):
            chunk = {k: v[start : start + self.capacity] for k, v in fields.items()}
            m = len(chunk["graph"])
            slots = (self.cursor + np.arange(m)) % self.capacity
            for name, values in chunk.items():
                getattr(self, name)[slots] = values
            self.cursor = int((self.cursor + m) % self.capacity)
            self.size = int(min(self.size + m, self.capacity))

    def sample(self, rng: np.random.Generator, batch: int, bucket_of: np.ndarray) -> tuple[int, SampleBatch]:
        """Draw ``batch`` samples of one bucket (``bucket_of[graph]`` gives a graph's bucket).

        Returns:
            ``(bucket, samples)``.

        Raises:
            ValueError: if the buffer is empty.
        """
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        buckets = np.asarray(bucket_of)[self.graph[: self.size]]
        counts = np.bincount(buckets)
        bucket = int(rng.choice(len(counts), p=counts / counts.sum()))
        index = rng.choice(np.flatnonzero(buckets == bucket), size=batch, replace=True)
        return bucket, SampleBatch(
            graph=self.graph[index],
            move=self.move[index],
            order=self.order[index].astype(np.int32),
            policy=self.policy[index],
            value=self.value[index],
            completion_costs=self.completion_costs[index],
            completion_first=self.completion_first[index].astype(np.int32),
        )

    def state_dict(self) -> dict[str, np.ndarray]:
        """Arrays that :meth:`from_state_dict` restores exactly (for ``np.savez``)."""
        out = {name: getattr(self, name)[: self.size] for name in _FIELDS}
        out["meta"] = np.array([self.capacity, self.width, self.size, self.cursor], np.int64)
        return out

    @classmethod
    def from_state_dict(cls, arrays: dict[str, np.ndarray]) -> "ReplayBuffer":
        capacity, width, size, cursor = (int(x) for x in arrays["meta"])
        buffer = cls(capacity, width)
        for name in _FIELDS:
            getattr(buffer, name)[:size] = arrays[name]
        buffer.size, buffer.cursor = size, cursor
        return buffer

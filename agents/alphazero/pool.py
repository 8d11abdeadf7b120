"""The graphs an agent trains on: loaded, bucketed by size, padded, with their baseline costs.

Graphs are padded to the smallest of a few fixed *capacities* that holds them (each capacity is
one compiled search and one compiled training step), so a 20-vertex graph is not searched at the
cost of a 128-vertex one. Each graph's reward normaliser, its ``scale``, is the cost of the best of
its forward, reverse and Markowitz (lowest-index ties) orders, at least 1: the best classical
order has normalised return ``-1`` on every graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from graphs import io
from graphs.lcg import LCG, CapacityError, PaddedGraph
from graphs.splits import SPLITS, split_graphs
from graphs.tasks import TASKS, get_task

from elimgym import game
from elimgym.game import GameState

from agents.alphazero.baseline import play_out
from agents.alphazero.config import BASELINE_POLICIES

__all__ = ["Bucket", "GraphPool", "BASELINE_NAMES", "load_graphs", "bucket_capacity"]

BASELINE_NAMES = BASELINE_POLICIES
"""Columns of :attr:`GraphPool.baselines`: forward, reverse, Markowitz (lowest-index ties)."""

def load_graphs(spec: str) -> list[LCG]:
    """The graphs named by a source spec.

    ``"split:NAME"`` or ``"split:NAME:BAND"`` (a stored split, optionally one size band),
    ``"task:NAME"`` (one benchmark task), ``"file:PATH"`` (one graph file, or a directory: all its
    ``*.json`` graph files, by name).

    Raises:
        ValueError: for a malformed spec, an unknown split/task, or the held-out split (it is for
            final evaluation only: use :func:`graphs.splits.split_graphs` directly there).
    """
    kind, _, rest = spec.partition(":")
    if kind == "split":
        split, _, band = rest.partition(":")
        if split == "heldout":
            raise ValueError("the held-out split is for final evaluation only; training graphs cannot come from it")
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r} in {spec!r}; choose from {SPLITS[:2]}")
        return split_graphs(split, band or None)
    if kind == "task":
        if rest not in TASKS:
            raise ValueError(f"unknown task {rest!r} in {spec!r}; the tasks are {', '.join(TASKS)}")
        return [get_task(rest).graph()]
    if kind == "file":
        path = Path(rest)
        if path.is_dir():
            files = sorted(path.glob("*.json"))
            if not files:
                raise ValueError(f"graph directory {rest!r} holds no *.json graph files")
            return [io.load(f) for f in files]
        return [io.load(path)]
    raise ValueError(f"graph source {spec!r} must be 'split:NAME[:BAND]', 'task:NAME' or 'file:PATH'")


def bucket_capacity(num_vertices: int, capacities: Sequence[int]) -> int:
    """The smallest capacity that holds ``num_vertices`` vertices.

    Raises:
        CapacityError: if none does.
    """
    for capacity in capacities:
        if num_vertices <= capacity:
            return int(capacity)
    raise CapacityError(f"a graph with {num_vertices} vertices exceeds the largest capacity {max(capacities)}; add a larger one")


@dataclass(frozen=True)
class Bucket:
    """The graphs of one capacity ``N``, padded and stacked (``G`` graphs).

    Attributes:
        capacity: ``N``.
        graph_ids: ``[G] int64``: the pool indices of the graphs.
        padded: the stacked :class:`~graphs.lcg.PaddedGraph` (NumPy, leading axis ``G``).
    """

    capacity: int
    graph_ids: np.ndarray
    padded: PaddedGraph

    def initial_states(self, local: np.ndarray) -> GameState:
        """Initial game states of the bucket's graphs ``local`` (``[B]`` indices into the bucket)."""
        local = np.asarray(local, np.int64)
        chosen = PaddedGraph(*(jnp.asarray(field[local]) for field in self.padded))
        return jax.vmap(game.init)(chosen)


@dataclass(frozen=True)
class GraphPool:
    """Graphs bucketed by capacity, with their classical costs.

    Attributes:
        graphs: the LCGs (pool index = position).
        buckets: one :class:`Bucket` per capacity that holds at least one graph.
        bucket_of: ``[G] int64``: index into :attr:`buckets` of each graph.
        local_index: ``[G] int64``: position of each graph inside its bucket.
        baselines: ``[G, 3] int64``: exact costs of :data:`BASELINE_NAMES`.
        scale: ``[G] float32``: reward normaliser, ``max(1, min(baselines))``.
    """

    graphs: tuple[LCG, ...]
    buckets: tuple[Bucket, ...]
    bucket_of: np.ndarray
    local_index: np.ndarray
    baselines: np.ndarray
    scale: np.ndarray

    @classmethod
    def build(cls, graphs: Sequence[LCG], capacities: Sequence[int]) -> "GraphPool":
        """Bucket, pad and cost ``graphs``.

        Raises:
            CapacityError: a graph fits no capacity (or has a vertex too large for the game).
            ValueError: ``graphs`` is empty.
        """
        graphs = tuple(graphs)
        if not graphs:
            raise ValueError("a graph pool needs at least one graph")
        sizes = [bucket_capacity(g.num_vertices, capacities) for g in graphs]
        used = sorted(set(sizes))
        bucket_of = np.array([used.index(s) for s in sizes], np.int64)
        local_index = np.zeros(len(graphs), np.int64)
        buckets = []
        for b, capacity in enumerate(used):
            ids = np.flatnonzero(bucket_of == b)
            local_index[ids] = np.arange(len(ids))
            padded = [game.encode(graphs[i], capacity) for i in ids]
            buckets.append(Bucket(capacity, ids, PaddedGraph(*(np.stack(field) for field in zip(*padded)))))
        baselines = np.zeros((len(graphs), len(BASELINE_NAMES)), np.int64)
        for bucket in buckets:
            baselines[bucket.graph_ids] = _classical_costs(bucket)
        scale = np.maximum(baselines.min(axis=1), 1).astype(np.float32)
        return cls(graphs, tuple(buckets), bucket_of, local_index, baselines, scale)

    def __len__(self) -> int:
        return len(self.graphs)

    def best_classical(self) -> np.ndarray:
        """``[G] int64``: ``min(forward, reverse, Markowitz)`` of each graph."""
        return self.baselines.min(axis=1)


_CHUNK = 64


def _classical_costs(bucket: Bucket) -> np.ndarray:
    """``[G, 3] int64`` exact costs of the classical orders of a bucket's graphs."""
    out = []
    count = len(bucket.graph_ids)
    chunk = min(_CHUNK, 1 << (count - 1).bit_length())
    for start in range(0, count, chunk):
        local = np.arange(start, min(start + chunk, count))
        padded = np.concatenate([local, np.repeat(local[-1:], chunk - len(local))])
        hi, lo = _play_out_costs(bucket.initial_states(padded))
        costs = np.asarray(hi, np.int64) * 65536 + np.asarray(lo, np.int64)
        out.append(costs.reshape(len(BASELINE_NAMES), chunk)[:, : len(local)].T)
    return np.concatenate(out)


@jax.jit
def _play_out_costs(states: GameState) -> tuple[jax.Array, jax.Array]:
    """Exact cost limbs (``[3 * B]`` each) of finishing fresh games with each classical order."""
    final = play_out(states, BASELINE_NAMES)
    return final.cost_hi, final.cost_lo

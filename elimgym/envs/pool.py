"""The graphs an environment plays: a pool of LCGs padded to one capacity, with their baselines.

A fixed-graph env (a benchmark task, or any LCG / graph file) has a pool of one graph; the
random env has the pool of a split's graphs and draws one at every reset. The pool also holds
each graph's forward, reverse and Markowitz costs (the baselines reported in ``info`` and used to
scale rewards), computed once per graph in one batched JAX rollout and cached by fingerprint.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from graphs import io
from graphs.lcg import LCG, GraphError
from graphs.tasks import get_task

from elimgym import game, policies
from elimgym.game import GameState

__all__ = [
    "CAPACITY_MULTIPLE",
    "BASELINE_NAMES",
    "GraphPool",
    "default_capacity",
    "load_graph",
    "baseline_table",
    "task_pool",
    "split_pool",
    "graph_pool",
]

CAPACITY_MULTIPLE = 8
"""Default capacities are rounded up to a multiple of this, so that graphs of similar sizes share
one compiled step function."""

BASELINE_NAMES = ("forward", "reverse", "markowitz")
"""Columns of :attr:`GraphPool.baselines` (Markowitz with lowest-index ties)."""

_BASELINE_CHUNK = 8
"""Graphs per batched baseline rollout (one compiled function per capacity)."""


def default_capacity(num_vertices: int) -> int:
    """The smallest multiple of :data:`CAPACITY_MULTIPLE` that holds ``num_vertices``."""
    return CAPACITY_MULTIPLE * max(1, math.ceil(num_vertices / CAPACITY_MULTIPLE))


def load_graph(graph: LCG | str | os.PathLike) -> LCG:
    """An LCG given as an :class:`LCG` or as the path of a graph file (:mod:`graphs.io`).

    Raises:
        TypeError: for anything else.
        FileNotFoundError: for a path that does not exist.
    """
    if isinstance(graph, LCG):
        return graph
    if isinstance(graph, (str, os.PathLike)):
        if not os.path.exists(graph):
            raise FileNotFoundError(f"graph file {os.fspath(graph)!r} does not exist")
        return io.load(graph)
    raise TypeError(f"graph must be an LCG or the path of a graph file, got {type(graph).__name__}")


# ------------------------------------------------------------------------------ baselines
def _baseline_action(state: GameState, which: jax.Array) -> jax.Array:
    """The action of baseline ``which`` (an index into :data:`BASELINE_NAMES`) in ``state``."""
    actions = jnp.stack([policies.forward(state), policies.reverse(state), policies.markowitz("lowest")(state)])
    return actions[which]


@jax.jit
def _baseline_rollouts(initial: GameState, which: jax.Array) -> GameState:
    """Final states (leaves ``[R, ...]``) of ``R`` batched rollouts, rollout ``r`` playing
    baseline ``which[r]`` from ``initial[r]``."""

    def one(state: GameState, w: jax.Array) -> GameState:
        return policies.rollout(state, lambda s, key: _baseline_action(s, w)).state

    return jax.vmap(one)(initial, which)


_init_batch = jax.jit(jax.vmap(game.init))

_BASELINE_CACHE: dict[str, tuple[int, int, int]] = {}


def baseline_table(graphs: Sequence[LCG], capacity: int) -> np.ndarray:
    """``[G, 3] int64``: forward, reverse and Markowitz costs of each graph (cached by fingerprint).

    Equal to :func:`elimgym.policies.baseline_costs` graph by graph; uncached graphs are rolled
    out together in batches of a fixed size at ``capacity``.
    """
    fingerprints = [g.fingerprint() for g in graphs]
    missing = list({fp: g for fp, g in zip(fingerprints, graphs) if fp not in _BASELINE_CACHE}.items())
    num_baselines = len(BASELINE_NAMES)
    for start in range(0, len(missing), _BASELINE_CHUNK):
        chunk = missing[start : start + _BASELINE_CHUNK]
        padded = [game.encode(g, capacity) for _, g in chunk]
        padded += [padded[0]] * (_BASELINE_CHUNK - len(padded))
        stacked = jax.tree_util.tree_map(lambda *xs: np.repeat(np.stack(xs), num_baselines, axis=0), *padded)
        which = np.tile(np.arange(num_baselines, dtype=np.int32), _BASELINE_CHUNK)
        final = _baseline_rollouts(_init_batch(stacked), which)
        costs = game.total_cost(final).reshape(-1, num_baselines)
        for (fp, _), row in zip(chunk, costs):
            _BASELINE_CACHE[fp] = tuple(int(c) for c in row)
    return np.array([_BASELINE_CACHE[fp] for fp in fingerprints], np.int64).reshape(len(graphs), num_baselines)


# ------------------------------------------------------------------------------- the pool
@dataclass(frozen=True, eq=False)
class GraphPool:
    """Graphs padded to one capacity ``N`` (``G`` graphs).

    Baselines are computed when first asked for (:meth:`baselines_for`), graph by graph, so a
    pool of a thousand graphs costs nothing until its graphs are played.

    Attributes:
        name: what the pool is (a task name, ``"<split>/<band>"`` or a graph's name).
        graphs: the ``G`` LCGs.
        capacity: ``N``, at least the number of vertices of every graph.
    """

    name: str
    graphs: tuple[LCG, ...]
    capacity: int
    _baselines: np.ndarray = field(repr=False)

    @classmethod
    def from_graphs(cls, graphs: Sequence[LCG], capacity: int | None = None, name: str | None = None) -> "GraphPool":
        """Pad ``graphs`` to ``capacity`` (default: :func:`default_capacity` of the largest graph).

        Raises:
            ValueError: for an empty pool.
            graphs.lcg.GraphError: for a graph without any intermediate vertex (nothing to play).
            graphs.lcg.CapacityError: for a graph that does not fit ``capacity``.
        """
        graphs = tuple(graphs)
        if not graphs:
            raise ValueError("a graph pool needs at least one graph")
        for g in graphs:
            if not g.intermediates:
                raise GraphError(f"graph {g.name!r} has no intermediate vertex: there is nothing to eliminate")
        capacity = default_capacity(max(g.num_vertices for g in graphs)) if capacity is None else int(capacity)
        for g in graphs:
            game.encode(g, capacity)
        name = graphs[0].name if name is None else name
        return cls(name, graphs, capacity, np.full((len(graphs), len(BASELINE_NAMES)), -1, np.int64))

    def __len__(self) -> int:
        return len(self.graphs)

    @functools.cached_property
    def initial(self) -> GameState:
        """The initial game state of every graph, stacked: leaves ``[G, ...]`` (device arrays)."""
        padded = [game.encode(g, self.capacity) for g in self.graphs]
        return _init_batch(jax.tree_util.tree_map(lambda *xs: np.stack(xs), *padded))

    def baselines_for(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """``[len(indices), 3] int64``: the baselines (:data:`BASELINE_NAMES`) of these graphs."""
        indices = np.asarray(indices, np.int64).reshape(-1)
        missing = np.unique(indices[self._baselines[indices, 0] < 0])
        if missing.size:
            self._baselines[missing] = baseline_table([self.graphs[k] for k in missing], self.capacity)
        return self._baselines[indices]

    @property
    def baselines(self) -> np.ndarray:
        """``[G, 3] int64``: the baselines of every graph."""
        return self.baselines_for(np.arange(len(self)))

    def baseline_costs(self, index: int) -> dict[str, int]:
        """Baselines of graph ``index`` as ``{name: cost}``."""
        return {name: int(c) for name, c in zip(BASELINE_NAMES, self.baselines_for([index])[0])}


@functools.lru_cache(maxsize=None)
def task_pool(task: str, capacity: int | None = None) -> GraphPool:
    """The pool of one benchmark task's stored graph (by task or Gymnasium name; cached)."""
    found = get_task(task)
    return GraphPool.from_graphs([found.graph()], capacity, name=found.name)


@functools.lru_cache(maxsize=None)
def split_pool(split: str, band: str | None = None, capacity: int | None = None) -> GraphPool:
    """The pool of a random-graph split (:func:`graphs.splits.split_graphs`; cached), without its
    graphs that have no intermediate vertex (there is nothing to play on them)."""
    from graphs import splits

    graphs = [g for g in splits.split_graphs(split, band) if g.intermediates]
    return GraphPool.from_graphs(graphs, capacity, name=f"{split}/{band or 'all'}")


def graph_pool(
    *,
    graph: LCG | str | os.PathLike | None = None,
    task: str | None = None,
    split: str | None = None,
    band: str | None = None,
    capacity: int | None = None,
) -> GraphPool:
    """The pool an environment plays, from exactly one of ``graph``, ``task`` or ``split``.

    Args:
        graph: an LCG or a graph file: the env plays this graph.
        task: a benchmark task (``"RoeFlux_1d"`` or its Gymnasium name ``"RoeFlux"``).
        split: a random-graph split (``"train"``, ...): a new graph from it at every reset.
        band: the size band of ``split`` (``None``: every band).
        capacity: the padded size ``N`` (default: the largest graph rounded up to a multiple of
            :data:`CAPACITY_MULTIPLE`).

    Raises:
        ValueError: if not exactly one source is given, or ``band`` without ``split``.
    """
    given = [name for name, value in (("graph", graph), ("task", task), ("split", split)) if value is not None]
    if len(given) != 1:
        raise ValueError(
            "an elimgym env needs exactly one of graph= (an LCG or graph file), task= (a benchmark task) "
            f"or split= (random graphs); got {given or 'none'}"
        )
    if band is not None and split is None:
        raise ValueError(f"band={band!r} needs split= (the size band of a random-graph split)")
    if task is not None:
        return task_pool(task, capacity)
    if split is not None:
        return split_pool(split, band, capacity)
    lcg = load_graph(graph)
    return GraphPool.from_graphs([lcg], capacity)

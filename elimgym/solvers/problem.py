"""A graph prepared for the solvers, and the one batched JAX kernel they all drive.

Every solver works on a :class:`Problem`: the LCG padded to a *capacity* ``N`` from a few fixed
sizes, its initial game state and its intermediates. All solvers advance batches of game states
with a single compiled kernel, :func:`advance` (``jit(vmap(elimgym.game.step))``), whose batch is
padded to :data:`MAX_BATCH` - so a whole solve compiles the game step once per capacity, and the
test suite (capacity 32) compiles it once. Host loops drive the kernel; the glue between calls
(gathering and replicating states) is jitted too, because eager JAX operations on a pytree of
states cost far more than a batched step.

Orders are lists of intermediate vertex indices; batches of orders are ``[B, n] int32`` arrays.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from graphs.lcg import LCG

from elimgym import game
from elimgym.game import GameState
from elimgym.orders import Order, check_order

__all__ = [
    "Problem",
    "capacity_for",
    "batch_sizes",
    "MAX_BATCH",
    "padded_size",
    "capacity_of",
    "advance",
    "replicate",
    "take",
    "costs_of",
    "play_orders",
    "order_costs",
    "recorded_orders",
]

_MIN_CAPACITY = 32
_CAPACITY_STEP = 16


MAX_BATCH = 64
"""Largest batch the kernels take; callers cut larger collections into chunks of this size."""


def capacity_for(num_vertices: int) -> int:
    """The padded capacity used for a graph of ``num_vertices`` vertices: at least 32, a multiple of 16."""
    return max(_MIN_CAPACITY, -(-num_vertices // _CAPACITY_STEP) * _CAPACITY_STEP)


def batch_sizes(capacity: int) -> tuple[int, ...]:
    """The batch sizes :func:`advance` is compiled for at this capacity (ascending).

    One size serves every capacity: on a 2-core CPU, batches of 64 step as many states per second
    as batches of 256 (measured at capacities 32 and 112), and each size costs a compilation.
    """
    del capacity
    return (MAX_BATCH,)


@dataclass(frozen=True)
class Problem:
    """An LCG ready for the batched JAX game.

    Attributes:
        graph: the LCG.
        capacity: ``N``, the padded number of vertex slots.
        state: the initial :class:`~elimgym.game.GameState` (unbatched, capacity ``N``).
        intermediates: ``[n] int32``: the eliminable vertices, ascending.
    """

    graph: LCG
    capacity: int
    state: GameState
    intermediates: np.ndarray

    @classmethod
    def from_graph(cls, graph: LCG, capacity: int | None = None) -> "Problem":
        """Pad ``graph`` (to :func:`capacity_for` its size unless ``capacity`` is given).

        Raises:
            graphs.lcg.CapacityError: if the graph does not fit, or a vertex is too large for the
                JAX game (see :func:`elimgym.game.encode`).
        """
        capacity = capacity_for(graph.num_vertices) if capacity is None else int(capacity)
        state = game.init(game.encode(graph, capacity))
        return cls(graph, capacity, state, np.asarray(graph.intermediates, np.int32))

    @property
    def num_intermediates(self) -> int:
        return int(len(self.intermediates))

    def order(self, vertices: Sequence[int], cost: int, method: str) -> Order:
        """An :class:`~elimgym.orders.Order` of this graph (validated)."""
        return Order.for_graph(self.graph, [int(v) for v in vertices], cost=int(cost), method=method)

    def check(self, orders: Sequence[Sequence[int]] | np.ndarray) -> np.ndarray:
        """Validate a batch of complete orders; returns them as a ``[B, n] int32`` array.

        Raises:
            elimgym.orders.OrderError: naming the first bad vertex of the first bad order.
        """
        rows = [check_order(self.graph, [int(v) for v in row]) for row in orders]
        return np.asarray(rows, np.int32).reshape(len(rows), self.num_intermediates)


_step_kernel = jax.jit(jax.vmap(game.step))


@jax.jit
def _gather_kernel(states: GameState, index: jax.Array) -> GameState:
    return jax.tree_util.tree_map(lambda x: x[index], states)


@functools.partial(jax.jit, static_argnums=1)
def _replicate_kernel(state: GameState, size: int) -> GameState:
    return jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (size,) + x.shape), state)




def padded_size(count: int, capacity: int) -> int:
    """The compiled batch size a batch of ``count`` states is padded to.

    Raises:
        ValueError: if ``count`` exceeds :data:`MAX_BATCH`.
    """
    if count > MAX_BATCH:
        raise ValueError(f"a batch holds at most {MAX_BATCH} states, got {count}; process it in chunks")
    sizes = batch_sizes(capacity)
    return next(b for b in sizes if b >= count) if count <= sizes[-1] else MAX_BATCH


def _padded_index(index: np.ndarray | Sequence[int], capacity: int) -> np.ndarray:
    index = np.asarray(index, np.int32).reshape(-1)
    size = padded_size(max(len(index), 1), capacity)
    out = np.zeros(size, np.int32)
    out[: len(index)] = index
    if len(index):
        out[len(index):] = index[-1]
    return out


def capacity_of(states: GameState) -> int:
    """``N`` of a (batched or unbatched) state."""
    return int(states.roles.shape[-1])


def replicate(state: GameState, count: int) -> GameState:
    """A batch of copies of an unbatched state, padded to the compiled size for ``count``."""
    return _replicate_kernel(state, padded_size(count, capacity_of(state)))


def take(states: GameState, index: np.ndarray | Sequence[int]) -> GameState:
    """The states at ``index`` (at most :data:`MAX_BATCH` of them) of a batch, padded to a
    compiled size by repeating the last one."""
    return _gather_kernel(states, jnp.asarray(_padded_index(index, capacity_of(states))))


def advance(states: GameState, actions: np.ndarray | Sequence[int]) -> GameState:
    """Step the first ``len(actions)`` states of a padded batch by their actions (``int32``);
    padding states repeat the last action. Returns a batch of the same padded size."""
    size = int(states.roles.shape[0])
    actions = np.asarray(actions, np.int32).reshape(-1)
    if len(actions) > size:
        raise ValueError(f"{len(actions)} actions for a batch of {size} states")
    padded = np.empty(size, np.int32)
    padded[: len(actions)] = actions
    padded[len(actions):] = actions[-1] if len(actions) else 0
    return _step_kernel(states, jnp.asarray(padded))[0]


def costs_of(states: GameState) -> np.ndarray:
    """``[B] int64``: exact cost accumulated in each state of a batch."""
    return np.asarray(game.total_cost(states), np.int64).reshape(-1)


def play_orders(problem: Problem, orders: np.ndarray, prefix: int | None = None) -> GameState:
    """Play the first ``prefix`` (default: all) entries of each order of a ``[B, n]`` batch
    (``B <= MAX_BATCH``) from the initial state; returns the padded batch of resulting states."""
    orders = np.asarray(orders, np.int32)
    steps = orders.shape[1] if prefix is None else int(prefix)
    states = replicate(problem.state, orders.shape[0])
    for k in range(steps):
        states = advance(states, orders[:, k])
    return states


def order_costs(problem: Problem, orders: np.ndarray) -> np.ndarray:
    """Exact costs of a ``[B, n]`` batch of complete orders (``[B] int64``, any ``B``).

    Raises:
        ValueError: if an order leaves an intermediate uneliminated (e.g. repeats a vertex).
    """
    orders = np.asarray(orders, np.int32)
    if orders.ndim != 2 or orders.shape[1] != problem.num_intermediates:
        raise ValueError(f"orders must have shape [B, {problem.num_intermediates}], got {orders.shape}")
    out = np.empty(len(orders), np.int64)
    for start in range(0, len(orders), MAX_BATCH):
        chunk = orders[start : start + MAX_BATCH]
        final = play_orders(problem, chunk)
        done = np.asarray(final.terminated)[: len(chunk)]
        if not np.all(done):
            bad = start + int(np.argmin(done))
            raise ValueError(f"order {bad} does not eliminate every intermediate of graph {problem.graph.name!r}")
        out[start : start + len(chunk)] = costs_of(final)[: len(chunk)]
    return out


def recorded_orders(states: GameState, count: int | None = None) -> np.ndarray:
    """``[B, k] int32``: the vertices eliminated so far by the first ``count`` (default: all)
    states of a batch; they must all have made the same number ``k`` of eliminations."""
    steps = np.asarray(states.num_steps)[:count]
    if steps.size and np.any(steps != steps[0]):
        raise ValueError("states of the batch made different numbers of eliminations")
    k = int(steps[0]) if steps.size else 0
    return np.asarray(states.order)[:count, :k]

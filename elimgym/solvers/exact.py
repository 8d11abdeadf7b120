"""Exact optimal orders: dynamic programming over sets of eliminated vertices, with pruning.

The DP visits the game's states layer by layer (layer ``k`` = states with ``k`` eliminations).
All orders of a set of eliminations usually lead to the same graph, so a layer holds about one
state per set - but not always: a join (sum) of two partials keeps a tie only where both have
it, so ``a . join(b, c)`` can be coarser than ``join(a . b, a . c)`` and a later product can
cost more (see ``docs/solvers.md``). States are therefore merged only when their eliminated
sets *and* their edge structures agree (a 128-bit digest of the structure codes, computed in
JAX), keeping the cheapest path to each; this is exact whatever the model does.

Pruning (branch and bound): a state with ``g + h >= U`` is dropped, where ``g`` is its cost so
far, ``U`` the best complete order known, and ``h`` a lower bound on the cost still to pay: the
sum over the remaining vertices of the larger of their :func:`elimgym.solvers.bounds.vertex_bounds`
(valid in every state) and their general-value bound in this state (computed in JAX for each
child). Every order passes through every layer,
so once layer ``k`` is complete, ``min(U, min over layer k of g + h)`` is a lower bound on the
optimum: a search stopped by its time or state limit still certifies a bound.

Independent parts of the graph (:func:`elimgym.solvers.reductions.independent_parts`) are solved
separately, smallest first (so that a part too large to finish does not starve the others); the
bound is the sum of the parts' bounds.

Transitions run in batches through :func:`elimgym.solvers.problem.advance` (the one compiled
game step the other solvers use); states live on the host, packed into one ``int32`` row each.
A layer is expanded twice - once to find each child's cost and digest (no states kept), once to
build the surviving children - which keeps memory at about one layer of states.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from graphs.lcg import Role
from graphs.structure import NUM_CODES, all_structures

from elimgym import game
from elimgym.game import GameState
from elimgym.solvers.bounds import analyse, grounded, vertex_bounds
from elimgym.solvers.problem import MAX_BATCH, Problem, advance, costs_of, padded_size, play_orders, replicate
from elimgym.solvers.reductions import independent_parts
from elimgym.solvers.result import SolverResult

__all__ = [
    "solve_exact",
    "reorder_exactly",
    "partial_costs",
    "remaining_bounds",
    "ExactStats",
    "warm_up",
    "MAX_PART",
    "GraphTooLargeForExact",
]

MAX_PART = 40
"""Default limit of :func:`solve_exact` on the intermediates of one independent part: the DP
visits up to ``n * 2**(n - 1)`` transitions for a part of ``n``, hopeless far below this."""


class GraphTooLargeForExact(ValueError):
    """The graph has an independent part too large for the exact DP to be worth starting."""


@jax.jit
def _digest_kernel(edges: jax.Array, weights: jax.Array) -> jax.Array:
    """``[B, 4] int32`` random linear hashes (mod 2**32) of each state's ``[N, N]`` codes."""
    flat = edges.reshape(edges.shape[0], -1).astype(jnp.int32)
    return flat @ weights.T


@jax.jit
def _pack_kernel(states: GameState) -> jax.Array:
    """``[B, F] int32``: the per-state fields of a batch in one array (see :func:`_unpack_kernel`)."""
    b, n = states.eliminated.shape
    edges = jax.lax.bitcast_convert_type(states.edges.reshape(b, n * n // 2, 2), jnp.int32)
    scalars = jnp.stack([states.num_steps, states.cost_hi, states.cost_lo, states.terminated.astype(jnp.int32)], axis=1)
    return jnp.concatenate(
        [edges, states.eliminated.astype(jnp.int32), states.in_degree, states.out_degree, states.order, scalars], axis=1
    )


@jax.jit
def _unpack_kernel(packed: jax.Array, initial: GameState) -> GameState:
    """Inverse of :func:`_pack_kernel`; fields that never change come from ``initial``."""
    b = packed.shape[0]
    n = initial.eliminated.shape[-1]
    cut = n * n // 2
    edges = jax.lax.bitcast_convert_type(packed[:, :cut], jnp.int16).reshape(b, n, n)
    rest = packed[:, cut:]
    return GameState(
        edges=edges,
        shapes=jnp.broadcast_to(initial.shapes, (b,) + initial.shapes.shape),
        roles=jnp.broadcast_to(initial.roles, (b,) + initial.roles.shape),
        eliminated=rest[:, :n] != 0,
        in_degree=rest[:, n : 2 * n],
        out_degree=rest[:, 2 * n : 3 * n],
        order=rest[:, 3 * n : 4 * n],
        num_steps=rest[:, 4 * n],
        cost_hi=rest[:, 4 * n + 1],
        cost_lo=rest[:, 4 * n + 2],
        terminated=rest[:, 4 * n + 3] != 0,
        illegal=jnp.zeros(b, bool),
        illegal_penalty=jnp.broadcast_to(initial.illegal_penalty, (b,)),
    )


@dataclass
class _Layer:
    """States of one DP layer, on the host.

    Attributes:
        packed: ``[M, F] int32`` the states (:func:`_pack_kernel`); emptied once the layer is done.
        g: ``[M] int64`` cost so far.
        h: ``[M] int64`` lower bound on the cost still to pay.
        parent: ``[M] int64`` index in the previous layer.
        action: ``[M] int32`` the vertex eliminated last.
        neighbours: ``[M, N] bool`` the vertices adjacent to that vertex just before it was
            eliminated (all True in a root layer); see :func:`_allowed`.
    """

    packed: np.ndarray
    g: np.ndarray
    h: np.ndarray
    parent: np.ndarray
    action: np.ndarray
    neighbours: np.ndarray

    @property
    def size(self) -> int:
        return len(self.g)


@dataclass
class ExactStats:
    """Counters of a DP run (reported in ``SolverResult.info``)."""

    transitions: int = 0
    states: int = 0
    layers_done: int = 0
    split_sets: int = 0
    commuting_skipped: int = 0
    parts: list[int] = field(default_factory=list)


class _BoundTables(NamedTuple):
    """What the per-state bound needs (``N`` = capacity)."""

    static: jax.Array  # [N] int32: vertex_bounds of the initial graph
    unit: jax.Array  # [NUM_CODES] bool: codes whose value is a unit
    is_input: jax.Array  # [N] bool
    is_output: jax.Array  # [N] bool
    part: jax.Array  # [N] bool: the vertices of the part being solved
    grounded: jax.Array  # [N] bool: bounds.grounded


def _remaining_bound(state: GameState, tables: _BoundTables) -> jax.Array:
    """``[] int32``: a lower bound on the cost still to pay for the part's remaining vertices:
    per vertex the larger of its static bound and its general-value bound in this state (see
    :func:`elimgym.solvers.bounds.general_value_bounds`)."""
    present = state.edges != 0
    general = present & ~tables.unit[state.edges.astype(jnp.int32)]
    count = lambda x, axis: jnp.sum(x, axis=axis, dtype=jnp.int32)  # noqa: E731
    kept_in = count(general & tables.is_input[:, None], 0)
    kept_out = count(general & tables.is_output[None, :], 1)
    both_sides = tables.grounded & jnp.any(general, axis=0) & jnp.any(general, axis=1)
    per_pair = jnp.where(both_sides, jnp.maximum(kept_in, 1) * jnp.maximum(kept_out, 1), kept_in * kept_out)
    per_vertex = jnp.maximum(tables.static, per_pair)
    return jnp.sum(jnp.where(tables.part & ~state.eliminated, per_vertex, 0))


@jax.jit
def _finish_kernel(
    children: GameState, weights: jax.Array, tables: _BoundTables
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array, jax.Array]:
    """The children's cost limbs (``[B]`` each), remaining-cost bounds (``[B]``), digests
    (``[B, 4]``) and packed rows (``[B, F]``)."""
    bound = jax.vmap(_remaining_bound, in_axes=(0, None))(children, tables)
    return children.cost_hi, children.cost_lo, bound, _digest_kernel(children.edges, weights), _pack_kernel(children)


def _bound_tables(problem: Problem, static: np.ndarray, part: np.ndarray) -> _BoundTables:
    n = problem.capacity
    padded_static = np.zeros(n, np.int32)
    padded_static[: len(static)] = np.minimum(static, np.iinfo(np.int32).max)
    roles = np.asarray(problem.state.roles)
    in_part = np.zeros(n, bool)
    in_part[part] = True
    sound = np.zeros(n, bool)
    sound[: problem.graph.num_vertices] = grounded(problem.graph)
    unit = np.zeros(NUM_CODES, bool)
    for k, structure in enumerate(all_structures(), start=1):
        unit[k] = structure.value.is_unit
    return _BoundTables(
        jnp.asarray(padded_static), jnp.asarray(unit), jnp.asarray(roles == Role.INPUT),
        jnp.asarray(roles == Role.OUTPUT), jnp.asarray(in_part), jnp.asarray(sound),
    )


def _transitions(
    problem: Problem, layer: _Layer, parents: np.ndarray, actions: np.ndarray, weights: jax.Array, tables: _BoundTables
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Children of ``(parents, actions)`` pairs (at most ``MAX_BATCH``) of a layer.

    Returns:
        ``([C] int64 costs so far, [C] int64 remaining-cost bounds, [C, 4] int32 digests,
        [C, F] int32 packed children)``.
    """
    count = len(parents)
    size = padded_size(count, problem.capacity)
    index = np.concatenate([parents, np.full(size - count, parents[-1], parents.dtype)])
    padded_actions = np.concatenate([actions, np.full(size - count, actions[-1], np.int32)]).astype(np.int32)
    children = advance(_unpack_kernel(jnp.asarray(layer.packed[index]), problem.state), padded_actions)
    hi, lo, bound, digests, packed = _finish_kernel(children, weights, tables)
    costs = np.asarray(hi, np.int64)[:count] * 65536 + np.asarray(lo, np.int64)[:count]
    return costs, np.asarray(bound, np.int64)[:count], np.asarray(digests)[:count], np.asarray(packed)[:count]


SUPER_CHUNKS = 16
"""Large layers are expanded ``SUPER_CHUNKS * MAX_BATCH`` transitions per call (one compiled
``lax.map`` over batches), which saves the per-call overhead of the small kernels."""


@jax.jit
def _super_kernel(
    packed: jax.Array, actions: jax.Array, initial: GameState, weights: jax.Array, tables: _BoundTables
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array, jax.Array]:
    """:func:`_transitions` for ``[SUPER_CHUNKS * MAX_BATCH]`` pairs at once (same outputs)."""

    def batch(chunk: tuple[jax.Array, jax.Array]):
        rows, acts = chunk
        children = jax.vmap(game.step)(_unpack_kernel(rows, initial), acts)[0]
        return _finish_kernel(children, weights, tables)

    shaped = (packed.reshape(SUPER_CHUNKS, MAX_BATCH, -1), actions.reshape(SUPER_CHUNKS, MAX_BATCH))
    outs = jax.lax.map(batch, shaped)
    return jax.tree_util.tree_map(lambda x: x.reshape((SUPER_CHUNKS * MAX_BATCH,) + x.shape[2:]), outs)


def _expand_pairs(
    problem: Problem,
    layer: _Layer,
    parents: np.ndarray,
    actions: np.ndarray,
    weights: jax.Array,
    tables: _BoundTables,
    deadline: float,
    keep_states: bool,
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """All children of ``(parents, actions)``, until the deadline.

    Returns:
        ``(done, g, h, digests, packed)``: how many pairs were expanded (all unless the deadline
        passed), their costs so far, remaining-cost bounds, digests, and (if ``keep_states``)
        packed states.
    """
    count = len(parents)
    g = np.empty(count, np.int64)
    h = np.empty(count, np.int64)
    digests = np.empty((count, 4), np.int32)
    packed = np.empty((count, layer.packed.shape[1]), np.int32) if keep_states else None
    big = SUPER_CHUNKS * MAX_BATCH
    done = 0
    while done < count and time.perf_counter() <= deadline:
        if count - done >= big:
            stop = done + big
            hi, lo, bound, digest, rows = _super_kernel(
                jnp.asarray(layer.packed[parents[done:stop]]), jnp.asarray(actions[done:stop]), problem.state, weights, tables
            )
            g[done:stop] = np.asarray(hi, np.int64) * 65536 + np.asarray(lo, np.int64)
            h[done:stop], digests[done:stop] = np.asarray(bound), np.asarray(digest)
            if keep_states:
                packed[done:stop] = np.asarray(rows)
        else:
            stop = min(count, done + MAX_BATCH)
            g[done:stop], h[done:stop], digests[done:stop], rows = _transitions(
                problem, layer, parents[done:stop], actions[done:stop], weights, tables
            )
            if keep_states:
                packed[done:stop] = rows
        done = stop
    return done, g, h, digests, packed


def _root_layer(problem: Problem, h0: int) -> _Layer:
    packed = np.asarray(_pack_kernel(jax.tree_util.tree_map(lambda x: x[None], problem.state)))
    everything = np.ones((1, problem.capacity), bool)
    return _Layer(packed, np.zeros(1, np.int64), np.array([h0], np.int64), np.zeros(1, np.int64), np.zeros(1, np.int32), everything)


def _last_neighbours(packed: np.ndarray, parents: np.ndarray, actions: np.ndarray, capacity: int) -> np.ndarray:
    """``[M, N] bool``: for each child ``(parents[m], actions[m])`` of a layer's packed states
    (``[P, F] int32``, see :func:`_pack_kernel`), the vertices adjacent to ``actions[m]`` in the
    parent (an edge either way)."""
    others = np.arange(capacity)[None, :]
    actions = np.asarray(actions, np.int64)[:, None]

    def present(flat: np.ndarray) -> np.ndarray:
        # Edge codes are int16 pairs bitcast to int32: code k of the flattened [N, N] array is
        # the low (k even) or high (k odd) half of word k // 2.
        words = packed[np.asarray(parents)[:, None], flat // 2]
        return ((words >> (16 * (flat % 2))) & 0xFFFF) != 0

    return present(actions * capacity + others) | present(others * capacity + actions)


def _allowed(layer: _Layer, capacity: int) -> np.ndarray:
    """``[M, N] bool``: the eliminations worth trying from each state of a layer.

    Commuting eliminations: if ``b`` is not adjacent to ``a`` when ``a`` is eliminated, then
    eliminating ``a`` changes no edge at ``b`` and ``b`` none at ``a``, so ``(a, b)`` and ``(b, a)``
    cost the same and lead to the same graph (joins commute). Orders that eliminate such a ``b``
    right after a larger ``a`` are therefore skipped. This loses no optimum, even though states
    keep only their cheapest path: by induction over layers and, within a layer, over ``b`` from
    the largest vertex down, the skipped child ``X + b`` (``X = P + a``) is reached at no higher
    cost as ``(P + b) + a``, which is tried because ``a > b`` - or, if the state kept for
    ``P + b`` blocks ``a``, by the same argument one layer down with the larger vertex ``a``.
    """
    later = np.arange(capacity)[None, :] > layer.action[:, None]
    return layer.neighbours | later


def partial_costs(problem: Problem, orders: np.ndarray) -> np.ndarray:
    """``[B] int64``: the cost of eliminating the vertices of each row of ``[B, k]`` (a subset of
    the intermediates, in that order) from the initial graph."""
    orders = np.asarray(orders, np.int32)
    out = np.empty(len(orders), np.int64)
    for start in range(0, len(orders), MAX_BATCH):
        chunk = orders[start : start + MAX_BATCH]
        out[start : start + len(chunk)] = costs_of(play_orders(problem, chunk))[: len(chunk)]
    return out


def _solve_part(
    problem: Problem,
    part: Sequence[int],
    bounds: np.ndarray,
    incumbent: np.ndarray,
    deadline: float,
    max_states: int,
    weights: jax.Array,
    stats: ExactStats,
    progress: Callable[[int, int], None] | None,
) -> tuple[np.ndarray, int, int, bool]:
    """DP over one independent part. Returns ``(order, cost, lower_bound, optimal)``."""
    part = np.asarray(part, np.int32)
    upper = int(partial_costs(problem, incumbent[None])[0])
    best_order = incumbent.copy()
    in_part = np.zeros(problem.capacity, bool)
    in_part[part] = True
    tables = _bound_tables(problem, bounds, part)
    root = _root_layer(problem, int(bounds[part].sum()))
    layers = [root]
    bound = min(upper, int(root.g[0] + root.h[0]))
    for depth in range(len(part)):
        layer = layers[-1]
        eliminated = _eliminated(layer, problem.capacity)
        candidates = ~eliminated & in_part[None, :]
        allowed = candidates & _allowed(layer, problem.capacity)
        stats.commuting_skipped += int(candidates.sum() - allowed.sum())
        parents, actions = np.nonzero(allowed)
        actions = actions.astype(np.int32)
        done, child_g, child_h, digests, _ = _expand_pairs(problem, layer, parents, actions, weights, tables, deadline, False)
        stats.transitions += done
        if done < len(parents):
            return best_order, upper, bound, False
        keep = child_g + child_h < upper
        if depth + 1 == len(part):
            if np.any(keep):
                k = int(np.argmin(np.where(keep, child_g, np.iinfo(np.int64).max)))
                upper = int(child_g[k])
                best_order = _backtrack(layers, int(parents[k]), int(actions[k]))
            bound = upper
            stats.layers_done += 1
            return best_order, upper, bound, True
        if not np.any(keep):
            stats.layers_done += 1
            return best_order, upper, upper, True
        parents, actions, child_g, child_h, digests = parents[keep], actions[keep], child_g[keep], child_h[keep], digests[keep]
        masks = np.packbits(eliminated[parents], axis=1)
        mask_bits = masks.view(np.uint8).reshape(len(parents), -1)
        action_bit = np.zeros_like(mask_bits)
        np.bitwise_or.at(action_bit, (np.arange(len(actions)), actions // 8), (1 << (7 - actions % 8)).astype(np.uint8))
        mask_bits = mask_bits | action_bit
        keys = np.concatenate([mask_bits.astype(np.int64), digests.astype(np.int64)], axis=1)
        order = np.lexsort((child_g,) + tuple(keys[:, k] for k in range(keys.shape[1] - 1, -1, -1)))
        sorted_keys = keys[order]
        first = np.ones(len(order), bool)
        first[1:] = np.any(sorted_keys[1:] != sorted_keys[:-1], axis=1)
        survivors = order[first]
        set_first = np.ones(len(order), bool)
        width = mask_bits.shape[1]
        set_first[1:] = np.any(sorted_keys[1:, :width] != sorted_keys[:-1, :width], axis=1)
        stats.split_sets += int(np.sum(first & ~set_first))
        if len(survivors) > max_states:
            return best_order, upper, bound, False
        done, _, _, _, packed = _expand_pairs(
            problem, layer, parents[survivors], actions[survivors], weights, tables, deadline, True
        )
        if done < len(survivors):
            return best_order, upper, bound, False
        kept_parents = parents[survivors]
        neighbours = _last_neighbours(layer.packed, kept_parents, actions[survivors], problem.capacity)
        new_layer = _Layer(packed, child_g[survivors], child_h[survivors], kept_parents.astype(np.int64), actions[survivors], neighbours)
        layers.append(new_layer)
        layers[-2] = _Layer(layer.packed[:0], layer.g, layer.h, layer.parent, layer.action, layer.neighbours[:0])
        stats.states += new_layer.size
        stats.layers_done += 1
        bound = max(bound, min(upper, int(np.min(new_layer.g + new_layer.h))))
        if progress is not None:
            progress(depth + 1, new_layer.size)
    return best_order, upper, upper, True


def _eliminated(layer: _Layer, capacity: int) -> np.ndarray:
    """``[M, N] bool`` eliminated flags of the layer's states (read from the packed rows)."""
    cut = capacity * capacity // 2
    return layer.packed[:, cut : cut + capacity] != 0


def _backtrack(layers: list[_Layer], parent: int, action: int) -> np.ndarray:
    """The order reaching child ``(parent, action)`` of the last layer."""
    order = [action]
    index = parent
    for layer in reversed(layers[1:]):
        order.append(int(layer.action[index]))
        index = int(layer.parent[index])
    return np.asarray(order[::-1], np.int32)


def _order_of(layers: list[_Layer], index: int) -> np.ndarray:
    """The eliminations that reach entry ``index`` of the last layer."""
    order = []
    for layer in reversed(layers[1:]):
        order.append(int(layer.action[index]))
        index = int(layer.parent[index])
    return np.asarray(order[::-1], np.int32)


def reorder_exactly(
    problem: Problem, prefix: np.ndarray, window: np.ndarray, suffix: np.ndarray, deadline: float
) -> tuple[np.ndarray, int] | None:
    """The cheapest order of ``window`` between a fixed ``prefix`` and ``suffix`` (which together
    with it form a complete order): a DP over subsets of the window from the state after the
    prefix (states merged when their sets and structures agree), then every distinct final
    state completed with the suffix.

    Returns:
        ``(window order, total cost of prefix + it + suffix)``, or None if ``deadline`` (a
        :func:`time.perf_counter` time) passed first.
    """
    prefix, window, suffix = (np.asarray(x, np.int32) for x in (prefix, window, suffix))
    start = play_orders(problem, prefix[None], prefix=len(prefix)) if len(prefix) else replicate(problem.state, 1)
    packed = np.asarray(_pack_kernel(start))[:1]
    layers = [
        _Layer(packed, costs_of(start)[:1], np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros(1, np.int32),
               np.ones((1, problem.capacity), bool))
    ]
    tables = _bound_tables(problem, np.zeros(problem.graph.num_vertices, np.int64), window)
    weights = _digest_weights(problem.capacity)
    in_window = np.zeros(problem.capacity, bool)
    in_window[window] = True
    for _ in range(len(window)):
        layer = layers[-1]
        parents, actions = np.nonzero(~_eliminated(layer, problem.capacity) & in_window[None, :] & _allowed(layer, problem.capacity))
        actions = actions.astype(np.int32)
        done, g, _, digests, _ = _expand_pairs(problem, layer, parents, actions, weights, tables, deadline, False)
        if done < len(parents):
            return None
        eliminated = _eliminated(layer, problem.capacity)[parents]
        eliminated[np.arange(len(actions)), actions] = True
        keys = np.concatenate([np.packbits(eliminated, axis=1).astype(np.int64), digests.astype(np.int64)], axis=1)
        ranking = np.lexsort((g,) + tuple(keys[:, k] for k in range(keys.shape[1] - 1, -1, -1)))
        first = np.ones(len(ranking), bool)
        first[1:] = np.any(keys[ranking][1:] != keys[ranking][:-1], axis=1)
        survivors = ranking[first]
        done, _, _, _, rows = _expand_pairs(problem, layer, parents[survivors], actions[survivors], weights, tables, deadline, True)
        if done < len(survivors):
            return None
        neighbours = _last_neighbours(layer.packed, parents[survivors], actions[survivors], problem.capacity)
        layers.append(
            _Layer(rows, g[survivors], np.zeros(len(survivors), np.int64), parents[survivors].astype(np.int64), actions[survivors], neighbours)
        )
    final = layers[-1]
    totals = np.empty(final.size, np.int64)
    for begin in range(0, final.size, MAX_BATCH):
        index = np.arange(begin, min(final.size, begin + MAX_BATCH))
        padded = np.concatenate([index, np.full(padded_size(len(index), problem.capacity) - len(index), index[-1])])
        states = _unpack_kernel(jnp.asarray(final.packed[padded]), problem.state)
        for v in suffix:
            states = advance(states, np.full(len(index), v, np.int32))
        totals[index] = costs_of(states)[: len(index)]
    best = int(np.argmin(totals))
    return _order_of(layers, best), int(totals[best])


def remaining_bounds(problem: Problem, states: GameState, count: int) -> np.ndarray:
    """``[count] int64``: the DP's lower bound on the cost still to pay from each of the first
    ``count`` states of a padded batch (all intermediates counted)."""
    bounds = vertex_bounds(analyse(problem.graph))
    tables = _bound_tables(problem, bounds, problem.intermediates)
    return np.asarray(jax.vmap(_remaining_bound, in_axes=(0, None))(states, tables), np.int64)[:count]


def _digest_weights(capacity: int) -> jax.Array:
    return jnp.asarray(np.random.default_rng(0).integers(-(2**31), 2**31, (4, capacity**2)), jnp.int32)


def warm_up(problem: Problem) -> None:
    """Compile the DP's kernels for this capacity (so that compilation does not eat its time
    limit); the large-layer kernel only if some independent part can have layers that large."""
    if not problem.num_intermediates:
        return
    root = _root_layer(problem, 0)
    tables = _bound_tables(problem, np.zeros(problem.graph.num_vertices, np.int64), problem.intermediates)
    weights = _digest_weights(problem.capacity)
    first = problem.intermediates[:1]
    _transitions(problem, root, np.zeros(1, np.int64), first, weights, tables)
    largest = max(len(p) for p in independent_parts(problem.graph))
    if max(math.comb(largest, k) * (largest - k) for k in range(largest)) >= SUPER_CHUNKS * MAX_BATCH:
        size = SUPER_CHUNKS * MAX_BATCH
        _super_kernel(jnp.asarray(np.repeat(root.packed, size, 0)), jnp.asarray(np.repeat(first, size)), problem.state, weights, tables)


def solve_exact(
    problem: Problem,
    incumbent: Sequence[int],
    time_limit: float = 60.0,
    max_states: int = 2_000_000,
    progress: Callable[[int, int], None] | None = None,
    max_part: int | None = MAX_PART,
) -> SolverResult:
    """The optimal order by DP with pruning, or a certified lower bound if limits are hit.

    Args:
        problem: the graph.
        incumbent: a complete order (e.g. the best heuristic's): the initial upper bound, and the
            answer for any part the search does not finish.
        time_limit: seconds for the whole search.
        max_states: most states a layer may hold.
        progress: called with ``(layer, states in it)`` after each layer.
        max_part: refuse graphs with an independent part of more intermediates than this
            (``None``: no limit - a search that cannot finish then only certifies a bound).

    Returns:
        ``method="exact"``; ``optimal`` tells whether the search finished; ``lower_bound`` is
        certified either way (equal to ``cost`` when optimal). When the search stops early, the
        order is the incumbent with every part the DP finished replaced by its optimal order
        (``info["finished_parts"]`` lists those parts' sizes, ``info["improved"]`` tells
        whether that made it cheaper than the incumbent).

    Raises:
        GraphTooLargeForExact: if an independent part has more than ``max_part`` intermediates.
        elimgym.orders.OrderError: if ``incumbent`` is not a complete order of the graph.
    """
    began = time.perf_counter()
    largest = max((len(p) for p in independent_parts(problem.graph)), default=0)
    if max_part is not None and largest > max_part:
        raise GraphTooLargeForExact(
            f"graph {problem.graph.name!r} is too large for the exact DP: an independent part has {largest} "
            f"intermediates, more than the limit of {max_part} (the DP visits up to n * 2**(n - 1) transitions "
            f"for a part of n); pass max_part=None to run it anyway for a lower bound"
        )
    incumbent = problem.check(np.asarray(incumbent, np.int32)[None])[0]
    start_cost = int(partial_costs(problem, incumbent[None])[0])
    bounds = vertex_bounds(analyse(problem.graph))
    weights = _digest_weights(problem.capacity)
    warm_up(problem)
    deadline = time.perf_counter() + time_limit
    stats = ExactStats()
    orders, cost, bound, optimal, finished_parts = [], 0, 0, True, []
    for part in sorted(independent_parts(problem.graph), key=len):
        stats.parts.append(len(part))
        in_part = set(part)
        restricted = np.asarray([v for v in incumbent if v in in_part], np.int32)
        part_order, part_cost, part_bound, part_optimal = _solve_part(
            problem, part, bounds, restricted, deadline, max_states, weights, stats, progress
        )
        orders.append(part_order)
        cost += part_cost
        bound += part_bound
        optimal &= part_optimal
        if part_optimal:
            finished_parts.append(len(part))
    order = np.concatenate(orders) if orders else np.zeros(0, np.int32)
    problem.order(order, cost, "exact")
    info = {
        "transitions": stats.transitions,
        "states": stats.states,
        "layers": stats.layers_done,
        "parts": stats.parts,
        "finished_parts": finished_parts,
        "improved": bool(cost < start_cost),
        "order_dependent_states": stats.split_sets,
        "commuting_skipped": stats.commuting_skipped,
    }
    return SolverResult("exact", int(cost), tuple(int(v) for v in order), time.perf_counter() - began, optimal, int(bound), info)

"""The vertex elimination game as pure JAX functions.

One compiled function serves every graph up to the capacity ``N`` (the static size of the padded
arrays): ``init(graph) -> state``, ``step(state, action) -> (state, reward, terminated)``,
``observe(state)`` and ``legal_action_mask(state)`` all run under ``jit``, ``vmap`` and
``lax.scan``.

Rules
-----
* **Action**: the index of an intermediate vertex that is not yet eliminated.
* **Transition**: eliminating ``v`` adds, for every predecessor ``p`` and successor ``s``, the
  product ``d s/d v . d v/d p`` into edge ``p -> s`` and removes ``v``'s edges.
* **Reward**: minus the scalar multiplications of that elimination (:mod:`elimgym.cost`), as
  ``float32``; the exact integer total is kept in the state (:func:`total_cost`).
* **Termination**: when no intermediate is left. The return is minus the Jacobian's total cost.
* **Illegal action** (padding, input, output, eliminated vertex or out of range): the state is
  unchanged except ``illegal=True``, and the reward is ``-state.illegal_penalty``.
* **After termination**: stepping is a no-op with reward 0 (not flagged illegal), and the
  legal-action mask is all True so that policies never normalise over an empty set.

Speed
-----
``step`` gathers the predecessors and successors of ``v`` into ``K`` slots and does the
``K x K`` pair work with table lookups; ``K`` is chosen per call from a few static sizes (the
smallest that holds ``v``'s degrees). Under ``vmap`` a custom batching rule picks one ``K`` for
the whole batch, so a batched step costs ``O(N + K^2)`` per environment instead of ``O(N^2)``.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from graphs.lcg import LCG, CapacityError, PaddedGraph, Role

from elimgym.tables import MAIN_FLAG, NUM_CODES, SCALE_FLAG, SCALE_SHIFT, tables

__all__ = [
    "GameState",
    "Observation",
    "MAX_VERTEX_SIZE",
    "DEFAULT_ILLEGAL_PENALTY",
    "VERTEX_FEATURE_NAMES",
    "encode",
    "init",
    "step",
    "observe",
    "legal_action_mask",
    "total_cost",
    "CHUNK",
]

MAX_VERTEX_SIZE = 1024
"""Largest vertex (in scalar entries) the JAX game accepts: keeps every pair's cost below 2**31."""

DEFAULT_ILLEGAL_PENALTY = 0.0
"""Default penalty for an illegal action (the Gymnasium wrapper raises instead, by default)."""

_COST_BASE = 1 << 16


class GameState(NamedTuple):
    """State of one game (``N`` = capacity). A pytree: batch it with ``vmap``.

    Attributes:
        edges: ``[N, N] int16``: structure code of edge ``s -> t`` (0 = none).
        shapes: ``[N, 2] int32``: vertex shapes, missing axes 1.
        roles: ``[N] int8``: :class:`graphs.lcg.Role` of each slot (0 = padding).
        eliminated: ``[N] bool``: eliminated vertices.
        in_degree: ``[N] int32``: current number of predecessors.
        out_degree: ``[N] int32``: current number of successors.
        order: ``[N] int32``: the vertices eliminated so far, in order, then -1.
        num_steps: ``[] int32``: number of eliminations so far.
        cost_hi, cost_lo: ``[] int32``: exact total cost so far, ``cost_hi * 2**16 + cost_lo``.
        terminated: ``[] bool``: no intermediate is left.
        illegal: ``[] bool``: the last action was illegal.
        illegal_penalty: ``[] float32``: reward magnitude of an illegal action.
    """

    edges: jax.Array
    shapes: jax.Array
    roles: jax.Array
    eliminated: jax.Array
    in_degree: jax.Array
    out_degree: jax.Array
    order: jax.Array
    num_steps: jax.Array
    cost_hi: jax.Array
    cost_lo: jax.Array
    terminated: jax.Array
    illegal: jax.Array
    illegal_penalty: jax.Array


VERTEX_FEATURE_NAMES = (
    "is_padding",
    "is_input",
    "is_intermediate",
    "is_output",
    "eliminated",
    "legal",
    "log2_size_axis0",
    "log2_size_axis1",
    "log2_size",
    "log1p_in_degree",
    "log1p_out_degree",
    "log1p_markowitz",
)
"""Columns of :attr:`Observation.vertices`."""


class Observation(NamedTuple):
    """What an agent sees (``N`` = capacity, ``F = len(VERTEX_FEATURE_NAMES)``).

    Attributes:
        edges: ``[N, N] int16``: structure code of each edge (0 = none); embed it, or look up
            :func:`elimgym.tables.code_features`.
        vertices: ``[N, F] float32``: per-vertex features named by :data:`VERTEX_FEATURE_NAMES`.
        action_mask: ``[N] bool``: legal actions.
    """

    edges: jax.Array
    vertices: jax.Array
    action_mask: jax.Array


# ------------------------------------------------------------------------------ encode
def encode(graph: LCG, capacity: int | None = None) -> PaddedGraph:
    """Pad ``graph`` to ``capacity`` vertices for the JAX game (host-side, NumPy).

    Raises:
        CapacityError: if the graph has more vertices than ``capacity``, or a vertex larger than
            :data:`MAX_VERTEX_SIZE` entries (costs could overflow the game's int32 arithmetic).
    """
    for k, v in enumerate(graph.vertices):
        if v.size > MAX_VERTEX_SIZE:
            raise CapacityError(
                f"graph {graph.name!r}: vertex {k} ({v.name!r}, shape {v.shape}) has {v.size} entries; the JAX "
                f"game supports at most {MAX_VERTEX_SIZE} per vertex (use elimgym.reference for larger graphs)"
            )
    return graph.pad(capacity)


def init(graph: PaddedGraph, illegal_penalty: float = DEFAULT_ILLEGAL_PENALTY) -> GameState:
    """Initial state of the game on a padded graph (arrays of any capacity ``N``)."""
    edges = jnp.asarray(graph.edges, jnp.int16)
    roles = jnp.asarray(graph.roles, jnp.int8)
    n = edges.shape[-1]
    present = edges != 0
    eliminated = jnp.zeros(n, bool)
    return GameState(
        edges=edges,
        shapes=jnp.asarray(graph.shapes, jnp.int32),
        roles=roles,
        eliminated=eliminated,
        in_degree=present.sum(0, dtype=jnp.int32),
        out_degree=present.sum(1, dtype=jnp.int32),
        order=jnp.full(n, -1, jnp.int32),
        num_steps=jnp.zeros((), jnp.int32),
        cost_hi=jnp.zeros((), jnp.int32),
        cost_lo=jnp.zeros((), jnp.int32),
        terminated=~jnp.any(roles == Role.INTERMEDIATE),
        illegal=jnp.zeros((), bool),
        illegal_penalty=jnp.asarray(illegal_penalty, jnp.float32),
    )


# ------------------------------------------------------------------------------- rules
def legal_action_mask(state: GameState) -> jax.Array:
    """``[N] bool``: intermediates not yet eliminated; all True once the game has terminated."""
    legal = (state.roles == Role.INTERMEDIATE) & ~state.eliminated
    return legal | state.terminated


def _is_legal(state: GameState, action: jax.Array) -> jax.Array:
    n = state.roles.shape[-1]
    v = jnp.clip(action, 0, n - 1)
    in_range = (action >= 0) & (action < n)
    return in_range & (state.roles[v] == Role.INTERMEDIATE) & ~state.eliminated[v] & ~state.terminated


CHUNK = 8
"""Predecessor-successor pairs are processed in ``CHUNK x CHUNK`` blocks."""


def _pair_costs(masks: jax.Array, axis_sizes: list[jax.Array]) -> jax.Array:
    """``[C, C] int32`` multiplications of each pair from its cost mask and the axis sizes."""

    def masked_product(shift: int) -> jax.Array:
        out = jnp.ones(masks.shape, jnp.int32)
        for bit, size in enumerate(axis_sizes):
            out = out * jnp.where((masks >> (shift + bit)) & 1 == 1, size, 1)
        return out

    main = jnp.where(masks & MAIN_FLAG != 0, masked_product(0), 0)
    scale = jnp.where(masks & SCALE_FLAG != 0, masked_product(SCALE_SHIFT), 0)
    return main + scale


class _Elimination(NamedTuple):
    """Per-environment quantities of one elimination, computed before the pair loop."""

    active: jax.Array  # [] bool: the action is legal
    vertex: jax.Array  # [] int32: the eliminated vertex (clipped action)
    col: jax.Array  # [N] int16: codes of p -> v (zeros if inactive)
    row: jax.Array  # [N] int16: codes of v -> s (zeros if inactive)
    preds: jax.Array  # [N + CHUNK] int32: predecessor indices, then N (padding)
    succs: jax.Array  # [N + CHUNK] int32: successor indices, then N (padding)
    num_chunks: jax.Array  # [2] int32: chunks of predecessors and of successors


def _prepare(state: GameState, action: jax.Array) -> _Elimination:
    n = state.roles.shape[-1]
    active = _is_legal(state, action)
    v = jnp.clip(action, 0, n - 1).astype(jnp.int32)
    col = jnp.where(active, state.edges[:, v], 0)
    row = jnp.where(active, state.edges[v, :], 0)
    preds = jnp.nonzero(col, size=n + CHUNK, fill_value=n)[0].astype(jnp.int32)
    succs = jnp.nonzero(row, size=n + CHUNK, fill_value=n)[0].astype(jnp.int32)
    counts = jnp.stack([jnp.count_nonzero(col), jnp.count_nonzero(row)]).astype(jnp.int32)
    return _Elimination(active, v, col, row, preds, succs, (counts + CHUNK - 1) // CHUNK)


def _pair_block(edges, shapes, e: _Elimination, preds, succs):
    """Multiply and merge one ``CHUNK x CHUNK`` block of (predecessor, successor) pairs, and
    remove the block's predecessors' and successors' edges to and from the eliminated vertex.

    Returns the updated edges, the block's cost as ``(hi, lo)`` limbs, and the number of new
    edges per predecessor and per successor.
    """
    t = tables()
    b = e.col.at[preds].get(mode="fill", fill_value=0).astype(jnp.int32)
    a = e.row.at[succs].get(mode="fill", fill_value=0).astype(jnp.int32)
    existing = edges.at[preds[:, None], succs[None, :]].get(mode="fill", fill_value=0).astype(jnp.int32)
    pair = b[:, None] * NUM_CODES + a[None, :]
    produced = jnp.asarray(t.product)[pair].astype(jnp.int32)
    valid = produced != 0
    merged = jnp.where(existing == 0, produced, jnp.asarray(t.join)[existing * NUM_CODES + produced])
    pred_shapes = shapes.at[preds].get(mode="fill", fill_value=1)
    succ_shapes = shapes.at[succs].get(mode="fill", fill_value=1)
    v_shape = shapes[e.vertex]
    axis_sizes = [
        succ_shapes[None, :, 0],
        succ_shapes[None, :, 1],
        v_shape[0],
        v_shape[1],
        pred_shapes[:, None, 0],
        pred_shapes[:, None, 1],
    ]
    costs = jnp.where(valid, _pair_costs(jnp.asarray(t.cost_masks)[pair], axis_sizes), 0)
    edges = edges.at[preds[:, None], succs[None, :]].set(merged.astype(edges.dtype), mode="drop")
    edges = edges.at[preds, e.vertex].set(0, mode="drop").at[e.vertex, succs].set(0, mode="drop")
    created = valid & (existing == 0)
    return (
        edges,
        jnp.sum(costs >> 16),
        jnp.sum(costs & (_COST_BASE - 1)),
        created.sum(1, dtype=jnp.int32),
        created.sum(0, dtype=jnp.int32),
    )


def _finish(state: GameState, e: _Elimination, edges, step_hi, step_lo, out_degree, in_degree):
    n = state.roles.shape[-1]
    v = e.vertex
    out_degree = out_degree - (e.col != 0)
    in_degree = in_degree - (e.row != 0)
    out_degree = out_degree.at[v].set(jnp.where(e.active, 0, out_degree[v]))
    in_degree = in_degree.at[v].set(jnp.where(e.active, 0, in_degree[v]))
    eliminated = state.eliminated.at[v].set(state.eliminated[v] | e.active)
    slot = jnp.minimum(state.num_steps, n - 1)
    order = state.order.at[slot].set(jnp.where(e.active, v, state.order[slot]))
    lo = state.cost_lo + step_lo
    terminated = ~jnp.any((state.roles == Role.INTERMEDIATE) & ~eliminated)
    illegal = ~e.active & ~state.terminated
    step_cost = step_hi.astype(jnp.float32) * _COST_BASE + step_lo.astype(jnp.float32)
    reward = jnp.where(e.active, -step_cost, jnp.where(illegal, -state.illegal_penalty, 0.0))
    new_state = state._replace(
        edges=edges,
        eliminated=eliminated,
        in_degree=in_degree,
        out_degree=out_degree,
        order=order,
        num_steps=state.num_steps + e.active.astype(jnp.int32),
        cost_hi=state.cost_hi + step_hi + (lo >> 16),
        cost_lo=lo & (_COST_BASE - 1),
        terminated=terminated,
        illegal=illegal,
    )
    return new_state, reward, terminated


def _step_batch(state: GameState, action: jax.Array) -> tuple[GameState, jax.Array, jax.Array]:
    """``step`` on a batch (leading axis on every leaf of ``state`` and on ``action``).

    The pair blocks are visited by one ``while_loop`` whose trip count is the largest needed in
    the batch (an unbatched predicate, so the big ``edges`` carry is updated in place); it runs
    at least once, which also clears the eliminated vertex's edges.
    """
    e = jax.vmap(_prepare)(state, action)
    pred_chunks = jnp.maximum(jnp.max(e.num_chunks[:, 0]), 1)
    succ_chunks = jnp.maximum(jnp.max(e.num_chunks[:, 1]), 1)
    batch = action.shape[0]

    def body(carry):
        i, edges, hi, lo, out_degree, in_degree = carry
        p_start = (i // succ_chunks) * CHUNK
        s_start = (i % succ_chunks) * CHUNK
        preds = jax.lax.dynamic_slice_in_dim(e.preds, p_start, CHUNK, axis=1)
        succs = jax.lax.dynamic_slice_in_dim(e.succs, s_start, CHUNK, axis=1)
        edges, block_hi, block_lo, out_add, in_add = jax.vmap(_pair_block)(edges, state.shapes, e, preds, succs)
        scatter_add = jax.vmap(lambda d, idx, x: d.at[idx].add(x, mode="drop"))
        return (
            i + 1,
            edges,
            hi + block_hi,
            lo + block_lo,
            scatter_add(out_degree, preds, out_add),
            scatter_add(in_degree, succs, in_add),
        )

    zeros = jnp.zeros(batch, jnp.int32)
    init_carry = (jnp.zeros((), jnp.int32), state.edges, zeros, zeros, state.out_degree, state.in_degree)
    _, edges, hi, lo, out_degree, in_degree = jax.lax.while_loop(
        lambda c: c[0] < pred_chunks * succ_chunks, body, init_carry
    )
    return jax.vmap(_finish)(state, e, edges, hi, lo, out_degree, in_degree)


@jax.custom_batching.custom_vmap
def step(state: GameState, action: jax.Array) -> tuple[GameState, jax.Array, jax.Array]:
    """Eliminate vertex ``action``.

    Args:
        state: the current state.
        action: ``[] int32`` vertex index.

    Returns:
        ``(next_state, reward, terminated)`` with ``reward`` a ``[] float32`` and ``terminated``
        a ``[] bool``. Under ``vmap`` every output gains a leading batch axis.
    """
    add_axis = functools.partial(jax.tree_util.tree_map, lambda x: x[None])
    out = _step_batch(add_axis(state), jnp.asarray(action)[None])
    return jax.tree_util.tree_map(lambda x: x[0], out)


@step.def_vmap
def _step_vmap_rule(axis_size: int, in_batched, state: GameState, action: jax.Array):
    state_batched, action_batched = in_batched
    state = jax.tree_util.tree_map(
        lambda x, batched: x if batched else jnp.broadcast_to(x, (axis_size,) + x.shape), state, state_batched
    )
    action = action if action_batched else jnp.broadcast_to(action, (axis_size,) + jnp.shape(action))
    out = _step_batch(state, action)
    return out, jax.tree_util.tree_map(lambda _: True, out)


# ------------------------------------------------------------------------- observation
def observe(state: GameState) -> Observation:
    """The agent's view of ``state`` (see :class:`Observation`)."""
    roles = state.roles.astype(jnp.int32)
    legal = (roles == Role.INTERMEDIATE) & ~state.eliminated
    sizes = state.shapes.astype(jnp.float32)
    in_deg = state.in_degree.astype(jnp.float32)
    out_deg = state.out_degree.astype(jnp.float32)
    features = jnp.stack(
        [
            (roles == Role.PAD).astype(jnp.float32),
            (roles == Role.INPUT).astype(jnp.float32),
            (roles == Role.INTERMEDIATE).astype(jnp.float32),
            (roles == Role.OUTPUT).astype(jnp.float32),
            state.eliminated.astype(jnp.float32),
            legal.astype(jnp.float32),
            jnp.log2(sizes[:, 0]),
            jnp.log2(sizes[:, 1]),
            jnp.log2(sizes[:, 0] * sizes[:, 1]),
            jnp.log1p(in_deg),
            jnp.log1p(out_deg),
            jnp.log1p(in_deg * out_deg),
        ],
        axis=-1,
    )
    return Observation(edges=state.edges, vertices=features, action_mask=legal_action_mask(state))


def total_cost(state: GameState) -> int | np.ndarray:
    """Exact total cost so far (host-side): an ``int``, or an ``int64`` array for a batch."""
    hi = np.asarray(state.cost_hi, np.int64)
    lo = np.asarray(state.cost_lo, np.int64)
    total = hi * _COST_BASE + lo
    return int(total) if total.ndim == 0 else total

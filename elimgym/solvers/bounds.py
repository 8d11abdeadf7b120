"""Sound lower bounds on the optimal elimination cost.

Notation: ``G_t`` is the graph after the eliminations made before step ``t``; eliminating ``v``
in ``G_t`` costs ``c_t(v) = sum over p in P_t(v), s in S_t(v) of pc(p, v, s)``, where ``pc`` is the
cost of one product (:func:`elimgym.cost.product`) for the *current* structures of ``p -> v`` and
``v -> s`` and the fixed vertex shapes.

**Reachable structures.** Let ``R(u, w)`` be the smallest sets of structure codes with: the
original code of ``u -> w`` in ``R(u, w)``; ``product(a, b)`` in ``R(u, w)`` for every
intermediate ``x`` strictly between and ``b`` in ``R(u, x)``, ``a`` in ``R(x, w)``; and closed
under :func:`~graphs.structure.join`. By induction over the steps, every edge ``u -> w`` of every
``G_t`` has a code in ``R(u, w)``: an elimination of ``x`` sets ``u -> w`` to the product of two
current edges, joined with the current ``u -> w`` if there is one. Hence every product ever done
for a pair ``(p, s)`` through ``v`` costs at least ``mp_v(p, s) = min pc`` over
``b in R(p, v)``, ``a in R(v, s)`` (:func:`pair_floor`).

**Vertex bound** (:func:`vertex_bounds`). ``P_t(v)`` separates ``v`` from the inputs: every path
from an input to ``v`` has a last vertex that is not yet eliminated before ``v``, and that vertex
is a current predecessor of ``v`` (inputs are never eliminated). So ``|P_t(v)| >= cut_in(v)``,
the minimum number of vertices other than ``v`` whose removal disconnects ``v`` from the inputs
(Menger: the maximum number of vertex-disjoint input-to-``v`` paths); likewise
``|S_t(v)| >= cut_out(v)``. Each vertex is eliminated exactly once, so the optimum is at least
``sum_v cut_in(v) * cut_out(v) * min_{p, s} mp_v(p, s)``.

**General-value bound** (:func:`general_value_bounds`). A partial whose value is general stays
general: a join's value is always general and a product's value is a unit only when both factors
are units. A product of two general values costs at least one multiplication. An edge from an
input into ``v`` (or from ``v`` to an output) stays until ``v`` is eliminated. So, in any graph of
the game, eliminating ``v`` later costs at least ``k_in * k_out``, the numbers of inputs with a
general edge into ``v`` and of outputs with a general edge from ``v``. Moreover, if ``v`` has a
general in-edge ``p -> v``, it keeps one until it is eliminated: eliminating ``p`` replaces that
edge by edges from ``p``'s predecessors - there is one if ``p`` has an input ancestor - whose
values are products with the general ``p -> v``. Likewise for out-edges. So when ``v`` has a
general edge on both sides (and the graph is *grounded*: every intermediate related to ``v`` has
an input ancestor and an output descendant, see :func:`grounded`), its elimination costs at least
``max(1, k_in) * max(1, k_out)``. :func:`vertex_bounds` takes the larger of this and the cut bound.

**Jacobian-entry bound** (:func:`entry_bound`). For an input ``x`` and output ``y`` joined by a
path through an intermediate, let ``v`` be the last eliminated intermediate lying on an
``x``-``y`` path. When it is eliminated all other intermediates on such paths are gone, so ``x``
is a current predecessor and ``y`` a current successor of ``v``, and the product for the pair
``(x, y)`` is made then, costing at least ``min_v mp_v(x, y)`` over the intermediates on
``x``-``y`` paths. Different pairs are different products, so the optimum is at least the sum
over all such ``(x, y)``.

:func:`lower_bound` is the larger of the two. :mod:`elimgym.solvers.exact` strengthens it with
search (the minimum of ``g + h`` over a complete layer of its DP).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import scipy.sparse
from scipy.sparse.csgraph import maximum_flow

from graphs.lcg import LCG, Role
from graphs.structure import Structure, all_structures, join

from elimgym.cost import IncompatibleStructures, product
from elimgym.solvers.reductions import reachability

__all__ = ["BoundData", "analyse", "reachable_codes", "pair_floor", "vertex_bounds", "general_value_bounds", "grounded", "entry_bound", "lower_bound"]

_STRUCTURES = (None,) + all_structures()


def _structure(code: int) -> Structure:
    return _STRUCTURES[code]


@functools.lru_cache(maxsize=None)
def _product_codes(left: frozenset[int], right: frozenset[int]) -> frozenset[int]:
    """Codes of ``product(a, b)`` for ``b`` in ``left`` (``u -> x``) and ``a`` in ``right`` (``x -> w``)."""
    out = set()
    for b in left:
        for a in right:
            try:
                out.add(product(_structure(a), _structure(b)).result.code)
            except IncompatibleStructures:
                continue
    return frozenset(out)


@functools.lru_cache(maxsize=None)
def _join_closure(codes: frozenset[int]) -> frozenset[int]:
    closed = set(codes)
    frontier = list(closed)
    while frontier:
        x = frontier.pop()
        for y in list(closed):
            z = join(_structure(x), _structure(y)).code
            if z not in closed:
                closed.add(z)
                frontier.append(z)
    return frozenset(closed)


def reachable_codes(graph: LCG, reach: np.ndarray | None = None) -> dict[tuple[int, int], frozenset[int]]:
    """``R(u, w)`` for every pair joined by a path (see the module docstring); ``reach`` is
    :func:`~elimgym.solvers.reductions.reachability` of the graph if already known."""
    n = graph.num_vertices
    reach = reachability(graph) if reach is None else reach
    intermediate = np.array([v.role is Role.INTERMEDIATE for v in graph.vertices])
    codes: dict[tuple[int, int], frozenset[int]] = {}
    for w in range(n):
        for u in range(w - 1, -1, -1):
            if not reach[u, w]:
                continue
            found: set[int] = set()
            if (u, w) in graph.edges:
                found.add(graph.edges[(u, w)].code)
            for x in np.flatnonzero(reach[u] & reach[:, w] & intermediate):
                found |= _product_codes(codes[(u, int(x))], codes[(int(x), w)])
            codes[(u, w)] = _join_closure(frozenset(found))
    return codes


@functools.lru_cache(maxsize=None)
def _min_pair_cost(b_codes: frozenset[int], a_codes: frozenset[int], s_shape, v_shape, p_shape) -> int:
    best = None
    for b in b_codes:
        for a in a_codes:
            try:
                cost = product(_structure(a), _structure(b)).cost(s_shape, v_shape, p_shape)
            except IncompatibleStructures:
                continue
            best = cost if best is None else min(best, cost)
    return 0 if best is None else best


@dataclass(frozen=True)
class BoundData:
    """What the bounds need about a graph.

    Attributes:
        graph: the LCG.
        reach: ``[n, n] bool``: a path ``u -> w`` exists.
        codes: :func:`reachable_codes` of the graph.
    """

    graph: LCG
    reach: np.ndarray
    codes: dict[tuple[int, int], frozenset[int]]


def analyse(graph: LCG) -> BoundData:
    """Reachability and :func:`reachable_codes` of ``graph``."""
    reach = reachability(graph)
    return BoundData(graph, reach, reachable_codes(graph, reach))


def pair_floor(data: BoundData, p: int, v: int, s: int) -> int:
    """``mp_v(p, s)``: the least cost any product for the pair ``(p, s)`` through ``v`` can have."""
    shapes = data.graph.vertices
    return _min_pair_cost(data.codes[(p, v)], data.codes[(v, s)], shapes[s].shape, shapes[v].shape, shapes[p].shape)


def _vertex_cut(data: BoundData, v: int, towards_inputs: bool) -> int:
    """Minimum number of vertices (not ``v``) separating ``v`` from the inputs (or outputs)."""
    graph = data.graph
    n = graph.num_vertices
    ends = graph.inputs if towards_inputs else graph.outputs
    # Node 2k is k's entry, 2k+1 its exit; 2n is the super terminal.
    rows, cols = [], []
    big = n + 1
    caps = []
    for k in range(n):
        rows.append(2 * k)
        cols.append(2 * k + 1)
        caps.append(big if k == v else 1)
    for s, t in graph.edges:
        if towards_inputs:
            rows.append(2 * s + 1)
            cols.append(2 * t)
        else:
            rows.append(2 * t + 1)
            cols.append(2 * s)
        caps.append(big)
    for k in ends:
        rows.append(2 * n)
        cols.append(2 * k)
        caps.append(big)
    matrix = scipy.sparse.csr_array((np.asarray(caps, np.int32), (rows, cols)), shape=(2 * n + 1, 2 * n + 1))
    return int(maximum_flow(matrix, 2 * n, 2 * v).flow_value)


def vertex_bounds(data: BoundData) -> np.ndarray:
    """``[num_vertices] int64``: a lower bound on the cost of eliminating each intermediate,
    whenever it is eliminated (0 for other vertices): the larger of the cut bound and the
    general-value bound of the module docstring."""
    graph = data.graph
    out = general_value_bounds(graph, data.reach)
    for v in graph.intermediates:
        preds = {}
        for p in np.flatnonzero(data.reach[:, v]):
            preds.setdefault((graph.vertices[p].shape, data.codes[(int(p), v)]), int(p))
        succs = {}
        for s in np.flatnonzero(data.reach[v]):
            succs.setdefault((graph.vertices[s].shape, data.codes[(v, int(s))]), int(s))
        if not preds or not succs:
            continue
        floor = min(pair_floor(data, p, v, s) for p in preds.values() for s in succs.values())
        if floor == 0:
            continue
        out[v] = max(out[v], floor * _vertex_cut(data, v, True) * _vertex_cut(data, v, False))
    return out


def grounded(graph: LCG, reach: np.ndarray | None = None) -> np.ndarray:
    """``[num_vertices] bool``: intermediates ``v`` such that every intermediate among ``v``, its
    ancestors and its descendants has an input ancestor and an output descendant (always true
    for traced graphs; the general-value bound's persistence argument needs it)."""
    reach = reachability(graph) if reach is None else reach
    roles = np.array([int(v.role) for v in graph.vertices])
    inter = roles == int(Role.INTERMEDIATE)
    fed = reach[roles == int(Role.INPUT)].any(axis=0)
    used = reach[:, roles == int(Role.OUTPUT)].any(axis=1)
    bad = inter & ~(fed & used)
    related = reach | reach.T | np.eye(len(roles), dtype=bool)
    return inter & ~(related & bad[None, :]).any(axis=1)


def general_value_bounds(graph: LCG, reach: np.ndarray | None = None) -> np.ndarray:
    """``[num_vertices] int64``: the general-value bound of each intermediate in ``graph`` as it
    is now (see the module docstring; :mod:`elimgym.solvers.exact` evaluates the same bound on
    every state it visits)."""
    out = np.zeros(graph.num_vertices, np.int64)
    roles = [v.role for v in graph.vertices]
    sound = grounded(graph, reach)
    for v in graph.intermediates:
        ins = [(p, e) for (p, t), e in graph.edges.items() if t == v]
        outs = [(t, e) for (s, t), e in graph.edges.items() if s == v]
        kept_in = sum(1 for p, e in ins if roles[p] is Role.INPUT and not e.value.is_unit)
        kept_out = sum(1 for t, e in outs if roles[t] is Role.OUTPUT and not e.value.is_unit)
        bound = kept_in * kept_out
        if sound[v] and any(not e.value.is_unit for _, e in ins) and any(not e.value.is_unit for _, e in outs):
            bound = max(kept_in, 1) * max(kept_out, 1)
        out[v] = bound
    return out


def entry_bound(data: BoundData) -> int:
    """The Jacobian-entry bound: one product per connected (input, output) pair."""
    graph = data.graph
    intermediate = np.array([v.role is Role.INTERMEDIATE for v in graph.vertices])
    total = 0
    for x in graph.inputs:
        for y in graph.outputs:
            through = np.flatnonzero(data.reach[x] & data.reach[:, y] & intermediate)
            if len(through):
                total += min(pair_floor(data, x, int(v), y) for v in through)
    return total


def lower_bound(graph: LCG, data: BoundData | None = None) -> int:
    """``max(sum of vertex_bounds, entry_bound)``: never above the optimal cost."""
    data = analyse(graph) if data is None else data
    return int(max(vertex_bounds(data).sum(), entry_bound(data)))

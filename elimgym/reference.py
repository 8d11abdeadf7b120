"""A slow, obviously-correct vertex eliminator on host-side LCGs (Python ints, no JAX).

It is the reference the JAX game is tested against, and it has no size limits: costs are exact
Python integers whatever the shapes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from graphs.lcg import LCG, Role
from graphs.structure import Structure, join

from elimgym.cost import product

__all__ = ["IllegalAction", "eliminate", "elimination_cost", "play", "forward_order", "reverse_order", "markowitz_order"]


class IllegalAction(ValueError):
    """An action that is not an intermediate vertex still present in the graph."""


def _check_action(graph: LCG, v: int, eliminated: set[int] | None = None) -> None:
    if not 0 <= v < graph.num_vertices:
        raise IllegalAction(f"vertex {v} does not exist in graph {graph.name!r} ({graph.num_vertices} vertices)")
    role = graph.vertices[v].role
    if role is not Role.INTERMEDIATE:
        raise IllegalAction(f"vertex {v} of graph {graph.name!r} is an {role.name.lower()}; only intermediates can be eliminated")
    if eliminated is not None and v in eliminated:
        raise IllegalAction(f"vertex {v} of graph {graph.name!r} is already eliminated")


def elimination_cost(graph: LCG, v: int) -> int:
    """Scalar multiplications needed to eliminate ``v`` from ``graph`` now."""
    shapes = [x.shape for x in graph.vertices]
    total = 0
    for p in graph.predecessors(v):
        for s in graph.successors(v):
            total += product(graph.edges[(v, s)], graph.edges[(p, v)]).cost(shapes[s], shapes[v], shapes[p])
    return total


def eliminate(graph: LCG, v: int) -> tuple[LCG, int]:
    """Eliminate intermediate ``v``: returns the new graph (``v`` isolated) and the cost.

    Raises:
        IllegalAction: if ``v`` is not an intermediate of ``graph``.
    """
    _check_action(graph, v)
    shapes = [x.shape for x in graph.vertices]
    edges: dict[tuple[int, int], Structure] = dict(graph.edges)
    preds, succs = graph.predecessors(v), graph.successors(v)
    total = 0
    for p in preds:
        for s in succs:
            plan = product(edges[(v, s)], edges[(p, v)])
            total += plan.cost(shapes[s], shapes[v], shapes[p])
            existing = edges.get((p, s))
            edges[(p, s)] = plan.result if existing is None else join(existing, plan.result)
    for p in preds:
        del edges[(p, v)]
    for s in succs:
        del edges[(v, s)]
    return LCG(graph.vertices, edges, graph.name, graph.metadata), total


def play(graph: LCG, order: Iterable[int]) -> tuple[int, list[int]]:
    """Eliminate the vertices of ``order`` in turn; returns the total and per-step costs.

    Raises:
        IllegalAction: for a vertex that is not an intermediate or is eliminated twice.
    """
    eliminated: set[int] = set()
    costs = []
    for v in order:
        v = int(v)
        _check_action(graph, v, eliminated)
        graph, cost = eliminate(graph, v)
        eliminated.add(v)
        costs.append(cost)
    return sum(costs), costs


def forward_order(graph: LCG) -> list[int]:
    """Intermediates in increasing topological index (forward-mode elimination)."""
    return list(graph.intermediates)


def reverse_order(graph: LCG) -> list[int]:
    """Intermediates in decreasing topological index (reverse-mode elimination)."""
    return list(reversed(graph.intermediates))


def markowitz_order(graph: LCG, tie_break: str = "lowest") -> list[int]:
    """Dynamic Markowitz order: repeatedly eliminate the vertex with the fewest
    ``|predecessors| * |successors|``, ties broken by the lowest or highest index."""
    if tie_break not in ("lowest", "highest"):
        raise ValueError(f"tie_break must be 'lowest' or 'highest' for the reference, got {tie_break!r}")
    remaining: Sequence[int] = list(graph.intermediates)
    order = []
    while remaining:
        key = lambda v: (len(graph.predecessors(v)) * len(graph.successors(v)), v if tie_break == "lowest" else -v)  # noqa: E731
        v = min(remaining, key=key)
        graph, _ = eliminate(graph, v)
        order.append(v)
        remaining = [u for u in remaining if u != v]
    return order

"""Turning what a user passes as ``order`` into a checked elimination order of a traced LCG."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import numpy as np

from elimgym.orders import Order, OrderError, check_order
from graphs.lcg import LCG

__all__ = ["OrderSpec", "NAMED_ORDERS", "resolve_order", "markowitz_order"]

OrderSpec = Union[str, Sequence[int], Order]
"""``"forward"``, ``"reverse"``, ``"markowitz"``, a sequence of vertex ids, or an :class:`Order`."""

NAMED_ORDERS = ("forward", "reverse", "markowitz")


def markowitz_order(graph: LCG) -> tuple[int, ...]:
    """Dynamic Markowitz order with lowest-index ties (the order of
    ``elimgym.reference.markowitz_order(graph, "lowest")``), computed on adjacency sets.

    The degrees after an elimination do not depend on the edges' structures, so only the
    connectivity is tracked.
    """
    preds: list[set[int]] = [set() for _ in graph.vertices]
    succs: list[set[int]] = [set() for _ in graph.vertices]
    for s, t in graph.edges:
        succs[s].add(t)
        preds[t].add(s)
    remaining = set(graph.intermediates)
    order = []
    while remaining:
        v = min(remaining, key=lambda u: (len(preds[u]) * len(succs[u]), u))
        for p in preds[v]:
            succs[p].discard(v)
            succs[p].update(succs[v])
        for s in succs[v]:
            preds[s].discard(v)
            preds[s].update(preds[v])
        preds[v].clear()
        succs[v].clear()
        remaining.remove(v)
        order.append(v)
    return tuple(order)


def resolve_order(graph: LCG, order: OrderSpec) -> tuple[int, ...]:
    """The complete elimination order of ``graph`` that ``order`` stands for.

    Raises:
        OrderError: if the order misses, repeats or names a wrong vertex (the message names it),
            or is an :class:`Order` made for another graph.
        ValueError: for an unknown order name.
    """
    if isinstance(order, str):
        if order == "forward":
            return tuple(graph.intermediates)
        if order == "reverse":
            return tuple(reversed(graph.intermediates))
        if order == "markowitz":
            return markowitz_order(graph)
        raise ValueError(f"unknown order {order!r}; use one of {NAMED_ORDERS}, a sequence of vertex ids or an Order")
    if isinstance(order, Order):
        order.check(graph)
        return tuple(order.vertices)
    try:
        vertices = list(order)
    except TypeError:
        raise OrderError(f"an order must be a name, a sequence of vertex ids or an Order, not {type(order).__name__}") from None
    for position, vertex in enumerate(vertices):
        if isinstance(vertex, bool) or not isinstance(vertex, (int, np.integer)):
            raise OrderError(f"order position {position}: {vertex!r} is not a vertex id (an integer)")
    return check_order(graph, vertices)

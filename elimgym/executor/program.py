"""The elimination program: what an order does to an LCG, planned on the host, run in JAX.

:func:`build_program` replays an elimination order on the structures of an LCG exactly as the
reference eliminator (:func:`elimgym.reference.eliminate`) does - same predecessor/successor
order, same products, same joins - and records every product with its plan and label sizes.
:meth:`EliminationProgram.run` then executes those products on the edges' values as
straight-line JAX (see :mod:`elimgym.executor.products`), which ``jit`` compiles into one program.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from elimgym.cost import ProductPlan, product
from elimgym.executor.products import add, multiply
from graphs.lcg import LCG
from graphs.structure import Structure, join

__all__ = ["ProductStep", "EliminationProgram", "build_program"]

Edge = tuple[int, int]


@dataclass(frozen=True)
class ProductStep:
    """``d s/d p (+)= d s/d v . d v/d p`` for one predecessor ``p`` and successor ``s`` of ``v``.

    Attributes:
        source, via, target: the vertices ``p``, ``v`` and ``s``.
        plan: the cost model's plan of the product.
        sizes: the size of every label of the plan.
        existing: the structure of the edge ``p -> s`` before this step (None if it is new).
        joined: the structure after the sum (None if the edge is new).
        cost: the multiplications the cost model charges for this product.
    """

    source: int
    via: int
    target: int
    plan: ProductPlan
    sizes: Mapping[str, int]
    existing: Structure | None
    joined: Structure | None
    cost: int


@dataclass(frozen=True)
class EliminationProgram:
    """The products an order performs, in order, and the edges left at the end.

    Attributes:
        graph: the LCG the program was built for.
        order: the eliminated vertices.
        steps: every product, in execution order.
        final_edges: ``(input, output) -> Structure`` of the edges left after the eliminations.
        cost: total multiplications according to the cost model.
    """

    graph: LCG
    order: tuple[int, ...]
    steps: tuple[ProductStep, ...]
    final_edges: Mapping[Edge, Structure]
    cost: int

    def run(self, values: Mapping[Edge, Any], dtype) -> dict[Edge, Any]:
        """Execute the eliminations on the edges' values.

        Args:
            values: the value of every edge of :attr:`graph` (None for unit edges), in the
                canonical axis order of its structure.
            dtype: dtype of constants the eliminations create (products of two units).

        Returns:
            The value of every edge of :attr:`final_edges`.
        """
        shapes = [v.shape for v in self.graph.vertices]
        current = dict(values)
        for step in self.steps:
            p, v, s = step.source, step.via, step.target
            result = multiply(step.plan, current[(v, s)], current[(p, v)], step.sizes, dtype)
            if step.existing is None:
                current[(p, s)] = result
            else:
                current[(p, s)] = add(current[(p, s)], step.existing, result, step.plan.result, step.joined, shapes[s], shapes[p])
        return {edge: current[edge] for edge in self.final_edges}


def build_program(graph: LCG, order: Sequence[int]) -> EliminationProgram:
    """Plan the eliminations of ``order`` (a complete, checked order of ``graph``)."""
    return _build_program(graph, graph.fingerprint(), tuple(int(v) for v in order))


_PROGRAMS: dict[tuple[str, tuple[int, ...]], EliminationProgram] = {}
"""Recently built programs by (graph fingerprint, order), oldest first."""
_MAX_CACHED = 64


def _build_program(graph: LCG, fingerprint: str, order: tuple[int, ...]) -> EliminationProgram:
    key = (fingerprint, order)
    cached = _PROGRAMS.get(key)
    if cached is not None:
        return cached
    program = _plan(graph, order)
    if len(_PROGRAMS) >= _MAX_CACHED:
        _PROGRAMS.pop(next(iter(_PROGRAMS)))
    _PROGRAMS[key] = program
    return program


def _plan(graph: LCG, order: tuple[int, ...]) -> EliminationProgram:
    shapes = [v.shape for v in graph.vertices]
    edges: dict[Edge, Structure] = dict(graph.edges)
    preds: list[set[int]] = [set() for _ in graph.vertices]
    succs: list[set[int]] = [set() for _ in graph.vertices]
    for s, t in edges:
        succs[s].add(t)
        preds[t].add(s)
    steps: list[ProductStep] = []
    total = 0
    for v in order:
        for p in sorted(preds[v]):
            for s in sorted(succs[v]):
                plan = product(edges[(v, s)], edges[(p, v)])
                vertex_shapes = {"s": shapes[s], "v": shapes[v], "p": shapes[p]}
                sizes = {c: vertex_shapes[vertex][axis] for c, (vertex, axis) in plan.label_axes.items()}
                cost = plan.cost(shapes[s], shapes[v], shapes[p])
                existing = edges.get((p, s))
                joined = None if existing is None else join(existing, plan.result)
                edges[(p, s)] = plan.result if joined is None else joined
                succs[p].add(s)
                preds[s].add(p)
                steps.append(ProductStep(p, v, s, plan, sizes, existing, joined, cost))
                total += cost
        for p in preds[v]:
            succs[p].discard(v)
            del edges[(p, v)]
        for s in succs[v]:
            preds[s].discard(v)
            del edges[(v, s)]
        preds[v].clear()
        succs[v].clear()
    return EliminationProgram(graph, order, tuple(steps), dict(edges), total)

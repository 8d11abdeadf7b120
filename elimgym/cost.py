"""The structured cost model: products and sums of partial Jacobians.

Eliminating vertex ``v`` replaces every path ``p -> v -> s`` by the edge ``p -> s`` whose partial
is ``d s/d v . d v/d p`` (a *product*), added into an existing ``p -> s`` edge if there is one (a
*join*). This module derives, from the two :class:`~graphs.structure.Structure` s alone, the
structure of the product and of the sum, and the exact number of scalar multiplications the
product needs for given vertex shapes.

The product of ``A = d s/d v`` (value ``V_A``) and ``B = d v/d p`` (value ``V_B``) is computed as:

1. **Unify labels.** Every axis of ``s``, ``v`` and ``p`` starts with a label of its own; a tie in
   ``A`` merges an ``s`` label with a ``v`` label, a tie in ``B`` merges a ``v`` label with a ``p``
   label. A label that ends up on neither ``s`` nor ``p`` is *summed*.
2. **Pre-reduce.** A summed label indexed by only one of ``V_A``, ``V_B`` is summed out of that
   value first (additions only).
3. **Multiply.** If both values are general, ``V_R = einsum(V_A', V_B')``, contracting the shared
   summed labels: it costs the product of the sizes of all labels of ``V_A'`` and ``V_B'``
   (exactly the multiplications of one ``dot_general``). A unit value (``+1``/``-1``) multiplies for
   free (a relabelling and maybe a sign flip).
4. **Scale.** A summed label indexed by neither value (a broadcast followed by a sum) multiplies
   the result by its size: one multiplication per entry of ``V_R`` unless both values are units
   (then ``V_R`` is a compile-time constant).

A join (sum) costs no multiplications; its structure keeps a tie only where both operands have
it and is dense elsewhere.

See ``docs/cost_model.md`` for worked examples.
"""

from __future__ import annotations

import functools
import string
from dataclasses import dataclass

from graphs.structure import CONSTANT, DENSE, REPLICATED, TIED, Structure, StructureError, Value, join

__all__ = ["ProductPlan", "product", "join", "product_cost", "IncompatibleStructures"]

Shape = tuple[int, ...]


class IncompatibleStructures(StructureError):
    """Two structures that cannot be multiplied (ranks of the shared vertex disagree)."""


@dataclass(frozen=True)
class ProductPlan:
    """How to compute ``d s/d p = A . B`` for ``A = d s/d v`` and ``B = d v/d p``.

    Labels are single letters shared by ``A``, ``B`` and the result.

    Attributes:
        a, b: the operand structures.
        result: the structure of the product.
        a_spec, b_spec: labels of the axes of ``V_A`` and ``V_B`` (canonical order; empty for units).
        a_reduce, b_reduce: labels summed out of ``V_A``/``V_B`` before multiplying.
        out_spec: labels of the axes of the result's value (canonical order).
        factor_labels: summed labels indexed by neither value; each scales the result by its size.
        label_axes: for every label, the ``(vertex, axis)`` that gives its size: vertex is
            ``"s"``, ``"v"`` or ``"p"``.
    """

    a: Structure
    b: Structure
    result: Structure
    a_spec: str
    b_spec: str
    a_reduce: str
    b_reduce: str
    out_spec: str
    factor_labels: str
    label_axes: dict[str, tuple[str, int]]

    @property
    def multiplies(self) -> bool:
        """Whether the main product needs multiplications (both values general)."""
        return not self.a.value.is_unit and not self.b.value.is_unit

    @property
    def main_labels(self) -> str:
        """Labels whose sizes multiply to the cost of the main product (empty if free)."""
        if not self.multiplies:
            return ""
        kept = [c for c in self.a_spec if c not in self.a_reduce]
        kept += [c for c in self.b_spec if c not in self.b_reduce and c not in kept]
        return "".join(kept)

    @property
    def scale_labels(self) -> str | None:
        """Labels whose sizes multiply to the cost of the final scaling, or None if there is none."""
        if not self.factor_labels or (self.a.value.is_unit and self.b.value.is_unit):
            return None
        return self.out_spec

    def size(self, label: str, s_shape: Shape, v_shape: Shape, p_shape: Shape) -> int:
        vertex, axis = self.label_axes[label]
        return {"s": s_shape, "v": v_shape, "p": p_shape}[vertex][axis]

    def cost(self, s_shape: Shape, v_shape: Shape, p_shape: Shape) -> int:
        """Exact number of scalar multiplications for these vertex shapes."""
        total = 0
        if self.multiplies:
            total += _prod(self.size(c, s_shape, v_shape, p_shape) for c in self.main_labels)
        if self.scale_labels is not None:
            total += _prod(self.size(c, s_shape, v_shape, p_shape) for c in self.scale_labels)
        return total


def _prod(values) -> int:
    out = 1
    for v in values:
        out *= v
    return out


@functools.lru_cache(maxsize=None)
def product(a: Structure, b: Structure) -> ProductPlan:
    """Plan the product ``A . B`` of ``A = d s/d v`` and ``B = d v/d p``.

    Raises:
        IncompatibleStructures: if ``A``'s source rank differs from ``B``'s target rank.
    """
    if a.source_rank != b.target_rank:
        raise IncompatibleStructures(
            f"cannot multiply {a} (source rank {a.source_rank}) by {b} (target rank {b.target_rank})"
        )
    nodes = [("s", i) for i in range(a.target_rank)]
    nodes += [("v", k) for k in range(a.source_rank)]
    nodes += [("p", j) for j in range(b.source_rank)]
    parent = {n: n for n in nodes}

    def find(n):
        while parent[n] != n:
            n = parent[n]
        return n

    for i, k in enumerate(a.target):
        if k >= 0:
            parent[find(("v", k))] = find(("s", i))
    for k, j in enumerate(b.target):
        if j >= 0:
            parent[find(("p", j))] = find(("v", k))

    letters = iter(string.ascii_lowercase)
    label_of_root: dict = {}
    label: dict = {}
    label_axes: dict[str, tuple[str, int]] = {}
    for n in nodes:
        root = find(n)
        if root not in label_of_root:
            label_of_root[root] = next(letters)
            label_axes[label_of_root[root]] = n
        label[n] = label_of_root[root]

    def value_labels(structure: Structure, t_side: str, s_side: str) -> str:
        return "".join(
            label[(t_side, ax)] if side == "t" else label[(s_side, ax)] for side, ax in structure.value_axes()
        )

    a_spec = "" if a.value.is_unit else value_labels(a, "s", "v")
    b_spec = "" if b.value.is_unit else value_labels(b, "v", "p")
    outer = {label[("s", i)] for i in range(a.target_rank)} | {label[("p", j)] for j in range(b.source_rank)}
    summed = [label[("v", k)] for k in range(a.source_rank) if label[("v", k)] not in outer]
    a_reduce = "".join(c for c in a_spec if c in summed and c not in b_spec)
    b_reduce = "".join(c for c in b_spec if c in summed and c not in a_spec)
    factor_labels = "".join(c for c in summed if c not in a_spec and c not in b_spec)
    in_value = set(a_spec) | set(b_spec)

    target, varying = [], []
    for i in range(a.target_rank):
        c = label[("s", i)]
        tied_to = [j for j in range(b.source_rank) if label[("p", j)] == c]
        if tied_to:
            target.append(tied_to[0])
            varying.append(c in in_value)
        else:
            target.append(DENSE if c in in_value else REPLICATED)
            varying.append(False)
    s_labels = {label[("s", i)] for i in range(a.target_rank)}
    source = []
    for j in range(b.source_rank):
        c = label[("p", j)]
        source.append(TIED if c in s_labels else (DENSE if c in in_value else CONSTANT))

    if a.value.is_unit and b.value.is_unit and not factor_labels:
        value = Value.ONE if a.value.sign * b.value.sign > 0 else Value.MINUS_ONE
    else:
        value = Value.GENERAL
    result = Structure(tuple(target), tuple(source), tuple(varying), value)
    out_spec = value_labels(result, "s", "p") if not value.is_unit else ""
    return ProductPlan(
        a=a,
        b=b,
        result=result,
        a_spec=a_spec,
        b_spec=b_spec,
        a_reduce=a_reduce,
        b_reduce=b_reduce,
        out_spec=out_spec,
        factor_labels=factor_labels,
        label_axes=label_axes,
    )


def product_cost(a: Structure, b: Structure, s_shape: Shape, v_shape: Shape, p_shape: Shape) -> int:
    """Multiplications of ``(d s/d v) . (d v/d p)`` for these vertex shapes."""
    return product(a, b).cost(s_shape, v_shape, p_shape)

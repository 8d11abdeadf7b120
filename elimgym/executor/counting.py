"""Counting the scalar multiplications a jaxpr performs.

The executor's op counts are read off the jaxpr of the code it really runs, never from the cost
model, so comparing the two checks the model. The rules:

* ``dot_general``: the product of the sizes of every dimension of the contraction, batch, free
  and contracting alike (``prod(lhs.shape) * prod(rhs free dims)``);
* ``mul``: one multiplication per entry of the (broadcast) output;
* data movement and additions (:data:`FREE_PRIMITIVES`: sums, adds, negation, transposes,
  broadcasts, reshapes, selections, comparisons, conversions, constants) cost nothing;
* any other primitive is charged one multiplication per output entry, so that an unexpected
  operation shows up as a mismatch with the cost model instead of going unnoticed.

Nested jaxprs (``pjit``, ``custom_jvp_call``...) are counted recursively; loops are rejected
because their trip counts would multiply the count.
"""

from __future__ import annotations

import math

from jax.extend import core as jcore

__all__ = ["FREE_PRIMITIVES", "jaxpr_multiplications", "CountingError"]

FREE_PRIMITIVES = frozenset(
    {
        "add",
        "add_any",
        "sub",
        "neg",
        "reduce_sum",
        "broadcast_in_dim",
        "reshape",
        "squeeze",
        "expand_dims",
        "transpose",
        "convert_element_type",
        "copy",
        "copy_p",
        "select_n",
        "eq",
        "ne",
        "lt",
        "le",
        "gt",
        "ge",
        "and",
        "or",
        "not",
        "iota",
        "concatenate",
        "slice",
        "pad",
        "rev",
    }
)
"""Primitives that perform no multiplication."""

_LOOPS = frozenset({"scan", "while", "cond", "fori_loop"})


class CountingError(ValueError):
    """A jaxpr whose multiplications cannot be counted statically (it contains a loop)."""


def _size(aval) -> int:
    return math.prod(getattr(aval, "shape", ()))


def _dot_general_multiplications(eqn) -> int:
    lhs, rhs = (v.aval for v in eqn.invars)
    (_, rhs_contract), (_, rhs_batch) = eqn.params["dimension_numbers"]
    rhs_free = [n for d, n in enumerate(rhs.shape) if d not in rhs_contract and d not in rhs_batch]
    return math.prod(lhs.shape) * math.prod(rhs_free)


def _sub_jaxprs(eqn):
    for value in eqn.params.values():
        if isinstance(value, jcore.ClosedJaxpr):
            yield value.jaxpr
        elif isinstance(value, jcore.Jaxpr):
            yield value


def jaxpr_multiplications(jaxpr) -> int:
    """Scalar multiplications performed by one evaluation of ``jaxpr``.

    Args:
        jaxpr: a ``Jaxpr`` or ``ClosedJaxpr`` (e.g. from ``jax.make_jaxpr``).

    Returns:
        The count (a Python int, exact whatever its size).

    Raises:
        CountingError: if the jaxpr contains a loop or a conditional.
    """
    if isinstance(jaxpr, jcore.ClosedJaxpr):
        jaxpr = jaxpr.jaxpr
    total = 0
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        if name in _LOOPS:
            raise CountingError(f"cannot count the multiplications of a {name!r}: its trip count is not static")
        nested = list(_sub_jaxprs(eqn))
        if nested:
            total += sum(jaxpr_multiplications(inner) for inner in nested)
        elif name == "dot_general":
            total += _dot_general_multiplications(eqn)
        elif name not in FREE_PRIMITIVES:
            total += sum(_size(v.aval) for v in eqn.outvars)
    return total

"""Products and sums of structured partial values, following :func:`elimgym.cost.product` plans.

A partial's value ``V`` (see :mod:`graphs.structure`) is a JAX array indexed by the labels of
its structure, or ``None`` for a unit structure (the constant +1 or -1, never stored). The
functions here compute ``V`` of ``A . B`` and of ``A + B`` with exactly the multiplications the
cost model charges:

* both values general: one contraction over the plan's labels, emitted as a single
  ``dot_general``, as one broadcast ``mul`` per summed term, or as a broadcast ``mul`` followed by
  a sum (all perform the product of the sizes of all labels of the pre-reduced operands;
  :func:`contraction_method` picks the fastest on XLA's CPU backend);
* one value a unit: a relabelling (transpose) and possibly a sign flip, no multiplication;
* summed labels indexed by neither value: one ``mul`` of the result by the product of their
  sizes (sign folded in);
* sums (joins) re-express both operands in the joined structure with
  :func:`graphs.structure.embed` (``where``/broadcast) and add.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp

from elimgym.cost import ProductPlan
from graphs.structure import Structure, embed

__all__ = ["SMALL_MATMUL", "UNROLL_MAX_TERMS", "contraction_method", "contract", "multiply", "add"]

Value = Any
"""A JAX array holding a partial's value, or None for a unit partial."""

SMALL_MATMUL = 512
"""Matrix products (free axes on both sides) with at least this many multiplications per
example are emitted as one ``dot_general``."""

UNROLL_MAX_TERMS = 16
"""Other contractions summing at most this many terms per output entry are unrolled into one
broadcast ``mul`` per term, added up: XLA fuses them into a single loop, which on CPU beats both
its ``dot`` (about 30 times slower on a batch of 4 x 4 matrix products) and a multiply-and-reduce."""


def contraction_method(contracted: int, x_free: int, y_free: int, has_x_free: bool, has_y_free: bool) -> str:
    """How :func:`contract` emits a contraction: ``"dot"`` (one ``dot_general``), ``"unrolled"``
    (one broadcast ``mul`` per summed term) or ``"reduce"`` (a broadcast ``mul``, then a sum).
    All three perform the same multiplications; the choice follows XLA's CPU speed, measured on
    batches of 512 (``vmap``).

    Args:
        contracted: the number of terms summed per output entry.
        x_free, y_free: the sizes of the axes only one operand has (products of their sizes).
        has_x_free, has_y_free: whether each operand has such axes at all.
    """
    if has_x_free and has_y_free and x_free * contracted * y_free >= SMALL_MATMUL:
        return "dot"
    if contracted <= UNROLL_MAX_TERMS:
        return "unrolled"
    return "dot" if has_x_free or has_y_free else "reduce"


def _align(x: jax.Array, labels: str, order: str) -> jax.Array:
    """Transpose ``x`` (axes ``labels``) into the order of ``order`` and insert size-1 axes for
    the labels of ``order`` it lacks."""
    present = [c for c in order if c in labels]
    x = jnp.transpose(x, [labels.index(c) for c in present]) if list(present) != list(labels) else x
    shape = [x.shape[present.index(c)] if c in labels else 1 for c in order]
    return jnp.reshape(x, shape) if len(shape) != x.ndim else x


def _reduce(x: jax.Array, labels: str, reduce: str) -> tuple[jax.Array, str]:
    """Sum ``x`` over the axes labelled ``reduce``; returns the array and its remaining labels."""
    if not reduce:
        return x, labels
    x = jnp.sum(x, axis=tuple(labels.index(c) for c in reduce))
    return x, "".join(c for c in labels if c not in reduce)


def _unrolled(x: jax.Array, y: jax.Array, first: int, contracted_shape: tuple[int, ...]) -> jax.Array:
    """``sum_k x[..., k] * y[..., k]`` over the trailing axes ``first...`` (aligned operands)."""
    total = None
    for index in itertools.product(*(range(n) for n in contracted_shape)):
        terms = []
        for operand in (x, y):
            for offset, k in enumerate(index):
                operand = jax.lax.slice_in_dim(operand, k, k + 1, axis=first + offset)
            terms.append(jnp.reshape(operand, operand.shape[:first]))
        product = terms[0] * terms[1]
        total = product if total is None else total + product
    return total


def contract(x: jax.Array, x_labels: str, y: jax.Array, y_labels: str, out_labels: str, sizes: Mapping[str, int]) -> jax.Array:
    """``einsum(x_labels, y_labels -> out_labels)`` for operands whose every label is either in
    ``out_labels`` or shared by both.

    Performs exactly ``prod(sizes of all labels)`` multiplications: as one ``dot_general``, as
    one broadcast ``mul`` per summed term, or as a broadcast ``mul`` followed by a sum over the
    contracted labels, as :func:`contraction_method` chooses.
    """
    shared = [c for c in x_labels if c in y_labels]
    contracted = "".join(c for c in shared if c not in out_labels)
    x_free = [c for c in x_labels if c not in shared]
    y_free = [c for c in y_labels if c not in shared]
    method = "reduce"
    if contracted:
        method = contraction_method(
            math.prod(sizes[c] for c in contracted),
            math.prod(sizes[c] for c in x_free),
            math.prod(sizes[c] for c in y_free),
            bool(x_free),
            bool(y_free),
        )
    if method == "dot":
        batch = [c for c in shared if c in out_labels]
        dtype = jnp.promote_types(x.dtype, y.dtype)
        dims = (
            (tuple(x_labels.index(c) for c in contracted), tuple(y_labels.index(c) for c in contracted)),
            (tuple(x_labels.index(c) for c in batch), tuple(y_labels.index(c) for c in batch)),
        )
        result = jax.lax.dot_general(x.astype(dtype), y.astype(dtype), dims)
        result_labels = "".join(batch + x_free + y_free)
        return _align(result, result_labels, out_labels)
    order = out_labels + contracted
    x, y = _align(x, x_labels, order), _align(y, y_labels, order)
    if method == "unrolled":
        return _unrolled(x, y, len(out_labels), tuple(sizes[c] for c in contracted))
    product = x * y
    if contracted:
        product = jnp.sum(product, axis=tuple(range(len(out_labels), len(order))))
    return product


def multiply(plan: ProductPlan, a_value: Value, b_value: Value, sizes: Mapping[str, int], dtype) -> Value:
    """The value of ``A . B`` (structure ``plan.result``).

    Args:
        plan: the product plan of ``A = d s/d v`` and ``B = d v/d p``.
        a_value, b_value: ``V_A`` and ``V_B`` in canonical axis order (None for units).
        sizes: the size of every label of the plan.
        dtype: dtype of a constant result (both operands units).

    Returns:
        ``V_R`` with axes ``plan.out_spec``, or None when the result is a unit.
    """
    factor = math.prod(sizes[c] for c in plan.factor_labels)
    a_unit, b_unit = plan.a.value.is_unit, plan.b.value.is_unit
    if a_unit and b_unit:
        if plan.result.value.is_unit:
            return None
        return jnp.asarray(plan.a.value.sign * plan.b.value.sign * factor, dtype)
    if a_unit or b_unit:
        sign = (plan.a if a_unit else plan.b).value.sign
        other, labels, reduce = (b_value, plan.b_spec, plan.b_reduce) if a_unit else (a_value, plan.a_spec, plan.a_reduce)
        other, labels = _reduce(other, labels, reduce)
        result = _align(other, labels, plan.out_spec)
        if plan.factor_labels:
            return result * jnp.asarray(sign * factor, result.dtype)
        return -result if sign < 0 else result
    a_value, a_labels = _reduce(a_value, plan.a_spec, plan.a_reduce)
    b_value, b_labels = _reduce(b_value, plan.b_spec, plan.b_reduce)
    result = contract(a_value, a_labels, b_value, b_labels, plan.out_spec, sizes)
    if plan.factor_labels:
        return result * jnp.asarray(factor, result.dtype)
    return result


def add(
    left: Value,
    left_structure: Structure,
    right: Value,
    right_structure: Structure,
    into: Structure,
    target_shape: tuple[int, ...],
    source_shape: tuple[int, ...],
) -> jax.Array:
    """The value of ``left + right`` in the structure ``into`` (their join); no multiplications."""
    return embed(left, left_structure, into, target_shape, source_shape) + embed(
        right, right_structure, into, target_shape, source_shape
    )

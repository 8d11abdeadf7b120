"""Evaluating the primal: every flat variable of a traced function, as the executor needs them.

Equal to :meth:`graphs.trace.TracedFunction.evaluate` except that floating-point ``dot_general``
equations go through :func:`elimgym.executor.products.contract`, which emits tiny batched matrix
products as a fused multiply-sum (XLA's CPU ``dot`` is slow on batches of 4 x 4 matrices).
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp

from elimgym.executor.products import contract
from graphs.trace import TracedFunction

__all__ = ["evaluate", "dot_general"]


def dot_general(lhs: Any, rhs: Any, dimension_numbers, preferred_element_type=None) -> Any:
    """``lax.dot_general(lhs, rhs, dimension_numbers)`` via :func:`contract` (same products)."""
    (lhs_contract, rhs_contract), (lhs_batch, rhs_batch) = dimension_numbers
    lhs, rhs = jnp.asarray(lhs), jnp.asarray(rhs)
    letters = iter(string.ascii_letters)
    lhs_labels = [next(letters) for _ in range(lhs.ndim)]
    rhs_labels = [""] * rhs.ndim
    for l_axis, r_axis in zip((*lhs_contract, *lhs_batch), (*rhs_contract, *rhs_batch)):
        rhs_labels[r_axis] = lhs_labels[l_axis]
    rhs_labels = [c or next(letters) for c in rhs_labels]
    batch = [lhs_labels[a] for a in lhs_batch]
    lhs_free = [c for a, c in enumerate(lhs_labels) if a not in lhs_contract and a not in lhs_batch]
    rhs_free = [c for a, c in enumerate(rhs_labels) if a not in rhs_contract and a not in rhs_batch]
    sizes = dict(zip(lhs_labels, lhs.shape)) | dict(zip(rhs_labels, rhs.shape))
    out = contract(lhs, "".join(lhs_labels), rhs, "".join(rhs_labels), "".join(batch + lhs_free + rhs_free), sizes)
    if preferred_element_type is not None:
        out = out.astype(preferred_element_type)
    return out


def _is_float_dot(primitive, operands: Sequence[Any]) -> bool:
    return primitive.name == "dot_general" and all(jnp.issubdtype(jnp.result_type(x), jnp.floating) for x in operands)


def evaluate(traced: TracedFunction, leaves: Sequence[Any]) -> dict[int, Any]:
    """Run the traced equations on the input leaves; returns every flat variable's value."""
    env: dict[int, Any] = dict(zip(traced.input_vars, leaves))
    for eq in traced.equations:
        operands = [traced.read(env, r) for r in eq.inputs]
        if _is_float_dot(eq.primitive, operands):
            params = eq.params
            outs = (dot_general(*operands, params["dimension_numbers"], params.get("preferred_element_type")),)
        else:
            outs = eq.primitive.bind(*operands, **eq.params)
            if not eq.primitive.multiple_results:
                outs = (outs,)
        env.update(zip(eq.outputs, outs))
    return env

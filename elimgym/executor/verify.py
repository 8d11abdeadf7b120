"""``verify(f, order, *args)``: compare the executor's Jacobian with ``jax.jacrev`` and ``jax.jacfwd``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from elimgym.executor.jacobian import count_multiplications, elimination_program, jacobian
from elimgym.executor.ordering import OrderSpec
from elimgym.executor.tracing import Argnums

__all__ = ["Verification", "default_tolerance", "verify"]


@dataclass(frozen=True)
class Verification:
    """The outcome of :func:`verify`.

    Attributes:
        passed: whether the pytree structure, shapes and dtypes match ``jax.jacrev`` and every
            block is within ``tolerance`` of ``jax.jacrev`` or of ``jax.jacfwd``.
        max_abs_error: the largest entrywise ``|J - J_ref|`` (against the closer reference).
        max_rel_error: the largest normwise relative error of a block,
            ``max|J - J_ref| / max|J_ref|`` (absolute where the reference block is zero).
        tolerance: the bound ``max_rel_error`` was held to.
        reference: ``"jax.jacrev"`` or ``"jax.jacfwd"``, whichever the result is closer to.
        multiplications: multiplications the executor performed (counted from its jaxpr).
        model_cost: multiplications the cost model charges for the same order.
        problems: what did not match, one line each (empty when passed).
    """

    passed: bool
    max_abs_error: float
    max_rel_error: float
    tolerance: float
    reference: str
    multiplications: int
    model_cost: int
    problems: tuple[str, ...] = ()

    def __str__(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        lines = [
            f"{verdict}: max abs error {self.max_abs_error:.3g}, max rel error {self.max_rel_error:.3g} "
            f"(tolerance {self.tolerance:.3g}) against {self.reference}",
            f"  multiplications performed {self.multiplications:,d}, cost model {self.model_cost:,d}",
        ]
        return "\n".join(lines + [f"  problem: {p}" for p in self.problems])


def default_tolerance(dtype) -> float:
    """Normwise relative tolerance for Jacobians in ``dtype``: the square root of its epsilon
    (about 3.5e-4 for float32, 1.5e-8 for float64)."""
    return float(np.sqrt(float(jnp.finfo(dtype).eps)))


def _block_errors(block: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """``(max abs error, normwise relative error)``; NaNs must appear in the same places."""
    block, reference = np.asarray(block, np.float64), np.asarray(reference, np.float64)
    if block.size == 0:
        return 0.0, 0.0
    if np.any(np.isnan(block) != np.isnan(reference)):
        return float("inf"), float("inf")
    finite = ~np.isnan(reference)
    diff = np.abs(np.where(finite, block, 0.0) - np.where(finite, reference, 0.0))
    same_inf = np.isinf(reference) & (block == reference)
    diff = np.where(same_inf, 0.0, diff)
    abs_error = float(np.max(diff))
    scale = float(np.max(np.abs(np.where(finite & ~np.isinf(reference), reference, 0.0))))
    return abs_error, abs_error / scale if scale > 0 else abs_error


def verify(
    f: Callable[..., Any],
    order: OrderSpec,
    *args: Any,
    argnums: Argnums = 0,
    rtol: float | None = None,
) -> Verification:
    """Run ``jacobian(f, order, argnums)`` on ``args`` under ``jit`` and compare it with
    ``jax.jacrev`` and ``jax.jacfwd``.

    Args:
        f, order, argnums: as for :func:`elimgym.executor.jacobian`.
        args: the arguments of ``f``.
        rtol: normwise relative tolerance; default :func:`default_tolerance` of the least precise
            block dtype.

    Raises:
        elimgym.orders.OrderError: for a bad order (as :func:`jacobian`).
    """
    ours = jax.jit(jacobian(f, order, argnums))(*args)
    references = {
        "jax.jacrev": jax.jit(jax.jacrev(f, argnums))(*args),
        "jax.jacfwd": jax.jit(jax.jacfwd(f, argnums))(*args),
    }
    multiplications = count_multiplications(f, order, *args, argnums=argnums)
    model_cost = elimination_program(f, order, *args, argnums=argnums).cost
    problems = []
    our_leaves, our_tree = jax.tree_util.tree_flatten(ours)
    ref_leaves, ref_tree = jax.tree_util.tree_flatten(references["jax.jacrev"])
    if our_tree != ref_tree:
        problems.append(f"pytree structure {our_tree} differs from jax.jacrev's {ref_tree}")
    for k, (mine, theirs) in enumerate(zip(our_leaves, ref_leaves)):
        if mine.shape != theirs.shape or mine.dtype != theirs.dtype:
            problems.append(f"block {k} is {mine.dtype}{list(mine.shape)}, jax.jacrev's is {theirs.dtype}{list(theirs.shape)}")
    least_precise = max((leaf.dtype for leaf in ref_leaves), key=lambda d: float(jnp.finfo(d).eps), default=np.float32)
    tolerance = default_tolerance(least_precise) if rtol is None else float(rtol)
    best = None
    for name, reference in references.items():
        leaves = jax.tree_util.tree_leaves(reference)
        if problems or len(leaves) != len(our_leaves):
            errors = [(float("inf"), float("inf"))]
        else:
            errors = [_block_errors(a, b) for a, b in zip(our_leaves, leaves)] or [(0.0, 0.0)]
        candidate = (max(e[1] for e in errors), max(e[0] for e in errors), name)
        best = candidate if best is None or candidate < best else best
    rel_error, abs_error, reference_name = best
    if rel_error > tolerance:
        problems.append(f"max rel error {rel_error:.3g} exceeds the tolerance {tolerance:.3g}")
    if multiplications != model_cost:
        problems.append(f"performed {multiplications} multiplications but the cost model charges {model_cost}")
    return Verification(
        passed=not problems,
        max_abs_error=abs_error,
        max_rel_error=rel_error,
        tolerance=tolerance,
        reference=reference_name,
        multiplications=multiplications,
        model_cost=model_cost,
        problems=tuple(problems),
    )

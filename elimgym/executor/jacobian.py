"""``jacobian(f, order)``: the Jacobian of a JAX function by executing an elimination order.

A call of the returned function

1. traces ``f`` for differentiation with respect to ``argnums`` (:mod:`.tracing`),
2. resolves ``order`` against that LCG (a stale or malformed order is an error, :mod:`.ordering`),
3. evaluates the primal and every edge's partial in its structured form (diagonals stay vectors,
   copies are never stored, broadcasts never materialised),
4. runs the eliminations as straight-line JAX following the cost model's plans (:mod:`.program`),
5. materialises the remaining input -> output edges into dense blocks nested like ``jax.jacrev``
   (:mod:`.assembly`).

Steps 4-5 are one pure function of the edge values; its jaxpr is what :func:`count_multiplications`
counts (:mod:`.counting`), so the count is that of the code that really runs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp

from elimgym.executor.assembly import jacobian_blocks, nest_blocks
from elimgym.executor.counting import jaxpr_multiplications
from elimgym.executor.ordering import OrderSpec, resolve_order
from elimgym.executor.primal import evaluate
from elimgym.executor.program import EliminationProgram, build_program
from elimgym.executor.tracing import Argnums, Differentiation, differentiate

__all__ = ["jacobian", "count_multiplications", "elimination_program"]

Edge = tuple[int, int]


def _edge_values(diff: Differentiation) -> tuple[dict[Edge, Any], dict[int, Any]]:
    """The structured value of every edge of the graph (None for units) and the primal env."""
    traced = diff.traced
    env = evaluate(traced, diff.leaves)
    for leaf, ref in enumerate(traced.output_refs):
        dtype = jnp.result_type(traced.read(env, ref))
        if not jnp.issubdtype(dtype, jnp.floating):
            raise TypeError(
                f"jacobian requires floating-point outputs, but output leaf {leaf} of "
                f"{traced.lcg.name!r} has dtype {dtype}"
            )
    return {edge: traced.edge_value(edge, env) for edge in traced.lcg.edges}, env


def _eliminate_and_assemble(program: EliminationProgram, diff: Differentiation, values: Mapping[Edge, Any]) -> list[list[jax.Array]]:
    """The elimination phase: eliminations then dense blocks ``[output leaf][input leaf]``."""
    dtypes = [aval.dtype for aval in diff.traced.in_avals]
    final = program.run(values, jnp.result_type(*dtypes))
    return jacobian_blocks(program.graph, program.final_edges, final, diff.output_vertices, dtypes)


def _count(program: EliminationProgram, diff: Differentiation, values: Mapping[Edge, Any]) -> int:
    """Multiplications in the jaxpr of the elimination phase for one (unbatched) example."""
    avals = jax.tree_util.tree_map(lambda v: jax.ShapeDtypeStruct(jnp.shape(v), jnp.result_type(v)), dict(values))
    jaxpr = jax.make_jaxpr(functools.partial(_eliminate_and_assemble, program, diff))(avals)
    return jaxpr_multiplications(jaxpr)


def jacobian(f: Callable[..., Any], order: OrderSpec, argnums: Argnums = 0, count_ops: bool = False) -> Callable[..., Any]:
    """The Jacobian of ``f`` computed by eliminating the vertices of its LCG in ``order``.

    Args:
        f: a JAX function of arrays (pytrees allowed) returning arrays (a pytree allowed).
        order: ``"forward"``, ``"reverse"``, ``"markowitz"`` (dynamic, lowest-index ties), a
            sequence of vertex ids, or an :class:`elimgym.orders.Order`. Vertex ids refer to
            the graph :func:`elimgym.executor.trace_for` returns for the same arguments and
            ``argnums``; an ``Order`` must carry that graph's fingerprint.
        argnums: which positional arguments to differentiate, as in ``jax.jacrev``.
        count_ops: if True the function returns ``(jacobian, multiplications)``, the second
            the number of multiplications the elimination phase performs for one example (a
            Python int when called outside ``jit``/``vmap``).

    Returns:
        A function with ``f``'s signature whose result has the pytree structure, shapes and
        dtypes of ``jax.jacrev(f, argnums)``: for every output leaf of shape ``O`` and
        differentiated input leaf of shape ``I`` a block of shape ``O + I`` in the input's dtype.
        It works eagerly and under ``jax.jit``/``jax.vmap``.

    Raises (when called):
        elimgym.orders.OrderError: an order that misses, repeats or names a wrong vertex (the
            message names it) or belongs to another graph.
        graphs.trace.UnsupportedPrimitive / TraceError: ``f`` cannot be traced into an LCG.
    """

    @functools.wraps(f)
    def jacobian_fn(*args: Any, **kwargs: Any):
        diff = differentiate(f, args, kwargs, argnums)
        program = build_program(diff.graph, resolve_order(diff.graph, order))
        values, _ = _edge_values(diff)
        blocks = _eliminate_and_assemble(program, diff, values)
        result = nest_blocks(blocks, diff.traced.out_tree, diff.diff_tree)
        if count_ops:
            return result, _count(program, diff, values)
        return result

    return jacobian_fn


def elimination_program(f: Callable[..., Any], order: OrderSpec, *args: Any, argnums: Argnums = 0, **kwargs: Any) -> EliminationProgram:
    """The planned eliminations of ``order`` on ``f``'s LCG for these arguments (host only)."""
    diff = differentiate(f, args, kwargs, argnums)
    return build_program(diff.graph, resolve_order(diff.graph, order))


def count_multiplications(f: Callable[..., Any], order: OrderSpec, *args: Any, argnums: Argnums = 0, **kwargs: Any) -> int:
    """Multiplications the executor performs to compute ``jacobian(f, order, argnums)(*args)``
    for one example, counted from the jaxpr of its elimination phase (not from the cost model).

    The differentiated arguments may be ``jax.ShapeDtypeStruct`` s (no value is computed).
    """
    diff = differentiate(f, args, kwargs, argnums)
    program = build_program(diff.graph, resolve_order(diff.graph, order))
    values = jax.eval_shape(lambda leaves: _edge_values(_with_leaves(diff, leaves))[0], diff.leaves)
    return _count(program, diff, values)


def _with_leaves(diff: Differentiation, leaves: Any) -> Differentiation:
    return Differentiation(diff.traced, tuple(leaves), diff.diff_tree, diff.output_vertices)

"""Tiny random JAX programs for the solver tests (a hypothesis strategy), and checks of it.

The other ``test_solvers*`` modules import :func:`small_graphs`, :func:`brute_force_optimum` and
:data:`CAPACITY` from here. Every graph is padded to the one capacity so that the solvers' JAX
kernels compile once for the whole test run.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

from graphs.lcg import LCG
from graphs.trace import trace

from elimgym import reference

CAPACITY = 32
"""Padded capacity of every graph in the solver tests."""

_UNARY = {
    "sin": jnp.sin,
    "exp": lambda x: jnp.exp(0.5 * x),
    "square": lambda x: x * x,
    "neg": jnp.negative,
}
_BINARY = {"add": jnp.add, "sub": jnp.subtract, "mul": jnp.multiply}


def _run(ops: list[tuple[str, str, tuple[int, ...]]], outputs: tuple[int, ...], inputs: tuple[Any, ...]) -> tuple[Any, ...]:
    values = list(inputs)
    for kind, name, args in ops:
        if kind == "unary":
            values.append(_UNARY[name](values[args[0]]))
        elif kind == "binary":
            values.append(_BINARY[name](values[args[0]], values[args[1]]))
        elif kind == "sum":
            values.append(jnp.sum(values[args[0]]))
        else:
            values.append(values[args[0]] * jnp.ones(2, jnp.float32))
    return tuple(values[k] for k in outputs)


@st.composite
def small_programs(draw, max_ops: int = 10) -> tuple[list, tuple[int, ...], tuple[Any, ...]]:
    """``(ops, outputs, inputs)``: a straight-line program of scalars and 2-vectors.

    Ops are unary functions, ``+ - *`` (a scalar combines with anything), a sum of a vector, and
    a broadcast of a scalar to a vector; each applies to one of the three latest values (and any
    partner), so most values reach the outputs: the last value and maybe one other.
    """
    shapes = [draw(st.sampled_from([(), (2,)])) for _ in range(draw(st.integers(1, 3)))]
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    inputs = tuple(jnp.asarray(rng.uniform(0.5, 1.5, s), jnp.float32) for s in shapes)
    ops = []
    for _ in range(draw(st.integers(3, max_ops))):
        k = len(shapes) - 1 - draw(st.integers(0, min(2, len(shapes) - 1)))
        options = [("unary", draw(st.sampled_from(sorted(_UNARY))), (k,))]
        partners = [j for j, s in enumerate(shapes) if s == shapes[k] or () in (s, shapes[k])]
        options.append(("binary", draw(st.sampled_from(sorted(_BINARY))), (k, draw(st.sampled_from(partners)))))
        options.append(("sum", "", (k,)) if shapes[k] else ("broadcast", "", (k,)))
        kind, name, args = draw(st.sampled_from(options))
        ops.append((kind, name, args))
        if kind == "binary":
            shapes.append(max(shapes[args[0]], shapes[args[1]], key=len))
        else:
            shapes.append({"unary": shapes[k], "sum": (), "broadcast": (2,)}[kind])
    last = len(shapes) - 1
    others = [j for j in range(len(inputs), last)]
    outputs = (last,) + ((draw(st.sampled_from(others)),) if others and draw(st.booleans()) else ())
    return ops, outputs, inputs


@st.composite
def small_graphs(draw, max_intermediates: int = 9, min_intermediates: int = 1) -> LCG:
    """The LCG of a :func:`small_programs` program, traced with :func:`graphs.trace.trace`."""
    ops, outputs, inputs = draw(small_programs())
    graph = trace(lambda *xs: _run(ops, outputs, xs), *inputs, name="program")
    assume(min_intermediates <= len(graph.intermediates) <= max_intermediates)
    return graph


def brute_force_optimum(graph: LCG, vertices: Sequence[int] | None = None) -> int:
    """The cheapest cost over all orders of eliminating ``vertices`` (default: every
    intermediate), by exhaustive recursion with the pure-Python reference eliminator; partial
    orders are merged only when they reach the very same graph (equal edges and structures), so
    no order is ever left out."""
    memo: dict[tuple, int] = {}

    def best(g: LCG, left: frozenset[int]) -> int:
        key = (left, tuple(sorted((e, str(s)) for e, s in g.edges.items())))
        if key not in memo:
            memo[key] = min(
                (cost + best(h, left - {v}) for v in left for h, cost in [reference.eliminate(g, v)]), default=0
            )
        return memo[key]

    return best(graph, frozenset(graph.intermediates if vertices is None else vertices))


def all_orders_optimum(graph: LCG) -> int:
    """The cheapest cost by playing every permutation (small graphs only)."""
    return min(reference.play(graph, order)[0] for order in itertools.permutations(graph.intermediates))


@given(small_graphs(max_intermediates=6))
def test_brute_force_optimum__agrees_with_playing_every_permutation(graph):
    """The memoised exhaustive search returns the minimum over all permutations."""
    assert brute_force_optimum(graph) == all_orders_optimum(graph)


@given(small_graphs())
def test_small_graphs__fit_the_test_capacity(graph):
    """Generated graphs are valid LCGs small enough for the shared test capacity."""
    assert graph.num_vertices <= CAPACITY
    assert 1 <= len(graph.intermediates) <= 9

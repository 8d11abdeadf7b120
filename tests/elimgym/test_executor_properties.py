"""Property tests of the executor: random small JAX programs x random complete orders.

The strategy below builds straight-line programs from a mix of supported primitives over
scalars, vectors and matrices; every example checks the Jacobian against ``jax.jacrev`` and the
multiplications counted from the executor's jaxpr against the cost model (the reference
eliminator's total for the same order).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from elimgym import reference
from elimgym.executor import count_multiplications, jacobian, trace_for

SHAPES = ((), (3,), (2,), (3, 2), (2, 3))

UNARY: dict[str, Callable[[Any], Any]] = {
    "sin": jnp.sin,
    "cos": jnp.cos,
    "tanh": jnp.tanh,
    "logistic": jax.nn.sigmoid,
    "atan": jnp.arctan,
    "neg": jnp.negative,
    "abs": jnp.abs,
    "square": jnp.square,
    "cube": lambda x: x**3,
    "exp_sin": lambda x: jnp.exp(jnp.sin(x)),
    "log1p_sq": lambda x: jnp.log1p(x * x),
    "sqrt_1p": lambda x: jnp.sqrt(1.0 + x * x),
    "erf": jax.scipy.special.erf,
    "scale": lambda x: 2.5 * x,
}

BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "add": jnp.add,
    "sub": jnp.subtract,
    "mul": jnp.multiply,
    "div": lambda a, b: a / (1.0 + b * b),
    "max": jnp.maximum,
    "min": jnp.minimum,
    "atan2": jnp.arctan2,
    "where": lambda a, b: jnp.where(a > b, a, 0.5 * b),
    "stop": lambda a, b: a * jax.lax.stop_gradient(b),
}


def _broadcast_pair(a_shape, b_shape) -> bool:
    """Whether ``BINARY`` ops accept operands of these shapes (NumPy broadcasting)."""
    try:
        np.broadcast_shapes(a_shape, b_shape)
    except ValueError:
        return False
    return True


# kind -> (operand shapes it accepts (None = any), function of the operands)
STRUCTURAL: dict[str, tuple[tuple[tuple[int, ...], ...], Callable[..., Any]]] = {
    "sum_all": (((3,), (2,), (3, 2), (2, 3)), jnp.sum),
    "sum_rows": (((3, 2), (2, 3)), lambda x: jnp.sum(x, axis=0)),
    "sum_cols": (((3, 2), (2, 3)), lambda x: jnp.sum(x, axis=1)),
    "max_cols": (((3, 2), (2, 3)), lambda x: jnp.max(x, axis=1)),
    "transpose": (((3, 2), (2, 3)), jnp.transpose),
    "reshape": (((3, 2), (2, 3)), lambda x: jnp.reshape(x, x.shape[::-1])),
    "slice": (((3,),), lambda x: x[1:]),
    "pad": (((2,),), lambda x: jnp.concatenate([x, x[:1] * 0.5])),
    "to_vector": (((),), lambda x: jnp.broadcast_to(x, (3,))),
    "to_matrix": (((2,),), lambda x: jnp.broadcast_to(x, (3, 2))),
    "column": (((3,),), lambda x: jnp.broadcast_to(x[:, None], (3, 2))),
}

# kind -> ((lhs shape, rhs shape) pairs it accepts, function)
PRODUCTS: dict[str, tuple[tuple[tuple[tuple[int, ...], tuple[int, ...]], ...], Callable[..., Any]]] = {
    "matvec": ((((3, 2), (2,)), ((2, 3), (3,))), jnp.matmul),
    "vecmat": ((((3,), (3, 2)), ((2,), (2, 3))), jnp.matmul),
    "dot": ((((3,), (3,)), ((2,), (2,))), jnp.dot),
    "matmul": ((((3, 2), (2, 3)), ((2, 3), (3, 2))), jnp.matmul),
    "outer": ((((3,), (2,)), ((2,), (3,))), jnp.outer),
    "rowdot": ((((3, 2), (3, 2)), ((2, 3), (2, 3))), lambda a, b: jnp.einsum("ij,ij->i", a, b)),
}


def _apply(family: str, name: str, args: list[Any]) -> Any:
    if family == "unary":
        return UNARY[name](*args)
    if family == "binary":
        return BINARY[name](*args)
    if family == "structural":
        return STRUCTURAL[name][1](*args)
    return PRODUCTS[name][1](*args)


@dataclass(frozen=True)
class Program:
    """A random straight-line program: inputs, then ops on earlier values, then outputs.

    Each op is ``(family, name, operand indices)`` with ``family`` one of ``"unary"``,
    ``"binary"``, ``"structural"``, ``"product"``; values are numbered inputs first.
    """

    input_shapes: tuple[tuple[int, ...], ...]
    ops: tuple[tuple[str, str, tuple[int, ...]], ...]
    outputs: tuple[int, ...]

    def function(self) -> Callable[..., Any]:
        def program(*inputs):
            values = list(inputs)
            for family, name, operands in self.ops:
                values.append(_apply(family, name, [values[k] for k in operands]))
            return tuple(values[k] for k in self.outputs)

        return program

    def arguments(self, seed: int, batch: int | None = None) -> tuple[jax.Array, ...]:
        rng = np.random.default_rng(seed)
        lead = () if batch is None else (batch,)
        return tuple(jnp.asarray(rng.uniform(0.2, 1.2, lead + s), jnp.float32) for s in self.input_shapes)


@st.composite
def programs(draw, max_ops: int = 6) -> Program:
    """A random program of 1-6 ops whose values stay finite on inputs in [0.2, 1.2]."""
    input_shapes = tuple(draw(st.sampled_from(SHAPES)) for _ in range(draw(st.integers(1, 3))))
    shapes: list[tuple[int, ...]] = list(input_shapes)
    ops = []
    for _ in range(draw(st.integers(1, max_ops))):
        k = draw(st.integers(0, len(shapes) - 1))
        options: list[tuple[str, str, tuple[int, ...]]] = [("unary", draw(st.sampled_from(sorted(UNARY))), (k,))]
        partners = [j for j, s in enumerate(shapes) if _broadcast_pair(shapes[k], s)]
        options.append(("binary", draw(st.sampled_from(sorted(BINARY))), (k, draw(st.sampled_from(partners)))))
        for name, (accepted, _) in STRUCTURAL.items():
            if shapes[k] in accepted:
                options.append(("structural", name, (k,)))
        for name, (pairs, _) in PRODUCTS.items():
            rhs = [j for j, s in enumerate(shapes) if (shapes[k], s) in pairs]
            if rhs:
                options.append(("product", name, (k, draw(st.sampled_from(rhs)))))
        family, name, operands = draw(st.sampled_from(options))
        ops.append((family, name, operands))
        args = [jax.ShapeDtypeStruct(shapes[o], jnp.float32) for o in operands]
        shapes.append(jax.eval_shape(lambda *a: _apply(family, name, list(a)), *args).shape)
    last = len(shapes) - 1
    extra = draw(st.lists(st.integers(0, last), max_size=2))
    return Program(input_shapes, tuple(ops), (last, *extra))


def _close(actual, expected) -> bool:
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    return actual.shape == expected.shape and bool(np.allclose(actual, expected, rtol=2e-4, atol=2e-5 * scale))


def _assert_same_jacobian(ours, theirs) -> None:
    assert jax.tree_util.tree_structure(ours) == jax.tree_util.tree_structure(theirs)
    for a, b in zip(jax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(theirs)):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert _close(a, b), f"max error {np.max(np.abs(np.asarray(a) - np.asarray(b)))}"


@given(programs(), st.data())
def test_executor__random_programs_and_orders_match_jacrev_and_cost_model(program: Program, data) -> None:
    """Random program x random complete order: jacrev's Jacobian and the cost model's count."""
    f = program.function()
    args = program.arguments(seed=len(program.ops))
    argnums = tuple(range(len(args)))
    graph = trace_for(f, *args, argnums=argnums)
    order = data.draw(st.permutations(graph.intermediates))
    ours = jax.jit(jacobian(f, order, argnums=argnums))(*args)
    _assert_same_jacobian(ours, jax.jit(jax.jacrev(f, argnums))(*args))
    assert count_multiplications(f, order, *args, argnums=argnums) == reference.play(graph, order)[0]


@settings(max_examples=12)
@given(programs(max_ops=4), st.data())
def test_executor__random_programs_under_jit_and_vmap_match_jacrev(program: Program, data) -> None:
    """jit(vmap(jacobian)) over a batch equals jit(vmap(jacrev)); its op count is the model's."""
    f = program.function()
    argnums = tuple(range(len(program.input_shapes)))
    graph = trace_for(f, *program.arguments(seed=0), argnums=argnums)
    order = data.draw(st.permutations(graph.intermediates))
    batch = program.arguments(seed=1, batch=3)
    ours, counts = jax.jit(jax.vmap(jacobian(f, order, argnums=argnums, count_ops=True)))(*batch)
    _assert_same_jacobian(ours, jax.jit(jax.vmap(jax.jacrev(f, argnums)))(*batch))
    assert np.all(np.asarray(counts) == reference.play(graph, order)[0])

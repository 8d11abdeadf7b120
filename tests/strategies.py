"""Hypothesis strategies shared by the tests: random small JAX programs and random LCGs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp
import numpy as np
from hypothesis import strategies as st

from graphs.lcg import LCG, Role, Vertex
from graphs.structure import Structure

UNARY: dict[str, Callable[[Any], Any]] = {
    "sin": jnp.sin,
    "cos": jnp.cos,
    "tanh": jnp.tanh,
    "square": lambda x: 0.5 * x * x,
    "neg": jnp.negative,
    "recip": lambda x: 1.0 / (1.0 + x * x),
    "exp_sin": lambda x: jnp.exp(jnp.sin(x)),
}

SHAPES = ((), (3,), (3, 3), (2, 3))


@dataclass(frozen=True)
class ProgramSpec:
    """A random straight-line program: inputs of given shapes, then ops on earlier values.

    Each op is ``(kind, name, operand indices)``; the program returns the values listed in
    ``outputs`` (indices into the list of values: inputs first, then op results).
    """

    input_shapes: tuple[tuple[int, ...], ...]
    ops: tuple[tuple[str, str, tuple[int, ...]], ...]
    outputs: tuple[int, ...]

    def function(self) -> Callable[..., Any]:
        def program(*inputs):
            values = list(inputs)
            for kind, name, operands in self.ops:
                args = [values[k] for k in operands]
                values.append(_apply(kind, name, args))
            return tuple(values[k] for k in self.outputs)

        return program

    def arguments(self, seed: int = 0) -> tuple[Any, ...]:
        rng = np.random.default_rng(seed)
        return tuple(jnp.asarray(rng.uniform(0.2, 1.2, s), jnp.float32) for s in self.input_shapes)


def _apply(kind: str, name: str, args: list[Any]) -> Any:
    if kind == "unary":
        return UNARY[name](args[0])
    if kind == "binary":
        a, b = args
        return {"add": a + b, "sub": a - b, "mul": a * b}[name]
    if kind == "sum":
        return jnp.sum(args[0], axis=-1)
    if kind == "transpose":
        return args[0].T
    if kind == "matvec":
        return args[0] @ args[1]
    if kind == "broadcast":
        return args[0] * jnp.ones((3,), jnp.float32)
    if kind == "max":
        return jnp.max(args[0], axis=0)
    raise ValueError(kind)


def _shape_after(kind: str, shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
    if kind in ("unary",):
        return shapes[0]
    if kind == "binary":
        return max(shapes, key=len)
    if kind == "sum":
        return shapes[0][:-1]
    if kind == "transpose":
        return shapes[0][::-1]
    if kind == "matvec":
        return shapes[0][:1]
    if kind == "broadcast":
        return (3,)
    if kind == "max":
        return shapes[0][1:]
    raise ValueError(kind)


@st.composite
def programs(draw, min_ops: int = 2, max_ops: int = 8, shapes: tuple[tuple[int, ...], ...] = SHAPES) -> ProgramSpec:
    """A random program of scalars, vectors and matrices whose values stay finite."""
    num_inputs = draw(st.integers(1, 3))
    input_shapes = tuple(draw(st.sampled_from(shapes)) for _ in range(num_inputs))
    value_shapes: list[tuple[int, ...]] = list(input_shapes)
    ops = []
    for _ in range(draw(st.integers(min_ops, max_ops))):
        k = draw(st.integers(0, len(value_shapes) - 1))
        shape = value_shapes[k]
        options: list[tuple[str, str, tuple[int, ...]]] = [("unary", draw(st.sampled_from(sorted(UNARY))), (k,))]
        partners = [j for j, s in enumerate(value_shapes) if s == shape or s == () or shape == ()]
        if partners:
            j = draw(st.sampled_from(partners))
            options.append(("binary", draw(st.sampled_from(["add", "sub", "mul"])), (k, j)))
        if len(shape) >= 1:
            options.append(("sum", "", (k,)))
            options.append(("max", "", (k,)))
        if len(shape) == 2:
            options.append(("transpose", "", (k,)))
            vectors = [j for j, s in enumerate(value_shapes) if s == (shape[1],)]
            if vectors:
                options.append(("matvec", "", (k, draw(st.sampled_from(vectors)))))
        if shape == ():
            options.append(("broadcast", "", (k,)))
        kind, name, operands = draw(st.sampled_from(options))
        ops.append((kind, name, operands))
        value_shapes.append(_shape_after(kind, [value_shapes[o] for o in operands]))
    last = len(value_shapes) - 1
    extra = draw(st.lists(st.integers(num_inputs, last), max_size=2))
    return ProgramSpec(input_shapes, tuple(ops), (last, *extra))


@st.composite
def scalar_dags(draw, max_vertices: int = 12, unit_fraction: float = 0.0) -> LCG:
    """A random LCG of scalars (inputs, intermediates, outputs) with dense or copy edges.

    Every intermediate has at least one predecessor and one successor; outputs are sinks.
    """
    num_inputs = draw(st.integers(1, 3))
    num_inter = draw(st.integers(1, max_vertices - num_inputs - 1))
    num_outputs = draw(st.integers(1, 3))
    n = num_inputs + num_inter + num_outputs
    roles = [Role.INPUT] * num_inputs + [Role.INTERMEDIATE] * num_inter
    roles += [Role.OUTPUT] * num_outputs
    dense, copy = Structure.parse("<-:[]"), Structure.parse("<-:1")
    edges: dict[tuple[int, int], Structure] = {}

    def kind() -> Structure:
        return copy if unit_fraction and draw(st.floats(0, 1)) < unit_fraction else dense

    for t in range(num_inputs, n):
        sources = range(0, min(t, num_inputs + num_inter))
        chosen = draw(st.sets(st.sampled_from(list(sources)), min_size=1, max_size=min(3, len(sources))))
        for s in chosen:
            edges[(s, t)] = kind()
    for v in range(num_inputs, num_inputs + num_inter):
        if not any(s == v for s, _ in edges):
            edges[(v, draw(st.integers(max(v + 1, num_inputs + num_inter), n - 1)))] = kind()
    vertices = [Vertex(role, ()) for role in roles]
    return LCG(tuple(vertices), edges, "random-scalar-dag")

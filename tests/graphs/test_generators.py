"""Tests of graphs.generators: determinism, sizes, finite values, metadata round trips, errors."""

import jax
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from graphs import io
from graphs.generators import (
    GENERATOR_VERSION,
    KINDS,
    MAX_MAGNITUDE,
    GeneratorError,
    GeneratorParams,
    Program,
    function_from_metadata,
    program_from_metadata,
    random_graph,
    random_program,
    regenerate,
)
from graphs.lcg import Role
from graphs.trace import trace


_NUMPY_OPS = {
    "sin": np.sin,
    "cos": np.cos,
    "tanh": np.tanh,
    "logistic": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "atan": np.arctan,
    "asinh": np.arcsinh,
    "neg": np.negative,
    "square": np.square,
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": np.divide,
    "max": np.maximum,
    "min": np.minimum,
    "matmul": np.matmul,
    "transpose": np.transpose,
}


def evaluate_with_numpy(program: Program) -> tuple[np.ndarray, ...]:
    """An independent float64 NumPy interpreter of a generated program."""
    values = [np.asarray(a, np.float64) for a in program.args]
    for op in program.ops:
        operands = [values[k] for k in op.operands]
        if op.name == "reduce_sum":
            value = operands[0].sum(axis=op.params[0])
        elif op.name == "broadcast":
            x = operands[0]
            x = x[None, :] if op.params == (1,) else x[:, None] if op.params == (0,) else x
            value = np.broadcast_to(x, op.shape)
        else:
            value = _NUMPY_OPS[op.name](*operands)
        assert value.shape == op.shape, op
        values.append(value)
    return tuple(values[k] for k in program.outputs)


def test_random_graph__same_seed_gives_identical_program_and_graph():
    """Drawing twice with one seed gives the same program, arguments and graph file."""
    params = GeneratorParams(kind="mixed", num_vertices=(30, 40))
    a, b = random_program(params, 11), random_program(params, 11)
    assert (a.input_shapes, a.ops, a.outputs) == (b.input_shapes, b.ops, b.outputs)
    for x, y in zip(a.args, b.args):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    assert io.to_dict(random_graph(params, 11)) == io.to_dict(random_graph(params, 11))


@pytest.mark.parametrize("kind", KINDS)
def test_random_graph__different_seeds_give_different_graphs(kind):
    """Five seeds give five different graphs."""
    params = GeneratorParams(kind=kind, num_vertices=(20, 30))
    fingerprints = {random_graph(params, seed).fingerprint() for seed in range(5)}
    assert len(fingerprints) == 5


@given(
    kind=st.sampled_from(KINDS),
    low=st.integers(12, 40),
    extra=st.integers(0, 10),
    seed=st.integers(0, 2**31 - 1),
)
def test_random_program__has_the_requested_size_and_safe_ops(kind, low, extra, seed):
    """Every op is one vertex: the graph has num_inputs + num_ops vertices inside the requested
    range, every input is used, outputs are the unused results, and vertices fit the game."""
    params = GeneratorParams(kind=kind, num_inputs=(1, 5), num_vertices=(low, low + extra))
    program = random_program(params, seed)
    graph = random_graph(params, seed)
    assert graph.num_vertices == len(program.input_shapes) + len(program.ops)
    assert low <= graph.num_vertices <= low + extra
    assert all(graph.successors(k) for k in graph.inputs)
    assert len(graph.outputs) == len(program.outputs)
    assert all(v.size <= 1024 and len(v.shape) <= 2 for v in graph.vertices)
    if kind == "scalar":
        assert graph.is_scalar()
    if kind == "vector":
        assert all(len(s) >= 1 for s in program.input_shapes)
    assert all(v.role is Role.INTERMEDIATE for k, v in enumerate(graph.vertices) if k not in graph.inputs and k not in graph.outputs)


@pytest.mark.parametrize("kind", KINDS)
def test_random_program__values_stay_finite_and_bounded(kind):
    """A large program's outputs are finite, within MAX_MAGNITUDE, and equal a NumPy evaluation."""
    program = random_program(GeneratorParams(kind=kind, num_vertices=(100, 120), dims=(2, 3, 16)), 5)
    outputs = jax.jit(program.function)(*program.args)
    for value, reference in zip(outputs, evaluate_with_numpy(program)):
        value = np.asarray(value)
        assert np.all(np.isfinite(value)) and np.all(np.abs(value) <= MAX_MAGNITUDE)
        np.testing.assert_allclose(value, reference, rtol=1e-4, atol=1e-4)


def test_function_from_metadata__rebuilds_the_traced_function():
    """The graph's metadata gives back a function whose trace is the same graph."""
    graph = random_graph(GeneratorParams(kind="vector", num_vertices=(25, 35)), 7)
    assert graph.metadata["seed"] == 7 and graph.metadata["generator_version"] == GENERATOR_VERSION
    f, args = function_from_metadata(io.from_dict(io.to_dict(graph)).metadata)
    assert trace(f, *args).fingerprint() == graph.fingerprint()
    assert io.to_dict(regenerate(graph)) == io.to_dict(graph)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"generator": "other"}, "not made by graphs.generators"),
        ({"generator_version": GENERATOR_VERSION + 1}, "generator version"),
        ({"seed": "7"}, "integer 'seed'"),
        ({"params": None}, "'params'"),
        ({"params": {"kind": "scalar", "colour": 3}}, "unknown generator parameters"),
        ({"params": {"kind": "tensor"}}, "kind must be one of"),
    ],
)
def test_program_from_metadata__rejects_foreign_or_malformed_metadata(change, message):
    """Metadata from elsewhere, another version or with bad fields raises a GeneratorError naming it."""
    metadata = {**random_graph(GeneratorParams(kind="scalar", num_vertices=(12, 12)), 1).metadata, **change}
    with pytest.raises(GeneratorError, match=message):
        program_from_metadata(metadata)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "tensor"}, "kind must be one of"),
        ({"num_inputs": (3, 2)}, "num_inputs must be a"),
        ({"num_vertices": (11, 30), "num_inputs": (2, 6)}, "must start at twice"),
        ({"dims": (2, 64)}, "dims must be"),
        ({"op_weights": {"unary": 1.0, "fft": 1.0}}, "unknown families"),
        ({"op_weights": {"matmul": 1.0}}, "unary or the binary family"),
        ({"num_outputs": (0, 2)}, "num_outputs must be"),
    ],
)
def test_generator_params__invalid_fields_raise(fields, message):
    """Invalid parameters raise a GeneratorError naming the field."""
    with pytest.raises(GeneratorError, match=message):
        GeneratorParams(**fields)


def test_generator_params__json_round_trip_and_negative_seed():
    """Parameters survive to_json/from_json; a negative seed is refused."""
    params = GeneratorParams(kind="vector", num_inputs=(2, 3), dims=(4, 6), op_weights={"unary": 1, "matmul": 2})
    assert GeneratorParams.from_json(params.to_json()) == params
    with pytest.raises(GeneratorError, match="non-negative"):
        random_program(params, -1)

"""Tests of graphs.trace: structured partials reproduce jax.jacrev; graph shape; clear errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given

from graphs.examples import EXAMPLES
from graphs.lcg import Role
from graphs.trace import TraceError, UnsupportedPrimitive, trace, trace_function
from tests.dense_reference import dense_jacobians, jacrev_blocks
from tests.strategies import programs


def assert_matches_jacrev(f, *args, atol=1e-5):
    traced = trace_function(f, *args)
    ours = dense_jacobians(traced, *args)
    theirs = jacrev_blocks(traced, f, *args)
    assert ours.keys() == theirs.keys()
    for key in ours:
        np.testing.assert_allclose(ours[key], theirs[key], atol=atol, rtol=1e-5, err_msg=str(key))
    return traced


def kitchen_sink(x, y, W):
    """Many primitives at once, with broadcasting, reductions, slicing and nested calls."""
    a = jnp.sin(x) * y + 2.0
    b = W @ a
    c = jnp.sum(b**2) + jnp.max(b)
    d = jax.nn.relu(b)[:, None] * W
    e = jnp.where(a > 0.5, a, -a)
    g = jnp.concatenate([a, b])[1:3]
    h = jax.nn.sigmoid(x) + jax.nn.softmax(x) + jnp.linalg.norm(x) + jnp.tanh(x) + jnp.arctan2(x, y)
    h = h + x**2.5 + jnp.abs(x) + jnp.cbrt(x) + jnp.log1p(x) + jnp.sqrt(y) * jnp.arcsinh(x) + jax.lax.rsqrt(y)
    k = W.T @ W + jnp.outer(x, y) - jnp.mean(W, axis=0) + jnp.minimum(W, 0.1)
    p = jnp.pad(x, (1, 2)) * 2.0
    q = jax.lax.dynamic_update_slice(x, y[:2] * 3, (1,))
    r = jax.lax.dynamic_slice(W, (1, 0), (2, 4))
    s = jnp.clip(x, 0.3, 0.9) + jnp.flip(y) + jnp.expm1(x) + jnp.arccos(x / 2) + jnp.cosh(y) - jax.scipy.special.erf(x)
    return c, d, e, g, h, jnp.mean(x), x.reshape(2, 2), k, x, p, q, r, s, jnp.ones(3)


def test_trace__kitchen_sink_matches_jacrev():
    """Every supported primitive's partial, assembled densely, equals jax.jacrev."""
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.uniform(0.1, 0.9, 4), jnp.float32)
    y = jnp.asarray(rng.uniform(0.1, 0.9, 4), jnp.float32)
    W = jnp.asarray(rng.normal(size=(4, 4)), jnp.float32)
    traced = assert_matches_jacrev(kitchen_sink, x, y, W)
    assert traced.lcg.summary().startswith("kitchen_sink: 3 inputs")


def more_primitives(x, y, A, B):
    """The rest of the supported primitives: inverse/hyperbolic functions, batch dot products..."""
    u = jnp.tan(x) + jnp.arcsin(x) + jnp.arctan(y) + jnp.sinh(x) + jnp.arccosh(y + 1.5) + jnp.arctanh(x)
    u = u + jax.scipy.special.erfinv(x) + jnp.exp2(y) + jnp.log(y) + x ** -2 + jnp.square(y) + jnp.floor(y) * x
    u = u + jnp.sign(x) * y + jnp.fmod(y, 0.3) + x / y + jax.lax.erfc(x) + jnp.maximum(x, y)
    rows = jnp.einsum("ij,ij->i", A, B)  # dot_general with a batch dimension
    mm = A @ B.T + jnp.min(A, axis=1)[:, None]
    v = jnp.where(jnp.sum(x) > 1.0, x * 2.0, y)  # select_n with a scalar predicate
    idx = jnp.argmax(y)  # an integer computed from the inputs: not a vertex
    w = jax.lax.dynamic_slice(u, (idx,), (2,))
    return u, rows, mm, v, w, jax.lax.squeeze(A[:1], (0,)), jax.lax.reduce_precision(x, 5, 10)


def test_trace__more_primitives_match_jacrev():
    """A second batch of primitives (incl. batch dot_general and data-dependent slicing)."""
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.uniform(0.1, 0.6, 3), jnp.float32)
    y = jnp.asarray(rng.uniform(0.5, 0.9, 3), jnp.float32)
    A, B = (jnp.asarray(rng.normal(size=(2, 3)), jnp.float32) for _ in range(2))
    assert_matches_jacrev(more_primitives, x, y, A, B, atol=1e-4)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_trace__examples_match_jacrev(name):
    """The built-in examples trace to graphs whose partials give jax.jacrev."""
    f, args = EXAMPLES[name]
    assert_matches_jacrev(f, *args)


@given(programs())
def test_trace__random_programs_match_jacrev(spec):
    """Random programs of scalars, vectors and matrices: dense assembly equals jax.jacrev."""
    assert_matches_jacrev(spec.function(), *spec.arguments())


def test_trace__outputs_used_inside_get_copy_vertices():
    """An output also used inside, a repeated output, an input and a constant become output copies."""

    def f(x):
        y = jnp.sin(x)
        return y, jnp.exp(y), y, x, 3.0

    traced = assert_matches_jacrev(f, jnp.float32(0.3))
    g = traced.lcg
    assert len(g.outputs) == 5
    for o in g.outputs:
        assert not g.successors(o)
    copies = [o for o in g.outputs if g.vertices[o].primitive == "copy"]
    assert len(copies) == 4  # y (used inside), y again, x, the constant
    constant = [o for o in copies if not g.predecessors(o)]
    assert len(constant) == 1
    assert all(str(g.edges[(s, o)]) == "<-:1" for o in copies for s in g.predecessors(o))


def test_trace__constants_and_zero_derivatives_are_not_vertices():
    """Literals, stop_gradient results and dead code produce no vertices."""

    def f(x):
        c = jnp.cos(jnp.float32(2.0))  # constant
        dead = jnp.exp(x)  # unused
        del dead
        s = jax.lax.stop_gradient(x) * 3.0
        return jnp.sin(x) * c + s

    g = trace(f, jnp.float32(0.5))
    prims = [v.primitive for v in g.vertices if v.role is Role.INTERMEDIATE]
    assert prims == ["sin", "mul"]


def test_trace__nested_calls_are_inlined():
    """jit, checkpoint, custom_jvp and custom_vjp bodies are inlined and differentiated."""

    @jax.custom_vjp
    def g(x):
        return jnp.sin(x)

    g.defvjp(lambda x: (jnp.sin(x), x), lambda x, ct: (jnp.cos(x) * ct,))

    @jax.jit
    def inner(x):
        return jax.checkpoint(lambda z: jnp.tanh(z) * 2.0)(x) + jax.nn.softplus(x)

    assert_matches_jacrev(lambda x: g(inner(x)), jnp.arange(1.0, 4.0))


def test_trace__unsupported_primitive_names_it_and_its_line():
    """A primitive without a rule raises UnsupportedPrimitive with its name and source location."""
    with pytest.raises(UnsupportedPrimitive, match=r"'cumsum' at .*test_trace.py"):
        trace(lambda x: jnp.cumsum(x), jnp.ones(3))
    with pytest.raises(UnsupportedPrimitive, match="unsupported primitive 'while'"):
        trace(lambda x: jax.lax.while_loop(lambda v: v[0] < 3.0, lambda v: v * 2, x), jnp.ones(3))


def test_trace__rank_three_and_integer_inputs_are_rejected():
    """Rank-3 values and integer inputs get a TraceError that says why."""
    with pytest.raises(TraceError, match="rank 3"):
        trace(lambda x: jnp.sin(x[:, :, None] * jnp.ones(2)), jnp.ones((2, 2)))
    with pytest.raises(TraceError, match="rank 3"):
        trace(jnp.sin, jnp.ones((2, 2, 2)))
    with pytest.raises(TraceError, match="floating point"):
        trace(lambda n: n * 2.0, 3)


def test_trace__pytree_inputs_and_outputs():
    """Every leaf of a pytree argument is an input; every leaf of the result an output."""

    def f(params, x):
        return {"h": jnp.tanh(params["w"] @ x + params["b"]), "n": jnp.sum(x * x)}

    params = {"w": jnp.ones((2, 3)) * 0.1, "b": jnp.zeros(2)}
    traced = assert_matches_jacrev(f, params, jnp.arange(3.0))
    names = [traced.lcg.vertices[i].name for i in traced.lcg.inputs]
    assert names == ["params['b']", "params['w']", "x"]

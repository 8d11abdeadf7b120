"""Tests of the Jacobian executor on hand-made functions: API, pytrees, dtypes, eager use, errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from elimgym import reference
from elimgym.executor import (
    CountingError,
    count_multiplications,
    elimination_program,
    jacobian,
    jaxpr_multiplications,
    markowitz_order,
    trace_for,
    verify,
)
from elimgym.orders import Order, OrderError
from graphs.examples import EXAMPLES


def _assert_close(ours, theirs, rtol=1e-5) -> None:
    assert jax.tree_util.tree_structure(ours) == jax.tree_util.tree_structure(theirs)
    for a, b in zip(jax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(theirs)):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
@pytest.mark.parametrize("order", ["forward", "reverse", "markowitz"])
def test_jacobian__builtin_examples_match_jacrev_and_cost_model(name: str, order: str) -> None:
    """Every built-in example x named order: jacrev's Jacobian, the reference eliminator's cost."""
    f, args = EXAMPLES[name]
    argnums = tuple(range(len(args)))
    ours, count = jacobian(f, order, argnums=argnums, count_ops=True)(*args)
    _assert_close(ours, jax.jacrev(f, argnums)(*args))
    graph = trace_for(f, *args, argnums=argnums)
    named = {"forward": reference.forward_order, "reverse": reference.reverse_order}
    vertices = named[order](graph) if order in named else reference.markowitz_order(graph, "lowest")
    assert count == reference.play(graph, vertices)[0]


def test_jacobian__eager_python_floats_give_the_true_nonzero_jacobian() -> None:
    """Called eagerly with Python floats the result is jacrev's (not zeros), in float32."""
    f, _ = EXAMPLES["scalar"]
    ours = jacobian(f, "markowitz", argnums=(0, 1))(0.7, 1.3)
    theirs = jax.jacrev(f, argnums=(0, 1))(0.7, 1.3)
    _assert_close(ours, theirs)
    assert all(abs(float(leaf)) > 1e-3 for leaf in jax.tree_util.tree_leaves(ours))


def test_jacobian__argnums_int_and_pytree_argument_nest_like_jacrev() -> None:
    """A dict argument and a tuple result nest exactly as jax.jacrev nests them."""

    def f(params, x):
        h = jnp.tanh(params["W"] @ x + params["b"])
        return {"sum": jnp.sum(h * h), "h": h}

    params = {"W": jnp.arange(6.0).reshape(2, 3) / 7, "b": jnp.array([0.1, -0.2])}
    x = jnp.array([0.3, 0.5, -0.4])
    for argnums in (0, 1, (0, 1), (-1,)):
        _assert_close(jacobian(f, "reverse", argnums=argnums)(params, x), jax.jacrev(f, argnums)(params, x))


def test_jacobian__keyword_and_undifferentiated_arguments_are_constants() -> None:
    """Only args[argnums] are input vertices; others and keyword arguments are constants."""

    def f(x, y, scale=1.0):
        return jnp.sin(x * y) * scale

    x, y = jnp.array([0.2, 0.4]), jnp.array([1.5, -0.5])
    assert trace_for(f, x, y, argnums=1, scale=2.0).inputs == (0,)
    ours = jacobian(f, "forward", argnums=1)(x, y, scale=2.0)
    _assert_close(ours, jax.jacrev(f, argnums=1)(x, y, scale=2.0))


def test_jacobian__jit_and_vmap_with_a_batched_constant_argument() -> None:
    """vmap over both arguments while differentiating only the first, under jit."""

    def f(x, w):
        return jnp.exp(jnp.sin(x) * w)

    xs = jnp.linspace(0.1, 1.0, 12).reshape(4, 3)
    ws = jnp.linspace(-1.0, 1.0, 4)
    ours = jax.jit(jax.vmap(jacobian(f, "markowitz")))(xs, ws)
    _assert_close(ours, jax.vmap(jax.jacrev(f))(xs, ws))


def test_jacobian__outputs_without_a_path_get_zero_blocks_and_inputs_may_be_outputs() -> None:
    """A constant output, an output independent of an input and a returned input are exact."""

    def f(x, y):
        return jnp.ones(2), jnp.sin(x), x, y * 2.0

    x, y = jnp.array([0.3, 0.6]), jnp.array(0.5)
    ours = jacobian(f, "reverse", argnums=(0, 1))(x, y)
    theirs = jax.jacrev(f, argnums=(0, 1))(x, y)
    _assert_close(ours, theirs)
    assert not np.any(np.asarray(ours[0][0])) and not np.any(np.asarray(ours[1][1]))


def test_jacobian__the_same_output_twice_and_an_output_used_inside() -> None:
    """Output copies (a value returned twice and also used later) are handled."""

    def f(x):
        u = jnp.sin(x)
        return u, u, jnp.sum(u * u)

    x = jnp.array([0.3, 0.6, 0.9])
    _assert_close(jacobian(f, "markowitz")(x), jax.jacrev(f)(x))


def test_jacobian__float64_under_x64_matches_jacrev_tightly() -> None:
    """With x64 enabled locally, float64 inputs give float64 blocks equal to jacrev's to 1e-12."""

    def f(W, x):
        return jnp.tanh(W @ jnp.sin(x)) * jnp.sum(x * x)

    with jax.enable_x64(True):
        W = jnp.asarray(np.random.default_rng(0).normal(size=(3, 4)))
        xs = jnp.stack([jnp.linspace(0.1, 0.9, 4), jnp.linspace(-0.5, 0.7, 4)])
        for order in ("forward", "reverse", "markowitz"):
            ours = jax.jit(jax.vmap(jacobian(f, order, argnums=(0, 1)), in_axes=(None, 0)))(W, xs)
            theirs = jax.vmap(jax.jacrev(f, argnums=(0, 1)), in_axes=(None, 0))(W, xs)
            for a, b in zip(jax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(theirs)):
                assert a.dtype == b.dtype == jnp.float64
                np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("order", ["forward", "reverse", "markowitz"])
def test_jacobian__larger_matrix_products_use_dot_general_and_stay_exact(order: str) -> None:
    """Products big enough for dot_general (primal and eliminations) give jacrev's Jacobian."""

    def f(A, B, v):
        return jnp.tanh(A @ B) @ v, jnp.einsum("ij,ij->i", A, jnp.sin(A))

    rng = np.random.default_rng(1)
    A, B, v = (jnp.asarray(rng.normal(size=s), jnp.float32) for s in ((8, 16), (16, 8), (8,)))
    ours = jax.jit(jacobian(f, order, argnums=(0, 1, 2)))(A, B, v)
    _assert_close(ours, jax.jacrev(f, argnums=(0, 1, 2))(A, B, v), rtol=2e-5)


def test_jacobian__float32_results_keep_the_input_dtype() -> None:
    """Blocks are in each input's dtype, as jax.jacrev returns them."""
    f, args = EXAMPLES["matvec"]
    for leaf in jax.tree_util.tree_leaves(jacobian(f, "forward", argnums=(0, 1))(*args)):
        assert leaf.dtype == jnp.float32


def test_jacobian__order_objects_from_the_game_and_vertex_lists_are_accepted() -> None:
    """An Order object and a plain list of its ids give the same Jacobian and cost."""
    f, args = EXAMPLES["scalar"]
    graph = trace_for(f, *args, argnums=(0, 1))
    vertices = reference.markowitz_order(graph, "lowest")
    order = Order.for_graph(graph, vertices, cost=reference.play(graph, vertices)[0], method="markowitz")
    by_object = jacobian(f, order, argnums=(0, 1))(*args)
    by_list = jacobian(f, list(order.vertices), argnums=(0, 1))(*args)
    _assert_close(by_object, by_list)
    assert elimination_program(f, order, *args, argnums=(0, 1)).cost == order.cost


@pytest.mark.parametrize(
    ("make_order", "message"),
    [
        (lambda g: list(g.intermediates[:-1]), "misses 1 intermediate"),
        (lambda g: list(g.intermediates) + [g.intermediates[0]], "vertex 2 is eliminated twice"),
        (lambda g: list(g.intermediates[:-1]) + [999], "vertex 999 does not exist"),
        (lambda g: [g.inputs[0]] + list(g.intermediates), "vertex 0 of graph .* is an input"),
        (lambda g: list(g.intermediates) + [g.outputs[-1]], "vertex 6 of graph .* is an output"),
    ],
)
def test_jacobian__bad_orders_raise_naming_the_vertex(make_order, message: str) -> None:
    """Missing, repeated, unknown, input and output vertices are rejected by name."""
    f, args = EXAMPLES["scalar"]
    graph = trace_for(f, *args, argnums=(0, 1))
    assert graph.intermediates == (2, 3, 4) and graph.outputs == (5, 6)
    with pytest.raises(OrderError, match=message):
        jacobian(f, make_order(graph), argnums=(0, 1))(*args)


def test_jacobian__missing_vertex_message_names_it() -> None:
    """The message for an incomplete order lists the missing vertex id."""
    f, args = EXAMPLES["scalar"]
    inter = list(trace_for(f, *args, argnums=(0, 1)).intermediates)
    with pytest.raises(OrderError, match=rf": {inter[-1]}$"):
        jacobian(f, inter[:-1], argnums=(0, 1))(*args)


def test_jacobian__an_order_made_for_another_graph_is_stale() -> None:
    """An Order bound to another graph (here: other argnums) is rejected, not misapplied."""
    f, args = EXAMPLES["matvec"]
    other = trace_for(f, *args, argnums=(0, 1))
    order = Order.for_graph(other, other.intermediates)
    with pytest.raises(OrderError, match="fingerprint"):
        jacobian(f, order, argnums=1)(*args)


def test_jacobian__unknown_order_name_and_non_integer_ids_are_errors() -> None:
    """A misspelt name and a float vertex id raise clear errors."""
    f, args = EXAMPLES["scalar"]
    with pytest.raises(ValueError, match="unknown order 'fast'"):
        jacobian(f, "fast", argnums=(0, 1))(*args)
    inter = list(trace_for(f, *args, argnums=(0, 1)).intermediates)
    with pytest.raises(OrderError, match="position 0"):
        jacobian(f, [inter[0] + 0.5] + inter[1:], argnums=(0, 1))(*args)


def test_jacobian__integer_outputs_are_rejected_like_jacrev() -> None:
    """An integer output raises a TypeError naming the output leaf."""
    with pytest.raises(TypeError, match="output leaf 1"):
        jacobian(lambda x: (jnp.sin(x), jnp.int32(3)), "forward")(jnp.ones(2))


def test_count_multiplications__abstract_arguments_and_per_step_costs() -> None:
    """The count from abstract arguments equals the sum of the program's per-product costs."""
    f, args = EXAMPLES["matvec"]
    abstract = tuple(jax.ShapeDtypeStruct(a.shape, a.dtype) for a in args)
    program = elimination_program(f, "forward", *args, argnums=(0, 1))
    assert count_multiplications(f, "forward", *abstract, argnums=(0, 1)) == sum(s.cost for s in program.steps)


def test_jaxpr_multiplications__dot_mul_and_free_operations() -> None:
    """dot_general counts all its dimensions, mul its output size, sums and moves nothing."""

    def g(a, b, v):
        return jnp.sum(a @ b) + jnp.sum(jnp.transpose(a) * 2.0) + v[0] - v[1]

    jaxpr = jax.make_jaxpr(g)(jnp.ones((3, 4)), jnp.ones((4, 5)), jnp.ones(2))
    assert jaxpr_multiplications(jaxpr) == 3 * 4 * 5 + 12


def test_jaxpr_multiplications__loops_are_rejected() -> None:
    """A scan has no static multiplication count."""
    jaxpr = jax.make_jaxpr(lambda x: jax.lax.scan(lambda c, _: (c * 2.0, None), x, None, length=3)[0])(1.0)
    with pytest.raises(CountingError, match="scan"):
        jaxpr_multiplications(jaxpr)


def test_markowitz_order__equals_the_reference_on_the_examples() -> None:
    """The fast Markowitz order equals elimgym.reference.markowitz_order(lowest)."""
    for f, args in EXAMPLES.values():
        graph = trace_for(f, *args, argnums=tuple(range(len(args))))
        assert list(markowitz_order(graph)) == reference.markowitz_order(graph, "lowest")


def test_verify__reports_a_pass_with_counts() -> None:
    """verify passes on a correct run and reports counts equal to the cost model."""
    f, args = EXAMPLES["matvec"]
    result = verify(f, "reverse", *args, argnums=(0, 1))
    assert result.passed and result.problems == ()
    assert result.multiplications == result.model_cost == 24
    assert result.max_rel_error <= result.tolerance
    assert "PASS" in str(result)


def test_verify__an_impossible_tolerance_fails_with_a_problem() -> None:
    """A negative tolerance cannot be met: the result fails and says why."""
    f, args = EXAMPLES["matvec"]
    result = verify(f, "reverse", *args, argnums=(0, 1), rtol=-1.0)
    assert not result.passed
    assert any("exceeds the tolerance" in p for p in result.problems)

"""Tests of the classical orders as JAX policies (elimgym.policies) against the host reference."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings

from graphs.examples import EXAMPLES
from graphs.trace import trace
from elimgym import game, policies, reference
from tests.strategies import programs, scalar_dags

CAPACITY = 32


def _reference_orders(g):
    return {
        "forward": reference.forward_order(g),
        "reverse": reference.reverse_order(g),
        "markowitz": reference.markowitz_order(g, "lowest"),
        "markowitz-highest": reference.markowitz_order(g, "highest"),
    }


_POLICIES = {
    "forward": policies.forward,
    "reverse": policies.reverse,
    "markowitz": policies.markowitz("lowest"),
    "markowitz-highest": policies.markowitz("highest"),
}


def _check_against_reference(g):
    expected = _reference_orders(g)
    for name, policy in _POLICIES.items():
        order = policies.play(g, policy, name, capacity=CAPACITY)
        assert list(order.vertices) == expected[name], name
        assert order.cost == reference.play(g, expected[name])[0], name


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_policies__examples_match_reference_orders(name):
    """Forward, reverse and both Markowitz tie-breaks give the reference orders and costs."""
    f, args = EXAMPLES[name]
    _check_against_reference(trace(f, *args))


@given(scalar_dags(max_vertices=14, unit_fraction=0.2))
def test_policies__random_graphs_match_reference_orders(g):
    """Same agreement on random scalar graphs (where Markowitz ties are frequent)."""
    _check_against_reference(g)


@settings(max_examples=10)
@given(programs(min_ops=4, max_ops=10))
def test_policies__baseline_costs_match_reference(spec):
    """baseline_costs equals the reference costs of forward, reverse and Markowitz orders."""
    g = trace(spec.function(), *spec.arguments())
    expected = _reference_orders(g)
    costs = policies.baseline_costs(g, capacity=CAPACITY)
    assert costs == {k: reference.play(g, expected[k])[0] for k in ("forward", "reverse", "markowitz")}


def test_markowitz__random_tie_break_picks_a_minimiser():
    """With random tie-breaking every choice has the minimal current Markowitz degree, and
    different keys pick different minimisers when there is a tie."""

    def two_chains(x):
        return jnp.sin(x), jnp.cos(x), jnp.exp(x) * jnp.tanh(x)

    g = trace(two_chains, jnp.float32(0.3))
    policy = jax.jit(policies.markowitz("random"))
    step = jax.jit(game.step)
    first_choices = set()
    for seed in range(8):
        state = game.init(game.encode(g, CAPACITY))
        key = jax.random.PRNGKey(seed)
        while not bool(state.terminated):
            key, sub = jax.random.split(key)
            action = int(policy(state, sub))
            legal = np.asarray((state.roles == 2) & ~state.eliminated)
            degree = np.asarray(state.in_degree * state.out_degree)
            assert legal[action] and degree[action] == degree[legal].min()
            if int(state.num_steps) == 0:
                first_choices.add(action)
            state, _, _ = step(state, jnp.int32(action))
    assert len(first_choices) > 1


def test_markowitz__unknown_tie_break_is_an_error():
    """An unknown tie-break rule is refused with the valid ones listed."""
    with pytest.raises(ValueError, match="lowest"):
        policies.markowitz("median")

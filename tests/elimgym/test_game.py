"""Tests of the functional JAX game (elimgym.game) against hand counts and the host reference."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, strategies as st

from graphs.examples import EXAMPLES
from graphs.lcg import LCG, CapacityError, Role, Vertex
from graphs.structure import Structure
from graphs.trace import trace
from elimgym import game, reference
from elimgym.testing import check_game
from tests.strategies import programs, scalar_dags

I, M, O = Role.INPUT, Role.INTERMEDIATE, Role.OUTPUT
DENSE, COPY = Structure.parse("<-:[]"), Structure.parse("<-:1")
CAPACITY = 32


def diamond(copy_edge: bool = False) -> LCG:
    r"""A hand-sized scalar graph (all partials dense unless ``copy_edge``):

        x0 --> a --> b --> y
        x1 --> a     ^     ^
        x1 --------- +     |
               a ----------+   (a copy edge if ``copy_edge``)
    """
    vertices = (Vertex(I, (), "x0"), Vertex(I, (), "x1"), Vertex(M, (), "a"), Vertex(M, (), "b"), Vertex(O, (), "y"))
    edges = {(0, 2): DENSE, (1, 2): DENSE, (2, 3): DENSE, (1, 3): DENSE, (3, 4): DENSE, (2, 4): COPY if copy_edge else DENSE}
    return LCG(vertices, edges, "diamond")


_step = jax.jit(game.step)


def play_jax(graph: LCG, order, capacity: int = CAPACITY) -> tuple[int, float]:
    state = game.init(game.encode(graph, capacity))
    total_reward = 0.0
    for v in order:
        state, reward, _ = _step(state, jnp.int32(v))
        total_reward += float(reward)
    assert bool(state.terminated)
    return game.total_cost(state), total_reward


@pytest.mark.parametrize(
    "copy_edge, order, cost",
    [
        (False, [2, 3], 6),  # forward: a has preds {x0,x1} x succs {b,y} = 4, then b: {x0,x1} x {y} = 2
        (False, [3, 2], 4),  # reverse: b: {a,x1} x {y} = 2, then a: {x0,x1} x {y} = 2
        (True, [2, 3], 4),  # forward with a copy a -> y: the two pairs through it are free
        (True, [3, 2], 4),  # reverse: a -> y becomes dense once b's path joins it
    ],
)
def test_game__hand_counted_costs(copy_edge, order, cost):
    """The diamond graph costs what a count by hand gives, in the JAX game and the reference."""
    g = diamond(copy_edge)
    assert reference.play(g, order)[0] == cost
    assert play_jax(g, order) == (cost, -float(cost))


def test_game__elementwise_chain_on_vectors():
    """sum(exp(sin(x)) * x) for x in R^4: two diagonal products (4 each), the sum is free."""
    f, args = EXAMPLES["elementwise"]
    g = trace(f, *args)
    forward = list(g.intermediates)
    assert play_jax(g, forward)[0] == 8


@given(programs(), st.randoms(use_true_random=False))
def test_game__matches_reference_on_random_programs(spec, rnd):
    """Random programs x random complete orders: JAX cost equals the host reference exactly."""
    g = trace(spec.function(), *spec.arguments())
    order = list(g.intermediates)
    rnd.shuffle(order)
    expected, _ = reference.play(g, order)
    cost, reward = play_jax(g, order, capacity=64)
    assert cost == expected
    assert reward == pytest.approx(-expected, rel=1e-6)


@given(scalar_dags(max_vertices=12, unit_fraction=0.3), st.randoms(use_true_random=False))
def test_game__total_cost_is_invariant_to_capacity(g, rnd):
    """The same order costs the same at capacities 16, 32 and 64."""
    order = list(g.intermediates)
    rnd.shuffle(order)
    costs = {play_jax(g, order, capacity)[0] for capacity in (16, 32, 64)}
    assert len(costs) == 1


def _reach(g: LCG, start: int, forward: bool) -> set[int]:
    step = g.successors if forward else g.predecessors
    seen, stack = set(), [start]
    while stack:
        for u in step(stack.pop()):
            if u not in seen:
                seen.add(u)
                stack.append(u)
    return seen


@given(scalar_dags(max_vertices=14))
def test_game__forward_and_reverse_match_independent_counts(g):
    """On dense scalar graphs, forward costs sum |inputs reaching v| x |succ(v)| and reverse
    costs sum |outputs reached from v| x |pred(v)| (counted by reachability, not elimination)."""
    inputs, outputs = set(g.inputs), set(g.outputs)
    forward = sum(len(_reach(g, v, False) & inputs) * len(g.successors(v)) for v in g.intermediates)
    reverse = sum(len(_reach(g, v, True) & outputs) * len(g.predecessors(v)) for v in g.intermediates)
    assert play_jax(g, reference.forward_order(g))[0] == forward
    assert play_jax(g, reference.reverse_order(g))[0] == reverse


def test_game__contract_on_examples_and_random_graphs():
    """The shipped contract test passes on the examples and on traced random programs."""
    graphs = [trace(f, *args, name=name) for name, (f, args) in EXAMPLES.items()]
    rng = np.random.default_rng(3)
    graphs.append(trace(lambda x, W: jnp.tanh(W @ jnp.sin(x)) * jnp.sum(W, 0), jnp.asarray(rng.uniform(size=4)), jnp.asarray(rng.uniform(size=(4, 4)))))
    graphs.append(diamond(copy_edge=True))
    check_game(graphs, capacity=CAPACITY)


def test_game__step_compiles_once_for_many_graphs():
    """One jitted step serves every graph of a capacity (no retracing)."""
    traced_step = jax.jit(chex.assert_max_traces(game.step, n=1))
    for name, (f, args) in EXAMPLES.items():
        state = game.init(game.encode(trace(f, *args), CAPACITY))
        state, _, _ = traced_step(state, jnp.int32(trace(f, *args).intermediates[0]))
    state = game.init(game.encode(diamond(), CAPACITY))
    traced_step(state, jnp.int32(2))


def test_game__vmap_broadcasts_an_unbatched_state():
    """vmap over actions only (one state, many actions) equals stepping each action separately."""
    g = diamond()
    state = game.init(game.encode(g, CAPACITY))
    actions = jnp.asarray([2, 3, 0, 4], jnp.int32)
    batched, rewards, _ = jax.vmap(game.step, in_axes=(None, 0))(state, actions)
    for k, a in enumerate(actions):
        single, reward, _ = _step(state, a)
        assert float(rewards[k]) == float(reward)
        assert np.array_equal(np.asarray(batched.edges[k]), np.asarray(single.edges))


def test_encode__capacity_errors_name_the_problem():
    """Too many vertices, or a vertex too large for int32 costs, raise CapacityError."""
    with pytest.raises(CapacityError, match="5 vertices but the capacity is 4"):
        game.encode(diamond(), 4)
    big = LCG((Vertex(I, (40, 40), "W"), Vertex(O, (40, 40), "y")), {(0, 1): Structure.parse("ij<-ij:[ij]")})
    with pytest.raises(CapacityError, match="1600 entries"):
        game.encode(big, 4)


def test_observe__features_describe_the_state():
    """Observation shapes, dtypes and features (roles, degrees, Markowitz) follow the state."""
    g = diamond()
    state = game.init(game.encode(g, 8))
    obs = game.observe(state)
    assert obs.edges.shape == (8, 8) and obs.edges.dtype == jnp.int16
    assert obs.vertices.shape == (8, len(game.VERTEX_FEATURE_NAMES)) and obs.vertices.dtype == jnp.float32
    col = {n: k for k, n in enumerate(game.VERTEX_FEATURE_NAMES)}
    np.testing.assert_array_equal(obs.vertices[:, col["is_intermediate"]], [0, 0, 1, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(obs.action_mask, [False, False, True, True, False, False, False, False])
    np.testing.assert_allclose(obs.vertices[2, col["log1p_markowitz"]], np.log1p(2 * 2))
    state, _, _ = _step(state, jnp.int32(3))
    obs = game.observe(state)
    np.testing.assert_allclose(obs.vertices[2, col["log1p_markowitz"]], np.log1p(2 * 1))
    assert obs.vertices[3, col["eliminated"]] == 1

"""Tests of the exact DP, the lower bounds and the reduction rules (elimgym.solvers)."""

from __future__ import annotations

import itertools

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphs.lcg import LCG, Role, Vertex
from graphs.trace import trace

from elimgym import reference
from elimgym.solvers.bounds import analyse, entry_bound, lower_bound, vertex_bounds
from elimgym.solvers.exact import _last_neighbours, _pack_kernel, partial_costs, remaining_bounds, solve_exact
from elimgym.solvers.problem import Problem, play_orders
from elimgym.solvers.reductions import independent_parts, reachability
from tests.elimgym.test_solvers_programs import all_orders_optimum, brute_force_optimum, small_graphs


def _order_dependent_graph() -> LCG:
    """``s = 2 v + broadcast(w . v)`` with ``v = broadcast(p)`` and ``y = W s``::

        p --[a<-:[]]--> v --[<-a:[a]]--> u --[a<-:1]--> s --[a<-b:[ab]]--> y
                        \\________________[a<-a:[]]______/
    """
    vertices = [
        Vertex(Role.INPUT, (), "p"),
        Vertex(Role.INTERMEDIATE, (3,), "v"),
        Vertex(Role.INTERMEDIATE, (), "u"),
        Vertex(Role.INTERMEDIATE, (3,), "s"),
        Vertex(Role.OUTPUT, (3,), "y"),
    ]
    edges = {(0, 1): "a<-:[]", (1, 2): "<-a:[a]", (2, 3): "a<-:1", (1, 3): "a<-a:[]", (3, 4): "a<-b:[ab]"}
    return LCG.from_edges(vertices, edges, name="order_dependent")


def test_structures__can_depend_on_the_order_within_a_set():
    """Eliminating {v, u} as (v, u) or (u, v) leaves different structures on p -> s (a join
    keeps a tie only where both operands have it), and the rest of the order then costs 3 or 9."""
    graph = _order_dependent_graph()
    after_vu = reference.eliminate(reference.eliminate(graph, 1)[0], 2)[0]
    after_uv = reference.eliminate(reference.eliminate(graph, 2)[0], 1)[0]
    assert str(after_vu.edges[(0, 3)]) == "a<-:[]"
    assert str(after_uv.edges[(0, 3)]) == "a<-:[a]"
    assert reference.eliminate(after_vu, 3)[1] == 3
    assert reference.eliminate(after_uv, 3)[1] == 9


def test_structures__depend_on_the_order_in_a_traced_program():
    """Traced ``sin(sum(sum(x) - x))``: eliminating {sum, sub} as (sum, sub) leaves x -> sum2 as
    ``<-a:[a]`` (a vector value; sum2 then costs 2), as (sub, sum) as ``<-a:[]`` (a constant;
    sum2 then costs 1) - the set alone does not determine the graph."""
    graph = trace(lambda x: jnp.sin(jnp.sum(jnp.sum(x) - x)), jnp.ones(2))
    assert [v.primitive for v in graph.vertices[1:4]] == ["reduce_sum", "sub", "reduce_sum"]
    first = reference.eliminate(reference.eliminate(graph, 1)[0], 2)[0]
    second = reference.eliminate(reference.eliminate(graph, 2)[0], 1)[0]
    assert (str(first.edges[(0, 3)]), str(second.edges[(0, 3)])) == ("<-a:[a]", "<-a:[]")
    assert (reference.eliminate(first, 3)[1], reference.eliminate(second, 3)[1]) == (2, 1)
    result = solve_exact(Problem.from_graph(graph), [1, 2, 3])
    assert result.optimal and result.cost == all_orders_optimum(graph) == 1


def test_exact__is_optimal_on_the_order_dependent_graph():
    """The DP keys states by their structures too, so it finds the optimum (5) of that graph."""
    graph = _order_dependent_graph()
    result = solve_exact(Problem.from_graph(graph), reference.reverse_order(graph))
    assert result.optimal and result.cost == all_orders_optimum(graph) == 5
    assert reference.play(graph, result.order)[0] == 5


@given(small_graphs(max_intermediates=9))
def test_exact__agrees_with_brute_force(graph):
    """On every random program with at most 9 intermediates the DP's cost is the brute-force
    optimum, its order really costs that, and it is marked optimal."""
    result = solve_exact(Problem.from_graph(graph), reference.forward_order(graph))
    assert result.optimal
    assert result.cost == result.lower_bound == brute_force_optimum(graph)
    assert reference.play(graph, result.order)[0] == result.cost


@given(small_graphs(max_intermediates=9))
def test_bounds__never_exceed_the_optimum(graph):
    """The vertex bound, the Jacobian-entry bound and their maximum are at most the optimum,
    and each vertex's bound is at most what it costs in an optimal order."""
    optimum = brute_force_optimum(graph)
    data = analyse(graph)
    per_vertex = vertex_bounds(data)
    assert per_vertex.sum() <= optimum
    assert entry_bound(data) <= optimum
    assert lower_bound(graph, data) <= optimum
    result = solve_exact(Problem.from_graph(graph), reference.forward_order(graph))
    _, step_costs = reference.play(graph, result.order)
    for v, cost in zip(result.order, step_costs):
        assert per_vertex[v] <= cost


@given(small_graphs(min_intermediates=2, max_intermediates=8), st.randoms(use_true_random=False))
def test_remaining_bound__never_exceeds_the_optimal_completion(graph, rnd):
    """From a random partial order, the DP's per-state bound is at most the cheapest way to
    finish (brute force from that graph)."""
    order = rnd.sample(list(graph.intermediates), len(graph.intermediates))
    prefix = order[: rnd.randint(0, len(order) - 1)]
    problem = Problem.from_graph(graph)
    states = play_orders(problem, np.asarray([prefix], np.int32).reshape(1, -1))
    bound = int(remaining_bounds(problem, states, 1)[0])
    rest = graph
    for v in prefix:
        rest, _ = reference.eliminate(rest, v)
    left = [v for v in graph.intermediates if v not in prefix]
    assert bound <= brute_force_optimum(rest, left)


@settings(max_examples=10, suppress_health_check=[HealthCheck.filter_too_much])
@given(small_graphs(min_intermediates=4))
def test_exact__stopped_search_still_certifies_a_bound(graph):
    """With room for a single state per layer, the DP stops early but its bound stays at most
    the optimum and its order is never worse than the incumbent it was given."""
    incumbent = reference.forward_order(graph)
    result = solve_exact(Problem.from_graph(graph), incumbent, max_states=1)
    optimum = brute_force_optimum(graph)
    assert result.lower_bound <= optimum <= result.cost <= reference.play(graph, incumbent)[0]


def test_exact__bad_incumbent_is_refused():
    """An incumbent that is not a complete order raises an error naming the problem."""
    graph = _order_dependent_graph()
    with pytest.raises(ValueError, match="misses"):
        solve_exact(Problem.from_graph(graph), [1, 2])


@given(small_graphs())
def test_independent_parts__are_incomparable_and_cover_the_intermediates(graph):
    """Parts partition the intermediates, and no path joins two vertices of different parts."""
    parts = independent_parts(graph)
    assert sorted(v for part in parts for v in part) == list(graph.intermediates)
    reach = reachability(graph)
    for a, b in itertools.combinations(parts, 2):
        for u in a:
            for w in b:
                assert not reach[u, w] and not reach[w, u]


@given(small_graphs(), st.randoms(use_true_random=False))
def test_independent_parts__costs_do_not_interact(graph, rnd):
    """Reduction rule check: any interleaving of per-part orders costs the sum of what each
    part's order costs alone, and the DP, which solves the parts separately, finds the
    brute-force optimum."""
    parts = independent_parts(graph)
    problem = Problem.from_graph(graph)
    orders = [list(part) for part in parts]
    for order in orders:
        rnd.shuffle(order)
    alone = partial_costs(problem, np.asarray([sum(orders, [])], np.int32))[0] if orders else 0
    each = sum(int(partial_costs(problem, np.asarray([order], np.int32))[0]) for order in orders)
    assert alone == each
    interleaved = sorted(sum(orders, []), key=lambda v: rnd.random())
    by_part = [[v for v in interleaved if v in set(part)] for part in orders]
    assert reference.play(graph, interleaved)[0] == sum(reference.play(graph, p)[0] for p in by_part)
    result = solve_exact(problem, reference.forward_order(graph))
    assert result.cost == brute_force_optimum(graph)
    assert result.info["parts"] == sorted(len(part) for part in parts)


@given(small_graphs(min_intermediates=2), st.randoms(use_true_random=False))
def test_commuting_eliminations__same_costs_and_graph_either_way(graph, rnd):
    """Reduction rule check (the DP skips ``b`` right after a larger non-adjacent ``a``): after a
    random prefix, two intermediates not adjacent to each other cost the same in either order
    and leave the same graph (the DP with the rule matching brute force is
    test_exact__agrees_with_brute_force)."""
    order = rnd.sample(list(graph.intermediates), len(graph.intermediates))
    current, done = graph, rnd.randint(0, len(order) - 2)
    for v in order[:done]:
        current, _ = reference.eliminate(current, v)
    left = order[done:]
    pairs = [(a, b) for a in left for b in left if a < b and b not in current.predecessors(a) + current.successors(a)]
    for a, b in pairs:
        first, cost_a = reference.eliminate(current, a)
        ab, cost_b_after = reference.eliminate(first, b)
        second, cost_b = reference.eliminate(current, b)
        ba, cost_a_after = reference.eliminate(second, a)
        assert (cost_a, cost_b) == (cost_a_after, cost_b_after)
        assert ab.edges == ba.edges


@given(small_graphs(min_intermediates=2), st.randoms(use_true_random=False))
def test_last_neighbours__read_the_packed_edges(graph, rnd):
    """The DP's neighbour test on packed states equals adjacency read from the unpacked edges."""
    problem = Problem.from_graph(graph)
    order = rnd.sample(list(graph.intermediates), len(graph.intermediates))
    states = play_orders(problem, np.asarray([order[:k] for k in range(2)][1:], np.int32))
    packed = np.asarray(_pack_kernel(states))[:1]
    edges = np.asarray(states.edges)[0] != 0
    actions = np.asarray(order[1:], np.int32)
    found = _last_neighbours(packed, np.zeros(len(actions), np.int64), actions, problem.capacity)
    assert np.array_equal(found, edges[actions, :] | edges[:, actions].T)

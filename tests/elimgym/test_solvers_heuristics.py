"""Tests of the greedy heuristics (elimgym.solvers.heuristics) and batched order evaluation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from graphs.lcg import LCG, Role, Vertex

from elimgym import reference
from elimgym.solvers.heuristics import HEURISTICS, run_heuristic
from elimgym.solvers.problem import Problem, order_costs
from tests.elimgym.test_solvers_programs import small_graphs


def _hand_graph() -> LCG:
    """Scalars, every partial general (one multiplication per product)::

        x0 --> a --> b --> y        a = f(x0, x1), b = g(a, x1), c = h(a)
        x1 --> a     a --> c --> y                  y = k(b, c),  z = m(c)
        x1 ------------> b    c --> z
    """
    vertices = [Vertex(Role.INPUT, (), "x0"), Vertex(Role.INPUT, (), "x1")]
    vertices += [Vertex(Role.INTERMEDIATE, (), name) for name in "abc"]
    vertices += [Vertex(Role.OUTPUT, (), "y"), Vertex(Role.OUTPUT, (), "z")]
    x0, x1, a, b, c, y, z = range(7)
    edges = {(x0, a): "<-:[]", (x1, a): "<-:[]", (a, b): "<-:[]", (a, c): "<-:[]", (x1, b): "<-:[]",
             (b, y): "<-:[]", (c, y): "<-:[]", (c, z): "<-:[]"}
    return LCG.from_edges(vertices, edges, name="hand")


# Hand counts (docstring of _hand_graph; |P| x |S| multiplications per elimination):
# forward a, b, c: 2x2 + 2x1 + 2x2 = 10.  reverse c, b, a: 1x2 + 2x1 + 2x2 = 8.
# Markowitz degrees a 4, b 2, c 2: lowest-index ties take b (2), then c (1x2 = 2), then a (4): 8;
# highest-index ties take c (2), then b (2x1 = 2; a now has 3 successors), then a (4): 8.
# Relative Markowitz a 0, b -1, c -1 -> b, c, a.  Fill-in a 3 (x1 -> b exists), b 2, c 2 -> b;
# then c 1, a 3 -> c, a.  True cost a 4, b 2, c 2 -> b, then c 2 < a 4 -> c, a.
HAND_EXPECTED = {
    "forward": ((2, 3, 4), 10),
    "reverse": ((4, 3, 2), 8),
    "markowitz": ((3, 4, 2), 8),
    "markowitz_highest": ((4, 3, 2), 8),
    "vlr": ((3, 4, 2), 8),
    "min_fill": ((3, 4, 2), 8),
    "greedy_cost": ((3, 4, 2), 8),
    "pilot_markowitz": ((3, 4, 2), 8),
}
#
# Pilots (the result is the cheapest complete order seen; lowest index among equal totals).
# First decision, totals of eliminating a / b / c and completing with the base heuristic:
# a first costs 4, then b 2 and c 4 in either order: 10 for every base.  b first (2) leaves
# a (|P| 2 x |S| {c, y} 2 = 4) and c ({a} x {y, z} = 2): c then a costs 2 + 4, a then c costs
# 4 + ({x0, x1} x {y, z} = 4): 8 or 10.  c first (2) leaves a ({x0, x1} x {b, y, z} = 6) and
# b ({a, x1} x {y} = 2): b then a costs 2 + 4, a then b 6 + 2: 8 or 10.
# After b: Markowitz (any ties), VLR (a 0, c -1), fill-in (a 3 - x1 -> y exists -, c 1), true
# cost (a 4, c 2) and reverse all take c, then a: b wins with 8, order (b, c, a).
# Forward completes every first choice at 10 (a, b / b, a, c / c, a, b), so a wins with 10,
# and no later decision finds less: order (a, b, c).
HAND_EXPECTED.update({
    "pilot_forward": ((2, 3, 4), 10),
    "pilot_reverse": ((3, 4, 2), 8),
    "pilot_markowitz_highest": ((3, 4, 2), 8),
    "pilot_markowitz_random": ((3, 4, 2), 8),
    "pilot_vlr": ((3, 4, 2), 8),
    "pilot_min_fill": ((3, 4, 2), 8),
    "pilot_greedy_cost": ((3, 4, 2), 8),
})


@pytest.mark.parametrize("name", sorted(HAND_EXPECTED))
def test_heuristic__hand_checked_order_and_cost(name):
    """Each heuristic eliminates the hand graph in the hand-derived order at the hand cost."""
    result = run_heuristic(Problem.from_graph(_hand_graph()), name)
    assert (result.order, result.cost) == HAND_EXPECTED[name]


def test_markowitz_random__hand_graph_ties_go_either_way_reproducibly():
    """On the hand graph b and c tie at degree 2: random ties eliminate b, c, a or c, b, a (both
    cost 8: after c, b has degree 2 and a 6), the same for the same seed, and both occur."""
    problem = Problem.from_graph(_hand_graph())
    seen = set()
    for seed in range(16):
        result = run_heuristic(problem, "markowitz_random", seed)
        assert (result.order, result.cost) in {((3, 4, 2), 8), ((4, 3, 2), 8)}
        assert run_heuristic(problem, "markowitz_random", seed).order == result.order
        seen.add(result.order)
    assert len(seen) == 2


def _python_greedy(graph: LCG, score) -> tuple[list[int], int]:
    """Reference greedy: eliminate the remaining vertex of lowest ``score(graph, v)``, lowest index on ties."""
    left, order, total = set(graph.intermediates), [], 0
    while left:
        v = min(left, key=lambda u: (score(graph, u), u))
        graph, cost = reference.eliminate(graph, v)
        order.append(v)
        total += cost
        left.remove(v)
    return order, total


def _degrees(graph: LCG, v: int) -> tuple[int, int]:
    return len(graph.predecessors(v)), len(graph.successors(v))


def _markowitz(graph: LCG, v: int) -> int:
    p, s = _degrees(graph, v)
    return p * s


def _relative(graph: LCG, v: int) -> int:
    p, s = _degrees(graph, v)
    return p * s - p - s


def _fill(graph: LCG, v: int) -> int:
    return sum((p, s) not in graph.edges for p in graph.predecessors(v) for s in graph.successors(v))


PYTHON_SCORES = {
    "markowitz": _markowitz,
    "vlr": _relative,
    "min_fill": _fill,
    "greedy_cost": reference.elimination_cost,
}


@given(small_graphs(), st.sampled_from(sorted(PYTHON_SCORES)))
def test_heuristic__matches_a_python_reimplementation(graph, name):
    """On random programs each scored heuristic picks exactly what a plain Python version picks."""
    result = run_heuristic(Problem.from_graph(graph), name)
    assert (list(result.order), result.cost) == _python_greedy(graph, PYTHON_SCORES[name])


def _python_pilot(graph: LCG) -> int:
    """Reference pilot on Markowitz: cheapest complete order seen while deciding greedily."""
    left, prefix_cost, best = set(graph.intermediates), 0, None
    while left:
        totals = {}
        for v in sorted(left):
            after, cost = reference.eliminate(graph, v)
            rest = LCG(after.vertices, dict(after.edges), after.name)
            remaining = left - {v}
            completion = 0
            while remaining:
                u = min(remaining, key=lambda w: (_markowitz(rest, w), w))
                rest, c = reference.eliminate(rest, u)
                completion += c
                remaining.remove(u)
            totals[v] = prefix_cost + cost + completion
        v = min(totals, key=lambda u: (totals[u], u))
        best = totals[v] if best is None else min(best, totals[v])
        graph, cost = reference.eliminate(graph, v)
        prefix_cost += cost
        left.remove(v)
    return best or 0


@given(small_graphs(max_intermediates=7))
def test_pilot__matches_a_python_reimplementation(graph):
    """pilot_markowitz returns the cheapest completion a plain Python pilot sees."""
    result = run_heuristic(Problem.from_graph(graph), "pilot_markowitz")
    assert result.cost == _python_pilot(graph)
    assert reference.play(graph, result.order)[0] == result.cost


@given(small_graphs(), st.integers(0, 3))
def test_random_tie_breaks__pick_a_minimum_markowitz_degree(graph, seed):
    """Random-tie Markowitz is seeded and always eliminates a vertex of minimal degree."""
    problem = Problem.from_graph(graph)
    result = run_heuristic(problem, "markowitz_random", seed)
    assert run_heuristic(problem, "markowitz_random", seed).order == result.order
    current = graph
    for v in result.order:
        left = [u for u in current.intermediates if u not in result.order[: result.order.index(v)]]
        assert _markowitz(current, v) == min(_markowitz(current, u) for u in left)
        current, _ = reference.eliminate(current, v)


@given(small_graphs(), st.randoms(use_true_random=False))
def test_order_costs__match_the_reference_eliminator(graph, rnd):
    """Batched JAX costs of random complete orders equal the pure-Python reference's."""
    orders = [rnd.sample(list(graph.intermediates), len(graph.intermediates)) for _ in range(5)]
    costs = order_costs(Problem.from_graph(graph), np.asarray(orders, np.int32).reshape(5, -1))
    assert costs.tolist() == [reference.play(graph, order)[0] for order in orders]


def test_order_costs__incomplete_order_is_an_error():
    """An order that repeats a vertex leaves the game unfinished and is reported."""
    problem = Problem.from_graph(_hand_graph())
    with pytest.raises(ValueError, match="does not eliminate every intermediate"):
        order_costs(problem, np.array([[2, 2, 3]], np.int32))


def test_run_heuristic__unknown_name_is_an_error():
    """An unknown heuristic name is refused with the list of valid ones."""
    with pytest.raises(ValueError, match="unknown heuristic 'nope'.*markowitz"):
        run_heuristic(Problem.from_graph(_hand_graph()), "nope")


def test_heuristics__every_name_gives_a_valid_order():
    """Every registered heuristic completes the hand graph with a cost the reference confirms."""
    graph = _hand_graph()
    problem = Problem.from_graph(graph)
    for name in HEURISTICS:
        result = run_heuristic(problem, name)
        assert reference.play(graph, result.order)[0] == result.cost

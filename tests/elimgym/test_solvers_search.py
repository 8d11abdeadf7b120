"""Tests of the searches (beam search, simulated annealing) and the portfolio (elimgym.solvers)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elimgym import reference
from elimgym.orders import OrderError
from elimgym.solvers.anneal import anneal
from elimgym.solvers.beam import beam_search
from elimgym.solvers.exact import GraphTooLargeForExact, solve_exact
from elimgym.solvers.portfolio import SolveReport, solve
from elimgym.solvers.problem import Problem
from elimgym.solvers.result import SolverResult
from elimgym.solvers.window import window_search
from tests.elimgym.test_solvers_heuristics import _hand_graph
from tests.elimgym.test_solvers_programs import brute_force_optimum, small_graphs


@settings(max_examples=15)
@given(small_graphs(min_intermediates=2), st.integers(0, 2**16), st.booleans())
def test_anneal__never_worse_than_its_start(graph, seed, local):
    """Annealing (or local search at zero temperature) returns an order no costlier than the
    cheapest starting order, and its cost is the order's true cost."""
    start = [reference.forward_order(graph), reference.reverse_order(graph)]
    temperatures = dict(t_start=0.0, t_end=0.0) if local else {}
    result = anneal(Problem.from_graph(graph), np.asarray(start), budget=60, seed=seed, chains=4, proposals=4,
                    max_iterations=3, **temperatures)
    assert result.cost <= min(reference.play(graph, order)[0] for order in start)
    assert reference.play(graph, result.order)[0] == result.cost


@settings(max_examples=15)
@given(small_graphs(min_intermediates=2), st.integers(1, 3), st.integers(0, 2))
def test_beam__never_worse_than_its_start(graph, width, candidates):
    """Beam search returns an order no costlier than the order it starts from, even when that
    order is optimal and the beam is narrow."""
    problem = Problem.from_graph(graph)
    optimum = brute_force_optimum(graph)
    best = solve_exact(problem, reference.forward_order(graph))
    result = beam_search(problem, best.order, budget=60, width=width, candidates=candidates)
    assert result.cost == optimum
    assert reference.play(graph, result.order)[0] == optimum


@settings(max_examples=15)
@given(small_graphs(min_intermediates=2), st.integers(2, 4))
def test_window__never_worse_and_optimal_when_the_window_covers_the_order(graph, width):
    """Window search never makes its start costlier, and with a window as long as the order it
    finds the brute-force optimum."""
    problem = Problem.from_graph(graph)
    start = reference.forward_order(graph)
    narrow = window_search(problem, start, budget=60, width=width)
    assert narrow.cost <= reference.play(graph, start)[0]
    assert reference.play(graph, narrow.order)[0] == narrow.cost
    whole = window_search(problem, start, budget=60, width=max(2, len(start)))
    assert whole.cost == brute_force_optimum(graph) and whole.info["local_optimum"]


def test_anneal__finds_the_optimum_of_the_hand_graph_from_forward():
    """From the forward order (10) annealing reaches the optimum 8, reproducibly for a seed."""
    problem = Problem.from_graph(_hand_graph())
    runs = [anneal(problem, np.array([[2, 3, 4]]), budget=60, seed=1, chains=4, proposals=4, max_iterations=10) for _ in range(2)]
    assert runs[0].cost == 8 == brute_force_optimum(_hand_graph())
    assert runs[0].order == runs[1].order


def test_beam__finds_the_optimum_of_the_hand_graph():
    """Beam search with the forward order (10) as its start finds a cost-8 order."""
    result = beam_search(Problem.from_graph(_hand_graph()), [2, 3, 4], budget=60, width=2)
    assert result.cost == 8 and result.info["finished"]


def test_searches__bad_arguments_are_refused():
    """Bad widths, base heuristics and starting orders raise errors that name the problem."""
    problem = Problem.from_graph(_hand_graph())
    with pytest.raises(ValueError, match="beam width"):
        beam_search(problem, width=0)
    with pytest.raises(ValueError, match="unknown base heuristic"):
        beam_search(problem, base="nope")
    with pytest.raises(OrderError, match="eliminated twice"):
        anneal(problem, np.array([[2, 2, 4]]), budget=1)
    with pytest.raises(ValueError, match="window width"):
        window_search(problem, [2, 3, 4], budget=1, width=1)


def test_solve__reports_best_bound_and_gain():
    """The portfolio always runs the baselines, proves the hand graph's optimum (the bound meets
    the best order, so it stops searching) and reports gain and gap consistently."""
    report = solve(_hand_graph(), budget=5, methods=["markowitz", "beam", "anneal", "exact"])
    assert {"forward", "reverse", "markowitz"} <= set(report.results)
    assert report.best.cost == report.lower_bound == 8 and report.optimal
    assert report.baseline == 8 and report.gain == 0.0 and report.gap == 0.0
    assert "lower bound" in report.table() and "0 (optimal)" in report.table()
    assert report.to_dict()["best"]["cost"] == 8


def test_solve__unknown_method_is_an_error():
    """An unknown method name is refused with the list of valid ones."""
    with pytest.raises(ValueError, match="unknown method.*anneal"):
        solve(_hand_graph(), budget=1, methods=["annealing"])


def test_searches__respect_their_time_budget():
    """With no time left, annealing makes no iteration and returns its cheapest start, and beam
    search stops after its first depth; with a short budget, annealing iterates and stops."""
    graph = _hand_graph()
    problem = Problem.from_graph(graph)
    starts = np.array([[2, 3, 4], [4, 3, 2]])
    idle = anneal(problem, starts, budget=0, seed=0, chains=4, proposals=4)
    assert idle.info["iterations"] == 0 and (idle.order, idle.cost) == ((4, 3, 2), 8)
    shallow = beam_search(problem, [2, 3, 4], budget=0, width=2)
    assert shallow.info["depth"] == 1 and not shallow.info["finished"]
    assert reference.play(graph, shallow.order)[0] == shallow.cost <= 10
    timed = anneal(problem, starts[:1], budget=0.5, seed=0, chains=4, proposals=4)
    assert timed.info["iterations"] >= 1 and timed.seconds < 0.5 + 30


def test_solve__bad_budget_and_too_large_graph_are_refused():
    """A negative budget is refused, and so is asking for the exact DP on a graph whose
    independent part exceeds its limit (solve_exact's own limit too)."""
    graph = _hand_graph()
    with pytest.raises(ValueError, match="budget must be at least 0"):
        solve(graph, budget=-1)
    with pytest.raises(GraphTooLargeForExact, match="too large for the exact DP.*3 intermediates"):
        solve_exact(Problem.from_graph(graph), [2, 3, 4], max_part=2)


def test_report__a_stopped_dp_counts_only_for_the_bound():
    """A DP run that stopped without improving its start is shown as bound-only, not as a
    method with a cost, and the bound it proved is labelled as the DP's."""
    graph = _hand_graph()
    report = SolveReport(graph, lower_bound=7, static_bound=5)
    for name, order, cost in (("forward", (2, 3, 4), 10), ("reverse", (4, 3, 2), 8), ("markowitz", (3, 4, 2), 8)):
        report.results[name] = SolverResult(name, cost, order, 0.1)
    report.dp = SolverResult("exact", 8, (4, 3, 2), 1.0, False, 7, {"improved": False, "finished_parts": []})
    table = report.table()
    assert "exact DP (stopped: bound only)" in table and "lower bound (DP)" in table
    data = report.to_dict()
    assert "exact" not in data["methods"] and data["dp"]["lower_bound"] == 7
    assert data["lower_bound_source"] == "DP" and data["gap"] == round(1 / 8, 6)


def test_solve__reports_progress_to_its_callback():
    """The progress callback (what drives the command's progress bar) hears each phase with the
    elapsed time and the best cost so far."""
    calls = []
    solve(_hand_graph(), budget=5, methods=["markowitz", "beam"], progress=lambda *a: calls.append(a))
    phases = [phase for phase, _, _ in calls]
    assert phases[:3] == ["forward", "reverse", "markowitz"]
    assert all(elapsed >= 0 for _, elapsed, _ in calls) and calls[-1][2] == 8

"""Non-learned elimination-order solvers: heuristics, searches, exact DP and lower bounds.

Everything runs on the JAX game's exact cost model (:mod:`elimgym.game`) through one batched
kernel (:mod:`elimgym.solvers.problem`). See ``docs/solvers.md``.

Usage::

    from graphs.tasks import get_task
    from elimgym.solvers import solve

    report = solve(get_task("RoeFlux_1d").graph(), budget=60)
    print(report.table())
"""

from elimgym.solvers.anneal import anneal
from elimgym.solvers.beam import beam_search
from elimgym.solvers.bounds import analyse, entry_bound, lower_bound, vertex_bounds
from elimgym.solvers.exact import MAX_PART, GraphTooLargeForExact, solve_exact
from elimgym.solvers.heuristics import BASE_HEURISTICS, DEFAULT_HEURISTICS, HEURISTICS, run_heuristic
from elimgym.solvers.portfolio import DEFAULT_METHODS, METHODS, SolveReport, solve
from elimgym.solvers.problem import Problem, order_costs
from elimgym.solvers.reductions import independent_parts
from elimgym.solvers.result import SolverResult
from elimgym.solvers.window import window_search

__all__ = [
    "Problem",
    "order_costs",
    "SolverResult",
    "HEURISTICS",
    "BASE_HEURISTICS",
    "DEFAULT_HEURISTICS",
    "run_heuristic",
    "beam_search",
    "anneal",
    "window_search",
    "solve_exact",
    "GraphTooLargeForExact",
    "MAX_PART",
    "lower_bound",
    "analyse",
    "vertex_bounds",
    "entry_bound",
    "independent_parts",
    "solve",
    "SolveReport",
    "METHODS",
    "DEFAULT_METHODS",
]

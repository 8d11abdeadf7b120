"""Run every method on a graph within a time budget: the engine of ``elimgym solve``/``bench``.

:func:`solve` runs the chosen heuristics, then the searches (beam search, simulated annealing,
exact re-ordering of windows, and the exact DP), each starting from the best order found so far,
and computes the lower bound. It stops as soon as the best order provably meets the bound.

Budget: the wall-clock ``budget`` covers the whole call except JAX compilation (done first) and
the cheap heuristics; the pilot heuristic, beam search, annealing and the DP share it (see
:data:`SHARES`). The DP runs first on small graphs (it often finishes, making the rest moot)
and last on the others (it then certifies a bound from the search's best order). A DP that
stops before finishing keeps its start order, except for the independent parts it finished;
unless that made the order cheaper it is reported only as :attr:`SolveReport.dp`, the source of
a bound, never as a method that found an order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphs.lcg import LCG

from elimgym.solvers.anneal import anneal
from elimgym.solvers.beam import beam_search
from elimgym.solvers.bounds import lower_bound
from elimgym.solvers.exact import MAX_PART, GraphTooLargeForExact, solve_exact
from elimgym.solvers.exact import warm_up as warm_up_exact
from elimgym.solvers.heuristics import DEFAULT_HEURISTICS, HEURISTICS, run_heuristic
from elimgym.solvers.problem import Problem, order_costs
from elimgym.solvers.reductions import independent_parts
from elimgym.solvers.result import SolverResult
from elimgym.solvers.window import window_search

__all__ = ["SolveReport", "solve", "METHODS", "DEFAULT_METHODS", "BASELINES", "SEARCHES", "SHARES", "EXACT_FIRST", "EXACT_FEASIBLE"]

BASELINES = ("forward", "reverse", "markowitz")
"""The classical baselines; the gain is measured against the cheapest of them."""
SEARCHES = ("beam", "anneal", "window", "exact")
METHODS: tuple[str, ...] = HEURISTICS + SEARCHES
"""Every method name :func:`solve` accepts."""
DEFAULT_METHODS: tuple[str, ...] = DEFAULT_HEURISTICS + SEARCHES
SHARES = {"pilot": 0.2, "beam": 0.25, "window": 0.2, "exact_first": 0.5, "exact_last": 0.15, "exact_bound_only": 0.05}
"""Fractions of the budget: pilots may use up to ``pilot`` of it; beam search ``beam`` of what is
left; then annealing all but ``window`` (exact re-ordering of windows of its best order) and the
DP's share: ``exact_first`` when the DP runs first, ``exact_last`` when it runs last, or only
``exact_bound_only`` when an independent part is too large for it to finish (it can then only
raise the bound)."""
EXACT_FIRST = 18
"""Graphs whose independent parts have at most this many intermediates go to the DP first."""
EXACT_FEASIBLE = MAX_PART
"""Above this many intermediates in one independent part the DP cannot finish: the default
methods then run it only for its bound (with a small share of the budget), and asking for
``exact`` explicitly is an error (:class:`~elimgym.solvers.exact.GraphTooLargeForExact`)."""

Progress = Callable[[str, float, int | None], None]
"""``progress(phase, elapsed seconds, best cost so far)``."""


@dataclass
class SolveReport:
    """Everything :func:`solve` found.

    Attributes:
        graph: the graph.
        results: method name -> its result, in the order they ran. The exact DP is listed
            (as ``"exact"``) only when its order counts: it finished (optimal), or it solved some
            independent parts and so improved on its start; otherwise it only raised the bound.
        lower_bound: a proven lower bound on the optimal cost.
        static_bound: the part of it proven without search (:func:`~elimgym.solvers.bounds.lower_bound`).
        dp: the exact DP's run, whether it finished or not (None if it did not run).
        seconds: total wall-clock time.
        budget: the budget it was given.
    """

    graph: LCG
    results: dict[str, SolverResult] = field(default_factory=dict)
    lower_bound: int = 0
    static_bound: int = 0
    dp: SolverResult | None = None
    seconds: float = 0.0
    budget: float = 0.0

    @property
    def bound_source(self) -> str:
        """How :attr:`lower_bound` was proven: ``"DP"`` (the exact DP's search raised it above
        the static bounds) or ``"static"`` (vertex-cut, general-value and Jacobian-entry bounds)."""
        return "DP" if self.lower_bound > self.static_bound else "static"

    @property
    def best(self) -> SolverResult:
        """The cheapest result (the first one on ties)."""
        return min(self.results.values(), key=lambda r: r.cost)

    @property
    def baseline(self) -> int:
        """``min(forward, reverse, markowitz)`` (Markowitz with lowest-index ties)."""
        return min(self.results[name].cost for name in BASELINES)

    @property
    def optimal(self) -> bool:
        return self.best.cost <= self.lower_bound

    @property
    def gain(self) -> float:
        """Relative saving of the best order over the baseline (0.1 = 10% fewer multiplications)."""
        return (self.baseline - self.best.cost) / self.baseline if self.baseline else 0.0

    @property
    def gap(self) -> float:
        """Certified relative gap ``(best - bound) / best`` (0 = proven optimal)."""
        best = self.best.cost
        return (best - self.lower_bound) / best if best else 0.0

    def to_dict(self) -> dict[str, Any]:
        best = self.best
        return {
            "graph": self.graph.name,
            "fingerprint": self.graph.fingerprint(),
            "intermediates": len(self.graph.intermediates),
            "budget": self.budget,
            "seconds": round(self.seconds, 2),
            "baseline": self.baseline,
            "best": {"method": best.method, "cost": best.cost, "order": list(best.order)},
            "gain": round(self.gain, 6),
            "lower_bound": self.lower_bound,
            "lower_bound_source": self.bound_source,
            "static_bound": self.static_bound,
            "gap": round(self.gap, 6),
            "optimal": self.optimal,
            "methods": {name: _summary(r) for name, r in self.results.items()},
            "dp": None if self.dp is None else _summary(self.dp),
        }

    def table(self) -> str:
        """A plain-text table of every method, the best order, the bound and the gap."""
        rows = [("method", "cost", "vs baseline", "time")]
        baseline = self.baseline
        for name, r in self.results.items():
            note = " (optimal)" if r.optimal else ""
            if r.info.get("finished") is False:
                note = " (stopped)"
            if r.method == "exact" and not r.optimal:
                note = f" (solved parts {r.info.get('finished_parts')})"
            rows.append((name + note, f"{r.cost:,}", _relative(r.cost, baseline), f"{r.seconds:.1f}s"))
        if self.dp is not None and "exact" not in self.results:
            rows.append(("exact DP (stopped: bound only)", "-", "", f"{self.dp.seconds:.1f}s"))
        listed = len(rows) - 1
        best = self.best
        rows.append((f"best ({best.method})", f"{best.cost:,}", _relative(best.cost, baseline), f"{self.seconds:.1f}s"))
        rows.append((f"lower bound ({self.bound_source})", f"{self.lower_bound:,}", _relative(self.lower_bound, baseline), ""))
        rows.append(("gap", "0 (optimal)" if self.optimal else f"{100 * self.gap:.1f}%", "", ""))
        widths = [max(len(row[k]) for row in rows) for k in range(4)]
        lines = []
        for k, row in enumerate(rows):
            lines.append(f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]:>{widths[3]}}".rstrip())
            if k in (0, listed):
                lines.append("-" * len(lines[0]))
        return "\n".join(lines)


def _summary(result: SolverResult) -> dict[str, Any]:
    return {k: v for k, v in result.to_dict().items() if k != "order"}


def _relative(cost: int, baseline: int) -> str:
    if not baseline:
        return ""
    return f"{100 * (cost - baseline) / baseline:+.1f}%"


def _distinct_best(results: Sequence[SolverResult], count: int) -> np.ndarray:
    """Up to ``count`` distinct orders, cheapest first."""
    seen, out = set(), []
    for r in sorted(results, key=lambda r: r.cost):
        if r.order not in seen:
            seen.add(r.order)
            out.append(r.order)
        if len(out) == count:
            break
    return np.asarray(out, np.int32)


def solve(
    graph: LCG,
    budget: float = 60.0,
    methods: Sequence[str] | None = None,
    seed: int = 0,
    starts: Sequence[Sequence[int]] = (),
    progress: Progress | None = None,
) -> SolveReport:
    """Find the cheapest order the chosen methods can within ``budget`` seconds, and a bound.

    Args:
        graph: the LCG.
        budget: wall-clock seconds for the searches (see the module docstring).
        methods: names from :data:`METHODS` (default :data:`DEFAULT_METHODS`); the baselines
            forward, reverse and Markowitz always run.
        seed: seeds every randomised method.
        starts: extra complete orders to start the searches from (e.g. a previous best).
        progress: called as methods make progress.

    Raises:
        ValueError: for an unknown method name, a negative budget, or a start that is not a
            complete order.
        GraphTooLargeForExact: if ``methods`` names ``exact`` and an independent part of the
            graph has more than :data:`EXACT_FEASIBLE` intermediates (the default methods
            instead run the DP on such graphs only to raise the bound).
    """
    explicit = methods is not None
    methods = tuple(DEFAULT_METHODS if methods is None else methods)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}")
    if budget < 0:
        raise ValueError(f"the budget must be at least 0 seconds, got {budget:g}")
    largest_part = max((len(p) for p in independent_parts(graph)), default=0)
    if explicit and "exact" in methods and largest_part > EXACT_FEASIBLE:
        raise GraphTooLargeForExact(
            f"graph {graph.name!r} is too large for the exact DP: an independent part has {largest_part} "
            f"intermediates, more than {EXACT_FEASIBLE}; leave 'exact' out of the methods (the default "
            f"methods run the DP on such graphs only to raise the lower bound)"
        )
    began = time.perf_counter()
    problem = Problem.from_graph(graph)
    report = SolveReport(graph, budget=budget)

    def note(phase: str) -> None:
        if progress is not None:
            progress(phase, time.perf_counter() - began, report.best.cost if report.results else None)

    heuristics = [m for m in dict.fromkeys(BASELINES + methods) if m in HEURISTICS]
    for name in (h for h in heuristics if not h.startswith("pilot_")):
        report.results[name] = run_heuristic(problem, name, seed)
        note(name)
    if starts:
        start_orders = problem.check(np.asarray(starts, np.int32))
        costs = order_costs(problem, start_orders)
        k = int(np.argmin(costs))
        report.results["given"] = SolverResult("given", int(costs[k]), tuple(int(v) for v in start_orders[k]), 0.0)
    report.lower_bound = report.static_bound = lower_bound(graph)
    if "exact" in methods and not report.optimal:
        warm_up_exact(problem)
    search_began = time.perf_counter()

    def left() -> float:
        return budget - (time.perf_counter() - search_began)

    def done() -> bool:
        return report.optimal or left() <= 0

    pilots = [h for h in heuristics if h.startswith("pilot_")]
    for k, name in enumerate(pilots):
        if done():
            break
        deadline = time.perf_counter() + left() * SHARES["pilot"] / (len(pilots) - k)
        report.results[name] = run_heuristic(problem, name, seed, progress=lambda d: note(name), deadline=deadline)
        note(name)

    def run_exact(share: float) -> None:
        result = solve_exact(
            problem, report.best.order, time_limit=max(left() * share, 0.0) if share < 1 else left(), max_part=None
        )
        report.dp = result
        if result.optimal or result.info["improved"]:
            report.results["exact"] = result
        report.lower_bound = max(report.lower_bound, int(result.lower_bound or 0))
        note("exact")

    exact_first = "exact" in methods and largest_part <= EXACT_FIRST
    exact_last_share = SHARES["exact_last"] if largest_part <= EXACT_FEASIBLE else SHARES["exact_bound_only"]
    if exact_first and not done():
        run_exact(SHARES["exact_first"])
    if "beam" in methods and not done():
        report.results["beam"] = beam_search(
            problem, report.best.order, budget=left() * SHARES["beam"], seed=seed, progress=lambda d, c: note("beam")
        )
        note("beam")
    exact_reserve = exact_last_share if "exact" in methods and not exact_first else 0.0
    window_reserve = SHARES["window"] if "window" in methods else 0.0
    if "anneal" in methods and not done():
        report.results["anneal"] = anneal(
            problem,
            _distinct_best(list(report.results.values()), 8),
            budget=left() * (1 - exact_reserve - window_reserve),
            seed=seed,
            progress=lambda t, c: note("anneal"),
        )
        note("anneal")
    if "window" in methods and not done():
        report.results["window"] = window_search(
            problem, report.best.order, budget=left() * window_reserve / (window_reserve + exact_reserve),
            progress=lambda w, c: note("window"),
        )
        note("window")
    if "exact" in methods and not exact_first and not done():
        run_exact(1.0)
    report.seconds = time.perf_counter() - began
    return report

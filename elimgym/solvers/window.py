"""Large-neighbourhood local search: re-order windows of an order exactly.

A pass slides a window of ``width`` consecutive positions over the current order (by steps of
``width // 2``) and replaces the window's vertices by their cheapest order between the fixed
prefix and suffix, found by :func:`elimgym.solvers.exact.reorder_exactly` (a DP over the
``2**width`` subsets of the window, each final state completed with the suffix). Passes repeat
until one improves nothing or the budget runs out. Every step keeps the order complete and never
makes it costlier, so the result is never worse than the start; a pass that improves nothing
certifies that no re-ordering of any of its windows helps.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from elimgym.solvers.exact import reorder_exactly
from elimgym.solvers.problem import Problem, order_costs
from elimgym.solvers.result import SolverResult

__all__ = ["window_search"]


def window_search(
    problem: Problem,
    start: Sequence[int],
    budget: float,
    width: int = 10,
    progress: Callable[[int, int], None] | None = None,
) -> SolverResult:
    """Improve ``start`` by exact re-ordering of sliding windows for up to ``budget`` seconds.

    Args:
        problem: the graph.
        start: a complete order.
        budget: wall-clock seconds.
        width: window length (the DP visits about ``width * 2**(width - 1)`` states per window).
        progress: called with ``(windows done, best cost)`` after each window.

    Returns:
        ``method="window"``; ``info`` holds the passes and windows done and whether the last pass
        was complete without improving (a local optimum for this neighbourhood).
    """
    if width < 2:
        raise ValueError(f"window width must be at least 2, got {width}")
    began = time.perf_counter()
    deadline = began + budget
    order = problem.check(np.asarray(start, np.int32)[None])[0]
    cost = int(order_costs(problem, order[None])[0])
    n = len(order)
    stride = max(1, width // 2)
    passes = windows = 0
    local_optimum = n < 2
    while not local_optimum and time.perf_counter() < deadline:
        improved = False
        for begin in range(0, max(n - width, 0) + stride, stride):
            stop = min(n, begin + width)
            found = reorder_exactly(problem, order[:begin], order[begin:stop], order[stop:], deadline)
            if found is None:
                break
            windows += 1
            if found[1] < cost:
                order = np.concatenate([order[:begin], found[0], order[stop:]])
                cost, improved = found[1], True
            if progress is not None:
                progress(windows, cost)
            if stop == n:
                passes += 1
                local_optimum = not improved
                break
        if found is None:
            break
    problem.order(order, cost, "window")
    info = {"passes": passes, "windows": windows, "width": width, "local_optimum": bool(local_optimum)}
    return SolverResult("window", cost, tuple(int(v) for v in order), time.perf_counter() - began, info=info)

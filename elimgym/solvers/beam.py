"""Beam search over elimination orders, scored by completing each partial order with a heuristic.

The beam holds up to ``width`` partial orders (game states), all with the same number of
eliminations. At each depth every beam state is expanded by all its remaining vertices in one
batched step; per state, the ``candidates`` cheapest eliminations and the base heuristic's own
choice are kept; each kept child is completed with the base heuristic (``base``, Markowitz by
default) in one batched rollout, and the ``width`` children with the cheapest completed orders
(one per set of eliminated vertices) form the next beam. Every completion is a complete order,
so the search is anytime: it returns the cheapest order seen, and never one worse than the
starting order it is given.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import jax
import numpy as np

from elimgym.solvers.heuristics import BASE_HEURISTICS, choose, completion_costs, expand, greedy_actions
from elimgym.solvers.problem import MAX_BATCH, Problem, advance, costs_of, order_costs, replicate, take
from elimgym.solvers.result import SolverResult

__all__ = ["beam_search"]


def _select(parents: np.ndarray, actions: np.ndarray, step_costs: np.ndarray, base_actions: np.ndarray, candidates: int) -> np.ndarray:
    """Positions of the kept expansions: per parent, the ``candidates`` cheapest (lowest vertex
    on ties) and the base heuristic's action."""
    order = np.lexsort((actions, step_costs, parents))
    rank = np.zeros(len(order), np.int64)
    sorted_parents = parents[order]
    starts = np.flatnonzero(np.r_[True, sorted_parents[1:] != sorted_parents[:-1]])
    counts = np.diff(np.r_[starts, len(order)])
    rank[order] = np.arange(len(order)) - np.repeat(starts, counts)
    keep = (rank < candidates) | (actions == base_actions[parents])
    return np.flatnonzero(keep)


def beam_search(
    problem: Problem,
    start: Sequence[int] | None = None,
    budget: float = 60.0,
    width: int = 16,
    candidates: int = 4,
    base: str = "markowitz",
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> SolverResult:
    """Beam search from the empty order.

    Args:
        problem: the graph.
        start: a complete order the result must not be worse than (default: the base
            heuristic's order, which the search also finds).
        budget: wall-clock seconds; the search stops early when they run out.
        width: beam width (at most :data:`~elimgym.solvers.problem.MAX_BATCH`).
        candidates: cheapest eliminations kept per beam state (besides the base heuristic's).
        base: the heuristic that completes partial orders (see
            :data:`~elimgym.solvers.heuristics.BASE_HEURISTICS`).
        seed: drives random tie-breaks of the base heuristic.
        progress: called with ``(depth, best cost)`` after each depth.

    Returns:
        ``method="beam"``; ``info`` holds the depth reached and whether the search finished.
    """
    if base not in BASE_HEURISTICS:
        raise ValueError(f"unknown base heuristic {base!r}; choose from {', '.join(BASE_HEURISTICS)}")
    if not 1 <= width <= MAX_BATCH:
        raise ValueError(f"beam width must be in 1..{MAX_BATCH}, got {width}")
    began = time.perf_counter()
    key = jax.random.PRNGKey(seed)
    best_cost, best_order = None, None
    if start is not None:
        start_order = problem.check(np.asarray(start)[None])
        best_cost, best_order = int(order_costs(problem, start_order)[0]), start_order[0]
    beam, count = replicate(problem.state, 1), 1
    depth = 0
    finished = problem.num_intermediates == 0
    while not finished and (depth == 0 or time.perf_counter() - began < budget):
        chunks = list(expand(beam, count))
        parents = np.concatenate([c.parents for c in chunks])
        actions = np.concatenate([c.actions for c in chunks])
        step_costs = np.concatenate([c.step_costs for c in chunks])
        key, sub = jax.random.split(key)
        base_actions = greedy_actions(beam, count) if base == "greedy_cost" else choose(beam, base, sub)[:count]
        kept = _select(parents, actions, step_costs, base_actions, candidates)
        totals, orders, g = [], [], []
        for start_index in range(0, len(kept), MAX_BATCH):
            part = kept[start_index : start_index + MAX_BATCH]
            children = advance(take(beam, parents[part]), actions[part])
            key, sub = jax.random.split(key)
            total, order = completion_costs(children, len(part), base, sub)
            totals.append(total)
            orders.append(order)
            g.append(costs_of(children)[: len(part)])
        totals_all, orders_all, g_all = np.concatenate(totals), np.concatenate(orders), np.concatenate(g)
        k = int(np.argmin(totals_all))
        if best_cost is None or totals_all[k] < best_cost:
            best_cost, best_order = int(totals_all[k]), orders_all[k]
        depth += 1
        finished = depth == problem.num_intermediates
        if progress is not None:
            progress(depth, best_cost)
        if finished:
            break
        prefixes = np.sort(orders_all[:, :depth], axis=1)
        ranking = np.lexsort((g_all, totals_all))
        _, first = np.unique(prefixes[ranking], axis=0, return_index=True)
        chosen = ranking[np.sort(first)][:width]
        chosen = chosen[np.argsort(totals_all[chosen], kind="stable")]
        beam = advance(take(beam, parents[kept[chosen]]), actions[kept[chosen]])
        count = len(chosen)
    problem.order(best_order, best_cost, "beam")
    info = {"depth": depth, "finished": bool(finished), "width": width, "candidates": candidates, "base": base}
    return SolverResult("beam", int(best_cost), tuple(int(v) for v in best_order), time.perf_counter() - began, info=info)

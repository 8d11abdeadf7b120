"""Simulated annealing (and, at zero temperature, local search) over elimination orders.

Any permutation of the intermediates is a legal order, so the search moves freely in the space
of permutations. Each iteration, every one of ``chains`` Markov chains proposes ``proposals``
neighbours of its current order; all ``chains * proposals`` orders are scored in batches by the
vectorised game (:func:`elimgym.solvers.problem.order_costs`), each chain keeps its best proposal
if the Metropolis rule accepts it (relative cost change ``d``, accepted with probability
``exp(-d / T)``), and the temperature falls geometrically from ``t_start`` to ``t_end`` over
the time budget. Chains that have not improved for a while restart from the best order found.

Moves (the vertices whose relative order matters are those that share edges or neighbours, so
most moves are aimed at graph neighbours):

* *neighbour insertion*: move a vertex just before or just after one of its neighbours;
* *neighbour swap*: exchange a vertex with one of its neighbours;
* *insertion*: move a vertex to a uniformly random position;
* *reversal*: reverse a short random segment.

The result is never worse than the best starting order.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from elimgym.solvers.problem import Problem, order_costs
from elimgym.solvers.result import SolverResult

__all__ = ["anneal", "neighbours", "propose"]


def neighbours(problem: Problem) -> list[np.ndarray]:
    """For each intermediate (by position in ``problem.intermediates``), the positions of the
    intermediates adjacent to it or sharing a neighbour with it in the original graph."""
    graph = problem.graph
    position = {int(v): k for k, v in enumerate(problem.intermediates)}
    adjacent: dict[int, set[int]] = {v: set() for v in range(graph.num_vertices)}
    for s, t in graph.edges:
        adjacent[s].add(t)
        adjacent[t].add(s)
    out = []
    for v in problem.intermediates:
        near = set(adjacent[int(v)])
        for u in list(near):
            near |= adjacent[u]
        near.discard(int(v))
        out.append(np.asarray(sorted(position[u] for u in near if u in position), np.int64))
    return out


def _insert(order: np.ndarray, i: int, j: int) -> np.ndarray:
    """Move the entry at position ``i`` to position ``j``."""
    item = order[i]
    rest = np.delete(order, i)
    return np.insert(rest, j, item)


def propose(
    order: np.ndarray, index_of: np.ndarray, near: list[np.ndarray], rng: np.random.Generator
) -> np.ndarray:
    """A random neighbour of ``order``.

    Args:
        order: ``[n] int32`` the current order (vertex indices).
        index_of: ``[N]`` the position of each vertex in ``problem.intermediates`` (how ``near``
            is indexed).
        near: :func:`neighbours` of the problem.
        rng: the random generator (consumed).
    """
    n = len(order)
    if n < 2:
        return order.copy()
    rank = np.empty(n, np.int64)
    rank[index_of[order]] = np.arange(n)
    move = rng.random()
    i = int(rng.integers(n))
    who = int(index_of[order[i]])
    if move < 0.65 and len(near[who]):
        u = int(near[who][rng.integers(len(near[who]))])
        j = int(rank[u])
        if move < 0.45:
            target = j if j < i else j - 1
            target += int(rng.integers(2))
            return _insert(order, i, min(max(target, 0), n - 1))
        swapped = order.copy()
        swapped[i], swapped[j] = swapped[j], swapped[i]
        return swapped
    if move < 0.9:
        return _insert(order, i, int(rng.integers(n)))
    length = int(rng.integers(2, min(8, n) + 1))
    start = int(rng.integers(n - length + 1))
    reversed_order = order.copy()
    reversed_order[start : start + length] = order[start : start + length][::-1]
    return reversed_order


def anneal(
    problem: Problem,
    start: np.ndarray,
    budget: float,
    seed: int = 0,
    chains: int = 32,
    proposals: int = 8,
    t_start: float = 0.03,
    t_end: float = 3e-4,
    patience: int = 200,
    max_iterations: int | None = None,
    progress: Callable[[float, int], None] | None = None,
) -> SolverResult:
    """Anneal from the starting orders for ``budget`` seconds.

    Args:
        problem: the graph.
        start: ``[k, n]`` complete starting orders (chains start from them in turn).
        budget: wall-clock seconds (the search stops after the iteration that exceeds it); the
            temperature falls over it.
        seed: seeds the moves and the acceptance draws.
        chains, proposals: the batch is ``chains * proposals`` orders per iteration.
        t_start, t_end: temperatures, in units of relative cost change; ``t_start = t_end = 0``
            is local search (only improvements are accepted).
        patience: iterations without improvement after which a chain restarts from the best.
        max_iterations: if given, run exactly this many iterations and let the temperature fall
            over them instead of over ``budget`` (reproducible whatever the machine's speed).
        progress: called with ``(elapsed seconds, best cost)`` after each iteration.

    Returns:
        The best order found (``method="anneal"``); ``info`` holds iterations and evaluations.
    """
    began = time.perf_counter()
    rng = np.random.default_rng(seed)
    start = problem.check(start)
    n = problem.num_intermediates
    start_costs = order_costs(problem, start)
    best_k = int(np.argmin(start_costs))
    best_order, best_cost = start[best_k].copy(), int(start_costs[best_k])
    current = np.stack([start[k % len(start)] for k in range(chains)])
    current_costs = np.array([start_costs[k % len(start)] for k in range(chains)], np.int64)
    index_of = np.zeros(problem.capacity, np.int64)
    index_of[problem.intermediates] = np.arange(n)
    near = neighbours(problem)
    stale = np.zeros(chains, np.int64)
    iterations = evaluations = 0
    while n >= 2 and (max_iterations is None or iterations < max_iterations):
        elapsed = time.perf_counter() - began
        if max_iterations is None and elapsed >= budget:
            break
        if max_iterations is not None:
            fraction = iterations / max_iterations
        else:
            fraction = min(elapsed / budget, 1.0) if budget > 0 else 1.0
        temperature = t_start * (t_end / t_start) ** fraction if t_start > 0 and t_end > 0 else 0.0
        batch = np.empty((chains * proposals, n), np.int32)
        for c in range(chains):
            for m in range(proposals):
                batch[c * proposals + m] = propose(current[c], index_of, near, rng)
        costs = order_costs(problem, batch).reshape(chains, proposals)
        evaluations += batch.shape[0]
        pick = np.argmin(costs, axis=1)
        candidate_costs = costs[np.arange(chains), pick]
        change = (candidate_costs - current_costs) / max(best_cost, 1)
        with np.errstate(over="ignore"):
            accept_probability = np.exp(-np.maximum(change, 0) / temperature) if temperature > 0 else (change <= 0)
        accept = (change <= 0) | (rng.random(chains) < accept_probability)
        for c in np.flatnonzero(accept):
            current[c] = batch[c * proposals + pick[c]]
            current_costs[c] = candidate_costs[c]
        stale = np.where(accept & (change < 0), 0, stale + 1)
        k = int(np.argmin(current_costs))
        if current_costs[k] < best_cost:
            best_cost, best_order = int(current_costs[k]), current[k].copy()
            stale[k] = 0
        for c in np.flatnonzero(stale > patience):
            current[c], current_costs[c], stale[c] = best_order, best_cost, 0
        iterations += 1
        if progress is not None:
            progress(time.perf_counter() - began, best_cost)
    problem.order(best_order, best_cost, "anneal")
    info = {"iterations": iterations, "evaluations": evaluations, "chains": chains, "proposals": proposals}
    return SolverResult("anneal", best_cost, tuple(int(v) for v in best_order), time.perf_counter() - began, info=info)

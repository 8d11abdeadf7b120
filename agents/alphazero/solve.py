"""Solving graphs with a trained network: deterministic Gumbel MuZero search, one move at a time.

:func:`solve_graphs` plays many graphs at once (bucketed by size, batched, split over the devices);
:func:`solve_target` is the ``solve`` command's core: one task, example or graph file, with the
order checked by the Jacobian executor when the target has a function behind it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass

import jax

from graphs.lcg import LCG

from elimgym import reference
from elimgym.commands.common import Target
from elimgym.orders import Order

from agents.alphazero.config import BASELINE_POLICIES, Config
from agents.alphazero.network import PolicyValueNet
from agents.alphazero.play import evaluate_pool
from agents.alphazero.pool import GraphPool
from agents.alphazero.sharding import Placement

__all__ = ["SolveResult", "solve_capacities", "solve_graphs", "solve_target", "function_of", "heuristic_completion"]

_CAPACITY_STEP = 16


def solve_capacities(graphs: Sequence[LCG]) -> tuple[int, ...]:
    """Capacities for solving ``graphs``: their sizes rounded up to multiples of 16 (one compiled
    search per distinct capacity)."""
    return tuple(sorted({max(_CAPACITY_STEP, -(-g.num_vertices // _CAPACITY_STEP) * _CAPACITY_STEP) for g in graphs}))


@dataclass(frozen=True)
class SolveResult:
    """The search's order for one graph.

    Attributes:
        order: the complete order, with its exact cost (method ``"alphazero"``).
        baselines: exact costs of ``forward``, ``reverse`` and ``markowitz``.
        seconds: wall time of the search for the whole batch this graph was in.
        search_cost: exact cost of the order the search played move by move (``order.cost``
            is lower when a heuristic completion along the path was cheaper).
        completed_from: ``(move, heuristic)`` when ``order`` is the search's first ``move``
            moves finished by that heuristic, ``None`` when it is the search's own order.
        verification: the executor check (``None`` when not run).
    """

    order: Order
    baselines: dict[str, int]
    seconds: float
    search_cost: int
    completed_from: tuple[int, str] | None = None
    verification: object | None = None

    @property
    def gain(self) -> float:
        """Relative gain over ``min(forward, reverse, Markowitz)`` (0.1 = 10% cheaper)."""
        best = min(self.baselines.values())
        return 1.0 - self.order.cost / best if best > 0 else 0.0


def solve_graphs(
    model: PolicyValueNet,
    config: Config,
    graphs: Sequence[LCG],
    simulations: int,
    seed: int = 0,
    placement: Placement | None = None,
    complete_from_path: bool = True,
) -> list[SolveResult]:
    """Deterministic search (``gumbel_scale = 0``) with ``simulations`` per move on every graph.

    With ``complete_from_path`` (the default) each graph's answer is the cheaper of the search's
    own order and the best "search's first moves, then a heuristic" order the search evaluated
    on its way (:func:`agents.alphazero.play.cheapest_path_completion`), recomputed exactly with
    the reference eliminator; so the answer is never dearer than min(forward, reverse,
    Markowitz), whose completions the search evaluates at its first root.
    """
    placement = placement or Placement()
    start = time.perf_counter()
    pool = GraphPool.build(list(graphs), solve_capacities(graphs))
    result = evaluate_pool(model, config, pool, placement, simulations, jax.random.PRNGKey(seed))
    out = []
    for k, graph in enumerate(graphs):
        played, cost = list(result["orders"][k]), int(result["costs"][k])
        vertices, completed_from = played, None
        move, index, estimate = result["completions"][k]
        if complete_from_path and estimate < cost:
            heuristic = BASELINE_POLICIES[index]
            candidate = heuristic_completion(graph, played[:move], heuristic)
            candidate_cost = int(reference.play(graph, candidate)[0])
            if candidate_cost < cost:
                vertices, completed_from = candidate, (move, heuristic)
        total = cost if completed_from is None else candidate_cost
        order = Order.for_graph(graph, vertices, cost=total, method="alphazero")
        baselines = {name: int(c) for name, c in zip(("forward", "reverse", "markowitz"), pool.baselines[k])}
        out.append(SolveResult(order, baselines, 0.0, cost, completed_from))
    seconds = time.perf_counter() - start
    return [dataclasses.replace(r, seconds=seconds) for r in out]


def heuristic_completion(graph: LCG, prefix: Sequence[int], heuristic: str) -> list[int]:
    """``prefix`` followed by the order in which ``heuristic`` (``"forward"``, ``"reverse"`` or
    ``"markowitz"`` with lowest-index ties) eliminates the remaining intermediates.

    Raises:
        ValueError: unknown heuristic.
        elimgym.reference.IllegalAction: ``prefix`` is not a legal partial order.
    """
    done = set()
    current = graph
    for v in prefix:
        current, _ = reference.eliminate(current, int(v))
        done.add(int(v))
    remaining = [v for v in graph.intermediates if v not in done]
    if heuristic == "forward":
        return [*prefix, *remaining]
    if heuristic == "reverse":
        return [*prefix, *reversed(remaining)]
    if heuristic != "markowitz":
        raise ValueError(f"unknown heuristic {heuristic!r}; choose from {BASELINE_POLICIES}")
    order = list(prefix)
    while remaining:
        v = min(remaining, key=lambda u: (len(current.predecessors(u)) * len(current.successors(u)), u))
        current, _ = reference.eliminate(current, v)
        order.append(v)
        remaining.remove(v)
    return order


def function_of(target: Target):
    """``(function, args)`` behind a target, or ``None``: tasks and examples carry theirs, graph
    files made by the random-program generator can rebuild theirs from their metadata."""
    if target.function is not None:
        return target.function, target.args
    from graphs.generators import GeneratorError, function_from_metadata

    try:
        return function_from_metadata(target.graph.metadata)
    except GeneratorError:
        return None


def solve_target(
    model: PolicyValueNet,
    config: Config,
    target: Target,
    simulations: int,
    seed: int = 0,
    verify: bool = True,
    complete_from_path: bool = True,
) -> SolveResult:
    """Solve one target (see :func:`solve_graphs`); check the order with the executor when the
    target has a function."""
    result = solve_graphs(model, config, [target.graph], simulations, seed, complete_from_path=complete_from_path)[0]
    behind = function_of(target) if verify else None
    if behind is None:
        return result
    from elimgym.executor import verify as executor_verify

    function, args = behind
    check = executor_verify(function, result.order, *args, argnums=tuple(range(len(args))))
    return dataclasses.replace(result, verification=check)


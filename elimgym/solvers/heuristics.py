"""Greedy elimination heuristics, run on batches of game states.

Every heuristic eliminates the remaining intermediate with the lowest *score*; ties go to the lowest index unless
the name says otherwise. Scores, for a remaining vertex ``v`` with ``|P|`` predecessors and
``|S|`` successors in the current graph:

==========================  ===================================================================
``forward`` / ``reverse``   lowest / highest index (forward / reverse mode)
``markowitz``               ``|P| * |S|`` (dynamic Markowitz; ``_highest`` and ``_random``
                            variants break ties by the highest index or at random)
``vlr``                     lowest *relative* Markowitz degree ``|P| * |S| - |P| - |S|``: the
                            number of edges the elimination adds minus those it removes when
                            no fill edge exists yet
``min_fill``                fill-in: the number of new edges ``p -> s`` the elimination creates
``greedy_cost``             the true structured cost of eliminating ``v`` now (every candidate
                            is stepped through the game in one batched call)
``pilot_<base>``            one-step lookahead: eliminate each candidate, complete the order
                            with the ``<base>`` heuristic, keep the candidate with the cheapest
                            complete order
==========================  ===================================================================

All but ``greedy_cost`` are pure JAX policies ``(state, key) -> action`` (see
:mod:`elimgym.policies`, whose forward, reverse and Markowitz policies they reuse), evaluated for a
whole batch by one compiled ``lax.switch``; ``greedy_cost`` and the pilots step candidate
eliminations with :func:`elimgym.solvers.problem.advance`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from graphs.lcg import Role

from elimgym import policies
from elimgym.game import GameState
from elimgym.policies import Policy
from elimgym.solvers.problem import MAX_BATCH, Problem, advance, costs_of, recorded_orders, replicate, take
from elimgym.solvers.result import SolverResult

__all__ = [
    "HEURISTICS",
    "BASE_HEURISTICS",
    "DEFAULT_HEURISTICS",
    "run_heuristic",
    "pick",
    "markowitz_degree",
    "relative_markowitz_degree",
    "fill_in",
    "scored_policy",
    "choose",
    "Expansion",
    "remaining_mask",
    "expand",
    "greedy_actions",
    "rollout",
    "completion_costs",
    "pilot_step",
]

ScoreFn = Callable[[GameState], jax.Array]


def _remaining(state: GameState) -> jax.Array:
    return (state.roles == Role.INTERMEDIATE) & ~state.eliminated


def pick(score: jax.Array, candidates: jax.Array, tie_break: str, key: jax.Array | None) -> jax.Array:
    """Index of the candidate with the lowest ``score`` (``[N] float32``), ties broken by the
    ``"lowest"`` index, the ``"highest"`` index, or uniformly at ``"random"`` (uses ``key``)."""
    n = score.shape[-1]
    score = jnp.where(candidates, score, jnp.inf)
    if tie_break == "lowest":
        return jnp.argmin(score).astype(jnp.int32)
    if tie_break == "highest":
        return (n - 1 - jnp.argmin(score[::-1])).astype(jnp.int32)
    if tie_break == "random":
        if key is None:
            raise ValueError("random tie-breaking needs a PRNG key")
        best = score == jnp.min(score)
        noise = jax.random.uniform(key, (n,))
        return jnp.argmax(jnp.where(best, noise, -1.0)).astype(jnp.int32)
    raise ValueError(f"unknown tie_break {tie_break!r}; choose one of {policies.TIE_BREAKS}")


def markowitz_degree(state: GameState) -> jax.Array:
    """``[N] float32``: ``|P(v)| * |S(v)|`` in the current graph."""
    return (state.in_degree * state.out_degree).astype(jnp.float32)


def relative_markowitz_degree(state: GameState) -> jax.Array:
    """``[N] float32``: ``|P(v)| * |S(v)| - |P(v)| - |S(v)|``."""
    return markowitz_degree(state) - (state.in_degree + state.out_degree).astype(jnp.float32)


def fill_in(state: GameState) -> jax.Array:
    """``[N] float32``: edges ``p -> s`` that eliminating each vertex would create.

    With ``A`` the ``[N, N]`` 0/1 adjacency, the pairs of ``v`` that already have an edge number
    ``sum_p A[p, v] * (A @ A.T)[p, v]``; the fill-in is the Markowitz degree minus that.
    """
    a = (state.edges != 0).astype(jnp.float32)
    existing = jnp.sum(a * (a @ a.T), axis=0)
    return markowitz_degree(state) - existing


@functools.lru_cache(maxsize=None)
def scored_policy(score: ScoreFn, tie_break: str = "lowest") -> Policy:
    """The policy that eliminates the remaining vertex of lowest ``score(state)``.

    The same arguments return the same function object, so compiled rollouts are reused.
    """
    if tie_break not in policies.TIE_BREAKS:
        raise ValueError(f"unknown tie_break {tie_break!r}; choose one of {policies.TIE_BREAKS}")

    def policy(state: GameState, key: jax.Array | None = None) -> jax.Array:
        return pick(score(state), _remaining(state), tie_break, key)

    return policy


_POLICIES: dict[str, Policy] = {
    "forward": policies.forward,
    "reverse": policies.reverse,
    "markowitz": policies.markowitz("lowest"),
    "markowitz_highest": policies.markowitz("highest"),
    "markowitz_random": policies.markowitz("random"),
    "vlr": scored_policy(relative_markowitz_degree),
    "min_fill": scored_policy(fill_in),
}
_POLICY_NAMES = tuple(_POLICIES)
BASE_HEURISTICS: tuple[str, ...] = _POLICY_NAMES + ("greedy_cost",)
"""Heuristics that decide from the current state alone (they can complete a pilot's lookahead)."""

HEURISTICS: tuple[str, ...] = BASE_HEURISTICS + tuple(f"pilot_{name}" for name in BASE_HEURISTICS)
"""Names accepted by :func:`run_heuristic`."""

DEFAULT_HEURISTICS: tuple[str, ...] = BASE_HEURISTICS + ("pilot_markowitz",)
"""The heuristics ``elimgym solve`` runs by default; the other pilots cost about ``N`` times as
much as their base heuristic's full rollout per decision (``pilot_greedy_cost`` another ``N``)."""


def _branch(policy: Policy, state: GameState, key: jax.Array) -> jax.Array:
    return jnp.asarray(policy(state, key), jnp.int32)


def _choose_one(state: GameState, index: jax.Array, key: jax.Array) -> jax.Array:
    branches = [functools.partial(_branch, p) for p in _POLICIES.values()]
    return jax.lax.switch(index, branches, state, key)


_choose_kernel = jax.jit(jax.vmap(_choose_one, in_axes=(0, None, 0)))


def choose(states: GameState, name: str, key: jax.Array) -> np.ndarray:
    """``[B] int32``: the action heuristic ``name`` (a base heuristic other than
    ``greedy_cost``) picks in each state of a padded batch; ``key`` drives random tie-breaks."""
    if name not in _POLICIES:
        raise ValueError(f"{name!r} is not a policy heuristic; choose from {', '.join(_POLICY_NAMES)}")
    keys = jax.random.split(key, int(states.roles.shape[0]))
    return np.asarray(_choose_kernel(states, jnp.int32(_POLICY_NAMES.index(name)), keys))


class Expansion(NamedTuple):
    """A chunk of (state, remaining vertex) eliminations (see :func:`expand`).

    Attributes:
        parents: ``[C] int32`` index of each child's state in the expanded batch.
        actions: ``[C] int32`` the vertex each child eliminated.
        children: the child states (a padded batch; the first ``C`` are real).
        step_costs: ``[C] int64`` exact cost of each elimination.
    """

    parents: np.ndarray
    actions: np.ndarray
    children: GameState
    step_costs: np.ndarray


def remaining_mask(states: GameState, count: int) -> np.ndarray:
    """``[count, N] bool``: the intermediates not yet eliminated in the first ``count`` states."""
    return np.asarray((states.roles == Role.INTERMEDIATE) & ~states.eliminated)[:count]


def expand(states: GameState, count: int, mask: np.ndarray | None = None) -> Iterator[Expansion]:
    """Step every (state, candidate vertex) pair of the first ``count`` states of a batch,
    :data:`~elimgym.solvers.problem.MAX_BATCH` pairs at a time.

    Args:
        states: a padded batch.
        count: how many of its states are real.
        mask: ``[count, N] bool`` candidates (default: every remaining intermediate).

    Yields:
        :class:`Expansion` chunks, pairs ordered by parent then vertex.
    """
    mask = remaining_mask(states, count) if mask is None else mask
    parents, actions = np.nonzero(mask)
    base_costs = costs_of(states)
    for start in range(0, len(parents), MAX_BATCH):
        p = parents[start : start + MAX_BATCH].astype(np.int32)
        a = actions[start : start + MAX_BATCH].astype(np.int32)
        children = advance(take(states, p), a)
        yield Expansion(p, a, children, costs_of(children)[: len(p)] - base_costs[p])


def _first_minimum(parents: np.ndarray, values: np.ndarray, count: int) -> np.ndarray:
    """For each parent ``0..count-1``, the position of its first entry with the smallest value
    (-1 for a parent without entries)."""
    order = np.lexsort((np.arange(len(values)), values, parents))
    first = np.ones(len(order), bool)
    first[1:] = parents[order][1:] != parents[order][:-1]
    chosen = np.full(count, -1, np.int64)
    chosen[parents[order][first]] = order[first]
    return chosen


def greedy_actions(states: GameState, count: int) -> np.ndarray:
    """``[count] int32``: in each state, the remaining vertex that costs least to eliminate now
    (lowest index on ties; 0 for a terminated state, where any action is a no-op)."""
    chunks = list(expand(states, count))
    if not chunks:
        return np.zeros(count, np.int32)
    parents = np.concatenate([c.parents for c in chunks])
    actions = np.concatenate([c.actions for c in chunks])
    chosen = _first_minimum(parents, np.concatenate([c.step_costs for c in chunks]), count)
    return np.where(chosen >= 0, actions[np.maximum(chosen, 0)], 0).astype(np.int32)


def rollout(states: GameState, count: int, name: str, key: jax.Array) -> GameState:
    """Complete the first ``count`` states of a padded batch with base heuristic ``name``."""
    if name not in BASE_HEURISTICS:
        raise ValueError(f"{name!r} is not a base heuristic; choose from {', '.join(BASE_HEURISTICS)}")
    left = int(np.max(remaining_mask(states, count).sum(axis=1), initial=0))
    for _ in range(left):
        if name == "greedy_cost":
            actions = greedy_actions(states, count)
        else:
            key, sub = jax.random.split(key)
            actions = choose(states, name, sub)[:count]
        states = advance(states, actions)
    return states


def completion_costs(states: GameState, count: int, name: str, key: jax.Array) -> tuple[np.ndarray, np.ndarray]:
    """Complete the first ``count`` states of a batch with base heuristic ``name``.

    Returns:
        ``([count] int64 total costs, [count, n] int32 complete orders)``.
    """
    final = rollout(states, count, name, key)
    return costs_of(final)[:count], recorded_orders(final, count)


def pilot_step(state: GameState, base: str, key: jax.Array) -> tuple[GameState, int, np.ndarray]:
    """One decision of ``pilot_<base>`` from the first state of a padded batch.

    Returns:
        ``(next_state, best_total, best_order)``: the (padded) batch after eliminating the vertex
        whose completion with ``base`` is cheapest (lowest index on ties), that completion's cost
        and its complete order.
    """
    best_total, best_action, best_order = None, -1, None
    for chunk in expand(state, 1):
        totals, orders = completion_costs(chunk.children, len(chunk.parents), base, key)
        k = int(np.argmin(totals))
        if best_total is None or totals[k] < best_total:
            best_total, best_action, best_order = int(totals[k]), int(chunk.actions[k]), orders[k]
    if best_total is None:
        raise ValueError("pilot_step on a finished game")
    return advance(state, [best_action]), best_total, best_order


def run_heuristic(
    problem: Problem,
    name: str,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
    deadline: float | None = None,
) -> SolverResult:
    """Play heuristic ``name`` on ``problem`` to the end.

    Args:
        problem: the graph.
        name: one of :data:`HEURISTICS`.
        seed: drives random tie-breaks.
        progress: called with the number of decisions made after each decision of a pilot.
        deadline: a :func:`time.perf_counter` time after which a pilot stops deciding and returns
            the cheapest complete order it has seen (``info["finished"]`` is then False).

    Raises:
        ValueError: for an unknown name.
    """
    start = time.perf_counter()
    key = jax.random.PRNGKey(seed)
    states = replicate(problem.state, 1)
    info: dict[str, object] = {}
    if name in BASE_HEURISTICS:
        final = rollout(states, 1, name, key)
        cost, order = int(costs_of(final)[0]), recorded_orders(final, 1)[0]
    elif name.startswith("pilot_") and name[len("pilot_"):] in BASE_HEURISTICS:
        cost, order = None, None
        decisions = 0
        while decisions < problem.num_intermediates and (deadline is None or decisions == 0 or time.perf_counter() < deadline):
            states, total, completion = pilot_step(states, name[len("pilot_"):], key)
            decisions += 1
            if cost is None or total < cost:
                cost, order = total, completion
            if progress is not None:
                progress(decisions)
        info = {"decisions": decisions, "finished": decisions == problem.num_intermediates}
    else:
        raise ValueError(f"unknown heuristic {name!r}; choose from {', '.join(HEURISTICS)}")
    problem.order(order, cost, name)
    return SolverResult(name, int(cost), tuple(int(v) for v in order), time.perf_counter() - start, info=info)

"""The executor on the benchmark tasks: Jacobians equal ``jax.jacrev``, counts equal the cost model.

The full task x order matrix compiles every task three times and is marked slow
(``pytest -m slow``); the default run checks every task's counts (tracing only) and the Jacobians
of the small scalar tasks.
"""

from __future__ import annotations

import functools

import jax
import numpy as np
import pytest

from elimgym import reference
from elimgym.executor import count_multiplications, jacobian, resolve_order, trace_for
from graphs.tasks import TASKS

ORDERS = ("forward", "reverse", "markowitz")
QUICK_TASKS = ("RoeFlux_1d", "HumanHeartDipole", "PropaneCombustion")
"""Scalar tasks small enough to check numerically in the default run."""


@functools.lru_cache(maxsize=None)
def _task_case(name: str):
    """The task's function, arguments, argnums (every argument) and graph."""
    task = TASKS[name]
    args = task.make_args()
    argnums = tuple(range(len(args)))
    return task.function, args, argnums, trace_for(task.function, *args, argnums=argnums)


@functools.lru_cache(maxsize=None)
def _jacrev(name: str):
    f, args, argnums, _ = _task_case(name)
    return jax.jit(jax.jacrev(f, argnums))(*args)


def _assert_matches_jacrev(name: str, ours) -> None:
    theirs = _jacrev(name)
    assert jax.tree_util.tree_structure(ours) == jax.tree_util.tree_structure(theirs)
    for a, b in zip(jax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(theirs)):
        assert a.shape == b.shape and a.dtype == b.dtype
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        scale = max(1.0, float(np.max(np.abs(b)))) if b.size else 1.0
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * scale)


def test_executor_tasks__the_registry_is_populated() -> None:
    """The task suite exists, so the parametrized tests below cannot pass vacuously."""
    assert len(TASKS) >= 8
    assert set(QUICK_TASKS) <= set(TASKS)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_executor_tasks__stored_graph_is_the_graph_orders_refer_to(name: str) -> None:
    """trace_for with every argument differentiated reproduces the task's stored graph."""
    assert _task_case(name)[3].fingerprint() == TASKS[name].graph().fingerprint()


@pytest.mark.parametrize("name", sorted(TASKS))
def test_executor_tasks__counted_multiplications_equal_the_cost_model(name: str) -> None:
    """For every task and named order, the jaxpr count equals the reference eliminator's total."""
    f, args, argnums, graph = _task_case(name)
    abstract = jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(np.shape(a), np.asarray(a).dtype), args)
    for order in ORDERS:
        vertices = resolve_order(graph, order)
        assert count_multiplications(f, order, *abstract, argnums=argnums) == reference.play(graph, vertices)[0]


@pytest.mark.parametrize("name", QUICK_TASKS)
@pytest.mark.parametrize("order", ORDERS)
def test_executor_tasks__small_tasks_match_jacrev(name: str, order: str) -> None:
    """The small scalar tasks, eagerly, for every named order."""
    f, args, argnums, _ = _task_case(name)
    _assert_matches_jacrev(name, jacobian(f, order, argnums=argnums)(*args))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TASKS))
@pytest.mark.parametrize("order", ORDERS)
def test_executor_tasks__every_task_and_order_matches_jacrev(name: str, order: str) -> None:
    """Every benchmark task x {forward, reverse, markowitz} under jit equals jax.jacrev."""
    f, args, argnums, _ = _task_case(name)
    _assert_matches_jacrev(name, jax.jit(jacobian(f, order, argnums=argnums))(*args))

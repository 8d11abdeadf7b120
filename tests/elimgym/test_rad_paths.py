"""Path sampling on traced LCGs: exact accumulation and exact expectations by enumeration."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from elimgym.rad.paths import (
    LinearizedGraph,
    accumulate,
    exact_expectation,
    flat_jacobian,
    path_sample_jacobian,
    sample_edge_weights,
)
from elimgym.rad.suite import _branching
from graphs.examples import EXAMPLES
from graphs.tasks import TASKS

BRANCHING_ARGS = (jnp.array([0.3, 0.7], jnp.float32), jnp.array([-0.5, 0.8], jnp.float32))


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_accumulate__equals_jacfwd_on_examples(name):
    """Accumulating every edge (Bauer's full sum over paths) gives jax.jacfwd's Jacobian."""
    f, args = EXAMPLES[name]
    graph = LinearizedGraph.from_function(f, *args)
    np.testing.assert_allclose(accumulate(graph), flat_jacobian(f, *args), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("level", ["vertex", "scalar"])
@pytest.mark.parametrize("k", [1, 2])
def test_exact_expectation__is_the_jacobian_and_unscaled_is_not(level, k):
    """Averaging over every possible draw recovers the Jacobian; dropping the d/k rescaling does not."""
    graph = LinearizedGraph.from_function(_branching, *BRANCHING_ARGS)
    exact = flat_jacobian(_branching, *BRANCHING_ARGS)
    np.testing.assert_allclose(exact_expectation(graph, k, level), exact, rtol=1e-4, atol=1e-5)
    assert not np.allclose(exact_expectation(graph, k, level, rescale=False), exact, rtol=1e-2, atol=1e-3)


def test_path_sample_jacobian__draws_are_among_the_enumerated_ones():
    """A sampled estimate keeps at most k out-edges per vertex, each with weight d/k."""
    graph = LinearizedGraph.from_function(_branching, *BRANCHING_ARGS)
    weights = sample_edge_weights(graph, jax.random.key(0), k=1, level="vertex")
    for v in range(len(graph.lcg.vertices)):
        targets = graph.successors(v)
        if len(targets) > 1:
            kept = [float(weights[(v, t)]) for t in targets]
            assert sorted(kept) == [0.0] * (len(targets) - 1) + [float(len(targets))]
    estimate = path_sample_jacobian(graph, jax.random.key(0), k=1)
    np.testing.assert_allclose(estimate, accumulate(graph, weights))


def test_path_sample_jacobian__large_k_is_exact():
    """With k at least every out-degree nothing is dropped: the estimate is the exact Jacobian."""
    graph = LinearizedGraph.from_function(_branching, *BRANCHING_ARGS)
    for level in ("vertex", "scalar"):
        np.testing.assert_allclose(path_sample_jacobian(graph, jax.random.key(1), k=100, level=level), accumulate(graph), rtol=1e-6)


def test_path_sampling__bad_arguments_raise():
    """Unknown levels, k < 1 and too many draws to enumerate are refused with clear messages."""
    f, args = EXAMPLES["matvec"]
    graph = LinearizedGraph.from_function(f, *args)
    with pytest.raises(ValueError, match="level"):
        path_sample_jacobian(graph, jax.random.key(0), 1, "edge")
    with pytest.raises(ValueError, match="k >= 1"):
        path_sample_jacobian(graph, jax.random.key(0), 0)
    with pytest.raises(ValueError, match="exceed the limit"):
        exact_expectation(graph, 1, "scalar", limit=10)


def _task_graph(name):
    task = TASKS[name]
    args = task.make_args()
    return LinearizedGraph.from_function(task.function, *args), flat_jacobian(task.function, *args)


def test_path_sampling__works_on_a_benchmark_task():
    """On a traced task (HumanHeartDipole) the full accumulation is the Jacobian and an estimate keeps <= 1 out-edge per vertex."""
    graph, exact = _task_graph("HumanHeartDipole")
    np.testing.assert_allclose(accumulate(graph), exact, rtol=1e-4, atol=1e-5)
    weights = sample_edge_weights(graph, jax.random.key(0), k=1)
    for v in range(len(graph.lcg.vertices)):
        kept = [float(weights.get((v, t), 1.0)) for t in graph.successors(v)]
        assert sum(w != 0.0 for w in kept) == min(1, len(kept))
    assert path_sample_jacobian(graph, jax.random.key(0)).shape == exact.shape


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TASKS))
def test_accumulate__equals_jacfwd_on_every_task(name):
    """Bauer's full sum over paths reproduces jax.jacfwd on every benchmark task."""
    graph, exact = _task_graph(name)
    np.testing.assert_allclose(accumulate(graph), exact, rtol=1e-4, atol=1e-5)

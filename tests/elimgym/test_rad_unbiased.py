"""check_unbiased: the Monte-Carlo test itself, each estimator, and the negative controls."""

import jax
import jax.numpy as jnp
import pytest

from elimgym.rad.suite import ESTIMATORS, NEGATIVE_CONTROLS, run_suite
from elimgym.rad.unbiased import check_unbiased

EXACT = {"a": jnp.array([1.0, -2.0, 0.5]), "b": jnp.array([[3.0, 0.25]])}
FAST = {"tolerance": 0.2, "max_samples": 2048}


def _noisy(bias: float):
    def estimator(key):
        ka, kb = jax.random.split(key)
        return {"a": EXACT["a"] * (1 + bias) + jax.random.normal(ka, (3,)), "b": EXACT["b"] + 0.5 * jax.random.normal(kb, (1, 2))}

    return estimator


def test_check_unbiased__accepts_unbiased_noise_and_rejects_a_five_percent_bias():
    """Gaussian noise around the exact value passes; scaling it by 1.05 is caught."""
    good = check_unbiased(_noisy(0.0), EXACT, jax.random.key(0), tolerance=0.02)
    assert good.unbiased and good.p_value > 1e-3 and good.num_samples % 128 == 0
    bad = check_unbiased(_noisy(0.05), EXACT, jax.random.key(0), tolerance=0.02)
    assert not bad.unbiased and bad.p_value < 1e-6 and 0.02 < bad.relative_bias < 0.1


def test_check_unbiased__deterministic_estimators():
    """A noiseless estimator passes iff it returns the exact value."""
    assert check_unbiased(lambda key: EXACT, EXACT, jax.random.key(1)).unbiased
    wrong = jax.tree_util.tree_map(lambda x: x + 0.01, EXACT)
    result = check_unbiased(lambda key: wrong, EXACT, jax.random.key(1))
    assert not result.unbiased and result.p_value == 0.0


def test_check_unbiased__sample_size_grows_with_variance():
    """A noisier estimator gets more samples (up to the cap)."""
    quiet = check_unbiased(lambda k: jax.tree_util.tree_map(lambda x: x + 0.1 * jax.random.normal(k, x.shape), EXACT), EXACT, jax.random.key(2), tolerance=0.2)
    loud = check_unbiased(_noisy(0.0), EXACT, jax.random.key(2), tolerance=0.2)
    assert quiet.num_samples < loud.num_samples


def test_check_unbiased__bad_arguments_raise():
    """Empty exact values and inconsistent sizes are refused."""
    with pytest.raises(ValueError, match="no entries"):
        check_unbiased(lambda k: jnp.zeros(0), jnp.zeros(0), jax.random.key(0))
    with pytest.raises(ValueError, match="num_projections"):
        check_unbiased(_noisy(0.0), EXACT, jax.random.key(0), num_projections=300)


@pytest.mark.parametrize("name", ["relu_dense/different", "pde/split", "paths/vertex-k1"])
def test_estimator__passes_check_unbiased(name):
    """Representative estimators (a sampled layer, the PDE, path sampling) pass the test."""
    result = run_suite([name], **FAST)[name]
    assert result["unbiased"], result


@pytest.mark.parametrize("name", ["relu_dense/different-unscaled", "pde/fused-shared"])
def test_negative_control__fails_check_unbiased(name):
    """No rescaling, or a sample entering the gradient twice, is rejected with a tiny p-value."""
    result = run_suite([name], **FAST)[name]
    assert not result["unbiased"] and result["p_value"] < 1e-10, result


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_every_estimator__passes_check_unbiased(name):
    """Every estimator of the catalogue passes at the study's precision."""
    result = run_suite([name], tolerance=0.1, max_samples=8192)[name]
    assert result["unbiased"], result


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(NEGATIVE_CONTROLS))
def test_every_negative_control__fails_check_unbiased(name):
    """Every deliberately biased variant is rejected."""
    result = run_suite([name], tolerance=0.1, max_samples=8192)[name]
    assert not result["unbiased"], result

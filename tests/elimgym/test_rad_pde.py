"""Reaction-diffusion control: exact storage matches standard AD; sampled storage is unbiased
exactly when no sample enters the gradient twice (checked by enumerating every draw)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from elimgym.rad.memory import residual_report
from elimgym.rad.pde import (
    LAYOUTS,
    ReactionDiffusion,
    StorageScheme,
    checkpointed_loss,
    exact_loss,
    rad_loss,
)

TINY = ReactionDiffusion(grid=2, steps=2)
THETA = jnp.array([0.8, -0.5, 0.3, 0.6, -0.4, 0.2, 0.5], jnp.float32)
SIZE = TINY.grid**2


def _table_draw(key, n, size, count, parts):
    """Draw number ``key`` of an enumeration: step n's indices are digits of key in base size**(count*parts)."""
    per_step = size ** (count * parts)
    code = (key // per_step**n) % per_step
    digits = [(code // size**j) % size for j in range(count * parts)]
    return jnp.stack(digits).reshape(parts, count).astype(jnp.int32)


def _enumerated_mean(layout, rescale=True):
    scheme = StorageScheme(1 / SIZE, layout, rescale, draw=_table_draw)
    fields = TINY.steps + 1 if layout == "split" else TINY.steps
    total = SIZE ** (scheme.parts * scheme.count(SIZE) * fields)
    grad = jax.jit(jax.vmap(lambda code: jax.grad(rad_loss, argnums=1)(TINY, THETA, code, scheme)))
    return np.asarray(grad(jnp.arange(total, dtype=jnp.int32))).mean(axis=0)


@pytest.fixture(scope="module")
def exact_gradient():
    return np.asarray(jax.grad(exact_loss, argnums=1)(TINY, THETA))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_rad_loss__exact_storage_matches_standard_ad(layout, exact_gradient):
    """With keep=1 every layout stores whole fields and gives standard AD's value and gradient."""
    scheme = StorageScheme(1.0, layout)
    value, grad = jax.value_and_grad(rad_loss, argnums=1)(TINY, THETA, jax.random.key(0), scheme)
    assert float(value) == pytest.approx(float(exact_loss(TINY, THETA)), rel=1e-6)
    np.testing.assert_allclose(grad, exact_gradient, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("layout", ["split", "fused-independent"])
def test_rad_loss__enumerated_expectation_is_exact(layout, exact_gradient):
    """Averaging over every possible draw (one stored value per field) gives the exact gradient."""
    np.testing.assert_allclose(_enumerated_mean(layout), exact_gradient, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("layout, rescale", [("fused-shared", True), ("split", False)])
def test_rad_loss__shared_sample_or_no_rescaling_is_biased(layout, rescale, exact_gradient):
    """A sample used for both the residual and the control derivative (or unscaled samples) is biased."""
    mean = _enumerated_mean(layout, rescale)
    assert np.max(np.abs(mean - exact_gradient)) > 0.05 * np.max(np.abs(exact_gradient))


def test_checkpointed_loss__matches_exact_gradient():
    """Gradient checkpointing gives standard AD's gradient and stores only segment-start fields."""
    problem = ReactionDiffusion(grid=6, steps=12)
    exact = jax.grad(exact_loss, argnums=1)(problem, THETA)
    np.testing.assert_allclose(jax.grad(checkpointed_loss, argnums=1)(problem, THETA, 4), exact, rtol=1e-5, atol=1e-8)
    shapes = [r.shape for r in residual_report(lambda t: checkpointed_loss(problem, t, 4), THETA).residuals if r.origin == "computed"]
    assert (3, 6, 6) in shapes
    with pytest.raises(ValueError, match="divide"):
        checkpointed_loss(problem, THETA, 5)


def test_rad_loss__stores_only_the_sampled_values():
    """At keep 0.005 on the 32x32 grid the residuals are [301, 1, 5] samples and the step counter."""
    problem = ReactionDiffusion()
    report = residual_report(lambda t, k: rad_loss(problem, t, k, StorageScheme(0.005)), THETA, jax.random.key(0))
    computed = {r.shape: r.dtype for r in report.residuals if r.origin == "computed" and r.shape}
    assert computed == {(301, 1, 5): "float32", (301,): "int32"}
    exact = residual_report(lambda t, k: rad_loss(problem, t, k, StorageScheme(1.0)), THETA, jax.random.key(0))
    assert 1 - report.computed_bytes / exact.computed_bytes >= 0.99


def test_reaction_diffusion__bad_configurations_raise():
    """Unstable FTCS settings and bad storage schemes are refused with the offending values named."""
    with pytest.raises(ValueError, match="unstable"):
        ReactionDiffusion(grid=32, steps=50)
    with pytest.raises(ValueError, match="layout"):
        StorageScheme(0.1, "interleaved")
    with pytest.raises(ValueError, match="keep"):
        StorageScheme(1.5)


def test_tiny_enumeration_table_covers_every_draw():
    """The table draw used above visits every index tuple exactly once per step."""
    seen = {tuple(np.asarray(_table_draw(jnp.int32(c), 1, SIZE, 1, 1)).ravel()) for c in range(SIZE**2)}
    assert seen == {(i,) for i in range(SIZE)}

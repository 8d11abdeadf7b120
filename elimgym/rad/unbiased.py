"""A Monte-Carlo test of unbiasedness: is ``E[estimator(key)] == exact``?

:func:`check_unbiased` projects the estimation error ``estimate - exact`` (all leaves of the
pytree, flattened) onto a few random unit directions and runs Hotelling's T^2 test of "mean
zero" on those projections. The number of samples is chosen from a pilot run's measured
variance: large enough that a bias of relative size ``tolerance`` (``|bias| = tolerance *
|exact|``, in a typical direction) would be rejected with overwhelming probability, and capped by
``max_samples``. An unbiased estimator passes with probability ``1 - alpha``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from scipy import stats

__all__ = ["UnbiasednessTest", "check_unbiased"]


@dataclass(frozen=True)
class UnbiasednessTest:
    """The outcome of :func:`check_unbiased`.

    Attributes:
        statistic: Hotelling's ``T^2`` of the projected errors.
        p_value: its p-value under "the estimator is unbiased" (F distribution).
        unbiased: the verdict, ``p_value >= alpha``.
        num_samples: estimator calls used by the test (after the pilot run; a multiple of the
            batch size).
        num_projections: random directions the error was projected on.
        alpha: the significance level.
        relative_bias: ``|mean projected error| / |projected exact value|``, the measured bias.
        relative_std_error: the standard error of ``relative_bias``'s numerator, relative likewise.
    """

    statistic: float
    p_value: float
    unbiased: bool
    num_samples: int
    num_projections: int
    alpha: float
    relative_bias: float
    relative_std_error: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def _projector(estimator: Callable[[jax.Array], Any], directions: jax.Array, offset: np.ndarray, batch_size: int):
    """``keys -> [n, q]`` float64 projections ``directions @ (estimate - exact)``, one row per key.

    The estimator is compiled once, for batches of exactly ``batch_size`` keys (``n`` is rounded
    up to a multiple of it).
    """

    @jax.jit
    def project(batch_keys):
        flat = jax.vmap(lambda k: ravel_pytree(estimator(k))[0])(batch_keys)
        return flat.astype(jnp.float32) @ directions.T

    def run(key: jax.Array, n: int) -> np.ndarray:
        keys = jax.random.split(key, -(-n // batch_size) * batch_size)
        chunks = [np.asarray(project(keys[i : i + batch_size]), np.float64) for i in range(0, len(keys), batch_size)]
        return np.concatenate(chunks) - offset

    return run


def check_unbiased(
    estimator: Callable[[jax.Array], Any],
    exact: Any,
    key: jax.Array,
    *,
    num_projections: int = 4,
    alpha: float = 1e-3,
    tolerance: float = 0.05,
    pilot_samples: int = 128,
    min_samples: int = 256,
    max_samples: int = 20_000,
    batch_size: int = 128,
) -> UnbiasednessTest:
    """Test ``E[estimator(key)] == exact`` with Hotelling's T^2 on random projections.

    Args:
        estimator: ``key -> estimate``, a pytree with the structure and shapes of ``exact``;
            it is ``jit``-ed and ``vmap``-ed over keys.
        exact: the exact value (a pytree of arrays).
        key: PRNG key for the directions and the samples (consumed).
        num_projections: ``q``, the number of random unit directions.
        alpha: significance level; the verdict is "unbiased" when ``p_value >= alpha``.
        tolerance: the relative bias the sample size is chosen to detect (see module docstring).
        pilot_samples: samples used to measure the variance (not reused by the test; rounded up
            to a multiple of ``batch_size``).
        min_samples, max_samples: bounds on the test's sample size.
        batch_size: estimator calls per ``vmap`` batch.

    Raises:
        ValueError: bad sizes, or ``exact`` with no entries.
    """
    flat_exact, _ = ravel_pytree(exact)
    dim = int(flat_exact.size)
    if dim == 0:
        raise ValueError("check_unbiased: the exact value has no entries")
    if not 1 <= num_projections < min_samples <= max_samples:
        raise ValueError(
            f"check_unbiased: need 1 <= num_projections ({num_projections}) < min_samples ({min_samples}) "
            f"<= max_samples ({max_samples})"
        )
    if pilot_samples < 2:
        raise ValueError(f"check_unbiased: pilot_samples must be at least 2, got {pilot_samples}")
    key_dirs, key_pilot, key_test = jax.random.split(key, 3)
    directions = jax.random.normal(key_dirs, (num_projections, dim), jnp.float32)
    directions = directions / jnp.linalg.norm(directions, axis=1, keepdims=True)
    exact64 = np.asarray(flat_exact, np.float64)
    projected_exact = np.asarray(directions, np.float64) @ exact64

    sample = _projector(estimator, directions, projected_exact, batch_size)
    pilot = sample(key_pilot, pilot_samples)
    scale = tolerance * float(np.linalg.norm(exact64)) / math.sqrt(dim)
    z = stats.norm.isf(alpha) + stats.norm.isf(1e-4)
    sigma2 = float(np.max(np.var(pilot, axis=0, ddof=1)))
    wanted = math.ceil(z**2 * sigma2 / scale**2) if scale > 0 else max_samples
    n = int(min(max(wanted, min_samples), max_samples))

    errors = sample(key_test, n)
    n = len(errors)
    mean = errors.mean(axis=0)
    cov = np.cov(errors, rowvar=False).reshape(num_projections, num_projections)
    reference = float(np.linalg.norm(projected_exact)) or 1.0
    q = num_projections
    if np.max(np.diag(cov)) <= 1e-24 * max(reference**2, 1e-30):
        # A (numerically) deterministic estimator: unbiased iff its value is the exact one.
        close = bool(np.linalg.norm(mean) <= 1e-5 * reference)
        statistic, p_value = (0.0, 1.0) if close else (math.inf, 0.0)
    else:
        statistic = float(n * mean @ np.linalg.solve(cov + 1e-12 * np.trace(cov) * np.eye(q), mean))
        f_value = (n - q) / (q * (n - 1)) * statistic
        p_value = float(stats.f.sf(f_value, q, n - q))
    return UnbiasednessTest(
        statistic=statistic,
        p_value=p_value,
        unbiased=bool(p_value >= alpha),
        num_samples=n,
        num_projections=q,
        alpha=alpha,
        relative_bias=float(np.linalg.norm(mean)) / reference,
        relative_std_error=float(math.sqrt(np.trace(cov) / n)) / reference,
    )

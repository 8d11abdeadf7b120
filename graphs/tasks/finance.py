"""The reverse-mode gradient program of the Black-Scholes-Merton price of a European call.

The price of a call on a stock paying a continuous dividend yield ``q`` is

    C = S e^{-qT} N(d_1) - K e^{-rT} N(d_2),
    d_1 = (ln(S/K) + (r - q + sigma^2/2) T) / (sigma sqrt(T)),   d_2 = d_1 - sigma sqrt(T),

with ``N`` the standard normal distribution function, ``N(x) = (1 + erf(x / sqrt 2)) / 2``.
The task is the program that computes the gradient of ``C`` with respect to all six
parameters by reverse-mode AD (``jax.grad``): its outputs are the first-order Greeks, so its
Jacobian is the Hessian of the price, the second-order Greeks (gamma, vanna, volga, ...).

References:
    F. Black, M. Scholes, "The pricing of options and corporate liabilities", J. Polit. Econ.
    81 (1973) 637-654. R. C. Merton, "Theory of rational option pricing", Bell J. Econ. Manag.
    Sci. 4 (1973) 141-183. J. C. Hull, "Options, Futures, and Other Derivatives", 10th ed.,
    Pearson 2018 (options on assets with a dividend yield, the Greek letters).

Prices in currency units, rates per year, ``T`` in years; ``float32``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax.scipy.special import erf

__all__ = ["normal_cdf", "call_price", "call_price_gradient", "call_price_gradient_args"]


def normal_cdf(x: Any) -> Any:
    """The standard normal distribution function ``N(x)`` via ``erf``."""
    return 0.5 * (1.0 + erf(x / jnp.sqrt(2.0)))


def call_price(S: Any, K: Any, r: Any, q: Any, sigma: Any, T: Any) -> Any:
    """Black-Scholes-Merton price of a European call.

    Args:
        S: spot price; K: strike; r: risk-free rate; q: dividend yield; sigma: volatility;
        T: time to expiry (all scalars).
    """
    root_T = jnp.sqrt(T)
    d1 = (jnp.log(S / K) + (r - q + 0.5 * sigma**2) * T) / (sigma * root_T)
    d2 = d1 - sigma * root_T
    return S * jnp.exp(-q * T) * normal_cdf(d1) - K * jnp.exp(-r * T) * normal_cdf(d2)


_gradient = jax.grad(call_price, argnums=(0, 1, 2, 3, 4, 5))


def call_price_gradient(S: Any, K: Any, r: Any, q: Any, sigma: Any, T: Any) -> tuple[Any, ...]:
    """The reverse-mode gradient of :func:`call_price`.

    Returns:
        ``(dC/dS, dC/dK, dC/dr, dC/dq, dC/dsigma, dC/dT)``: delta, dual delta, rho, the
        dividend sensitivity, vega and minus theta (six scalars).
    """
    return _gradient(S, K, r, q, sigma, T)


def call_price_gradient_args() -> tuple[Any, ...]:
    """An out-of-the-money one-year call: ``S = 100, K = 110, r = 5%, q = 1%, sigma = 20%, T = 1``."""
    return tuple(jnp.float32(x) for x in (100.0, 110.0, 0.05, 0.01, 0.2, 1.0))

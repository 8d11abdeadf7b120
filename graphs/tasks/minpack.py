"""Two nonlinear systems of the MINPACK-2 test problem collection.

References:
    B. M. Averick, R. G. Carter, J. J. Moré, G.-L. Xue, "The MINPACK-2 test problem
    collection", Argonne National Laboratory, Preprint MCS-P153-0692 (1992): the human heart
    dipole problem (``dhhd``, n = 8) and the combustion of propane, full formulation (``dcpf``,
    n = 11).
    J. E. Dennis, D. M. Gay, P. A. Vu, "A new nonlinear equations test problem", Rice
    University, Dept. of Math. Sci., TR 83-16 (1983, revised 1985): the formulation of C. V.
    Nelson and B. C. Hodgkin's dipole problem that MINPACK-2 follows.
    K. Meintjes, A. P. Morgan, "Chemical equilibrium systems as numerical test problems",
    ACM Trans. Math. Software 16 (1990) 143-151.

Both systems are residuals ``F(x)`` whose root solves the problem; each variable and each residual
is a scalar vertex (``float32``).
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

__all__ = [
    "HEART_DIPOLE_SIGMA",
    "HEART_DIPOLE_START",
    "heart_dipole",
    "heart_dipole_args",
    "PROPANE_K",
    "PROPANE_PRESSURE",
    "PROPANE_AIR_RATIO",
    "propane_start",
    "propane_combustion",
    "propane_combustion_args",
]

HEART_DIPOLE_SIGMA = (0.485, -0.0019, -0.0581, 0.015, 0.105, 0.0406, 0.167, -0.399)
"""Measured sums ``(sigma_mx, sigma_my, sigma_A, sigma_B, sigma_C, sigma_D, sigma_E, sigma_F)``
of experiment 791129 (MINPACK-2's version ``DHHD1``)."""

HEART_DIPOLE_START = (0.299, 0.186, -0.0273, 0.0254, -0.474, 0.474, -0.0892, 0.0892)
"""The standard starting point ``(a, b, c, d, t, u, v, w)`` of version ``DHHD1``."""


def heart_dipole(a: Any, b: Any, c: Any, d: Any, t: Any, u: Any, v: Any, w: Any) -> tuple[Any, ...]:
    """Residuals of the human heart dipole problem (MINPACK-2 ``dhhd``, version 1).

    The unknowns are the magnitudes ``(a, b)`` (x components) and ``(c, d)`` (y components) of
    two dipoles and the coordinates ``(t, v)``, ``(u, w)`` of their locations.

    Returns:
        Eight scalar residuals ``f_1 .. f_8``.
    """
    s_mx, s_my, s_A, s_B, s_C, s_D, s_E, s_F = HEART_DIPOLE_SIGMA
    tt, vv, uu, ww = t * t, v * v, u * u, w * w
    t_diff, u_diff = tt - vv, uu - ww  # t^2 - v^2, u^2 - w^2
    t_cubic, v_cubic = tt - 3.0 * vv, vv - 3.0 * tt  # t^2 - 3 v^2, v^2 - 3 t^2
    u_cubic, w_cubic = uu - 3.0 * ww, ww - 3.0 * uu
    tv2, uw2 = 2.0 * t * v, 2.0 * u * w
    f1 = a + b - s_mx
    f2 = c + d - s_my
    f3 = t * a + u * b - v * c - w * d - s_A
    f4 = v * a + w * b + t * c + u * d - s_B
    f5 = a * t_diff - c * tv2 + b * u_diff - d * uw2 - s_C
    f6 = c * t_diff + a * tv2 + d * u_diff + b * uw2 - s_D
    f7 = a * t * t_cubic + c * v * v_cubic + b * u * u_cubic + d * w * w_cubic - s_E
    f8 = c * t * t_cubic - a * v * v_cubic + d * u * u_cubic - b * w * w_cubic - s_F
    return f1, f2, f3, f4, f5, f6, f7, f8


def heart_dipole_args() -> tuple[Any, ...]:
    """The standard starting point :data:`HEART_DIPOLE_START` (eight ``float32`` scalars)."""
    return tuple(jnp.float32(x) for x in HEART_DIPOLE_START)


PROPANE_K = (0.1930, 2.597e-3, 3.448e-3, 1.799e-5, 2.155e-4, 3.846e-5)
"""Equilibrium constants ``K_5 .. K_10`` of the propane combustion problem."""

PROPANE_PRESSURE = 40.0
"""Pressure ``p`` [atm]."""

PROPANE_AIR_RATIO = 10.0
"""Relative amount of air to fuel ``R``."""


def propane_start() -> tuple[float, ...]:
    """The standard starting point ``x_1 .. x_11`` of MINPACK-2 ``dcpf``."""
    k5, k6, k7, k8, k9, k10 = PROPANE_K
    p = PROPANE_PRESSURE
    root_p = p**0.5
    return (5.0, 2.5, 5.0, 0.1, 0.05 * k5, k6 / root_p, 50.0 * k7 / root_p, 1e3 * k8 / p, 500.0 * k9 / root_p, 5e4 * k10 / p, 20.0)


def propane_combustion(
    x1: Any, x2: Any, x3: Any, x4: Any, x5: Any, x6: Any, x7: Any, x8: Any, x9: Any, x10: Any, x11: Any
) -> tuple[Any, ...]:
    """Residuals of the combustion of propane in air, full formulation (MINPACK-2 ``dcpf``).

    ``x_1 .. x_10`` are the mole numbers of the ten product species and ``x_11`` their total;
    the first four equations balance the elements, the next six are the equilibrium conditions
    of the reactions, the last one defines the total.

    Returns:
        Eleven scalar residuals ``f_1 .. f_11``.
    """
    k5, k6, k7, k8, k9, k10 = PROPANE_K
    R = PROPANE_AIR_RATIO
    p_ratio = PROPANE_PRESSURE / x11  # p / x_11
    root_ratio = jnp.sqrt(p_ratio)
    f1 = x1 + x4 - 3.0
    f2 = 2.0 * x1 + x2 + x4 + x7 + x8 + x9 + 2.0 * x10 - R
    f3 = 2.0 * x2 + 2.0 * x5 + x6 + x7 - 8.0
    f4 = 2.0 * x3 + x9 - 4.0 * R
    f5 = k5 * x2 * x4 - x1 * x5
    f6 = k6 * jnp.sqrt(x2 * x4) - jnp.sqrt(x1) * x6 * root_ratio
    f7 = k7 * jnp.sqrt(x1 * x2) - jnp.sqrt(x4) * x7 * root_ratio
    f8 = k8 * x1 - x4 * x8 * p_ratio
    f9 = k9 * x1 * jnp.sqrt(x3) - x4 * x9 * root_ratio
    f10 = k10 * x1 * x1 - x4 * x4 * x10 * p_ratio
    f11 = x11 - (x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10)
    return f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11


def propane_combustion_args() -> tuple[Any, ...]:
    """The standard starting point :func:`propane_start` (eleven ``float32`` scalars)."""
    return tuple(jnp.float32(x) for x in propane_start())

"""Roe's approximate Riemann solver for the Euler equations of gas dynamics (1-D and 3-D).

The flux through a cell face between a left state ``U_L`` and a right state ``U_R`` is

    F_roe = 1/2 (F(U_L) + F(U_R)) - 1/2 sum_k |lambda_k| alpha_k r_k

where ``lambda_k``, ``r_k`` are the eigenvalues and right eigenvectors of the flux Jacobian at
Roe's average state and ``alpha_k`` the wave strengths of the jump ``U_R - U_L``.

References:
    P. L. Roe, "Approximate Riemann solvers, parameter vectors, and difference schemes",
    J. Comput. Phys. 43 (1981) 357-372.
    E. F. Toro, "Riemann Solvers and Numerical Methods for Fluid Dynamics", 3rd ed., Springer
    2009, ch. 11 (Roe's solver for the 1-D Euler equations).
    J. Blazek, "Computational Fluid Dynamics: Principles and Applications", 3rd ed.,
    Butterworth-Heinemann 2015, sec. 4.3.3 (the 3-D solver on a face with unit normal ``n``).

All quantities are dimensionless, ``float32``; the gas is ideal with ``GAMMA = 1.4``.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

__all__ = [
    "GAMMA",
    "FACE_NORMAL",
    "roe_flux_1d",
    "roe_flux_1d_args",
    "roe_flux_3d",
    "roe_flux_3d_args",
    "conserved_1d",
    "conserved_3d",
]

GAMMA = 1.4
"""Ratio of specific heats of the ideal gas (air)."""

FACE_NORMAL = np.array([2.0, 3.0, 6.0], np.float32) / 7.0
"""The unit normal ``n`` of the cell face of the 3-D task (a fixed, oblique face)."""


def conserved_1d(rho: float, u: float, p: float) -> tuple[float, float, float]:
    """Conserved variables ``(rho, rho u, E)`` of a 1-D state from density, velocity, pressure."""
    return rho, rho * u, p / (GAMMA - 1.0) + 0.5 * rho * u * u


def conserved_3d(rho: float, u: np.ndarray, p: float) -> tuple[float, np.ndarray, float]:
    """Conserved variables ``(rho, rho u, E)`` of a 3-D state; ``u`` has shape ``(3,)``."""
    u = np.asarray(u, np.float64)
    return rho, rho * u, p / (GAMMA - 1.0) + 0.5 * rho * float(u @ u)


def roe_flux_1d(rho_l: Any, m_l: Any, E_l: Any, rho_r: Any, m_r: Any, E_r: Any) -> tuple[Any, Any, Any]:
    """Roe's numerical flux for the 1-D Euler equations.

    Args:
        rho_l, m_l, E_l: left state: density, momentum ``rho u``, total energy per volume (scalars).
        rho_r, m_r, E_r: right state, likewise.

    Returns:
        The flux of mass, momentum and energy through the face (three scalars).
    """
    u_l, u_r = m_l / rho_l, m_r / rho_r
    p_l = (GAMMA - 1.0) * (E_l - 0.5 * m_l * u_l)
    p_r = (GAMMA - 1.0) * (E_r - 0.5 * m_r * u_r)
    H_l, H_r = (E_l + p_l) / rho_l, (E_r + p_r) / rho_r
    # Roe averages: weights sqrt(rho).
    s_l, s_r = jnp.sqrt(rho_l), jnp.sqrt(rho_r)
    total = s_l + s_r
    u = (s_l * u_l + s_r * u_r) / total
    H = (s_l * H_l + s_r * H_r) / total
    kinetic = 0.5 * u * u
    a = jnp.sqrt((GAMMA - 1.0) * (H - kinetic))
    # Wave strengths of the jump (Toro, ch. 11).
    d_rho, d_m, d_E = rho_r - rho_l, m_r - m_l, E_r - E_l
    alpha_2 = (GAMMA - 1.0) / (a * a) * (d_rho * (H - u * u) + u * d_m - d_E)
    alpha_1 = (d_rho * (u + a) - d_m - a * alpha_2) / (2.0 * a)
    alpha_3 = d_rho - (alpha_1 + alpha_2)
    w_1 = jnp.abs(u - a) * alpha_1
    w_2 = jnp.abs(u) * alpha_2
    w_3 = jnp.abs(u + a) * alpha_3
    # Upwind dissipation sum_k |lambda_k| alpha_k r_k with r_1 = (1, u - a, H - u a),
    # r_2 = (1, u, u^2 / 2), r_3 = (1, u + a, H + u a).
    diss_mass = w_1 + w_2 + w_3
    diss_momentum = w_1 * (u - a) + w_2 * u + w_3 * (u + a)
    diss_energy = w_1 * (H - u * a) + w_2 * kinetic + w_3 * (H + u * a)
    flux_mass = 0.5 * (m_l + m_r) - 0.5 * diss_mass
    flux_momentum = 0.5 * (m_l * u_l + p_l + m_r * u_r + p_r) - 0.5 * diss_momentum
    flux_energy = 0.5 * (u_l * (E_l + p_l) + u_r * (E_r + p_r)) - 0.5 * diss_energy
    return flux_mass, flux_momentum, flux_energy


def roe_flux_1d_args() -> tuple[Any, ...]:
    """Toro's test 1 (a modified Sod shock tube): left ``(rho, u, p) = (1, 0.75, 1)``, right
    ``(0.125, 0, 0.1)``, as conserved variables (six ``float32`` scalars)."""
    left = conserved_1d(1.0, 0.75, 1.0)
    right = conserved_1d(0.125, 0.0, 0.1)
    return tuple(jnp.float32(x) for x in (*left, *right))


def _face_state(rho: Any, m: Any, E: Any, n: Any) -> tuple[Any, Any, Any, Any]:
    """Velocity ``(3,)``, pressure, total enthalpy and normal velocity of a 3-D state."""
    u = m / rho
    p = (GAMMA - 1.0) * (E - 0.5 * jnp.dot(m, u))
    H = (E + p) / rho
    return u, p, H, jnp.dot(u, n)


def roe_flux_3d(rho_l: Any, m_l: Any, E_l: Any, rho_r: Any, m_r: Any, E_r: Any, normal: Any = FACE_NORMAL) -> tuple[Any, Any, Any]:
    """Roe's numerical flux for the 3-D Euler equations through a face with unit normal ``normal``.

    Args:
        rho_l, E_l: left density and total energy per volume (scalars); m_l: left momentum ``(3,)``.
        rho_r, m_r, E_r: right state, likewise.
        normal: unit face normal ``(3,)``, a constant (default :data:`FACE_NORMAL`).

    Returns:
        ``(mass flux [], momentum flux (3,), energy flux [])`` per unit face area.
    """
    n = jnp.asarray(normal, jnp.float32)
    u_l, p_l, H_l, V_l = _face_state(rho_l, m_l, E_l, n)
    u_r, p_r, H_r, V_r = _face_state(rho_r, m_r, E_r, n)
    s_l, s_r = jnp.sqrt(rho_l), jnp.sqrt(rho_r)
    total = s_l + s_r
    rho = s_l * s_r
    u = (s_l * u_l + s_r * u_r) / total
    H = (s_l * H_l + s_r * H_r) / total
    V = jnp.dot(u, n)
    kinetic = 0.5 * jnp.dot(u, u)
    c = jnp.sqrt((GAMMA - 1.0) * (H - kinetic))
    c2 = c * c
    d_rho, d_p, d_u, d_V = rho_r - rho_l, p_r - p_l, u_r - u_l, V_r - V_l
    # Acoustic waves (eigenvalues V -/+ c), entropy wave and shear waves (eigenvalue V).
    w_minus = jnp.abs(V - c) * (d_p - rho * c * d_V) / (2.0 * c2)
    w_plus = jnp.abs(V + c) * (d_p + rho * c * d_V) / (2.0 * c2)
    abs_V = jnp.abs(V)
    w_entropy = abs_V * (d_rho - d_p / c2)
    w_shear = abs_V * rho
    diss_mass = w_minus + w_entropy + w_plus
    diss_momentum = (
        w_minus * (u - c * n) + w_entropy * u + w_shear * (d_u - d_V * n) + w_plus * (u + c * n)
    )
    diss_energy = (
        w_minus * (H - c * V) + w_entropy * kinetic + w_shear * (jnp.dot(u, d_u) - V * d_V) + w_plus * (H + c * V)
    )
    flux_mass = 0.5 * (rho_l * V_l + rho_r * V_r - diss_mass)
    flux_momentum = 0.5 * (m_l * V_l + p_l * n + m_r * V_r + p_r * n - diss_momentum)
    flux_energy = 0.5 * ((E_l + p_l) * V_l + (E_r + p_r) * V_r - diss_energy)
    return flux_mass, flux_momentum, flux_energy


def roe_flux_3d_args() -> tuple[Any, ...]:
    """An oblique shock-tube face: left ``rho = 1, u = (0.75, 0.2, -0.1), p = 1``, right
    ``rho = 0.125, u = (0.1, 0, 0.05), p = 0.1``, as conserved variables (``float32``)."""
    rho_l, m_l, E_l = conserved_3d(1.0, np.array([0.75, 0.2, -0.1]), 1.0)
    rho_r, m_r, E_r = conserved_3d(0.125, np.array([0.1, 0.0, 0.05]), 0.1)
    return (
        jnp.float32(rho_l),
        jnp.asarray(m_l, jnp.float32),
        jnp.float32(E_l),
        jnp.float32(rho_r),
        jnp.asarray(m_r, jnp.float32),
        jnp.float32(E_r),
    )

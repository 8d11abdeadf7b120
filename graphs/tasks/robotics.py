"""Forward kinematics of a 6-joint serial robot arm (the Universal Robots UR5).

Each joint ``i`` contributes the Denavit-Hartenberg transform

    A_i(theta) = Rot_z(theta) Trans_z(d_i) Trans_x(a_i) Rot_x(alpha_i)

         [ cos t   -sin t cos al    sin t sin al   a cos t ]
       = [ sin t    cos t cos al   -cos t sin al   a sin t ]
         [   0         sin al          cos al         d    ]
         [   0           0               0            1    ]

which is linear in ``(cos theta, sin theta)``: ``A_i = cos(theta) C_i + sin(theta) S_i + K_i`` with
constant ``4 x 4`` matrices. The end-effector pose is ``T = A_1 A_2 ... A_6``; the task returns its
position (the last column) and its orientation as Tait-Bryan angles in the z-y'-x'' convention
(yaw, pitch, roll: ``R = Rot_z(yaw) Rot_y(pitch) Rot_x(roll)``).

References:
    J. Denavit, R. S. Hartenberg, "A kinematic notation for lower-pair mechanisms based on
    matrices", J. Appl. Mech. 22 (1955) 215-221.
    Universal Robots, "DH parameters for calculations of kinematics and dynamics" (the UR5 row).
    B. Siciliano, L. Sciavicco, L. Villani, G. Oriolo, "Robotics: Modelling, Planning and
    Control", Springer 2009, secs. 2.4.2 (roll-pitch-yaw angles) and 2.8-2.9 (DH convention).

Lengths in metres, angles in radians, ``float32``.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

__all__ = ["UR5_DH", "dh_matrix_parts", "robot_arm_6dof", "robot_arm_6dof_args"]

UR5_DH = (
    # (d, a, alpha) of joints 1..6
    (0.089159, 0.0, np.pi / 2),
    (0.0, -0.425, 0.0),
    (0.0, -0.39225, 0.0),
    (0.10915, 0.0, np.pi / 2),
    (0.09465, 0.0, -np.pi / 2),
    (0.0823, 0.0, 0.0),
)
"""Denavit-Hartenberg parameters ``(d [m], a [m], alpha [rad])`` of the UR5's six joints."""


def dh_matrix_parts(d: float, a: float, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The constant ``4 x 4`` matrices ``(C, S, K)`` with ``A(theta) = cos(theta) C + sin(theta) S + K``.

    ``cos(alpha)`` and ``sin(alpha)`` are rounded to 12 decimals so that right angles give exact
    zeros.
    """
    ca, sa = round(float(np.cos(alpha)), 12), round(float(np.sin(alpha)), 12)
    C = np.zeros((4, 4), np.float32)
    S = np.zeros((4, 4), np.float32)
    K = np.zeros((4, 4), np.float32)
    C[0, 0], C[1, 1], C[1, 2], C[0, 3] = 1.0, ca, -sa, a
    S[1, 0], S[0, 1], S[0, 2], S[1, 3] = 1.0, -ca, sa, a
    K[2, 1], K[2, 2], K[2, 3], K[3, 3] = sa, ca, d, 1.0
    return C, S, K


_PARTS = tuple(dh_matrix_parts(*row) for row in UR5_DH)
_UNIT = np.eye(4, dtype=np.float32)


def _joint(theta: Any, parts: tuple[np.ndarray, np.ndarray, np.ndarray]) -> Any:
    C, S, K = parts
    return jnp.cos(theta) * C + jnp.sin(theta) * S + K


def robot_arm_6dof(theta_1: Any, theta_2: Any, theta_3: Any, theta_4: Any, theta_5: Any, theta_6: Any) -> tuple[Any, Any, Any, Any]:
    """Forward kinematics of the UR5.

    Args:
        theta_1..theta_6: joint angles (scalars, radians).

    Returns:
        ``(position (3,), roll, pitch, yaw)``: the end-effector position in the base frame
        (metres) and its Tait-Bryan angles (radians).
    """
    thetas = (theta_1, theta_2, theta_3, theta_4, theta_5, theta_6)
    pose = _joint(thetas[0], _PARTS[0])
    for theta, parts in zip(thetas[1:], _PARTS[1:]):
        pose = pose @ _joint(theta, parts)
    e1, e2, e3, e4 = _UNIT
    position = _UNIT[:3] @ (pose @ e4)
    first_column = pose @ e1
    third_row = e3 @ pose
    r11, r21, r31 = first_column @ e1, first_column @ e2, first_column @ e3
    r32, r33 = third_row @ e2, third_row @ e3
    yaw = jnp.arctan2(r21, r11)
    pitch = jnp.arctan2(-r31, jnp.sqrt(r32 * r32 + r33 * r33))
    roll = jnp.arctan2(r32, r33)
    return position, roll, pitch, yaw


def robot_arm_6dof_args() -> tuple[Any, ...]:
    """A working pose away from singularities: ``(0.3, -1.2, 1.4, -0.9, 1.1, 0.5)`` rad."""
    return tuple(jnp.float32(t) for t in (0.3, -1.2, 1.4, -0.9, 1.1, 0.5))

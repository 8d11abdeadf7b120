"""Optimal control of a reaction-diffusion PDE with randomly sampled storage of the field.

The problem (a one-group diffusion model of a reactor whose local multiplication is controlled):

    d phi / dt = D * laplacian(phi) + c(x, y, t; theta) * phi      on the unit square,
    phi = 0 on the boundary,   phi(x, y, 0) = sin(pi x) sin(pi y),

solved on the ``G x G`` interior points of a uniform grid (``h = 1 / (G + 1)``) with ``N``
explicit FTCS steps ``phi_{n+1} = phi_n + dt * (D * lap_h(phi_n) + c_n * phi_n)``. The control
``c`` is a 7-parameter Fourier expansion (:data:`BASIS_NAMES`): a mean rate plus left/right and
down/up tilts, constant and rotating once over the horizon. The loss is the time-averaged squared
error to a Gaussian bump that circles the centre,

    L(theta) = 1/(N+1) * sum_{n=0..N} mean_xy (phi_n - target_n)^2.

Reverse mode needs ``phi_n`` at every step: for the loss residual ``phi_n - target_n`` and for the
control derivative ``dt * lambda_{n+1} * phi_n * basis_n``. The randomized estimator stores only
``k = keep * G^2`` values of each ``phi_n`` (``k`` uniform draws with replacement, each with
weight ``G^2 / k``) and rebuilds an unbiased ``phi_hat_n`` in the backward pass.

The gradient is bilinear in the stored fields, so it stays unbiased only if no product pairs a
sampled field with itself. Layouts (:class:`StorageScheme`):

* ``"split"`` (default): step ``n`` stores ``phi_n`` once and uses ``phi_hat_n`` for the residual
  of ``phi_n`` and for the control derivative of step ``n``; the latter multiplies
  ``lambda_{n+1}``, which only depends on the samples of later steps. Unbiased.
* ``"fused-shared"``: step ``n`` owns the loss term of its *output* ``phi_{n+1}`` and rebuilds it
  from the one sample of ``phi_n``, which then enters both the residual and the control
  derivative of the same step: ``E[phi_hat * phi_hat] != phi * phi``. **Biased** (the flaw of the
  published reference implementation); kept as a negative control.
* ``"fused-independent"``: the fused layout with two independent half-size samples, one per use.
  Unbiased, at the same memory.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

__all__ = [
    "BASIS_NAMES",
    "LAYOUTS",
    "ReactionDiffusion",
    "StorageScheme",
    "checkpointed_loss",
    "exact_loss",
    "rad_gradient",
    "rad_loss",
    "random_indices",
    "stored_fraction",
]

BASIS_NAMES = ("mean", "tilt_x", "tilt_y", "tilt_x_cos", "tilt_x_sin", "tilt_y_cos", "tilt_y_sin")
"""The 7 control parameters: ``c = th0 + cos(pi x) (th1 + th3 cos wt + th4 sin wt)
+ cos(pi y) (th2 + th5 cos wt + th6 sin wt)``, ``w = 2 pi / T``."""

LAYOUTS = ("split", "fused-shared", "fused-independent")
"""How the sampled fields are used (see the module docstring)."""


@dataclass(frozen=True)
class ReactionDiffusion:
    """The control problem's constants (hashable; a static argument).

    Attributes:
        grid: ``G``, interior grid points per side.
        steps: ``N``, explicit time steps.
        diffusion: ``D``.
        duration: ``T``, the time horizon (``dt = T / N``).
        target_radius: radius of the target's circular path.
        target_width: standard deviation of the Gaussian target.
    """

    grid: int = 32
    steps: int = 300
    diffusion: float = 0.05
    duration: float = 1.0
    target_radius: float = 0.2
    target_width: float = 0.15

    def __post_init__(self) -> None:
        if self.grid < 1 or self.steps < 1:
            raise ValueError(f"grid and steps must be positive, got grid={self.grid}, steps={self.steps}")
        courant = self.diffusion * self.dt / self.h**2
        if courant > 0.25:
            raise ValueError(
                f"FTCS is unstable: D*dt/h^2 = {courant:.3f} > 0.25 (grid={self.grid}, steps={self.steps}, "
                f"D={self.diffusion}, T={self.duration}); use more steps"
            )

    @property
    def h(self) -> float:
        return 1.0 / (self.grid + 1)

    @property
    def dt(self) -> float:
        return self.duration / self.steps

    def _coordinates(self) -> tuple[np.ndarray, np.ndarray]:
        axis = self.h * np.arange(1, self.grid + 1)
        return np.meshgrid(axis, axis, indexing="ij")

    def initial(self) -> jax.Array:
        """``phi_0``: float32 ``[G, G]``."""
        x, y = self._coordinates()
        return jnp.asarray(np.sin(np.pi * x) * np.sin(np.pi * y), jnp.float32)

    def basis(self, n: jax.Array) -> jax.Array:
        """The 7 basis functions at step ``n`` (int): float32 ``[7, G, G]``."""
        x, y = self._coordinates()
        cx, cy = jnp.asarray(np.cos(np.pi * x), jnp.float32), jnp.asarray(np.cos(np.pi * y), jnp.float32)
        phase = 2.0 * jnp.pi * n * self.dt / self.duration
        cos, sin = jnp.cos(phase), jnp.sin(phase)
        ones = jnp.ones_like(cx)
        return jnp.stack([ones, cx, cy, cx * cos, cx * sin, cy * cos, cy * sin])

    def target(self, n: jax.Array) -> jax.Array:
        """The target field at step ``n`` (int): float32 ``[G, G]``."""
        x, y = self._coordinates()
        phase = 2.0 * jnp.pi * n * self.dt / self.duration
        centre_x = 0.5 + self.target_radius * jnp.cos(phase)
        centre_y = 0.5 + self.target_radius * jnp.sin(phase)
        distance2 = (x - centre_x) ** 2 + (y - centre_y) ** 2
        return jnp.exp(-distance2 / (2.0 * self.target_width**2)).astype(jnp.float32)

    def laplacian(self, phi: jax.Array) -> jax.Array:
        """5-point Laplacian with zero boundary values (self-adjoint): ``[G, G] -> [G, G]``."""
        padded = jnp.pad(phi, 1)
        neighbours = padded[2:, 1:-1] + padded[:-2, 1:-1] + padded[1:-1, 2:] + padded[1:-1, :-2]
        return (neighbours - 4.0 * phi) / self.h**2

    def step(self, phi: jax.Array, theta: jax.Array, n: jax.Array) -> jax.Array:
        """One FTCS step ``phi_n -> phi_{n+1}`` with control ``theta`` (``[7]``)."""
        rate = jnp.tensordot(theta, self.basis(n), axes=1)
        return phi + self.dt * (self.diffusion * self.laplacian(phi) + rate * phi)

    def step_transpose(self, cotangent: jax.Array, theta: jax.Array, n: jax.Array) -> jax.Array:
        """The adjoint of :meth:`step` with respect to ``phi`` (it does not depend on ``phi``)."""
        return self.step(cotangent, theta, n)


def exact_loss(problem: ReactionDiffusion, theta: jax.Array) -> jax.Array:
    """``L(theta)`` in plain JAX (standard reverse mode stores every ``phi_n``)."""

    def body(phi, n):
        error = jnp.mean((phi - problem.target(n)) ** 2)
        return problem.step(phi, theta, n), error

    last, errors = lax.scan(body, problem.initial(), jnp.arange(problem.steps))
    final = jnp.mean((last - problem.target(problem.steps)) ** 2)
    return (jnp.sum(errors) + final) / (problem.steps + 1)


def checkpointed_loss(problem: ReactionDiffusion, theta: jax.Array, segment: int) -> jax.Array:
    """``L(theta)`` with exact gradients under gradient checkpointing: the ``N`` steps run in
    segments of ``segment`` steps wrapped in :func:`jax.checkpoint`, so reverse mode stores only
    each segment's initial field and recomputes (and stores, one segment at a time) the rest.

    Raises:
        ValueError: ``segment`` does not divide ``N``.
    """
    if segment < 1 or problem.steps % segment:
        raise ValueError(f"segment must divide the {problem.steps} steps, got {segment}")
    scheme = StorageScheme(1.0)

    @jax.checkpoint
    def run_segment(phi, first):
        def body(phi, n):
            return _split_step(problem, scheme, phi, theta, jax.random.key(0), n)

        return lax.scan(body, phi, first + jnp.arange(segment))

    last, errors = lax.scan(run_segment, problem.initial(), segment * jnp.arange(problem.steps // segment))
    final = jnp.mean((last - problem.target(problem.steps)) ** 2)
    return (jnp.sum(errors) + final) / (problem.steps + 1)


def random_indices(key: jax.Array, n: jax.Array, size: int, count: int, parts: int) -> jax.Array:
    """The samples of step ``n``: ``parts`` independent draws of ``count`` uniform indices into
    ``range(size)``, with replacement, from ``fold_in(key, n)``: int32 ``[parts, count]``."""
    return jax.random.randint(jax.random.fold_in(key, n), (parts, count), 0, size, dtype=jnp.int32)


Draw = Callable[[jax.Array, jax.Array, int, int, int], jax.Array]


@dataclass(frozen=True)
class StorageScheme:
    """How much of each field is stored, and how the samples are used (hashable).

    Attributes:
        keep: fraction of the ``G^2`` values of each field that is stored (1.0: exact storage).
        layout: one of :data:`LAYOUTS`.
        rescale: whether samples are rescaled by ``G^2 / k`` (``False``: biased negative control).
        draw: ``(key, n, size, count, parts) -> int32 [parts, count]``, the sampled indices of
            step ``n``; it is called in the forward and again in the backward pass, so nothing
            but the sampled values is stored. The default is :func:`random_indices`; tests pass
            a table lookup (with an integer "key") to enumerate every possible draw.
    """

    keep: float = 1.0
    layout: str = "split"
    rescale: bool = True
    draw: Draw = random_indices

    def __post_init__(self) -> None:
        if not 0.0 < self.keep <= 1.0:
            raise ValueError(f"keep must be in (0, 1], got {self.keep}")
        if self.layout not in LAYOUTS:
            raise ValueError(f"unknown layout {self.layout!r}; choose one of {LAYOUTS}")

    @property
    def parts(self) -> int:
        """Independent samples per step (2 for ``"fused-independent"``)."""
        return 2 if self.layout == "fused-independent" else 1

    def count(self, size: int) -> int:
        """Values stored per sample (each of the :attr:`parts` samples) for fields of ``size``."""
        return max(1, round(self.keep * size) // self.parts)

    @property
    def exact(self) -> bool:
        return self.keep == 1.0


def _store(scheme: StorageScheme, phi: jax.Array, key: jax.Array, n: jax.Array) -> jax.Array:
    """The stored values of ``phi_n``: ``[parts, k]`` (or the whole field when exact)."""
    if scheme.exact:
        return phi
    idx = scheme.draw(key, n, phi.size, scheme.count(phi.size), scheme.parts)
    return phi.reshape(-1)[idx]


def _rebuild(scheme: StorageScheme, stored: jax.Array, key: jax.Array, n: jax.Array, shape: tuple[int, int], part: int) -> jax.Array:
    """The unbiased stand-in ``phi_hat`` from sample ``part`` (``[G, G]``)."""
    if scheme.exact:
        return stored
    size = shape[0] * shape[1]
    count = scheme.count(size)
    idx = scheme.draw(key, n, size, count, scheme.parts)[part]
    weight = size / count if scheme.rescale else 1.0
    return jnp.zeros(size, stored.dtype).at[idx].add(weight * stored[part]).reshape(shape)


def _control_gradient(problem: ReactionDiffusion, cotangent: jax.Array, phi: jax.Array, n: jax.Array) -> jax.Array:
    """``d/d theta`` of ``<cotangent, step(phi, theta, n)>``: ``dt * sum(cot * phi * basis)`` (``[7]``)."""
    return problem.dt * jnp.tensordot(problem.basis(n), cotangent * phi, axes=2)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1))
def _split_step(problem, scheme, phi, theta, key, n):
    error = jnp.mean((phi - problem.target(n)) ** 2)
    return problem.step(phi, theta, n), error


def _split_step_fwd(problem, scheme, phi, theta, key, n):
    out = _split_step(problem, scheme, phi, theta, key, n)
    return out, (_store(scheme, phi, key, n), theta, key, n)


def _split_step_bwd(problem, scheme, residual, cotangents):
    stored, theta, key, n = residual
    next_bar, error_bar = cotangents
    phi_hat = _rebuild(scheme, stored, key, n, next_bar.shape, 0)
    residual_bar = error_bar * 2.0 * (phi_hat - problem.target(n)) / phi_hat.size
    phi_bar = problem.step_transpose(next_bar, theta, n) + residual_bar
    return phi_bar, _control_gradient(problem, next_bar, phi_hat, n), None, None


_split_step.defvjp(_split_step_fwd, _split_step_bwd)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1))
def _fused_step(problem, scheme, phi, theta, key, n):
    phi_next = problem.step(phi, theta, n)
    return phi_next, jnp.mean((phi_next - problem.target(n + 1)) ** 2)


def _fused_step_fwd(problem, scheme, phi, theta, key, n):
    out = _fused_step(problem, scheme, phi, theta, key, n)
    return out, (_store(scheme, phi, key, n), theta, key, n)


def _fused_step_bwd(problem, scheme, residual, cotangents):
    stored, theta, key, n = residual
    next_bar, error_bar = cotangents
    shape = next_bar.shape
    residual_source = _rebuild(scheme, stored, key, n, shape, 0)
    control_source = _rebuild(scheme, stored, key, n, shape, scheme.parts - 1)
    next_hat = problem.step(residual_source, theta, n)
    total_bar = next_bar + error_bar * 2.0 * (next_hat - problem.target(n + 1)) / next_hat.size
    return problem.step_transpose(total_bar, theta, n), _control_gradient(problem, total_bar, control_source, n), None, None


_fused_step.defvjp(_fused_step_fwd, _fused_step_bwd)


def rad_loss(problem: ReactionDiffusion, theta: jax.Array, key: jax.Array, scheme: StorageScheme = StorageScheme()) -> jax.Array:
    """``L(theta)`` (its value is exact) whose reverse mode stores ``scheme.keep`` of each field.

    Args:
        theta: float32 ``[7]`` control parameters.
        key: the key given to ``scheme.draw`` (a PRNG key for the default draw); the backward
            pass regenerates each step's indices from it, so it is the only random state kept.
        scheme: the storage scheme.
    """
    phi0 = problem.initial()
    steps = jnp.arange(problem.steps + 1 if scheme.layout == "split" else problem.steps)
    step = _split_step if scheme.layout == "split" else _fused_step

    def body(phi, n):
        return step(problem, scheme, phi, theta, key, n)

    _, errors = lax.scan(body, phi0, steps)
    if scheme.layout == "split":
        return jnp.sum(errors) / (problem.steps + 1)
    initial_error = jnp.mean((phi0 - problem.target(0)) ** 2)
    return (initial_error + jnp.sum(errors)) / (problem.steps + 1)


def rad_gradient(problem: ReactionDiffusion, theta: jax.Array, key: jax.Array, scheme: StorageScheme = StorageScheme()) -> jax.Array:
    """One randomized estimate of ``dL/dtheta`` (``[7]``); ``key`` drives every step's sample."""
    return jax.grad(rad_loss, argnums=1)(problem, theta, key, scheme)


def stored_fraction(problem: ReactionDiffusion, scheme: StorageScheme) -> float:
    """Nominal fraction of field values stored per step (``parts * k / G^2``)."""
    size = problem.grid**2
    return 1.0 if scheme.exact else scheme.parts * scheme.count(size) / size


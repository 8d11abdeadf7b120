"""Random compression of activations: what a layer stores for its backward pass.

A :class:`Sampler` says how a layer keeps its input ``x`` (viewed per example as a flat vector of
``D`` features, shape ``[B, D]``) between the forward and the backward pass, and how the backward
pass rebuilds an unbiased stand-in ``x_hat`` with ``E[x_hat] = x``. Because a weight gradient is
linear in the layer input (``dW = x^T g`` for a dense layer, a correlation for a convolution), the
weight gradient computed from ``x_hat`` is unbiased.

Kinds (``k = Sampler.count(D)`` values are stored per example):

* ``"exact"``: store ``x`` itself (the exact-gradient baseline).
* ``"same"``: draw ``k`` feature indices uniformly *with replacement*, the same for every example,
  store ``x[:, idx]`` and rebuild ``x_hat = (D / k) * sum_m e_{idx_m} x[:, idx_m]``.
* ``"different"``: as ``"same"`` but every example draws its own ``k`` indices.
* ``"active"``: every example draws its ``k`` indices with replacement among its *active* features
  (those whose ReLU bit is set; the bits are stored anyway), rescaled by ``nnz / k``. Inactive
  features are exactly zero, so nothing is lost by never sampling them, and the variance falls by
  the fraction of active units.
* ``"projection"``: a Rademacher random projection ``x R`` with ``R`` of shape ``[D, k]``, entries
  ``+-1/sqrt(k)`` (``E[R R^T] = I``), the same for the whole minibatch; ``x_hat = (x R) R^T``.

``replace=False`` draws the indices of ``"same"``, ``"different"`` and ``"active"`` without
replacement (labels ``"...-wor"``): no value is stored twice, and the variance is lower.

Indices and projection matrices are never stored: the backward pass regenerates them from the
layer's PRNG key (and, for ``"active"``, from the stored ReLU bits), so the residuals hold only
the sampled values. ``rescale=False`` drops the ``D / k`` (or ``1/sqrt(k)``) factor: a
deliberately biased variant used as the negative control of the unbiasedness tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
from jax import lax

__all__ = [
    "KINDS",
    "Sampler",
    "compress",
    "pack_bits",
    "reconstruct",
    "sample_indices",
    "scatter",
    "unpack_bits",
]

KINDS = ("exact", "same", "different", "active", "projection")
"""The sampler kinds, see the module docstring."""


@dataclass(frozen=True)
class Sampler:
    """How a layer stores its input for the backward pass (hashable: a static argument).

    Attributes:
        kind: one of :data:`KINDS`.
        keep: the fraction of each example's ``D`` input values that is stored, in ``(0, 1]``
            (ignored by ``"exact"``).
        rescale: whether the rebuilt input is rescaled to be unbiased; ``False`` is the biased
            negative control.
        replace: whether indices are drawn with replacement (``"same"``, ``"different"``,
            ``"active"``); without replacement no value is stored twice and the variance is lower.
    """

    kind: str = "exact"
    keep: float = 1.0
    rescale: bool = True
    replace: bool = True

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown sampler kind {self.kind!r}; choose one of {KINDS}")
        if not 0.0 < self.keep <= 1.0:
            raise ValueError(f"sampler keep fraction must be in (0, 1], got {self.keep}")

    @property
    def is_exact(self) -> bool:
        """Whether the layer stores its whole input."""
        return self.kind == "exact"

    @property
    def label(self) -> str:
        """A short name: the kind, ``-wor`` when drawn without replacement, ``-unscaled`` when
        not rescaled (e.g. ``"active-wor"``); :meth:`from_label` inverts it."""
        name = self.kind
        if not self.replace and self.kind in ("same", "different", "active"):
            name += "-wor"
        return name if self.rescale else name + "-unscaled"

    @classmethod
    def from_label(cls, label: str, keep: float = 1.0) -> Sampler:
        """The sampler called ``label`` (see :attr:`label`) with keep fraction ``keep``.

        Raises:
            ValueError: an unknown label.
        """
        parts = label.split("-")
        kind, flags = parts[0], set(parts[1:])
        if kind not in KINDS or not flags <= {"wor", "unscaled"} or len(flags) != len(parts) - 1:
            raise ValueError(f"unknown sampler label {label!r}: use a kind {KINDS} with optional '-wor' / '-unscaled'")
        return cls(kind, 1.0 if kind == "exact" else keep, rescale="unscaled" not in flags, replace="wor" not in flags)

    def count(self, size: int) -> int:
        """Number ``k`` of values stored per example for inputs of ``size`` features."""
        if self.is_exact:
            return size
        return max(1, round(self.keep * size))


def sample_indices(sampler: Sampler, key: jax.Array, batch: int, size: int, active: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
    """The sampled feature indices and the weight of each sampled value.

    Every feature ``i`` of an example is sampled with expected multiplicity ``E[n_i]`` and given
    the weight ``1 / E[n_i]``, so that ``x_hat = sum(weight * x_i * e_i)`` has ``E[x_hat] = x``:

    * with replacement, ``k`` uniform draws among ``n`` candidates (all ``D`` features, or the
      ``nnz`` active ones): ``E[n_i] = k / n``;
    * without replacement, the ``min(k, n)`` candidates with the smallest random priorities:
      ``E[n_i] = min(k, n) / n``. An ``"active"`` example with ``nnz <= k`` is stored exactly;
      extra picks fall on inactive (zero) features and contribute nothing.

    Args:
        sampler: a ``"same"``, ``"different"`` or ``"active"`` sampler.
        key: PRNG key (consumed).
        batch, size: ``B`` and ``D``.
        active: ``[B, D]`` bool, the ReLU bits (required by ``"active"``).

    Returns:
        ``idx``: int32 ``[k]`` for ``"same"``, ``[B, k]`` otherwise; ``weight``: float32 ``[]``
        for ``"same"``, ``[B, 1]`` otherwise.
    """
    k = sampler.count(size)
    if sampler.kind == "same":
        if sampler.replace:
            idx = jax.random.randint(key, (k,), 0, size, dtype=jnp.int32)
        else:
            idx = jax.random.choice(key, size, (k,), replace=False).astype(jnp.int32)
        weight = jnp.float32(size / k)
    elif sampler.kind == "different":
        if sampler.replace:
            idx = jax.random.randint(key, (batch, k), 0, size, dtype=jnp.int32)
        else:
            _, idx = lax.top_k(jax.random.uniform(key, (batch, size)), k)
        weight = jnp.full((batch, 1), size / k, jnp.float32)
    elif sampler.kind == "active":
        if active is None:
            raise ValueError("the 'active' sampler needs the ReLU bits of its input (use a relu_* layer)")
        if sampler.replace:
            counts = jnp.cumsum(active.astype(jnp.int32), axis=1)  # [B, D]: active units so far
            nnz = counts[:, -1]
            u = jax.random.uniform(key, (batch, k))
            rank = jnp.minimum(jnp.floor(u * nnz[:, None]).astype(jnp.int32), jnp.maximum(nnz[:, None] - 1, 0))
            idx = jax.vmap(lambda c, r: jnp.searchsorted(c, r + 1, side="left"))(counts, rank)
            idx = jnp.minimum(idx, size - 1)
            picks = jnp.full_like(nnz, k)
        else:
            nnz = jnp.sum(active, axis=1, dtype=jnp.int32)
            priority = jnp.where(active, jax.random.uniform(key, (batch, size)), -1.0)
            _, idx = lax.top_k(priority, k)
            picks = jnp.minimum(nnz, k)
        weight = jnp.where(nnz > 0, nnz / jnp.maximum(picks, 1), 0.0)[:, None].astype(jnp.float32)
    else:
        raise ValueError(f"sampler kind {sampler.kind!r} does not sample indices")
    if not sampler.rescale:
        weight = jnp.ones_like(weight)
    return idx.astype(jnp.int32), weight


def _projection(sampler: Sampler, key: jax.Array, size: int) -> jax.Array:
    """The ``[D, k]`` Rademacher matrix (entries ``+-1/sqrt(k)``, or ``+-1`` without rescaling)."""
    k = sampler.count(size)
    signs = jax.random.rademacher(key, (size, k), dtype=jnp.float32)
    return signs / jnp.sqrt(jnp.float32(k)) if sampler.rescale else signs


def compress(sampler: Sampler, key: jax.Array, x: jax.Array, active: jax.Array | None = None) -> jax.Array:
    """What is stored of ``x``: float32 ``[B, k]`` (``[B, D]`` for ``"exact"``).

    Args:
        x: ``[B, D]`` the layer input, one flat row per example.
        active: ``[B, D]`` bool ReLU bits (only the ``"active"`` kind reads them).
    """
    if sampler.is_exact:
        return x
    batch, size = x.shape
    if sampler.kind == "projection":
        return x @ _projection(sampler, key, size)
    idx, _ = sample_indices(sampler, key, batch, size, active)
    if idx.ndim == 1:
        return x[:, idx]
    return jnp.take_along_axis(x, idx, axis=1)


def scatter(values: jax.Array, idx: jax.Array, weight: jax.Array, size: int, zeros: jax.Array | None = None) -> jax.Array:
    """``x_hat = sum_m weight * values[:, m] * e_{idx[:, m]}``: float32 ``[B, D]``.

    Args:
        values: ``[B, k]`` the stored values.
        idx, weight: as returned by :func:`sample_indices` (``idx`` ``[k]`` or ``[B, k]``).
        size: ``D``.
        zeros: the ``[B, D]`` zero buffer to add into (default: a fresh one).
    """
    batch = values.shape[0]
    if zeros is None:
        zeros = jnp.zeros((batch, size), values.dtype)
    weighted = values * weight
    if idx.ndim == 1:
        return zeros.at[:, idx].add(weighted)
    return zeros.at[jnp.arange(batch)[:, None], idx].add(weighted)


def reconstruct(
    sampler: Sampler,
    key: jax.Array,
    stored: jax.Array,
    size: int,
    active: jax.Array | None = None,
    zeros: jax.Array | None = None,
) -> jax.Array:
    """The unbiased stand-in ``x_hat`` (float32 ``[B, D]``) rebuilt from :func:`compress`'s output.

    ``key`` and ``active`` must be the ones given to :func:`compress`; ``zeros`` as in
    :func:`scatter`.
    """
    if sampler.is_exact:
        return stored
    if sampler.kind == "projection":
        return stored @ _projection(sampler, key, size).T
    idx, weight = sample_indices(sampler, key, stored.shape[0], size, active)
    return scatter(stored, idx, weight, size, zeros)


def pack_bits(mask: jax.Array) -> jax.Array:
    """Pack a ``[B, D]`` bool mask into uint8 ``[B, ceil(D / 8)]`` (1 bit per unit)."""
    return jnp.packbits(mask, axis=-1)


def unpack_bits(packed: jax.Array, size: int) -> jax.Array:
    """Inverse of :func:`pack_bits`: bool ``[B, size]``."""
    return jnp.unpackbits(packed, axis=-1, count=size).astype(bool)

"""Neural-network layers whose backward pass uses randomly compressed activations.

Each layer is a :func:`jax.custom_vjp` whose forward pass saves, as residuals, only what its
:class:`~elimgym.rad.sampling.Sampler` keeps of the layer input (plus the PRNG key, 8 bytes), and
whose backward pass computes

* the **weight gradient** from the unbiased stand-in ``x_hat`` (``E[x_hat] = x``): unbiased;
* the **input gradient** ``g W^T`` (or the transposed convolution) and the **bias gradient**
  ``sum(g)``: exact, since they do not need the input.

The ``relu_*`` layers apply a ReLU to their input first and store its derivative as 1 bit per unit
(packed into uint8), so the gradient that flows further back is exact too. With the ``"exact"``
sampler they store the ReLU output ``h`` in float32 and read the derivative from ``h > 0``: the
leanest exact layer, which is the memory baseline.

Shapes: dense inputs ``[B, D]``, weights ``[D, H]``, bias ``[H]``; convolutions are NHWC with HWIO
kernels ``[kh, kw, C, F]``, stride 1, ``SAME`` padding; recurrent sequences are ``[B, T, D]``.
All values are float32.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
from jax import lax

from elimgym.rad.sampling import Sampler, compress, pack_bits, reconstruct, unpack_bits

__all__ = ["EXACT", "conv2d", "dense", "recurrent", "relu", "relu_conv2d", "relu_dense"]

EXACT = Sampler("exact")
"""The sampler that stores the whole input (exact gradients)."""


@dataclass(frozen=True)
class _Dense:
    """``x @ W``: ``[B, D] x [D, H] -> [B, H]``."""

    def apply(self, x: jax.Array, W: jax.Array) -> jax.Array:
        return x @ W

    def input_shape(self, out_shape: tuple[int, ...], w_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (out_shape[0], w_shape[0])


@dataclass(frozen=True)
class _Conv2d:
    """Stride-1 ``SAME`` convolution: ``[B, H, W, C] x [kh, kw, C, F] -> [B, H, W, F]``."""

    def apply(self, x: jax.Array, W: jax.Array) -> jax.Array:
        return lax.conv_general_dilated(x, W, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))

    def input_shape(self, out_shape: tuple[int, ...], w_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (*out_shape[:-1], w_shape[2])


def _flat(x: jax.Array) -> jax.Array:
    return x.reshape(x.shape[0], -1)


def _after(x: jax.Array | None, *deps: jax.Array | None) -> jax.Array | None:
    """``x`` unchanged (None stays None), but computed only once every array of ``deps`` exists.

    XLA's CPU scheduler places an operation anywhere its operands allow, and optimization
    barriers do not survive its pipeline; a real data dependence (``x + 0 * sum(dep)``: XLA does
    not fold ``0.0 * v``, which could be NaN) is what pins the order. It keeps residuals from
    being computed late in the forward pass (which would keep the full-size input alive) and the
    rebuilt ``x_hat`` from being computed early in the backward pass (which would make every
    layer's full-size ``x_hat`` live at once), and every layer's random numbers from being
    generated up front.
    """
    if x is None:
        return None
    if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
        return jax.random.wrap_key_data(_after(jax.random.key_data(x), *deps), impl=jax.random.key_impl(x))
    zero = sum(0.0 * jnp.sum(dep.astype(jnp.float32)) for dep in deps if dep is not None)
    return x + jnp.asarray(zero).astype(x.dtype)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1, 2))
def _layer(op, relu_input: bool, sampler: Sampler, z, W, b, key):
    x = jnp.maximum(z, 0.0) if relu_input else z
    return op.apply(x, W) + b


def _layer_fwd(op, relu_input: bool, sampler: Sampler, z, W, b, key):
    x = jnp.maximum(z, 0.0) if relu_input else z
    out = op.apply(x, W) + b
    if sampler.is_exact:
        return out, (x, None, W, None)
    if sampler.kind == "active" and not relu_input:
        raise ValueError("the 'active' sampler needs ReLU bits: use relu_dense / relu_conv2d")
    flat = _flat(x)
    active = flat > 0
    bits = pack_bits(active) if relu_input else None
    stored = compress(sampler, _after(key, z), flat, active if sampler.kind == "active" else None)
    out = _after(out, stored, bits)
    return out, (stored, bits, W, key)


def _layer_bwd(op, relu_input: bool, sampler: Sampler, residual, g):
    stored, bits, W, key = residual
    stored, bits, key = (_after(r, g) for r in (stored, bits, key))
    in_shape = op.input_shape(g.shape, W.shape)
    size = math.prod(in_shape[1:])
    if sampler.is_exact:
        x_hat = stored
        mask = stored > 0 if relu_input else None
    else:
        active = unpack_bits(bits, size) if relu_input else None
        zeros = _after(jnp.zeros((g.shape[0], size), g.dtype), g)
        x_hat = reconstruct(sampler, key, stored, size, active if sampler.kind == "active" else None, zeros).reshape(in_shape)
        mask = active.reshape(in_shape) if relu_input else None
    _, vjp = jax.vjp(op.apply, x_hat, W)
    dx, dW = vjp(g)
    db = jnp.sum(g, axis=tuple(range(g.ndim - 1)))
    if relu_input:
        dx = jnp.where(mask, dx, 0.0)
    return _after(dx, dW), dW, db, None


_layer.defvjp(_layer_fwd, _layer_bwd)


def dense(x: jax.Array, W: jax.Array, b: jax.Array, key: jax.Array, sampler: Sampler = EXACT) -> jax.Array:
    """``x @ W + b`` storing what ``sampler`` keeps of ``x`` (``[B, D]``) for the backward pass."""
    return _layer(_Dense(), False, sampler, x, W, b, key)


def relu_dense(z: jax.Array, W: jax.Array, b: jax.Array, key: jax.Array, sampler: Sampler = EXACT) -> jax.Array:
    """``relu(z) @ W + b``; stores the ReLU bits (1 bit/unit) and what ``sampler`` keeps of ``relu(z)``."""
    return _layer(_Dense(), True, sampler, z, W, b, key)


def conv2d(x: jax.Array, W: jax.Array, b: jax.Array, key: jax.Array, sampler: Sampler = EXACT) -> jax.Array:
    """Convolution of ``x`` (``[B, H, W, C]``) storing what ``sampler`` keeps of each example's ``H*W*C`` values."""
    return _layer(_Conv2d(), False, sampler, x, W, b, key)


def relu_conv2d(z: jax.Array, W: jax.Array, b: jax.Array, key: jax.Array, sampler: Sampler = EXACT) -> jax.Array:
    """Convolution of ``relu(z)``; stores the ReLU bits and what ``sampler`` keeps of ``relu(z)``."""
    return _layer(_Conv2d(), True, sampler, z, W, b, key)


@jax.custom_vjp
def relu(z: jax.Array) -> jax.Array:
    """ReLU (any shape ``[B, ...]``) whose derivative is stored as 1 bit per unit, packed in uint8."""
    return jnp.maximum(z, 0.0)


def _relu_fwd(z):
    bits = pack_bits(_flat(z) > 0)
    return _after(jnp.maximum(z, 0.0), bits), bits


def _relu_bwd(bits, g):
    bits = _after(bits, g)
    size = g.size // g.shape[0]
    return (jnp.where(unpack_bits(bits, size).reshape(g.shape), g, 0.0),)


relu.defvjp(_relu_fwd, _relu_bwd)


def recurrent(xs: jax.Array, Wx: jax.Array, Wh: jax.Array, b: jax.Array, key: jax.Array, sampler: Sampler = EXACT) -> jax.Array:
    """A ReLU recurrent layer ``z_t = x_t Wx + relu(z_{t-1}) Wh + b`` with ``relu(z_{-1}) = 0``.

    The input projection ``x_t Wx`` of all steps is one exact product (its residual is the
    argument ``xs``); each step's ``relu(z_{t-1}) Wh`` is a :func:`relu_dense` that stores the ReLU bits and
    what ``sampler`` keeps of the hidden state, with its own key.

    Args:
        xs: ``[B, T, D]`` inputs; Wx: ``[D, H]``; Wh: ``[H, H]``; b: ``[H]``; key: PRNG key.

    Returns:
        ``[B, H]`` the last pre-activation ``z_{T-1}``.
    """
    batch, steps, _ = xs.shape
    inputs = jnp.einsum("btd,dh->tbh", xs, Wx)
    keys = jax.random.split(key, steps)

    def step(z, inputs_and_key):
        x_t, key_t = inputs_and_key
        return x_t + relu_dense(z, Wh, b, key_t, sampler), None

    z0 = jnp.full((batch, Wh.shape[0]), -1.0, inputs.dtype)
    z_last, _ = lax.scan(step, z0, (inputs, keys))
    return z_last

"""Gradient variance of the activation-sampling estimators against the equal-memory baseline.

For a model at fixed parameters, the reference is the **full-data gradient** ``G`` (exact, all
training examples). An estimator is a minibatch of ``B`` examples drawn without replacement plus
the layers' activation sampling; its per-layer error is ``E ||g_layer - G_layer||^2`` (summed
over the entries of the layer's weight matrix), estimated from ``reps`` independent draws.

The **equal-memory baseline** is the exact gradient of a smaller minibatch ``B'`` whose measured
residual memory matches the sampled estimator's at ``B``: activation memory is linear in the
batch size, so ``B' = round(B * memory(sampler, B) / memory(exact, B))``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import optax

from elimgym.rad.layers import EXACT
from elimgym.rad.memory import residual_report
from elimgym.rad.models import Model, Params
from elimgym.rad.sampling import Sampler

__all__ = ["LayerErrors", "equal_memory_batch", "full_gradient", "gradient_errors", "pretrain", "residual_bytes"]


@dataclass(frozen=True)
class LayerErrors:
    """Per-layer mean squared error of a gradient estimator, with its standard error."""

    mse: dict[str, float]
    stderr: dict[str, float]


def full_gradient(model: Model, params: Params, x: jax.Array, y: jax.Array) -> Params:
    """The exact gradient of the mean loss over all of ``(x, y)``."""
    return jax.jit(jax.grad(model.loss))(params, x, y, jax.random.key(0))


def gradient_errors(
    model: Model,
    params: Params,
    x: jax.Array,
    y: jax.Array,
    reference: Params,
    sampler: Sampler,
    batch: int,
    reps: int,
    key: jax.Array,
    chunk: int = 32,
) -> LayerErrors:
    """``E ||g_layer - reference_layer||^2`` per layer over ``reps`` draws of (minibatch, samples).

    Raises:
        ValueError: ``batch`` is not in ``1..len(x)`` or ``reps < 2``.
    """
    if not 1 <= batch <= x.shape[0]:
        raise ValueError(f"batch must be in 1..{x.shape[0]}, got {batch}")
    if reps < 2:
        raise ValueError(f"reps must be at least 2, got {reps}")

    def error(key):
        pick, sample = jax.random.split(key)
        idx = jax.random.choice(pick, x.shape[0], (batch,), replace=False)
        grads = jax.grad(model.loss)(params, x[idx], y[idx], sample, sampler)
        return {layer: jnp.sum((grads[layer]["W"] - reference[layer]["W"]) ** 2) for layer in model.layers}

    errors = jax.jit(lambda keys: jax.lax.map(error, keys, batch_size=chunk))(jax.random.split(key, reps))
    return LayerErrors(
        {layer: float(v.mean()) for layer, v in errors.items()},
        {layer: float(v.std(ddof=1) / math.sqrt(reps)) for layer, v in errors.items()},
    )


def residual_bytes(model: Model, params: Params, x: jax.Array, y: jax.Array, sampler: Sampler, batch: int) -> int:
    """Measured bytes of computed residuals of one gradient step at minibatch size ``batch``."""
    loss = lambda p, xb, yb, k: model.loss(p, xb, yb, k, sampler)
    return residual_report(loss, params, x[:batch], y[:batch], jax.random.key(0)).computed_bytes


def equal_memory_batch(model: Model, params: Params, x: jax.Array, y: jax.Array, sampler: Sampler, batch: int) -> int:
    """The exact minibatch size ``B'`` whose residual memory matches ``sampler`` at ``batch``."""
    ratio = residual_bytes(model, params, x, y, sampler, batch) / residual_bytes(model, params, x, y, EXACT, batch)
    return max(1, round(batch * ratio))


def pretrain(model: Model, params: Params, x: jax.Array, y: jax.Array, steps: int, key: jax.Array, batch: int = 128, lr: float = 1e-3) -> Params:
    """``steps`` of exact-gradient Adam: the "trained" point of the variance study."""
    optimizer = optax.adam(lr)

    @jax.jit
    def step(carry, key):
        params, state = carry
        idx = jax.random.choice(key, x.shape[0], (batch,), replace=False)
        grads = jax.grad(model.loss)(params, x[idx], y[idx], key, EXACT)
        updates, state = optimizer.update(grads, state)
        return (optax.apply_updates(params, updates), state), None

    (params, _), _ = jax.lax.scan(step, (params, optimizer.init(params)), jax.random.split(key, steps))
    return params

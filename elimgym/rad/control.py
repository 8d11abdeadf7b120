"""Optimising the reaction-diffusion control with randomized gradients (checkpointed)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import optax

from elimgym.rad.checkpoint import CheckpointStore
from elimgym.rad.pde import (
    BASIS_NAMES,
    ReactionDiffusion,
    StorageScheme,
    exact_loss,
    rad_loss,
)

__all__ = ["ControlRun", "optimize"]


@dataclass(frozen=True)
class ControlRun:
    """One optimisation of the control ``theta`` (Adam from ``theta = 0``).

    Attributes:
        problem: the PDE.
        scheme: how the fields are stored for the backward pass.
        iterations: Adam steps.
        lr: Adam learning rate.
        seed: PRNG seed of the samples.
        checkpoint_every: iterations between checkpoints.
    """

    problem: ReactionDiffusion
    scheme: StorageScheme
    iterations: int
    lr: float = 0.1
    seed: int = 0
    checkpoint_every: int = 50

    @property
    def name(self) -> str:
        p, s = self.problem, self.scheme
        return (
            f"pde-G{p.grid}-N{p.steps}-{s.layout}-{s.keep:g}-{'r' if s.rescale else 'u'}"
            f"-I{self.iterations}-lr{self.lr:g}-s{self.seed}"
        )


@functools.lru_cache(maxsize=16)
def _compiled_step(problem: ReactionDiffusion, scheme: StorageScheme, lr: float, seed: int):
    """Jitted Adam step ``(state, i) -> (state, loss)`` with the samples of iteration ``i``."""
    optimizer = optax.adam(lr)
    base = jax.random.key(seed)

    @jax.jit
    def step(state, i):
        loss, grad = jax.value_and_grad(rad_loss, argnums=1)(problem, state["theta"], jax.random.fold_in(base, i), scheme)
        updates, opt = optimizer.update(grad, state["opt"])
        return {"theta": optax.apply_updates(state["theta"], updates), "opt": opt}, loss

    return step


@functools.lru_cache(maxsize=4)
def _compiled_loss(problem: ReactionDiffusion):
    return jax.jit(lambda theta: exact_loss(problem, theta))


def optimize(run: ControlRun, store: CheckpointStore | None = None) -> dict:
    """Run the optimisation; returns ``{"loss": [L(theta_i) for i = 0..iterations], "theta": [...]}``.

    ``loss[i]`` is the exact loss at the ``i``-th iterate (the forward pass is exact whatever
    the storage). With a ``store``, progress is checkpointed and resumed.
    """
    store = store or CheckpointStore(None)
    finished = store.load_result(run.name)
    if finished is not None:
        return finished
    optimizer = optax.adam(run.lr)
    theta = jnp.zeros(len(BASIS_NAMES), jnp.float32)
    state = {"theta": theta, "opt": optimizer.init(theta)}
    losses: list[float] = []
    saved = store.load_state(run.name, state)
    if saved is not None:
        state, meta = saved
        losses = meta["loss"]
    step = _compiled_step(run.problem, run.scheme, run.lr, run.seed)
    for i in range(len(losses), run.iterations):
        state, loss = step(state, i)
        losses.append(float(loss))
        if (i + 1) % run.checkpoint_every == 0:
            store.save_state(run.name, state, {"loss": losses})
    final = float(_compiled_loss(run.problem)(state["theta"]))
    result = {"loss": losses + [final], "theta": [float(t) for t in state["theta"]]}
    store.save_result(run.name, result)
    return result

"""The loss, the optimizer and one gradient step.

Loss of a batch of ``B`` states (AlphaZero with Gumbel MuZero targets):

* policy: cross-entropy between the search's improved policy ``pi`` and the prior,
  ``-sum_a pi(a) log softmax(logits)(a)`` (illegal vertices have ``pi = 0``);
* value: squared error between the value (:func:`~agents.alphazero.network.value_from_head`) and
  the game's normalised return from the state, weighted by ``value_weight``.

The optimizer is AdamW after global-norm clipping, with a linear warm-up over the first
``_WARMUP`` updates and a constant rate after it (so extending a run changes nothing already done).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from elimgym import game
from elimgym.game import GameState

from agents.alphazero.baseline import Completions, baseline_of
from agents.alphazero.config import Config
from agents.alphazero.features import network_input
from agents.alphazero.network import PolicyValueNet, value_from_head

__all__ = ["TrainBatch", "LossInfo", "replay_moves", "loss_fn", "make_optimizer", "train_step"]

_WARMUP = 20


class TrainBatch(NamedTuple):
    """A training batch of ``B`` states of capacity ``N`` (arrays, possibly sharded).

    Attributes:
        start: the graphs' initial states (leading axis ``B``).
        order: ``[B, N] int32``: the games' orders (-1 padded).
        move: ``[B] int32``: how many eliminations of ``order`` lead to the state.
        scale: ``[B] float32``: reward normalisers.
        completions: the states' heuristic completions (``costs [B, P]``, ``first [B, P]``).
        policy: ``[B, N] float32``: improved-policy targets.
        value: ``[B] float32``: normalised-return targets.
    """

    start: GameState
    order: jax.Array
    move: jax.Array
    scale: jax.Array
    completions: Completions
    policy: jax.Array
    value: jax.Array


class LossInfo(NamedTuple):
    """Scalars of one step: total loss, its two parts, the prior's entropy, the gradient norm."""

    loss: jax.Array
    policy_loss: jax.Array
    value_loss: jax.Array
    entropy: jax.Array
    grad_norm: jax.Array


def replay_moves(start: GameState, order: jax.Array, move: jax.Array) -> GameState:
    """Play the first ``move[b]`` entries of ``order[b]`` from ``start[b]`` (batched)."""
    n = order.shape[-1]

    def body(state: GameState, column: jax.Array):
        action = jnp.where(column < move, order[:, column], -1)
        stepped = jax.vmap(game.step)(state, action)[0]
        keep = column < move
        state = jax.tree_util.tree_map(
            lambda new, old: jnp.where(keep.reshape((-1,) + (1,) * (new.ndim - 1)), new, old), stepped, state
        )
        return state, None

    final, _ = jax.lax.scan(body, start, jnp.arange(n))
    return final


def loss_fn(model: PolicyValueNet, batch: TrainBatch, value_baseline: str, value_weight: jax.Array) -> tuple[jax.Array, LossInfo]:
    """``(loss, info)`` of a batch (``info.grad_norm`` is 0 here).

    Args:
        value_baseline: ``SearchConfig.value_baseline`` (how the value head is read).
        value_weight: ``TrainConfig.value_weight``.
    """
    states = replay_moves(batch.start, batch.order, batch.move)
    inputs = jax.vmap(network_input)(states, batch.scale, batch.completions)
    logits, u = jax.vmap(model)(inputs)
    log_prior = jax.nn.log_softmax(logits, axis=-1)
    policy_loss = -jnp.mean(jnp.sum(jnp.where(inputs.legal, batch.policy * log_prior, 0.0), axis=-1))
    prior = jnp.exp(log_prior)
    entropy = -jnp.mean(jnp.sum(jnp.where(inputs.legal, prior * log_prior, 0.0), axis=-1))
    value = value_from_head(u, baseline_of(batch.completions), states.terminated, value_baseline)
    value_loss = jnp.mean((value - batch.value) ** 2)
    loss = policy_loss + value_weight * value_loss
    return loss, LossInfo(loss, policy_loss, value_loss, entropy, jnp.zeros(()))


def make_optimizer(config: Config) -> optax.GradientTransformation:
    """Clip, then AdamW with a linear warm-up to ``learning_rate``. Equal settings return the same
    object, so the compiled :func:`train_step` is reused."""
    train = config.train
    return _optimizer(train.learning_rate, train.weight_decay, train.grad_clip)


@functools.lru_cache(maxsize=None)
def _optimizer(learning_rate: float, weight_decay: float, grad_clip: float) -> optax.GradientTransformation:
    schedule = optax.linear_schedule(learning_rate / _WARMUP, learning_rate, _WARMUP)
    return optax.chain(optax.clip_by_global_norm(grad_clip), optax.adamw(schedule, weight_decay=weight_decay))


def train_step(model: PolicyValueNet, opt_state, batch: TrainBatch, config: Config, optimizer: optax.GradientTransformation):
    """One gradient step: ``(model, opt_state, LossInfo)``. Compiled once per value baseline,
    optimizer and batch shape (the rest of ``config`` does not matter to it)."""
    weight = jnp.float32(config.train.value_weight)
    return _train_step(model, opt_state, batch, config.search.value_baseline, weight, optimizer)


@eqx.filter_jit
def _train_step(model, opt_state, batch: TrainBatch, value_baseline: str, value_weight: jax.Array, optimizer):
    (_, info), grads = eqx.filter_value_and_grad(loss_fn, has_aux=True)(model, batch, value_baseline, value_weight)
    updates, opt_state = optimizer.update(grads, opt_state, eqx.filter(model, eqx.is_array))
    model = eqx.apply_updates(model, updates)
    return model, opt_state, info._replace(grad_norm=optax.tree.norm(grads))

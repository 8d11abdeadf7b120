"""Training curves at fixed memory, with checkpoints so that long runs resume where they stopped."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import optax

from elimgym.rad.checkpoint import CheckpointStore
from elimgym.rad.models import Model
from elimgym.rad.sampling import Sampler

__all__ = ["TrainingRun", "train"]


@dataclass(frozen=True)
class TrainingRun:
    """One training configuration.

    Attributes:
        model: the classifier.
        sampler: how hidden layers store activations.
        batch: minibatch size.
        steps: Adam steps.
        lr: Adam learning rate.
        eval_every: steps between evaluations (full training loss, test accuracy).
        seed: PRNG seed (initial parameters, minibatches, samples).
    """

    model: Model
    sampler: Sampler
    batch: int
    steps: int
    lr: float = 1e-3
    eval_every: int = 50
    seed: int = 0

    def __post_init__(self) -> None:
        if self.batch < 1 or self.eval_every < 1 or self.steps < self.eval_every or self.steps % self.eval_every:
            raise ValueError(
                f"training run needs batch >= 1 and steps a positive multiple of eval_every "
                f"(got batch={self.batch}, steps={self.steps}, eval_every={self.eval_every})"
            )

    @property
    def name(self) -> str:
        """A checkpoint name unique to the configuration."""
        return f"train-{self.model.name}-{self.sampler.label}-{self.sampler.keep:g}-B{self.batch}-S{self.steps}-lr{self.lr:g}-e{self.eval_every}-s{self.seed}"


@functools.lru_cache(maxsize=16)
def _compiled(model: Model, sampler: Sampler, batch: int, eval_every: int, lr: float, seed: int):
    """Jitted ``block(state, first_step, x, y)`` (``eval_every`` Adam steps) and
    ``evaluate(params, x_train, y_train, x_test, y_test)``, shared by runs of one configuration."""
    optimizer = optax.adam(lr)
    _, loop_key = jax.random.split(jax.random.key(seed))

    @jax.jit
    def block(state, first_step, x_train, y_train):
        def step(state, i):
            key = jax.random.fold_in(loop_key, i)
            pick, sample = jax.random.split(key)
            idx = jax.random.choice(pick, x_train.shape[0], (batch,), replace=False)
            grads = jax.grad(model.loss)(state["params"], x_train[idx], y_train[idx], sample, sampler)
            updates, opt = optimizer.update(grads, state["opt"])
            return {"params": optax.apply_updates(state["params"], updates), "opt": opt}, None

        state, _ = jax.lax.scan(step, state, first_step + jnp.arange(eval_every))
        return state

    @jax.jit
    def evaluate(params, x_train, y_train, x_test, y_test):
        return model.loss(params, x_train, y_train, jax.random.key(0)), model.accuracy(params, x_test, y_test)

    return block, evaluate


def train(run: TrainingRun, x_train, y_train, x_test, y_test, store: CheckpointStore | None = None) -> list[dict]:
    """Train and return the curve: ``[{"step", "train_loss", "test_accuracy"}]`` every
    ``eval_every`` steps (step 0 included).

    With a ``store``, the state is saved after every evaluation and a rerun resumes from it;
    the finished curve is saved as a result and returned at once on later calls.
    """
    store = store or CheckpointStore(None)
    finished = store.load_result(run.name)
    if finished is not None:
        return finished
    model, optimizer = run.model, optax.adam(run.lr)
    x_train, y_train, x_test, y_test = map(jnp.asarray, (x_train, y_train, x_test, y_test))
    init_key, _ = jax.random.split(jax.random.key(run.seed))
    params = model.init(init_key)
    state = {"params": params, "opt": optimizer.init(params)}
    history: list[dict] = []
    start = 0
    saved = store.load_state(run.name, state)
    if saved is not None:
        state, meta = saved
        start, history = meta["step"], meta["history"]

    block, evaluate = _compiled(model, run.sampler, run.batch, run.eval_every, run.lr, run.seed)
    if start == 0:
        loss, accuracy = evaluate(state["params"], x_train, y_train, x_test, y_test)
        history = [{"step": 0, "train_loss": float(loss), "test_accuracy": float(accuracy)}]
    for first in range(start, run.steps, run.eval_every):
        state = block(state, first, x_train, y_train)
        loss, accuracy = evaluate(state["params"], x_train, y_train, x_test, y_test)
        history.append({"step": first + run.eval_every, "train_loss": float(loss), "test_accuracy": float(accuracy)})
        store.save_state(run.name, state, {"step": first + run.eval_every, "history": history})
    store.save_result(run.name, history)
    return history

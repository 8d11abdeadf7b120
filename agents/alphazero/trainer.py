"""The training loop: self-play, replay, gradient steps, evaluation, checkpoints, resume.

One *iteration*:

1. pick a capacity bucket (probability proportional to its number of graphs) and
   ``selfplay_batch`` of its graphs, play them to the end with the stochastic search
   (Gumbel noise at the root) and add every move to the replay buffer;
2. once the buffer holds ``min_replay`` samples, take ``updates_per_iteration`` gradient steps on
   batches sampled from it;
3. log the metrics; before the first iteration and every ``eval_every`` iterations run the
   deterministic search (``gumbel_scale = 0``, ``eval_simulations``) on the evaluation graphs;
   every ``checkpoint_every`` iterations (and at the end) write a checkpoint and the learning
   curve.

Resuming: ``Trainer(config, run_dir)`` on a run directory with a checkpoint restores it (model,
optimizer, replay buffer, keys, counters, best orders) and continues; the iterations after the
checkpoint are redone exactly as an uninterrupted run would have done them. SIGINT/SIGTERM stop
the run after the current iteration, with a checkpoint.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from graphs.splits import split_graphs

from agents.alphazero.baseline import Completions
from agents.alphazero.checkpoint import CheckpointError, RunState, latest_checkpoint, load_model, load_run_state, save_checkpoint
from agents.alphazero.config import Config
from agents.alphazero.metrics import MetricsLog, plot_learning_curve
from agents.alphazero.network import PolicyValueNet
from agents.alphazero.play import evaluate_pool, play_games
from agents.alphazero.pool import GraphPool, load_graphs
from agents.alphazero.replay import ReplayBuffer
from agents.alphazero.sharding import Placement
from agents.alphazero.training import TrainBatch, make_optimizer, train_step

__all__ = ["Trainer", "evaluation_graphs"]


def evaluation_graphs(config: Config, pool: GraphPool) -> list:
    """The graphs evaluated during training: ``eval_graphs`` validation graphs spread over its
    bands and kinds (only the training band, if the source names one) when training on a split,
    the training graphs themselves otherwise."""
    kind, _, rest = config.train.graphs.partition(":")
    if kind == "split":
        band = rest.partition(":")[2] or None
        validation = split_graphs("validation", band)
        picks = np.unique(np.linspace(0, len(validation) - 1, config.train.eval_graphs).round().astype(int))
        return [validation[i] for i in picks]
    return list(pool.graphs[: config.train.eval_graphs])


class Trainer:
    """Trains (or resumes training) one run.

    Args:
        config: the run's configuration. When ``run_dir`` already holds a checkpoint, the saved
            config is used and ``config`` may differ from it only in ``train.iterations``.
        run_dir: where checkpoints, ``metrics.jsonl`` and ``learning_curve.png`` go.
        placement: devices to use (default: all).
        init_model: a checkpoint whose network initialises a *new* run (fine-tuning); its
            network config replaces ``config.network``.
        progress: show a tqdm progress bar.
    """

    def __init__(
        self,
        config: Config,
        run_dir: str | os.PathLike,
        placement: Placement | None = None,
        init_model: str | os.PathLike | None = None,
        progress: bool = True,
    ):
        self.run_dir = Path(run_dir)
        self.placement = placement or Placement()
        self.progress = progress
        self.log = MetricsLog(self.run_dir / "metrics.jsonl")
        latest = latest_checkpoint(self.run_dir)
        initial_model = None
        if latest is not None:
            saved, state = load_run_state(latest)
            _check_resumable(saved, config, ignore_network=init_model is not None)
            self.config = saved.replace(train={"iterations": config.train.iterations})
            self.log.truncate(state.iteration)
        else:
            if init_model is not None:
                initial_model, source_config, _ = load_model(init_model)
                config = dataclasses.replace(config, network=source_config.network)
            self.config = config
            state = None
            self.log.truncate(0)
        train = self.config.train
        self.placement.check_divisible(train.selfplay_batch, "selfplay_batch")
        self.placement.check_divisible(train.train_batch, "train_batch")
        self.pool = GraphPool.build(load_graphs(train.graphs), train.capacities)
        self.eval_pool = GraphPool.build(evaluation_graphs(self.config, self.pool), train.capacities)
        self.optimizer = make_optimizer(self.config)
        if state is None:
            state = self._fresh_state(initial_model)
        self.state = state
        self._stop = False

    def _fresh_state(self, model: PolicyValueNet | None) -> RunState:
        train = self.config.train
        key = jax.random.PRNGKey(train.seed)
        key, init_key = jax.random.split(key)
        if model is None:
            model = PolicyValueNet(self.config.network, init_key)
        width = max(b.capacity for b in self.pool.buckets)
        return RunState(
            model=model,
            opt_state=self.optimizer.init(eqx.filter(model, eqx.is_array)),
            replay=ReplayBuffer(train.replay_capacity, width),
            key=key,
            rng=np.random.default_rng(train.seed),
            iteration=0,
            games=0,
            samples=0,
            updates=0,
            elapsed=0.0,
            best_cost=np.full(len(self.pool), -1, np.int64),
            best_order=np.full((len(self.pool), width), -1, np.int16),
        )

    # ------------------------------------------------------------------------ iteration
    def _selfplay(self, key: jax.Array) -> dict[str, Any]:
        state, train = self.state, self.config.train
        sizes = np.array([len(b.graph_ids) for b in self.pool.buckets], float)
        bucket_index = int(state.rng.choice(len(sizes), p=sizes / sizes.sum()))
        bucket = self.pool.buckets[bucket_index]
        local = state.rng.choice(len(bucket.graph_ids), size=train.selfplay_batch, replace=len(bucket.graph_ids) < train.selfplay_batch)
        graph_ids = bucket.graph_ids[local]
        episodes = play_games(state.model, self.config.search, bucket.initial_states(local), self.pool.scale[graph_ids], key, self.placement)
        added = state.replay.add_episodes(graph_ids, episodes)
        for graph_id, cost, order in zip(graph_ids, episodes.costs, episodes.orders):
            if state.best_cost[graph_id] < 0 or cost < state.best_cost[graph_id]:
                state.best_cost[graph_id] = cost
                state.best_order[graph_id] = -1
                state.best_order[graph_id, : len(order)] = order
        best = self.pool.best_classical()[graph_ids]
        state.games += len(graph_ids)
        state.samples += added
        return {
            "capacity": bucket.capacity,
            "selfplay_ratio": float(np.mean(episodes.costs / np.maximum(best, 1))),
            "selfplay_beats": float(np.mean(episodes.costs < best)),
            "new_samples": added,
        }

    def _train_batch(self) -> TrainBatch:
        state = self.state
        bucket_index, samples = state.replay.sample(state.rng, self.config.train.train_batch, self.pool.bucket_of)
        bucket = self.pool.buckets[bucket_index]
        n = bucket.capacity
        batch = TrainBatch(
            start=bucket.initial_states(self.pool.local_index[samples.graph]),
            order=jnp.asarray(samples.order[:, :n]),
            move=jnp.asarray(samples.move),
            scale=jnp.asarray(self.pool.scale[samples.graph]),
            completions=Completions(jnp.asarray(samples.completion_costs), jnp.asarray(samples.completion_first)),
            policy=jnp.asarray(samples.policy[:, :n]),
            value=jnp.asarray(samples.value),
        )
        return self.placement.batch(batch)

    def _updates(self) -> dict[str, Any]:
        state, train = self.state, self.config.train
        if state.replay.size < max(train.min_replay, 1):
            return {}
        infos = []
        model = self.placement.replicate(state.model)
        opt_state = self.placement.replicate(state.opt_state)
        for _ in range(train.updates_per_iteration):
            model, opt_state, info = train_step(model, opt_state, self._train_batch(), self.config, self.optimizer)
            infos.append(info)
        state.model, state.opt_state = model, opt_state
        state.updates += train.updates_per_iteration
        means = {name: float(np.mean([float(getattr(i, name)) for i in infos])) for name in infos[0]._fields}
        return means

    def _evaluate(self, key: jax.Array) -> dict[str, Any]:
        start = time.perf_counter()
        result = evaluate_pool(self.state.model, self.config, self.eval_pool, self.placement, self.config.train.eval_simulations, key)
        record = {
            "eval_ratio": result["ratio"],
            "eval_beats": result["beats"],
            "eval_markowitz_ratio": result["markowitz_ratio"],
            "eval_seconds": time.perf_counter() - start,
        }
        if len(self.eval_pool) == 1:
            record["eval_cost"] = int(result["costs"][0])
        return record

    def iteration(self) -> dict[str, Any]:
        """Run one iteration and return its metrics record (also appended to the log)."""
        state, train = self.state, self.config.train
        start = time.perf_counter()
        state.key, play_key, eval_key = jax.random.split(state.key, 3)
        record: dict[str, Any] = self._selfplay(play_key)
        record.update(self._updates())
        state.iteration += 1
        if state.iteration % train.eval_every == 0 or state.iteration == train.iterations:
            state.elapsed += time.perf_counter() - start
            start = time.perf_counter()
            record.update(self._evaluate(eval_key))
        state.elapsed += time.perf_counter() - start
        played = state.best_cost >= 0
        best = self.pool.best_classical()
        record.update(
            iteration=state.iteration,
            games=state.games,
            samples=state.samples,
            updates=state.updates,
            replay_size=state.replay.size,
            elapsed_seconds=round(state.elapsed, 3),
            best_ratio=float(np.mean(state.best_cost[played] / np.maximum(best[played], 1))),
        )
        if len(self.pool) == 1:
            record["best_cost"] = int(state.best_cost[0])
        self.log.append(record)
        return record

    def _initial_eval_key(self) -> jax.Array:
        """Key of the evaluation before training (apart from the training keys' stream)."""
        return jax.random.fold_in(jax.random.PRNGKey(self.config.train.seed), 1 << 30)

    # ----------------------------------------------------------------------------- loop
    def save(self) -> Path:
        """Write a checkpoint and the learning curve now."""
        path = save_checkpoint(self.run_dir, self.config, self.state)
        records = self.log.read()
        if records:
            plot_learning_curve(records, self.run_dir / "learning_curve.png", title=f"AlphaZero on {self.config.train.graphs}")
        return path

    def run(self) -> RunState:
        """Iterate until ``train.iterations`` (or a SIGINT/SIGTERM), checkpointing on the way.

        A new run first evaluates the untrained network (logged as iteration 0, not counted in
        the training time), so the learning curve starts from the untrained search."""
        train = self.config.train
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

        def request_stop(signum, frame):
            del frame
            self._stop = True
            signal.signal(signum, previous[signum])

        for sig in previous:
            signal.signal(sig, request_stop)
        if self.state.iteration == 0 and not self.log.read():
            self.log.append({"iteration": 0, "games": 0, "samples": 0, "updates": 0, "elapsed_seconds": 0.0, **self._evaluate(self._initial_eval_key())})
        bar = tqdm(total=train.iterations, initial=self.state.iteration, disable=not self.progress, desc="alphazero", unit="it")
        try:
            while self.state.iteration < train.iterations and not self._stop:
                record = self.iteration()
                bar.update(1)
                bar.set_postfix({k: round(record[k], 3) for k in ("selfplay_ratio", "eval_ratio", "loss") if k in record})
                if self.state.iteration % train.checkpoint_every == 0 or self.state.iteration == train.iterations or self._stop:
                    self.save()
        finally:
            bar.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return self.state


def _check_resumable(saved: Config, given: Config, ignore_network: bool) -> None:
    """Raise unless ``given`` equals the checkpoint's config up to ``train.iterations`` (and the
    network, which ``--init-from`` replaces)."""
    differences = []
    for section in ("network", "search", "train"):
        if section == "network" and ignore_network:
            continue
        a, b = dataclasses.asdict(getattr(saved, section)), dataclasses.asdict(getattr(given, section))
        differences += [f"{section}.{k}: saved {a[k]!r}, given {b[k]!r}" for k in a if a[k] != b[k] and k != "iterations"]
    if differences:
        raise CheckpointError(
            "the run directory holds a checkpoint made with another config (" + "; ".join(differences) + "); "
            "use a new run directory, or the saved config (only --iterations may change on resume)"
        )

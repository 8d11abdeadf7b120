"""Data parallelism on 2 forced host devices (in a subprocess: XLA flags must be set before JAX
initialises): the sharded training step, and (slow) sharded self-play, agree with one device."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import numpy as np
import pytest

_SETUP = textwrap.dedent(
    """
    import equinox as eqx, jax, jax.numpy as jnp, numpy as np
    from graphs.splits import split_graphs
    from elimgym import reference
    from agents.alphazero.baseline import Completions
    from agents.alphazero.config import Config
    from agents.alphazero.network import PolicyValueNet
    from agents.alphazero.pool import GraphPool
    from agents.alphazero.sharding import Placement
    from agents.alphazero.training import TrainBatch, make_optimizer, train_step

    config = Config().replace(
        network={"width": 8, "depth": 1, "heads": 2, "mlp_ratio": 1},
        search={"num_simulations": 4, "max_considered_actions": 4, "gumbel_scale": 0.0},
        train={"learning_rate": 1e-2},
    )
    graphs = [g for g in split_graphs("train", "small") if g.num_vertices <= 16][:2]
    pool = GraphPool.build(graphs, (16,))
    bucket = pool.buckets[0]
    games = np.arange(8) % 2
    orders = np.full((8, 16), -1, np.int32)
    moves = np.zeros(8, np.int32)
    policy = np.zeros((8, 16), np.float32)
    for k, g in enumerate(games):
        order = reference.reverse_order(graphs[g])
        orders[k, : len(order)] = order
        moves[k] = (k // 2) % len(order)
        remaining = order[moves[k]:]
        policy[k, remaining] = 1.0 / len(remaining)
    batch = TrainBatch(
        start=bucket.initial_states(games),
        order=jnp.asarray(orders),
        move=jnp.asarray(moves),
        scale=jnp.asarray(pool.scale[games]),
        completions=Completions(
            jnp.tile(jnp.array([[1.0, 0.5, 0.8]], jnp.float32), (8, 1)),
            jnp.repeat(jnp.asarray(orders[np.arange(8), moves])[:, None], 3, axis=1),
        ),
        policy=jnp.asarray(policy),
        value=jnp.asarray(-0.1 * (1 + moves), jnp.float32),
    )
    model = PolicyValueNet(config.network, jax.random.PRNGKey(0))
    optimizer = make_optimizer(config)
    opt_state = optimizer.init(eqx.filter(model, eqx.is_array))
    """
)

_TRAIN_STEP = _SETUP + textwrap.dedent(
    """
    import json
    placement = Placement()
    sharded = placement.batch(batch)
    params, _, info = train_step(placement.replicate(model), placement.replicate(opt_state), sharded, config, optimizer)
    leaves = jax.tree_util.tree_leaves(eqx.filter(params, eqx.is_array))
    print("RESULT" + json.dumps({
        "devices": jax.device_count(),
        "batch_shards": [list(s.data.shape) for s in sharded.move.addressable_shards],
        "replicated": all(x.sharding.is_fully_replicated and len(x.sharding.device_set) == 2 for x in leaves),
        "loss": float(info.loss),
        "params": [np.asarray(x).ravel().tolist() for x in leaves],
    }))
    """
)

_SELFPLAY = _SETUP + textwrap.dedent(
    """
    import json
    from agents.alphazero.play import play_games
    out = {}
    for name, placement in (("one", Placement(jax.devices()[:1])), ("two", Placement())):
        episodes = play_games(model, config.search, bucket.initial_states(np.arange(2)), pool.scale, jax.random.PRNGKey(1), placement)
        out[name] = {"orders": episodes.orders.tolist(), "policies": episodes.policies.ravel().tolist()}
    print("RESULT" + json.dumps(out))
    """
)


def _run_on_two_devices(script: str) -> dict:
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT"))
    return json.loads(line[len("RESULT") :])


def test_sharded_train_step__matches_single_device():
    """On 2 forced host devices the batch is split in halves, the updated parameters are replicated
    on both, and loss and parameters equal a single-device step on the same batch."""
    two = _run_on_two_devices(_TRAIN_STEP)
    assert two["devices"] == 2
    assert two["batch_shards"] == [[4], [4]]
    assert two["replicated"]
    scope: dict = {}
    exec(_SETUP, scope)
    params, _, info = scope["train_step"](scope["model"], scope["opt_state"], scope["batch"], scope["config"], scope["optimizer"])
    leaves = jax.tree_util.tree_leaves(scope["eqx"].filter(params, scope["eqx"].is_array))
    assert two["loss"] == pytest.approx(float(info.loss), rel=1e-5)
    assert len(leaves) == len(two["params"])
    for mine, theirs in zip(leaves, two["params"]):
        np.testing.assert_allclose(np.asarray(mine).ravel(), theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_sharded_selfplay__matches_single_device():
    """Self-play split over 2 devices plays the same games with the same search policies as on one."""
    result = _run_on_two_devices(_SELFPLAY)
    assert result["one"]["orders"] == result["two"]["orders"]
    np.testing.assert_allclose(result["one"]["policies"], result["two"]["policies"], rtol=1e-5, atol=1e-6)

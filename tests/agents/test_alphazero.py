"""Tests of the AlphaZero agent: config, network, search, training step, checkpoints and resume.

Every test uses one tiny configuration on graphs of at most 16 vertices, so the jitted search and
training step compile once per session.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from graphs import io
from graphs.generators import function_from_metadata
from graphs.splits import split_graphs

from elimgym import game, reference
from elimgym.executor import verify
from elimgym.orders import check_order

from agents.alphazero.baseline import Completions
from agents.alphazero.checkpoint import CheckpointError, export_model, load_model, load_run_state
from agents.alphazero.config import Config, ConfigError, TrainConfig
from agents.alphazero.features import network_input
from agents.alphazero.network import PolicyValueNet
from agents.alphazero.play import play_games
from agents.alphazero.pool import GraphPool
from agents.alphazero.sharding import Placement
from agents.alphazero.solve import heuristic_completion, solve_graphs
from agents.alphazero.trainer import Trainer
from agents.alphazero.training import TrainBatch, make_optimizer, train_step

CAPACITY = 16


def _small_graphs(count: int = 4):
    return [g for g in split_graphs("train", "small") if g.num_vertices <= CAPACITY][:count]


@pytest.fixture(scope="module")
def graph_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("graphs")
    for k, graph in enumerate(_small_graphs(2)):
        io.save(graph, directory / f"g{k}.json")
    return directory


@pytest.fixture(scope="module")
def tiny(graph_dir) -> Config:
    return Config().replace(
        network={"width": 8, "depth": 1, "heads": 2, "mlp_ratio": 1},
        search={"num_simulations": 4, "max_considered_actions": 4},
        train={
            "graphs": f"file:{graph_dir}",
            "capacities": (CAPACITY,),
            "iterations": 2,
            "selfplay_batch": 2,
            "updates_per_iteration": 2,
            "train_batch": 8,
            "replay_capacity": 200,
            "min_replay": 8,
            "learning_rate": 1e-2,
            "checkpoint_every": 1,
            "eval_every": 100,
            "eval_graphs": 2,
            "eval_simulations": 4,
        },
    )


@pytest.fixture(scope="module")
def pool() -> GraphPool:
    return GraphPool.build(_small_graphs(2), (CAPACITY,))


@pytest.fixture(scope="module")
def selfplay(tiny, pool):
    """Two games played by stochastic search with an untrained network."""
    model = PolicyValueNet(tiny.network, jax.random.PRNGKey(0))
    bucket = pool.buckets[0]
    local = np.arange(len(bucket.graph_ids))
    return play_games(model, tiny.search, bucket.initial_states(local), pool.scale[bucket.graph_ids], jax.random.PRNGKey(3), Placement())


@pytest.fixture(scope="module")
def runs(tiny, tmp_path_factory):
    """Run ``whole``: two iterations in one go. Run ``split``: one iteration, then a resumed second."""
    root = tmp_path_factory.mktemp("runs")
    whole = Trainer(tiny, root / "whole", progress=False).run()
    Trainer(tiny.replace(train={"iterations": 1}), root / "split", progress=False).run()
    resumed_trainer = Trainer(tiny, root / "split", progress=False)
    restored_iteration = resumed_trainer.state.iteration
    resumed = resumed_trainer.run()
    return {"root": root, "whole": whole, "resumed": resumed, "restored_iteration": restored_iteration, "log": resumed_trainer.log.read()}


def _leaves(tree) -> list[np.ndarray]:
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(eqx.filter(tree, eqx.is_array))]


def _same_leaves(a, b) -> bool:
    la, lb = _leaves(a), _leaves(b)
    return len(la) == len(lb) and all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(la, lb))


def test_config__round_trips_and_rejects_bad_input():
    """A config survives to_dict/from_dict; unknown keys, bad values and the held-out split raise."""
    config = Config().replace(train={"capacities": (32, 64)}, search={"num_simulations": 8})
    assert Config.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    data = config.to_dict()
    data["search"]["temperature"] = 1.0
    with pytest.raises(ConfigError, match="temperature"):
        Config.from_dict(data)
    with pytest.raises(ConfigError, match="held-out"):
        TrainConfig(graphs="split:heldout")
    with pytest.raises(ConfigError, match="ascending"):
        TrainConfig(capacities=(64, 32))
    with pytest.raises(ConfigError, match="divisible"):
        Config().replace(network={"width": 10, "heads": 4})


def test_network__output_independent_of_padding(tiny, pool):
    """The same graph padded to 16 and to 32 slots gets the same logits on its vertices and the same value head."""
    graph = pool.graphs[0]
    model = PolicyValueNet(tiny.network, jax.random.PRNGKey(1))
    model = eqx.tree_at(lambda m: m.policy_out.weight, model, jax.random.normal(jax.random.PRNGKey(2), model.policy_out.weight.shape))
    model = eqx.tree_at(lambda m: m.value_out.weight, model, jax.random.normal(jax.random.PRNGKey(3), model.value_out.weight.shape))
    first = jnp.array(graph.intermediates[:3], jnp.int32)
    completions = Completions(costs=jnp.array([1.5, 0.75, jnp.inf], jnp.float32), first=first)
    apply = eqx.filter_jit(lambda m, state: m(network_input(state, jnp.float32(2.0), completions)))
    outputs = []
    for capacity in (16, 32):
        logits, u = apply(model, game.init(game.encode(graph, capacity)))
        outputs.append((np.asarray(logits)[: graph.num_vertices], float(u)))
    np.testing.assert_allclose(outputs[0][0], outputs[1][0], rtol=1e-5, atol=1e-5)
    assert outputs[0][1] == pytest.approx(outputs[1][1], rel=1e-5, abs=1e-6)
    legal = np.zeros(graph.num_vertices, bool)
    legal[list(graph.intermediates)] = True
    assert np.all(outputs[0][0][~legal] <= -1e8) and np.all(outputs[0][0][legal] > -1e8)


def test_search__plays_legal_complete_orders(tiny, pool, selfplay):
    """Stochastic and deterministic search finish every game with a legal complete order of the
    right cost, and the improved policy never puts weight on an illegal vertex."""
    model = PolicyValueNet(tiny.network, jax.random.PRNGKey(0))
    bucket = pool.buckets[0]
    local = np.arange(len(bucket.graph_ids))
    greedy = dataclasses.replace(tiny.search, gumbel_scale=0.0)
    deterministic = play_games(model, greedy, bucket.initial_states(local), pool.scale[bucket.graph_ids], jax.random.PRNGKey(5), Placement(), record=False)
    for episodes in (selfplay, deterministic):
        for k, graph_id in enumerate(bucket.graph_ids):
            graph = pool.graphs[graph_id]
            order = [int(v) for v in episodes.orders[k] if v >= 0]
            assert sorted(check_order(graph, order)) == sorted(graph.intermediates)
            assert episodes.costs[k] == reference.play(graph, order)[0]
    function, args = function_from_metadata(pool.graphs[0].metadata)
    order = [int(v) for v in deterministic.orders[0] if v >= 0]
    assert verify(function, order, *args, argnums=tuple(range(len(args)))).passed
    for k, graph_id in enumerate(bucket.graph_ids):
        intermediates = np.zeros(bucket.capacity, bool)
        intermediates[list(pool.graphs[graph_id].intermediates)] = True
        for t in np.flatnonzero(selfplay.active[:, k]):
            legal = intermediates.copy()
            legal[selfplay.orders[k, :t]] = False
            assert np.all(selfplay.policies[t, k][~legal] == 0.0)
            assert selfplay.policies[t, k].sum() == pytest.approx(1.0, abs=1e-5)


def test_training_step__reduces_loss_on_fixed_batch(tiny, pool, selfplay):
    """Repeated gradient steps on one fixed batch of self-play samples lower its loss."""
    model = PolicyValueNet(tiny.network, jax.random.PRNGKey(0))
    bucket = pool.buckets[0]
    moves, games = np.nonzero(selfplay.active)
    pick = np.linspace(0, len(moves) - 1, tiny.train.train_batch).round().astype(int)
    moves, games = moves[pick], games[pick]
    batch = TrainBatch(
        start=bucket.initial_states(games),
        order=jnp.asarray(selfplay.orders[games]),
        move=jnp.asarray(moves, jnp.int32),
        scale=jnp.asarray(pool.scale[bucket.graph_ids[games]]),
        completions=Completions(jnp.asarray(selfplay.completion_costs[moves, games]), jnp.asarray(selfplay.completion_first[moves, games])),
        policy=jnp.asarray(selfplay.policies[moves, games]),
        value=jnp.asarray(selfplay.value_targets()[moves, games]),
    )
    optimizer = make_optimizer(tiny)
    opt_state = optimizer.init(eqx.filter(model, eqx.is_array))
    target = np.asarray(batch.policy)
    target_entropy = float(np.mean(-np.sum(np.where(target > 0, target * np.log(np.where(target > 0, target, 1.0)), 0.0), axis=-1)))
    losses = []
    for _ in range(40):
        model, opt_state, info = train_step(model, opt_state, batch, tiny, optimizer)
        losses.append(float(info.loss))
    assert all(np.isfinite(losses)) and np.isfinite(float(info.grad_norm))
    excess = np.array(losses) - target_entropy  # cross-entropy minus its floor, plus the value loss
    assert excess[0] > 0 and excess[-1] < 0.7 * excess[0]


def test_checkpoint__round_trip_is_exact(runs):
    """A saved run state loads back bit for bit, and an exported model loads but cannot be resumed."""
    root, state = runs["root"], runs["whole"]
    path = root / "whole" / "checkpoints" / "iter_000002"
    _, loaded = load_run_state(path)
    assert _same_leaves(loaded.model, state.model)
    assert _same_leaves(loaded.opt_state, state.opt_state)
    for name, array in state.replay.state_dict().items():
        np.testing.assert_array_equal(loaded.replay.state_dict()[name], array)
    assert loaded.rng.bit_generator.state == state.rng.bit_generator.state
    np.testing.assert_array_equal(np.asarray(loaded.key), np.asarray(state.key))
    assert (loaded.iteration, loaded.games, loaded.samples, loaded.updates) == (state.iteration, state.games, state.samples, state.updates)
    np.testing.assert_array_equal(loaded.best_cost, state.best_cost)
    exported = export_model(path, root / "model", note={"seed": 0})
    model, _, meta = load_model(exported)
    assert _same_leaves(model, state.model)
    assert meta["note"] == {"seed": 0} and meta["env_id"] == "VertexElim-v0" and meta["game_version"] == "v0"
    with pytest.raises(CheckpointError, match="cannot be resumed"):
        load_run_state(exported)


def test_trainer__resumed_run_equals_uninterrupted_run(runs):
    """Two iterations in one go and one iteration + resume give identical parameters, optimizer
    state, replay buffer and counters, and the metrics log holds each iteration once."""
    whole, resumed = runs["whole"], runs["resumed"]
    assert runs["restored_iteration"] == 1
    assert resumed.iteration == whole.iteration == 2
    assert (resumed.games, resumed.samples, resumed.updates) == (whole.games, whole.samples, whole.updates)
    assert resumed.updates > 0
    assert _same_leaves(resumed.model, whole.model)
    assert _same_leaves(resumed.opt_state, whole.opt_state)
    np.testing.assert_array_equal(resumed.replay.policy, whole.replay.policy)
    assert [r["iteration"] for r in runs["log"]] == [0, 1, 2]
    assert "eval_ratio" in runs["log"][0] and "loss" in runs["log"][2]


def test_trainer__refuses_resume_with_other_config(tiny, runs):
    """Resuming a run directory with a different search config raises a CheckpointError naming the field."""
    with pytest.raises(CheckpointError, match="num_simulations"):
        Trainer(tiny.replace(search={"num_simulations": 8}), runs["root"] / "whole", progress=False)


@pytest.mark.slow
def test_cli__train_resume_solve_export(graph_dir, tmp_path):
    """The command line trains, resumes with more iterations, solves an example (executor check
    passes) and exports the network."""
    run = tmp_path / "run"
    common = [sys.executable, "-m", "agents.alphazero"]
    tiny_options = ["--graphs", f"file:{graph_dir}", "--capacities", "16", "--width", "8", "--depth", "1", "--heads", "2", "--mlp-ratio", "1",
                    "--num-simulations", "4", "--max-considered-actions", "4", "--selfplay-batch", "2", "--train-batch", "8", "--min-replay", "8",
                    "--updates-per-iteration", "2", "--eval-every", "1", "--eval-graphs", "2", "--eval-simulations", "4", "--no-progress"]
    subprocess.run(common + ["train", "--run-dir", str(run), "--iterations", "1"] + tiny_options, check=True, capture_output=True, text=True)
    resumed = subprocess.run(common + ["train", "--run-dir", str(run), "--iterations", "2", "--no-progress"], check=True, capture_output=True, text=True)
    assert "resuming from" in resumed.stdout and "stopped after iteration 2" in resumed.stdout
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in records] == [0, 1, 2] and (run / "learning_curve.png").stat().st_size > 0
    solved = subprocess.run(
        common + ["solve", "scalar", "--checkpoint", str(run / "checkpoints" / "iter_000002"), "--simulations", "4", "--json", str(tmp_path / "s.json"), "--out", str(tmp_path / "o.json")],
        capture_output=True, text=True,
    )
    assert solved.returncode == 0, solved.stderr[-2000:]
    assert "PASS" in solved.stdout
    result = json.loads((tmp_path / "s.json").read_text())
    assert result["verified"] is True and result["cost"] <= max(result["baselines"].values())
    subprocess.run(common + ["export", str(run), str(tmp_path / "model")], check=True, capture_output=True, text=True)
    model, _, meta = load_model(tmp_path / "model")
    assert meta["iteration"] == 2


def test_evaluate__alphazero_agent_prints_table_on_tiny_subset(runs, pool, monkeypatch, tmp_path, capsys):
    """``agents.evaluate --agent alphazero`` with a tiny checkpoint prints the band and task tables,
    and every order it reports is legal, complete and costed by the reference eliminator."""
    from agents import evaluate

    graphs = pool.graphs
    monkeypatch.setattr(evaluate, "collect_graphs", lambda split, limit, tasks: [(graphs[0], "small"), (graphs[1], "task")])
    out = tmp_path / "eval.json"
    checkpoint = runs["root"] / "whole" / "checkpoints" / "iter_000002"
    assert evaluate.main(["--agent", "alphazero", "--checkpoint", str(checkpoint), "--simulations", "4", "--split", "heldout", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "heldout split (1 graphs)" in printed and "benchmark tasks" in printed and "alphazero(4 sims)" in printed
    record = json.loads(out.read_text())
    assert record["simulations"] == 4 and [g["group"] for g in record["graphs"]] == ["small", "task"]
    for graph, row in zip(graphs, record["graphs"]):
        assert row["forward"] == reference.play(graph, reference.forward_order(graph))[0]
        assert row["agent"] >= 1 and row["beats_best_classical"] == (row["agent"] < row["best_classical"])


def test_heuristic_completion__empty_prefix_gives_reference_orders(pool):
    """Completing an empty prefix reproduces the reference forward, reverse and Markowitz orders;
    a non-empty prefix is kept and the result is a complete order."""
    graph = pool.graphs[0]
    assert heuristic_completion(graph, [], "forward") == reference.forward_order(graph)
    assert heuristic_completion(graph, [], "reverse") == reference.reverse_order(graph)
    assert heuristic_completion(graph, [], "markowitz") == reference.markowitz_order(graph)
    prefix = reference.reverse_order(graph)[:2]
    completed = heuristic_completion(graph, prefix, "markowitz")
    assert completed[:2] == prefix and sorted(check_order(graph, completed)) == sorted(graph.intermediates)
    with pytest.raises(ValueError, match="unknown heuristic"):
        heuristic_completion(graph, [], "random")


def test_solve_graphs__answer_never_dearer_than_classical_orders(tiny, pool):
    """With path completion the answer costs at most min(forward, reverse, Markowitz) and at most
    the search's own order; both costs are the reference costs of the returned orders."""
    model = PolicyValueNet(tiny.network, jax.random.PRNGKey(0))
    completed = solve_graphs(model, tiny, pool.graphs, simulations=4)
    pure = solve_graphs(model, tiny, pool.graphs, simulations=4, complete_from_path=False)
    for graph, answer, own in zip(pool.graphs, completed, pure):
        assert answer.order.cost == reference.play(graph, answer.order.vertices)[0]
        assert own.order.cost == own.search_cost == answer.search_cost == reference.play(graph, own.order.vertices)[0]
        classical = min(reference.play(graph, make(graph))[0] for make in (reference.forward_order, reference.reverse_order, reference.markowitz_order))
        assert answer.order.cost <= min(classical, answer.search_cost)
        assert (answer.completed_from is None) == (answer.order.cost == answer.search_cost)

"""The CleanRL-style PPO agent (``agents/ppo.py``): masked policy, GAE with next-step autoreset,
size-agnostic network, and the script itself (smoke run, checkpoint, resume, evaluation table).

The script's body runs in-process (``train`` on tyro-parsed arguments), so the smoke run, the
resumed run and the evaluation share the JAX compilations and the env's cached baselines.
"""

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import tyro

from agents import evaluate
from agents.ppo import (
    Agent,
    Args,
    MaskedCategorical,
    _observe_batch,
    compute_advantages,
    log_rewards,
    obs_to_torch,
    restore_checkpoint,
    resumed_args,
    train,
)
from elimgym import reference
from elimgym.envs.pool import GraphPool
from graphs.examples import EXAMPLES
from graphs.trace import trace

SMOKE_ARGS = (
    "--env-id", "VertexElim-Perceptron-v0", "--num-envs", "2", "--num-steps", "32", "--total-timesteps", "256",
    "--width", "8", "--depth", "1", "--num-minibatches", "2", "--update-epochs", "1", "--eval-interval", "2",
    "--save-interval", "2", "--exp-name", "smoke", "--seed", "3",
)  # fmt: skip
"""4 iterations of 64 env steps on the 39-vertex Perceptron graph with a tiny network."""


def _observation(capacity: int) -> dict[str, torch.Tensor]:
    """A batch of one observation: the initial state of the "scalar" example graph (7 vertices)."""
    function, args = EXAMPLES["scalar"]
    pool = GraphPool.from_graphs([trace(function, *args)], capacity)
    obs = obs_to_torch(_observe_batch(pool.initial).as_dict(), torch.device("cpu"))
    return {**obs, "paid": torch.tensor([0.5])}


def test_masked_categorical__never_samples_illegal_actions():
    """Illegal actions have probability 0 even with the largest logits, and are never sampled."""
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(32, 12, generator=generator)
    mask = torch.rand(32, 12, generator=generator) < 0.3
    mask[:, 5] = True
    logits[~mask] = 50.0
    distribution = MaskedCategorical(logits, mask)
    torch.manual_seed(0)
    samples = distribution.sample((500,))
    assert mask.gather(1, samples.T).all()
    assert torch.all(distribution.probs[~mask] == 0)
    legal_probs = torch.where(mask, torch.exp(logits - 50.0), 0.0)
    legal_probs = legal_probs / legal_probs.sum(-1, keepdim=True)
    assert torch.allclose(distribution.probs, legal_probs, atol=1e-6)


def test_masked_categorical__illegal_log_prob_is_minus_infinite_and_gets_no_gradient():
    """The log-probability of an illegal action is (numerically) -inf, and the loss terms of the
    PPO update (log-probabilities of legal actions, entropy) give illegal logits a gradient of 0."""
    logits = torch.tensor([[4.0, 0.5, -1.0, 2.0], [0.0, 9.0, 1.0, 3.0]], requires_grad=True)
    mask = torch.tensor([[False, True, True, False], [True, False, True, True]])
    distribution = MaskedCategorical(logits, mask)
    illegal_log_prob = distribution.log_prob(torch.tensor([0, 1]))
    assert torch.all(illegal_log_prob < -1e37) and torch.all(torch.exp(illegal_log_prob) == 0)
    legal_log_prob = distribution.log_prob(torch.tensor([2, 3]))
    expected = torch.stack([torch.log_softmax(logits[0, 1:3], 0)[1], torch.log_softmax(logits[1, [0, 2, 3]], 0)[2]])
    assert torch.allclose(legal_log_prob, expected)
    (legal_log_prob.sum() + distribution.entropy().sum()).backward()
    assert torch.all(torch.isfinite(logits.grad))
    assert torch.all(logits.grad[~mask] == 0) and torch.all(logits.grad[mask] != 0)


def test_masked_categorical__entropy_is_over_legal_actions():
    """The entropy is that of the softmax over legal actions (finite, no NaN from masked entries)."""
    logits = torch.tensor([[0.0, 1.0, 2.0, 3.0]])
    mask = torch.tensor([[True, False, True, False]])
    p = torch.softmax(torch.tensor([0.0, 2.0]), 0)
    expected = -(p * p.log()).sum()
    assert torch.allclose(MaskedCategorical(logits, mask).entropy(), expected[None])


def test_masked_categorical__rejects_rows_without_legal_action():
    """A row with no legal action raises instead of returning a silent distribution."""
    with pytest.raises(ValueError, match="at least one legal action"):
        MaskedCategorical(torch.zeros(2, 3), torch.tensor([[True, False, False], [False, False, False]]))


def test_agent__samples_only_legal_vertices():
    """The agent's sampled actions on a real observation are always legal intermediates."""
    torch.manual_seed(0)
    agent = Agent(width=8, depth=2)
    obs = _observation(capacity=8)
    batch = {key: value.expand(256, *value.shape[1:]) for key, value in obs.items()}
    with torch.no_grad():
        action, log_prob, entropy, value = agent.get_action_and_value(batch)
    assert obs["action_mask"][0, action].all()
    assert torch.isfinite(log_prob).all() and torch.isfinite(entropy).all() and value.shape == (256,)
    assert set(action.tolist()) == set(obs["action_mask"][0].nonzero().flatten().tolist())


def test_agent__is_independent_of_the_capacity():
    """Padding a graph to a larger capacity changes neither the legal actions' probabilities nor the value."""
    torch.manual_seed(0)
    agent = Agent(width=8, depth=2)
    small, large = _observation(capacity=8), _observation(capacity=24)
    with torch.no_grad():
        _, _, _, value_small = agent.get_action_and_value(small)
        _, _, _, value_large = agent.get_action_and_value(large)
        probs_small = agent._distribution(*agent._tokens(small), small["action_mask"]).probs
        probs_large = agent._distribution(*agent._tokens(large), large["action_mask"]).probs
    assert torch.allclose(probs_small, probs_large[:, :8], atol=1e-6)
    assert torch.all(probs_large[:, 8:] == 0)
    assert torch.allclose(value_small, value_large, atol=1e-5)


def test_agent__log_return_value_is_consistent_with_the_cost_so_far():
    """The log-return critic's value is ``log1p(paid) - log1p(paid + r)`` for one remaining cost
    ``r >= 0`` shared by every ``paid``: it is <= 0 and shrinks in magnitude as ``paid`` grows."""
    torch.manual_seed(0)
    agent = Agent(width=8, depth=1, log_return=True)
    obs = _observation(capacity=8)
    paid = torch.tensor([0.0, 0.5, 3.0])
    batch = {**{key: value.expand(3, *value.shape[1:]) for key, value in obs.items() if key != "paid"}, "paid": paid}
    with torch.no_grad():
        value = agent.get_value(batch)
    remaining = torch.expm1(-value[0])
    assert torch.all(value <= 0) and torch.all(value[:-1] < value[1:])
    assert torch.allclose(value, torch.log1p(paid) - torch.log1p(paid + remaining), atol=1e-6)
    linear = Agent(width=8, depth=1, log_return=False)
    with torch.no_grad():
        assert torch.all(linear.get_value({key: value for key, value in batch.items() if key != "paid"}) <= 0)
    with pytest.raises(ValueError, match='obs\\["paid"\\]'):
        agent.get_value({key: value for key, value in batch.items() if key != "paid"})


def test_log_rewards__telescope_to_minus_log1p_of_the_episode_cost():
    """Over an episode the log rewards sum to ``-log1p(total scaled cost)``; a reset transition
    gets reward 0 and starts the next episode at cost 0."""
    rng = np.random.default_rng(0)
    env_rewards = -rng.exponential(0.3, size=(20, 3))
    paid, total = np.zeros(3), np.zeros(3)
    for reward in env_rewards:
        log_reward, paid = log_rewards(paid, reward, np.zeros(3, bool))
        total += log_reward
    assert np.allclose(total, -np.log1p(-env_rewards.sum(0)))
    assert np.allclose(paid, -env_rewards.sum(0))
    log_reward, paid = log_rewards(paid, np.zeros(3), np.array([True, False, True]))
    assert np.array_equal(log_reward, np.zeros(3)) and paid[0] == 0.0 and paid[2] == 0.0 and paid[1] > 0


def test_compute_advantages__never_cross_an_episode_end():
    """GAE with next-step autoreset: a terminal step's advantage is its reward minus its value (no
    bootstrap), and nothing after an episode's end (the reset transition, the next episode, the
    bootstrap value) changes the advantages of that episode's steps."""
    generator = torch.Generator().manual_seed(0)
    rewards, values = -torch.rand(6, 2, generator=generator), -torch.rand(6, 2, generator=generator)
    terminations = torch.zeros(6, 2)
    terminations[2, 0] = 1.0  # env 0: steps 0-2 are one episode, step 3 is the reset transition
    truncations = torch.zeros(6, 2)
    next_value = -torch.rand(2, generator=generator)
    advantages = compute_advantages(rewards, values, terminations, truncations, next_value, 1.0, 0.95)
    assert torch.isclose(advantages[2, 0], rewards[2, 0] - values[2, 0])
    later_rewards, later_values = rewards.clone(), values.clone()
    later_rewards[3:, 0] -= 5.0
    later_values[3:, 0] += 7.0
    changed = compute_advantages(later_rewards, later_values, terminations, truncations, next_value - 3.0, 1.0, 0.95)
    assert torch.equal(changed[:3, 0], advantages[:3, 0])
    assert not torch.allclose(changed[:, 1], advantages[:, 1])  # env 1 never ended: its advantages bootstrap


def test_compute_advantages__match_the_discounted_returns_with_lambda_one():
    """With ``lambda = 1`` and a truncation, advantages are the discounted rewards up to the episode end,
    plus the discounted value of the final observation after a truncation, minus the value."""
    rewards = torch.tensor([[1.0], [2.0], [3.0], [0.0], [5.0]])
    values = torch.tensor([[0.5], [0.25], [0.125], [4.0], [1.0]])
    truncations = torch.tensor([[0.0], [0.0], [1.0], [0.0], [0.0]])
    gamma = 0.5
    advantages = compute_advantages(rewards, values, torch.zeros(5, 1), truncations, torch.tensor([8.0]), gamma, 1.0)
    first_episode = [1 + gamma * 2 + gamma**2 * 3 + gamma**3 * 4.0, 2 + gamma * 3 + gamma**2 * 4.0, 3 + gamma * 4.0]
    assert torch.allclose(advantages[:3, 0], torch.tensor(first_episode) - values[:3, 0])
    assert torch.isclose(advantages[4, 0], 5 + gamma * 8.0 - values[4, 0])


# ------------------------------------------------------------------------------ the script itself
def _rows(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory) -> Path:
    """The run directory of one smoke run of the script, its command line parsed by tyro."""
    root = tmp_path_factory.mktemp("ppo")
    args = tyro.cli(Args, args=[*SMOKE_ARGS, "--output-dir", str(root)])
    return train(args)


def test_ppo_script__smoke_run_logs_checkpoints_and_plots(smoke_run):
    """A few hundred steps run end to end (an illegal action would raise in the env and fail the
    run) and leave the CSV, TensorBoard events, checkpoint and learning curve."""
    run_dir = smoke_run
    assert run_dir.name.startswith("VertexElim-Perceptron-v0__smoke__3__")
    initial, *rows = _rows(run_dir)
    assert (initial["iteration"], initial["global_step"], initial["episodes"]) == ("0", "0", "")
    assert float(initial["greedy_cost"]) > 0  # the untrained policy's evaluation, the curve's first point
    assert [int(r["global_step"]) for r in rows] == [64, 128, 192, 256]
    # 31 eliminations per Perceptron episode: each env ends one episode per 32-step rollout, and the
    # reset transition that follows each end is left out of the loss (next-step autoreset)
    assert [int(r["episodes"]) for r in rows] == [2, 2, 2, 2]
    assert [int(r["trained_steps"]) for r in rows] == [62, 62, 62, 62]
    evaluated = [r for r in rows if r["greedy_cost"]]
    assert [int(r["iteration"]) for r in evaluated] == [2, 4]
    assert all(float(r["greedy_cost"]) > 0 and np.isfinite(float(r["value_loss"])) for r in evaluated)
    assert (run_dir / "curve.png").stat().st_size > 0
    best = torch.load(run_dir / "best.pt", weights_only=False)
    assert best["best_greedy"] == min(float(r["greedy_cost_over_markowitz"]) for r in evaluated)
    assert any(p.name.startswith("events.out.tfevents") for p in run_dir.iterdir())
    checkpoint = torch.load(run_dir / "checkpoint.pt", weights_only=False)
    assert (checkpoint["global_step"], checkpoint["iteration"], checkpoint["env_id"]) == (256, 4, "VertexElim-Perceptron-v0")


def test_restore_checkpoint__restores_parameters_optimizer_step_and_rng(smoke_run):
    """Restoring the smoke run's checkpoint into a fresh agent gives its exact parameters,
    optimizer state, global step, iteration and RNG state."""
    saved = torch.load(smoke_run / "checkpoint.pt", weights_only=False)
    agent = Agent(**saved["network"])
    optimizer = torch.optim.Adam(agent.parameters(), lr=1.0)
    torch.manual_seed(12345)
    progress = restore_checkpoint(saved, agent, optimizer)
    assert progress == (256, 4, saved["elapsed_s"], saved["best_greedy"]) and progress.elapsed_s > 0
    assert all(torch.equal(value, saved["model"][key]) for key, value in agent.state_dict().items())
    assert torch.equal(optimizer.state_dict()["state"][0]["exp_avg"], saved["optimizer"]["state"][0]["exp_avg"])
    assert optimizer.param_groups[0]["lr"] == saved["optimizer"]["param_groups"][0]["lr"]
    assert torch.equal(torch.get_rng_state(), saved["rng"]["torch"])


def test_ppo_script__resume_continues_from_the_saved_step(smoke_run, tmp_path, capsys):
    """``--resume`` with a larger budget starts at the saved step (not 0), trains on, and saves."""
    saved = torch.load(smoke_run / "checkpoint.pt", weights_only=False)
    args = tyro.cli(Args, args=["--resume", str(smoke_run / "checkpoint.pt"), "--output-dir", str(tmp_path), "--total-timesteps", "320"])
    run_dir = train(args)
    assert run_dir == tmp_path / smoke_run.name
    printed = capsys.readouterr().out
    assert "resumed" in printed and "iteration 4, global_step 256" in printed
    continued = torch.load(run_dir / "checkpoint.pt", weights_only=False)
    assert (continued["global_step"], continued["iteration"]) == (320, 5)
    assert [int(r["global_step"]) for r in _rows(run_dir)] == [320]
    assert any(not torch.equal(saved["model"][k], continued["model"][k]) for k in saved["model"])
    assert continued["args"]["width"] == 8 and continued["args"]["total_timesteps"] == 320


def test_resumed_args__keeps_the_checkpoint_and_rejects_conflicts():
    """Resuming keeps the checkpoint's run-defining arguments, takes the session ones from the
    command line, and rejects a run-defining argument that contradicts the checkpoint."""
    saved = dataclasses.asdict(Args(width=8, learning_rate=1e-3, total_timesteps=100))
    args = resumed_args(Args(resume="x.pt", total_timesteps=500), saved)
    assert (args.width, args.learning_rate, args.total_timesteps, args.resume) == (8, 1e-3, 500, "x.pt")
    assert resumed_args(Args(width=8), saved).width == 8
    with pytest.raises(ValueError, match="--learning-rate 0.1 conflicts"):
        resumed_args(Args(learning_rate=0.1), saved)


def test_greedy_solver__orders_are_complete_and_costed_by_agents_evaluate(smoke_run):
    """The ``ppo`` entry of :mod:`agents.evaluate` returns complete legal orders whose reference
    cost is the greedy policy's own, and its results summarise into the comparison table's rows."""
    function, args = EXAMPLES["scalar"]
    graph = trace(function, *args)
    solver = evaluate.AGENTS["ppo"].load(str(smoke_run / "checkpoint.pt"), evaluate.EvalSettings())
    (order,) = solver.solve([graph])
    assert sorted(order) == sorted(graph.intermediates)
    (result,) = evaluate.evaluate_agent(solver, [(graph, "small")], search_budget=None, log=lambda message: None)
    assert result.agent == reference.play(graph, order)[0]
    assert (result.forward, result.reverse, result.markowitz) == tuple(
        reference.play(graph, o(graph))[0] for o in (reference.forward_order, reference.reverse_order, reference.markowitz_order)
    )
    summary = evaluate.summarise([result])["small"]
    assert summary["graphs"] == 1 and summary["agent_at_most"] == float(result.agent <= result.best_classical)


def test_evaluate_cli__prints_the_ppo_table(smoke_run, tmp_path, capsys):
    """``python -m agents.evaluate --agent ppo`` plays the greedy policy of a checkpoint on every
    size band of a split (one graph each) and prints and writes the comparison table."""
    out = tmp_path / "eval.json"
    argv = ["--agent", "ppo", "--checkpoint", str(smoke_run / "checkpoint.pt"), "--split", "validation", "--limit", "1", "--no-tasks"]
    assert evaluate.main([*argv, "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "ppo (greedy)" in printed
    for band in ("small", "medium", "large", "all"):
        assert any(line.startswith(band) for line in printed.splitlines())
    record = json.loads(out.read_text())
    assert record["agent"] == "ppo (greedy)" and len(record["graphs"]) == 3
    for graph in record["graphs"]:
        assert graph["agent"] > 0 and graph["markowitz"] > 0
        assert graph["beats_best_classical"] == (graph["agent"] < min(graph["forward"], graph["reverse"], graph["markowitz"]))

"""Long environment checks (``pytest -m slow``): default arguments of every id, MaskablePPO
training, baselines against elimgym.policies, and the examples."""

import subprocess
import sys
import warnings
from pathlib import Path

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import elimgym  # noqa: F401  (registers the ids)
from elimgym import policies, reference
from elimgym.envs.pool import task_pool
from elimgym.envs.registration import ENV_IDS
from graphs import io
from graphs.tasks import TASKS, get_task

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_check_env__passes_with_default_arguments(env_id, tmp_path):
    """Gymnasium's checker, render modes included, on every id at its default capacity and
    graph source (the random env on its default train split)."""
    kwargs = {"illegal": "penalize"}
    if env_id == "VertexElim-v0":
        path = tmp_path / "roe.json"
        io.save(get_task("RoeFlux").graph(), path)
        kwargs["graph"] = str(path)
    env = gym.make(env_id, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_baselines__equal_elimgym_policies(task):
    """The pool's batched baselines equal elimgym.policies.baseline_costs graph by graph."""
    pool = task_pool(task)
    assert pool.baseline_costs(0) == policies.baseline_costs(pool.graphs[0])


def test_maskable_ppo__trains_on_roeflux_and_respects_the_masks():
    """sb3-contrib's MaskablePPO trains for a few thousand steps on VertexElim-RoeFlux-v0 (the
    env raises on any illegal action, so training proves the masks are used); its greedy episode
    costs what the reference eliminator says for its order."""
    from sb3_contrib import MaskablePPO

    env = gym.make("VertexElim-RoeFlux-v0", reward_scaling="markowitz")
    model = MaskablePPO("MultiInputPolicy", env, n_steps=512, batch_size=128, seed=0)
    model.learn(total_timesteps=2048)
    assert model.num_timesteps >= 2048
    obs, info = env.reset(seed=0)
    order, done = [], False
    while not done:
        action, _ = model.predict(obs, action_masks=env.unwrapped.action_masks(), deterministic=True)
        order.append(int(action))
        obs, _, done, _, info = env.step(action)
    assert info["cost"] == reference.play(env.unwrapped.graph, order)[0]


@pytest.mark.parametrize(
    "script, args",
    [
        ("gymnasium_random.py", ["--episodes", "1"]),
        ("pettingzoo_duel.py", ["--games", "1"]),
        ("vector_loop.py", ["--num-envs", "8", "--steps", "120"]),
        ("jax_batched.py", ["--num-envs", "16", "--steps", "120"]),
        ("sb3_maskable_ppo.py", ["--timesteps", "512"]),
    ],
)
def test_examples__run(script, args):
    """Every example runs to the end and prints its result."""
    result = subprocess.run([sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    assert "cost" in result.stdout or "return" in result.stdout

"""Registration of the VertexElim-* Gymnasium ids."""

import os
import subprocess
import sys

import gymnasium as gym
import pytest

import elimgym  # noqa: F401  (registers the ids)
from elimgym.envs import pool
from elimgym.envs.registration import ENTRY_POINT, ENV_IDS, VECTOR_ENTRY_POINT
from graphs.tasks import TASKS


def test_registration__every_task_and_the_generic_ids_are_registered():
    """Every benchmark task has its VertexElim-<Task>-v0 id, plus the random and any-graph ids."""
    expected = {f"VertexElim-{task.env_name}-v0" for task in TASKS.values()} | {"VertexElim-Random-v0", "VertexElim-v0"}
    assert set(ENV_IDS) == expected
    assert len(TASKS) == 10
    for env_id in expected:
        spec = gym.spec(env_id)
        assert spec.entry_point == ENTRY_POINT
        assert spec.vector_entry_point == VECTOR_ENTRY_POINT


def test_registration__task_ids_name_their_task():
    """VertexElim-RoeFlux-v0 plays the 1-D Roe flux task."""
    assert gym.spec("VertexElim-RoeFlux-v0").kwargs == {"task": "RoeFlux_1d"}
    assert gym.spec("VertexElim-RandomG-v0").kwargs == {"task": "g"}


def test_registration__random_env_defaults_to_the_train_split():
    """The random env never reads the held-out split unless asked to."""
    assert gym.spec("VertexElim-Random-v0").kwargs == {"split": "train"}


def test_registration__generic_id_without_a_graph_is_a_clear_error():
    """VertexElim-v0 needs graph=; two sources at once are rejected."""
    with pytest.raises(ValueError, match="exactly one of graph="):
        gym.make("VertexElim-v0")
    with pytest.raises(ValueError, match="exactly one of graph="):
        gym.make("VertexElim-RoeFlux-v0", graph="some.json")
    with pytest.raises(FileNotFoundError, match="missing.json"):
        gym.make("VertexElim-v0", graph="missing.json")


def test_registration__module_colon_id_works_in_a_fresh_interpreter():
    """gym.make("elimgym:VertexElim-RoeFlux-v0") imports elimgym itself; neither import nor make compiles."""
    code = (
        "import gymnasium as gym\n"
        "env = gym.make('elimgym:VertexElim-RoeFlux-v0')\n"
        "print(type(env.unwrapped).__name__, env.observation_space['edges'].shape, env.action_space.n)\n"
    )
    environment = {**os.environ, "JAX_LOG_COMPILES": "1", "JAX_PLATFORMS": "cpu"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=120)
    assert result.returncode == 0, result.stderr
    capacity = pool.default_capacity(TASKS["RoeFlux_1d"].graph().num_vertices)
    assert result.stdout.split() == ["VertexElimEnv", f"({capacity},", f"{capacity})", str(capacity)]
    assert "Compiling" not in result.stderr


def test_default_capacity__rounds_up_to_the_multiple():
    """Default capacities are the graph size rounded up to a multiple of CAPACITY_MULTIPLE."""
    m = pool.CAPACITY_MULTIPLE
    assert [pool.default_capacity(n) for n in (1, m, m + 1, 103)] == [m, m, 2 * m, m * -(-103 // m)]

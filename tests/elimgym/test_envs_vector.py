"""The JAX-backed Gymnasium vector env and the JAX-native batched API."""

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import elimgym  # noqa: F401  (registers the ids)
from elimgym import reference
from elimgym.envs import batched
from elimgym.envs.vector import VertexElimVectorEnv
from elimgym.reference import IllegalAction
from graphs.tasks import get_task

CAPACITY = 136
NUM_ENVS = 3


def _assert_same(a, b, where="") -> None:
    """Exact equality of nested dicts / arrays / scalars, dtypes included."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{where}: keys {sorted(a)} != {sorted(b)}"
        for key in a:
            _assert_same(a[key], b[key], f"{where}/{key}")
    else:
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype, f"{where}: dtype {a.dtype} != {b.dtype}"
        np.testing.assert_array_equal(a, b, err_msg=where)


def _random_legal(masks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.array([rng.choice(np.flatnonzero(m)) for m in masks])


def test_make_vec__returns_the_jax_vector_env_with_next_step_autoreset():
    """make_vec uses the vector entry point: batched spaces, NEXT_STEP autoreset declared."""
    envs = gym.make_vec("VertexElim-Perceptron-v0", num_envs=NUM_ENVS, capacity=CAPACITY)
    assert isinstance(envs, VertexElimVectorEnv)
    assert envs.metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP
    assert envs.observation_space["edges"].shape == (NUM_ENVS, CAPACITY, CAPACITY)
    assert envs.action_space == gym.spaces.MultiDiscrete([CAPACITY] * NUM_ENVS)
    obs, _ = envs.reset(seed=0)
    assert envs.observation_space.contains(obs)
    assert {k: v.dtype for k, v in obs.items()} == {"edges": np.uint8, "vertices": np.float32, "action_mask": np.int8}


@pytest.mark.parametrize(
    "env_id, kwargs",
    [
        ("VertexElim-Perceptron-v0", {}),
        ("VertexElim-Random-v0", {"split": "validation", "band": "small", "reward_scaling": "markowitz"}),
    ],
)
def test_vector__equals_sync_vector_env_on_the_same_actions(env_id, kwargs):
    """Observations, rewards, terminations, truncations and infos equal those of Gymnasium's
    SyncVectorEnv over the single env, across several autoresets (graph draws included)."""
    kwargs = {"capacity": CAPACITY, **kwargs}
    fast = gym.make_vec(env_id, num_envs=NUM_ENVS, **kwargs)
    sync = gym.make_vec(env_id, num_envs=NUM_ENVS, vectorization_mode="sync", **kwargs)
    rng = np.random.default_rng(0)
    obs_fast, info_fast = fast.reset(seed=11)
    obs_sync, info_sync = sync.reset(seed=11)
    _assert_same(obs_fast, obs_sync, "reset obs")
    _assert_same(info_fast, info_sync, "reset info")
    resets = 0
    for t in range(75):
        actions = _random_legal(obs_fast["action_mask"], rng)
        stepped_fast = fast.step(actions)
        stepped_sync = sync.step(actions)
        for name, a, b in zip(("obs", "reward", "terminated", "truncated", "info"), stepped_fast, stepped_sync):
            _assert_same(a, b, f"step {t} {name}")
        obs_fast = stepped_fast[0]
        resets += int(stepped_fast[2].sum())
    assert resets >= 2 * NUM_ENVS


def test_vector__autoreset_ignores_the_action_and_starts_a_new_episode():
    """After a terminal step, the next step ignores the env's action and returns the first
    observation of a new episode with reward 0; the terminal step returned the full cost."""
    envs = gym.make_vec("VertexElim-Perceptron-v0", num_envs=NUM_ENVS, capacity=CAPACITY)
    first, _ = envs.reset(seed=0)
    graph = get_task("Perceptron").graph()
    order = reference.reverse_order(graph)
    total = np.zeros(NUM_ENVS)
    for k, v in enumerate(order):
        obs, rewards, terminated, truncated, info = envs.step(np.full(NUM_ENVS, v))
        total += rewards
        assert terminated.tolist() == [k == len(order) - 1] * NUM_ENVS and not truncated.any()
    expected = reference.play(graph, order)[0]
    assert total.tolist() == [-expected] * NUM_ENVS
    assert info["cost"].tolist() == [expected] * NUM_ENVS
    assert obs["action_mask"].all()
    obs, rewards, terminated, truncated, info = envs.step(np.array([0, CAPACITY - 1, -5]))
    assert rewards.tolist() == [0.0] * NUM_ENVS and not terminated.any() and not truncated.any()
    _assert_same(obs, first, "first observation of the new episode")
    assert info["cost"].tolist() == [0] * NUM_ENVS and (info["order"] == -1).all()


def test_vector__illegal_action_raises_naming_env_and_vertex_and_keeps_the_state():
    """An illegal action raises before anything is stepped; the envs can go on."""
    envs = gym.make_vec("VertexElim-Perceptron-v0", num_envs=NUM_ENVS, capacity=CAPACITY)
    obs, _ = envs.reset(seed=0)
    legal = np.array([np.flatnonzero(m)[0] for m in obs["action_mask"]])
    with pytest.raises(IllegalAction, match=r"env 1 .*vertex 0 \(.*\) is an input"):
        envs.step(np.array([legal[0], 0, legal[2]]))
    obs, rewards, _, _, info = envs.step(legal)
    assert info["order"][:, 0].tolist() == legal.tolist()
    others = [np.flatnonzero(m)[0] for m in obs["action_mask"][1:]]
    with pytest.raises(IllegalAction, match=f"env 0 .*vertex {legal[0]} .* already eliminated"):
        envs.step(np.array([legal[0], *others]))


def test_vector__penalize_ends_only_the_offending_env():
    """With illegal="penalize", an illegal action terminates that env with the penalty only."""
    envs = gym.make_vec("VertexElim-Perceptron-v0", num_envs=NUM_ENVS, capacity=CAPACITY, illegal="penalize", illegal_penalty=3.0)
    obs, _ = envs.reset(seed=0)
    legal = [np.flatnonzero(m)[0] for m in obs["action_mask"][1:]]
    obs, rewards, terminated, _, info = envs.step(np.array([0, *legal]))
    assert rewards[0] == -3.0 and terminated.tolist() == [True, False, False]
    assert info["illegal"].tolist() == [True, False, False] and info["cost"][0] == 0
    assert (info["order"][1:, 0] == legal).all() and (rewards[1:] == -info["cost"][1:]).all()


def test_vector__reset_mask_resets_only_the_selected_envs():
    """reset(options={"reset_mask": m}) restarts the envs of m and keeps the others."""
    envs = gym.make_vec("VertexElim-Perceptron-v0", num_envs=NUM_ENVS, capacity=CAPACITY)
    first, _ = envs.reset(seed=0)
    legal = np.array([np.flatnonzero(m)[-1] for m in first["action_mask"]])
    stepped, *_ = envs.step(legal)
    obs, info = envs.reset(options={"reset_mask": np.array([True, False, False])})
    _assert_same(obs["edges"][0], first["edges"][0])
    _assert_same(obs["edges"][1], stepped["edges"][1])
    assert info["cost"][0] == 0 and info["order"][1, 0] == legal[1]


def test_batched__scan_runs_without_host_transfers_and_costs_add_up():
    """The JAX-native API steps inside a jitted lax.scan with host transfers disallowed; each
    env's rewards over its episode add up to minus the reference cost of its order, then it
    autoresets."""
    params = batched.make_params("VertexElim-Perceptron-v0", capacity=CAPACITY)
    graph = get_task("Perceptron").graph()
    length = len(graph.intermediates)
    num_envs = 4

    @jax.jit
    def run(params, key):
        state, obs = batched.reset(params, key, num_envs)

        def body(carry, key):
            state, obs = carry
            action_key, reset_key = jax.random.split(key)
            logits = jnp.where(obs.action_mask, 0.0, -jnp.inf)
            action = jax.random.categorical(action_key, logits).astype(jnp.int32)
            state, obs, reward, terminated = batched.step(params, state, action, reset_key)
            return (state, obs), (action, reward, terminated)

        return jax.lax.scan(body, (state, obs), jax.random.split(key, length + 1))

    key = jax.device_put(jax.random.PRNGKey(0))
    run(params, key)
    with jax.transfer_guard("disallow"):
        (state, obs), (actions, rewards, terminated) = run(params, key)
    actions, rewards, terminated = np.asarray(actions), np.asarray(rewards), np.asarray(terminated)
    assert terminated[length - 1].all() and not terminated[: length - 1].any() and not terminated[length].any()
    for i in range(num_envs):
        expected, _ = reference.play(graph, actions[:length, i])
        assert rewards[:length, i].sum() == pytest.approx(-expected, rel=1e-6)
    assert (rewards[length] == 0).all()
    assert np.asarray(obs.action_mask).sum(1).tolist() == [length] * num_envs


def test_batched__make_params_reads_the_registry():
    """make_params takes a registered id's graph source and validates its options."""
    params = batched.make_params("VertexElim-Perceptron-v0", capacity=CAPACITY, reward_scaling="forward")
    graph = get_task("Perceptron").graph()
    assert params.num_graphs == 1 and params.capacity == CAPACITY
    forward = reference.play(graph, reference.forward_order(graph))[0]
    assert float(params.reward_scale[0]) == pytest.approx(forward)
    with pytest.raises(ValueError, match="unknown reward_scaling"):
        batched.make_params("VertexElim-Perceptron-v0", reward_scaling="best")

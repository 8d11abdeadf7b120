"""The single Gymnasium env: checkers of Gymnasium and SB3, costs, masks, seeding, options, rendering.

Every env here uses one capacity so that they all share the compiled step function.
"""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import elimgym  # noqa: F401  (registers the ids)
from elimgym import reference
from elimgym.envs.layout import EDGE_DTYPE, VERTEX_FEATURE_NAMES, observation_space
from elimgym.envs.registration import ENV_IDS
from elimgym.executor import count_multiplications
from elimgym.reference import IllegalAction
from graphs import io
from graphs.lcg import CapacityError, GraphError, LCG, Role, Vertex
from graphs.structure import NUM_CODES
from graphs.tasks import get_task

CAPACITY = 136
"""Holds every task graph (the largest has 135 vertices)."""


def _kwargs(env_id: str, tmp_path) -> dict:
    """Keyword arguments that make ``env_id`` at the shared capacity (cheap sources for the
    random and any-graph ids)."""
    kwargs = {"capacity": CAPACITY}
    if env_id == "VertexElim-v0":
        path = tmp_path / "roe.json"
        io.save(get_task("RoeFlux").graph(), path)
        kwargs["graph"] = str(path)
    if env_id == "VertexElim-Random-v0":
        kwargs.update(split="validation", band="small")
    return kwargs


def _random_episode(env: gym.Env, seed: int) -> tuple[list[int], float, dict]:
    """Play uniformly random legal actions to the end; returns (order, return, last info)."""
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    order, total, terminated = [], 0.0, False
    while not terminated:
        action = int(rng.choice(np.flatnonzero(obs["action_mask"])))
        obs, reward, terminated, truncated, info = env.step(action)
        assert not truncated
        order.append(action)
        total += reward
    return order, total, info


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_check_env__passes_for_every_registered_id(env_id, tmp_path):
    """Gymnasium's checker passes (illegal actions penalized: the checker samples unmasked actions)."""
    env = gym.make(env_id, illegal="penalize", **_kwargs(env_id, tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped, skip_render_check=env_id != "VertexElim-RobotArm-v0")


def test_sb3_check_env__passes():
    """Stable-Baselines3's checker passes (its only remarks are about the 2-D observation shapes)."""
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb3_check_env(gym.make("VertexElim-Perceptron-v0", capacity=CAPACITY, illegal="penalize"))
    remarks = {str(w.message) for w in caught}
    assert all("unconventional shape" in r for r in remarks), remarks


@pytest.mark.parametrize("task", ["RoeFlux", "RobotArm"])
def test_episode__cost_matches_core_reference_and_executor(task):
    """A random legal episode's return is minus the cost that the JAX game, the reference
    eliminator and the executor's multiplication count report for the same order."""
    env = gym.make(f"VertexElim-{task}-v0", capacity=CAPACITY)
    order, total, info = _random_episode(env, seed=3)
    graph = env.unwrapped.graph
    expected, _ = reference.play(graph, order)
    assert total == -expected
    assert info["cost"] == expected
    assert list(info["order"][: len(order)]) == order and np.all(info["order"][len(order) :] == -1)
    assert sorted(order) == list(graph.intermediates)
    found = get_task(task)
    args = found.make_args()
    assert count_multiplications(found.function, order, *args, argnums=tuple(range(len(args)))) == expected


def test_info__baselines_equal_the_reference_orders():
    """info["baselines"] holds the costs of the forward, reverse and Markowitz orders, as the
    host reference eliminator plays them."""
    env = gym.make("VertexElim-Perceptron-v0", capacity=CAPACITY)
    _, info = env.reset(seed=0)
    graph = env.unwrapped.graph
    orders = {
        "forward": reference.forward_order(graph),
        "reverse": reference.reverse_order(graph),
        "markowitz": reference.markowitz_order(graph),
    }
    assert info["baselines"] == {name: reference.play(graph, order)[0] for name, order in orders.items()}
    assert info["cost"] == 0 and info["illegal"] is False


def test_observation__every_structure_code_fits_the_edge_dtype():
    """Structure codes (0..NUM_CODES-1) fit the observation's uint8 edges."""
    assert NUM_CODES - 1 <= np.iinfo(EDGE_DTYPE).max


def test_observation__dtypes_layout_and_mask_agree():
    """Observation arrays have the documented dtypes and shapes; the mask is the same in the
    observation, the info and action_masks(), and marks exactly the remaining intermediates."""
    env = gym.make("VertexElim-RobotArm-v0", capacity=CAPACITY)
    obs, info = env.reset(seed=0)
    graph = env.unwrapped.graph
    space = observation_space(CAPACITY)
    assert env.observation_space == space and env.action_space == gym.spaces.Discrete(CAPACITY)
    assert obs["edges"].dtype == np.uint8 and obs["edges"].shape == (CAPACITY, CAPACITY)
    assert obs["vertices"].dtype == np.float32 and obs["vertices"].shape == (CAPACITY, len(VERTEX_FEATURE_NAMES))
    assert obs["action_mask"].dtype == np.int8 and space.contains(obs)
    expected = np.zeros(CAPACITY, np.int8)
    expected[list(graph.intermediates)] = 1
    np.testing.assert_array_equal(obs["action_mask"], expected)
    for s, t in graph.edges:
        assert obs["edges"][s, t] == graph.edges[(s, t)].code
    assert np.count_nonzero(obs["edges"]) == graph.num_edges
    first = graph.intermediates[0]
    obs, _, _, _, info = env.step(first)
    expected[first] = 0
    np.testing.assert_array_equal(obs["action_mask"], expected)
    np.testing.assert_array_equal(info["action_mask"], expected)
    np.testing.assert_array_equal(env.unwrapped.action_masks(), expected.astype(bool))
    assert not obs["edges"][first].any() and not obs["edges"][:, first].any()
    assert obs["vertices"][first, VERTEX_FEATURE_NAMES.index("eliminated")] == 1.0


def test_seeding__same_seed_same_graphs_and_observations():
    """Seeded resets of the random env draw the same graphs; other seeds draw others."""
    def graphs_drawn(seed):
        env = gym.make("VertexElim-Random-v0", split="validation", band="small", capacity=CAPACITY)
        env.reset(seed=seed)
        names = [env.unwrapped.graph.name]
        for _ in range(4):
            env.reset()
            names.append(env.unwrapped.graph.name)
        return names

    first = graphs_drawn(7)
    assert first == graphs_drawn(7)
    assert first != graphs_drawn(8)
    assert all(name.startswith("validation-small-") for name in first)


def test_illegal_action__raises_naming_the_vertex_by_default():
    """The default policy raises an error that says which vertex and why."""
    env = gym.make("VertexElim-RoeFlux-v0", capacity=CAPACITY)
    env.reset(seed=0)
    graph = env.unwrapped.graph
    with pytest.raises(IllegalAction, match=r"vertex 0 \(.*\) is an input"):
        env.step(0)
    with pytest.raises(IllegalAction, match=f"vertex {graph.outputs[0]} .* is an output"):
        env.step(graph.outputs[0])
    with pytest.raises(IllegalAction, match="padding slot"):
        env.step(CAPACITY - 1)
    with pytest.raises(IllegalAction, match="out of range"):
        env.step(CAPACITY)
    first = graph.intermediates[0]
    env.step(first)
    with pytest.raises(IllegalAction, match=f"vertex {first} .* is already eliminated"):
        env.step(first)
    with pytest.raises(TypeError, match="one integer"):
        env.step(1.5)


def test_illegal_action__penalize_terminates_with_the_penalty():
    """With illegal="penalize" an illegal action returns -penalty, terminates, and leaves the state."""
    env = gym.make("VertexElim-RoeFlux-v0", capacity=CAPACITY, illegal="penalize", illegal_penalty=7.5)
    obs, _ = env.reset(seed=0)
    after, reward, terminated, truncated, info = env.step(0)
    assert (reward, terminated, truncated, info["illegal"], info["cost"]) == (-7.5, True, False, True, 0)
    np.testing.assert_array_equal(after["edges"], obs["edges"])
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(int(np.flatnonzero(obs["action_mask"])[0]))


def test_illegal_action__default_penalty_is_the_worst_baseline():
    """The default penalty is the graph's largest baseline cost, in reward units."""
    env = gym.make("VertexElim-Perceptron-v0", capacity=CAPACITY, illegal="penalize", reward_scaling="markowitz")
    _, info = env.reset(seed=0)
    _, reward, _, _, _ = env.step(0)
    baselines = info["baselines"]
    assert reward == -max(baselines.values()) / baselines["markowitz"]


def test_reward_scaling__markowitz_order_returns_minus_one():
    """With reward_scaling="markowitz", playing the Markowitz order returns exactly -1."""
    env = gym.make("VertexElim-RoeFlux-v0", capacity=CAPACITY, reward_scaling="markowitz")
    env.reset(seed=0)
    order = reference.markowitz_order(env.unwrapped.graph)
    total = sum(env.step(v)[1] for v in order)
    assert total == pytest.approx(-1.0, abs=1e-12)


def test_reward_scaling__constant_divides_and_bad_values_are_rejected():
    """A float scaling divides the multiplications; unknown names and non-positive values raise."""
    env = gym.make("VertexElim-RoeFlux-v0", capacity=CAPACITY, reward_scaling=4.0)
    env.reset(seed=0)
    graph = env.unwrapped.graph
    v = graph.intermediates[-1]
    assert env.step(v)[1] == -reference.elimination_cost(graph, v) / 4.0
    with pytest.raises(ValueError, match="unknown reward_scaling"):
        gym.make("VertexElim-RoeFlux-v0", reward_scaling="best")
    with pytest.raises(ValueError, match="positive float"):
        gym.make("VertexElim-RoeFlux-v0", reward_scaling=0.0)
    with pytest.raises(ValueError, match="illegal-action policy"):
        gym.make("VertexElim-RoeFlux-v0", illegal="ignore")


def test_any_graph__lcg_and_file_play_the_same_game(tmp_path):
    """VertexElim-v0 plays an LCG object or a graph file identically."""
    graph = get_task("RobotArm").graph()
    path = tmp_path / "arm.json"
    io.save(graph, path)
    returns = []
    for source in (graph, str(path)):
        env = gym.make("VertexElim-v0", graph=source, capacity=CAPACITY)
        returns.append(_random_episode(env, seed=1)[1])
    assert returns[0] == returns[1]


def test_any_graph__bad_graphs_are_rejected():
    """A graph without intermediates, or larger than the capacity, is a clear error."""
    trivial = LCG.from_edges([Vertex(Role.INPUT, ()), Vertex(Role.OUTPUT, ())], {(0, 1): "<-:[]"}, name="trivial")
    with pytest.raises(GraphError, match="no intermediate vertex"):
        gym.make("VertexElim-v0", graph=trivial)
    with pytest.raises(CapacityError, match="capacity is 8"):
        gym.make("VertexElim-RoeFlux-v0", capacity=8)


def test_render__ansi_reports_cost_order_and_baselines():
    """The text rendering names the graph, the cost so far, the order and the baselines."""
    env = gym.make("VertexElim-RoeFlux-v0", capacity=CAPACITY, render_mode="ansi")
    _, info = env.reset(seed=0)
    graph = env.unwrapped.graph
    first, second = graph.intermediates[-1], graph.intermediates[-2]
    env.step(first)
    _, _, _, _, info = env.step(second)
    text = env.render()
    assert text.startswith(f"RoeFlux_1d: step 2/{len(graph.intermediates)}, cost {info['cost']} ")
    assert f"order: {first} {second}\n" in text
    assert f"markowitz {info['baselines']['markowitz']}" in text


def test_render__rgb_array_is_an_image():
    """The picture is an RGB uint8 image."""
    env = gym.make("VertexElim-Perceptron-v0", capacity=CAPACITY, render_mode="rgb_array")
    env.reset(seed=0)
    image = env.render()
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3 and image.std() > 0


def test_split_pool__skips_graphs_without_intermediates(monkeypatch):
    """A split's graphs with nothing to eliminate are left out of the random env's pool."""
    from graphs import splits
    from elimgym.envs.pool import split_pool

    playable = get_task("Perceptron").graph()
    empty = LCG.from_edges([Vertex(Role.INPUT, ()), Vertex(Role.OUTPUT, ())], {(0, 1): "<-:[]"}, name="empty")
    monkeypatch.setattr(splits, "split_graphs", lambda split, band: [empty, playable, empty])
    split_pool.cache_clear()
    try:
        pool = split_pool("validation", "small", capacity=40)
    finally:
        split_pool.cache_clear()
    assert pool.graphs == (playable,) and pool.name == "validation/small"

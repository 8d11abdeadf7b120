"""PettingZoo environments: API and seed tests, and the duel's outcome."""

import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test, seed_test

from elimgym import reference
from elimgym.envs.multiagent import PLAYERS, duel_env, duel_parallel_env, solo_env
from elimgym.reference import IllegalAction
from graphs.tasks import get_task

CAPACITY = 136
TASK = "Perceptron"


def test_solo__passes_the_pettingzoo_api_and_seed_tests():
    """The single-player AEC env passes api_test and seed_test."""
    api_test(solo_env(task=TASK, capacity=CAPACITY), num_cycles=100)
    seed_test(lambda: solo_env(task=TASK, capacity=CAPACITY), num_cycles=40)


def test_duel__passes_the_pettingzoo_api_and_seed_tests():
    """The AEC duel passes api_test and seed_test."""
    api_test(duel_env(task=TASK, capacity=CAPACITY), num_cycles=100)
    seed_test(lambda: duel_env(task=TASK, capacity=CAPACITY), num_cycles=40)


def test_duel_parallel__passes_the_pettingzoo_parallel_api_and_seed_tests():
    """The parallel duel passes parallel_api_test and parallel_seed_test (which samples
    unmasked actions, so illegal moves lose instead of raising)."""
    parallel_api_test(duel_parallel_env(task=TASK, capacity=CAPACITY), num_cycles=100)
    parallel_seed_test(lambda: duel_parallel_env(task=TASK, capacity=CAPACITY, illegal="penalize"), num_cycles=40)


def _orders():
    graph = get_task(TASK).graph()
    orders = {name: f(graph) for name, f in (("forward", reference.forward_order), ("reverse", reference.reverse_order))}
    costs = {name: reference.play(graph, order)[0] for name, order in orders.items()}
    assert costs["forward"] != costs["reverse"]
    return orders, costs


@pytest.mark.parametrize("first, second", [("forward", "reverse"), ("reverse", "forward"), ("reverse", "reverse")])
def test_duel__lower_total_cost_wins(first, second):
    """Rewards are 0 until both finish; then +1/-1 by lower total cost, 0 each on a tie."""
    orders, costs = _orders()
    env = duel_env(task=TASK, capacity=CAPACITY)
    env.reset(seed=0)
    moves = {PLAYERS[0]: iter(orders[first]), PLAYERS[1]: iter(orders[second])}
    final = {}
    for agent in env.agent_iter():
        obs, reward, terminated, truncated, info = env.last()
        if terminated or truncated:
            final[agent] = (reward, info)
            env.step(None)
            continue
        assert reward == 0
        env.step(next(moves[agent]))
    sign = np.sign(costs[second] - costs[first])
    assert final[PLAYERS[0]][0] == sign and final[PLAYERS[1]][0] == -sign
    assert final[PLAYERS[0]][1]["cost"] == costs[first] and final[PLAYERS[0]][1]["opponent_cost"] == costs[second]


def test_duel_parallel__both_finish_together_and_the_cheaper_wins():
    """In the parallel duel both players finish at the same step; the cheaper order wins."""
    orders, costs = _orders()
    env = duel_parallel_env(task=TASK, capacity=CAPACITY)
    observations, infos = env.reset(seed=0)
    assert set(observations) == set(PLAYERS)
    assert observations[PLAYERS[0]]["action_mask"].dtype == np.int8
    for k, (a, b) in enumerate(zip(orders["forward"], orders["reverse"])):
        _, rewards, terminations, _, infos = env.step({PLAYERS[0]: a, PLAYERS[1]: b})
        last = k == len(orders["forward"]) - 1
        assert all(terminations[p] == last for p in PLAYERS)
    winner = PLAYERS[0] if costs["forward"] < costs["reverse"] else PLAYERS[1]
    assert rewards[winner] == 1.0 and sum(rewards.values()) == 0.0
    assert env.agents == []


def test_duel__illegal_moves_raise_or_lose():
    """By default an illegal move raises naming the player; with "penalize" the offender loses."""
    env = duel_env(task=TASK, capacity=CAPACITY)
    env.reset(seed=0)
    with pytest.raises(IllegalAction, match="player_0: .*vertex 0 .* is an input"):
        env.step(0)
    env = duel_parallel_env(task=TASK, capacity=CAPACITY, illegal="penalize")
    observations, _ = env.reset(seed=0)
    legal = int(np.flatnonzero(observations[PLAYERS[0]]["action_mask"])[0])
    _, rewards, terminations, _, infos = env.step({PLAYERS[0]: legal, PLAYERS[1]: 0})
    assert rewards == {PLAYERS[0]: 1.0, PLAYERS[1]: -1.0} and all(terminations.values())
    assert infos[PLAYERS[1]]["illegal"] and not infos[PLAYERS[0]]["illegal"]

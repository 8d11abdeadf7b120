"""Two players eliminate their own copy of the same graph; the lower total cost wins.

Player 0 plays the dynamic Markowitz heuristic (fewest predecessors x successors, read from the
observation's edges), player 1 plays uniformly random legal moves.

    python examples/pettingzoo_duel.py --task RoeFlux --games 5
"""

from __future__ import annotations

import argparse

import numpy as np

from elimgym.envs.multiagent import duel_env


def markowitz_move(observation: dict) -> int:
    """The legal vertex with the fewest predecessors x successors (lowest index on ties)."""
    present = observation["observation"]["edges"] != 0
    degree = present.sum(0) * present.sum(1)
    return int(np.argmin(np.where(observation["action_mask"] == 1, degree, np.iinfo(np.int64).max)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="RoeFlux")
    parser.add_argument("--games", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    env = duel_env(task=args.task)
    rng = np.random.default_rng(args.seed)
    for game in range(args.games):
        env.reset(seed=args.seed + game)
        for agent in env.agent_iter():
            observation, reward, terminated, truncated, info = env.last()
            if terminated or truncated:
                print(f"game {game}: {agent} cost {info['cost']} vs {info['opponent_cost']} -> reward {reward:+.0f}")
                action = None
            elif agent == "player_0":
                action = markowitz_move(observation)
            else:
                action = int(rng.choice(np.flatnonzero(observation["action_mask"])))
            env.step(action)


if __name__ == "__main__":
    main()

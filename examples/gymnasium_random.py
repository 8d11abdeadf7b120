"""A random masked agent on a VertexElim Gymnasium env, compared with the classical orders.

    python examples/gymnasium_random.py --env-id VertexElim-RoeFlux-v0 --episodes 3
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np

import elimgym  # noqa: F401  (registers the VertexElim-* ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env-id", default="VertexElim-RoeFlux-v0")
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    env = gym.make(args.env_id)
    rng = np.random.default_rng(args.seed)
    for episode in range(args.episodes):
        obs, info = env.reset(seed=args.seed + episode)
        episode_return, done = 0.0, False
        while not done:
            action = rng.choice(np.flatnonzero(obs["action_mask"]))  # a uniformly random legal vertex
            obs, reward, terminated, truncated, info = env.step(action)
            episode_return += reward
            done = terminated or truncated
        baselines = ", ".join(f"{name} {cost}" for name, cost in info["baselines"].items())
        print(f"episode {episode} on {env.unwrapped.graph.name}: cost {info['cost']} (return {episode_return:g}); {baselines}")


if __name__ == "__main__":
    main()

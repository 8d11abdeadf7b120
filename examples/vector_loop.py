"""A CleanRL-style rollout loop on the JAX-backed vector env, with Gymnasium 1.x next-step autoreset.

The step after an episode ends is a reset transition: its action is ignored and its reward is 0,
so it must not be trained on. Keep a mask of envs that autoreset at the current step.

    python examples/vector_loop.py --num-envs 64 --steps 300
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np

import elimgym  # noqa: F401  (registers the VertexElim-* ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env-id", default="VertexElim-RoeFlux-v0")
    parser.add_argument("--num-envs", type=int, default=64)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    envs = gym.make_vec(args.env_id, num_envs=args.num_envs)  # VertexElimVectorEnv: one jitted step for all envs
    rng = np.random.default_rng(args.seed)
    obs, info = envs.reset(seed=args.seed)
    autoreset = np.zeros(args.num_envs, dtype=bool)  # this step only resets these envs
    episode_return = np.zeros(args.num_envs)
    finished = []
    for _ in range(args.steps):
        noise = rng.random(obs["action_mask"].shape)
        actions = np.argmax(np.where(obs["action_mask"] == 1, noise, -1.0), axis=1)  # random legal actions
        obs, rewards, terminations, truncations, info = envs.step(actions)
        episode_return += np.where(autoreset, 0.0, rewards)  # a real agent would also skip these transitions
        done = terminations | truncations
        for i in np.flatnonzero(done):
            finished.append((info["cost"][i], info["baselines"]["markowitz"][i]))
        episode_return[done] = 0.0
        autoreset = done
    costs = np.array(finished)
    print(f"{len(finished)} episodes: mean cost {costs[:, 0].mean():.1f} vs Markowitz {costs[:, 1].mean():.1f}")


if __name__ == "__main__":
    main()

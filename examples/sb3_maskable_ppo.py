"""Plug in an external RL library: sb3-contrib's MaskablePPO on VertexElim-RoeFlux-v0.

MaskablePPO reads the legal actions from ``env.action_masks()``; the Dict observation goes to
SB3's ``MultiInputPolicy`` as is. 4096 steps take a few minutes on a 2-core CPU.

    python examples/sb3_maskable_ppo.py --timesteps 4096
"""

from __future__ import annotations

import argparse

import gymnasium as gym
from sb3_contrib import MaskablePPO

import elimgym  # noqa: F401  (registers the VertexElim-* ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env-id", default="VertexElim-RoeFlux-v0")
    parser.add_argument("--timesteps", type=int, default=4096)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    env = gym.make(args.env_id, reward_scaling="markowitz")  # return -1 = as good as Markowitz
    model = MaskablePPO("MultiInputPolicy", env, n_steps=512, batch_size=128, seed=args.seed, verbose=0)
    model.learn(total_timesteps=args.timesteps)

    obs, info = env.reset(seed=args.seed)
    done = False
    while not done:
        action, _ = model.predict(obs, action_masks=env.unwrapped.action_masks(), deterministic=True)
        obs, reward, terminated, truncated, info = env.step(action)
        done = terminated or truncated
    print(f"greedy MaskablePPO after {args.timesteps} steps: cost {info['cost']}; baselines {info['baselines']}")


if __name__ == "__main__":
    main()

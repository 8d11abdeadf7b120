"""The JAX-native batched API: episodes of many envs inside one jitted lax.scan, no host transfer.

    python examples/jax_batched.py --num-envs 512 --steps 200
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp

import elimgym  # noqa: F401  (registers the VertexElim-* ids)
from elimgym.envs import batched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env-id", default="VertexElim-RoeFlux-v0")
    parser.add_argument("--num-envs", type=int, default=512)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()

    params = batched.make_params(args.env_id)

    @jax.jit
    def rollout(key):
        state, obs = batched.reset(params, key, args.num_envs)

        def body(carry, key):
            state, obs = carry
            action_key, reset_key = jax.random.split(key)
            action = jax.random.categorical(action_key, jnp.where(obs.action_mask, 0.0, -jnp.inf))
            state, obs, reward, terminated = batched.step(params, state, action, reset_key)
            return (state, obs), (reward, terminated)

        _, (rewards, terminated) = jax.lax.scan(body, (state, obs), jax.random.split(key, args.steps))
        return rewards.sum() / jnp.maximum(terminated.sum(), 1), terminated.sum()

    mean_return, episodes = rollout(jax.random.PRNGKey(0))
    print(f"{int(episodes)} episodes finished, mean return {float(mean_return):.1f} (minus the multiplications)")


if __name__ == "__main__":
    main()

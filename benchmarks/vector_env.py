"""Throughput of the Gymnasium vector env (env-steps per second), side by side with its baselines.

Measured in one run, on one env id (default ``VertexElim-RoeFlux-v0`` at its default capacity):

* ``vector``: ``gym.make_vec(id, num_envs=n)`` (the JAX-backed :class:`VertexElimVectorEnv`), a
  Python loop of ``envs.step`` with uniformly random legal actions drawn in NumPy; the time inside
  ``envs.step`` only (``env``) and the whole loop with the action choice (``loop``);
* ``sync``: the same loop on ``gym.make_vec(id, n, vectorization_mode="sync")`` (Gymnasium's
  ``SyncVectorEnv`` over the single env: what one gets without the JAX vector env);
* ``jax-scan``: the JAX-native API (:func:`elimgym.envs.batched.step` with random legal actions)
  inside one jitted ``lax.scan``: no host transfer, the ceiling for the vector env;
* ``core``: the bare game (``vmap(elimgym.game.step)`` in ``lax.scan`` over pre-drawn random
  complete orders, no observation): what ``benchmarks/env_throughput.py`` calls ``scan(orders)``,
  to relate this run to that benchmark's figures.

Also reports the bytes copied to the host per step. Timings on a shared machine are noisy:
compare the rows of one run (the ratios ``vector / jax-scan`` and ``vector / core`` are printed),
and CPU time (process time, all threads) next to wall time.

    python benchmarks/vector_env.py --json vector_env.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np

import elimgym  # noqa: F401  (registers the ids)
from elimgym import game
from elimgym.envs import batched
from graphs.lcg import Role


def _random_legal_actions(rng: np.random.Generator, capacity: int, num_envs: int) -> Callable[[np.ndarray], np.ndarray]:
    """A vectorised uniformly random legal policy: argmax of noise over the legal actions
    (eight pre-drawn noise tables, cycled, so drawing costs no more than a multiply)."""
    tables = [rng.random((num_envs, capacity), dtype=np.float32) + 1.0 for _ in range(8)]
    counter = iter(range(1 << 62))

    def act(mask: np.ndarray) -> np.ndarray:
        return np.argmax(mask * tables[next(counter) % 8], axis=1)

    return act


def _measure_gymnasium(envs: gym.vector.VectorEnv, seconds: float, warmup: int) -> dict[str, float]:
    capacity = int(envs.single_action_space.n)
    act = _random_legal_actions(np.random.default_rng(0), capacity, envs.num_envs)
    obs, _ = envs.reset(seed=0)
    for _ in range(warmup):
        obs, *_ = envs.step(act(obs["action_mask"]))
    steps, env_wall, env_cpu = 0, 0.0, 0.0
    loop_wall, loop_cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - loop_wall < seconds:
        actions = act(obs["action_mask"])
        wall, cpu = time.perf_counter(), time.process_time()
        obs, *_ = envs.step(actions)
        env_wall += time.perf_counter() - wall
        env_cpu += time.process_time() - cpu
        steps += 1
    loop_wall, loop_cpu = time.perf_counter() - loop_wall, time.process_time() - loop_cpu
    transitions = steps * envs.num_envs
    return {
        "steps": steps,
        "env_steps_per_s": transitions / env_wall,
        "env_steps_per_cpu_s": transitions / env_cpu,
        "loop_steps_per_s": transitions / loop_wall,
        "loop_steps_per_cpu_s": transitions / loop_cpu,
        "ms_per_step": 1e3 * env_wall / steps,
        "host_bytes_per_step": float(sum(np.asarray(v).nbytes for v in obs.values())),
    }


def _measure_scan(env_id: str, num_envs: int, capacity: int | None, seconds: float) -> dict[str, float]:
    params = batched.make_params(env_id, capacity=capacity)
    length = 64

    @jax.jit
    def run(state, obs, key):
        def body(carry, key):
            state, obs = carry
            action_key, reset_key = jax.random.split(key)
            action = jax.random.categorical(action_key, jnp.where(obs.action_mask, 0.0, -jnp.inf)).astype(jnp.int32)
            state, obs, reward, _ = batched.step(params, state, action, reset_key)
            return (state, obs), reward

        (state, obs), rewards = jax.lax.scan(body, (state, obs), jax.random.split(key, length))
        return state, obs, rewards.sum()

    key = jax.random.PRNGKey(0)
    state, obs = batched.reset(params, key, num_envs)
    state, obs, total = run(state, obs, key)
    jax.block_until_ready(total)
    calls, wall, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - wall < seconds:
        key, sub = jax.random.split(key)
        state, obs, total = run(state, obs, sub)
        jax.block_until_ready(total)
        calls += 1
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    transitions = calls * length * num_envs
    return {
        "steps": calls * length,
        "env_steps_per_s": transitions / wall,
        "env_steps_per_cpu_s": transitions / cpu,
        "loop_steps_per_s": transitions / wall,
        "loop_steps_per_cpu_s": transitions / cpu,
        "ms_per_step": 1e3 * wall / (calls * length),
        "host_bytes_per_step": 0.0,
    }


def _measure_core(env_id: str, num_envs: int, capacity: int | None, seconds: float) -> dict[str, float]:
    params = batched.make_params(env_id, capacity=capacity)
    graph_state = jax.tree_util.tree_map(lambda x: x[0], params.initial)
    intermediates = np.flatnonzero(np.asarray(graph_state.roles) == Role.INTERMEDIATE)
    rng = np.random.default_rng(0)
    orders = jnp.asarray(np.stack([rng.permutation(intermediates) for _ in range(num_envs)]), jnp.int32)

    @jax.jit
    def episodes(orders):
        def episode(order):
            def body(state, action):
                state, reward, _ = game.step(state, action)
                return state, reward

            return jax.lax.scan(body, graph_state, order)[1].sum()

        return jax.vmap(episode)(orders)

    jax.block_until_ready(episodes(orders))
    calls, wall, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - wall < seconds:
        jax.block_until_ready(episodes(orders))
        calls += 1
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    steps = calls * len(intermediates)
    return {
        "steps": steps,
        "env_steps_per_s": steps * num_envs / wall,
        "env_steps_per_cpu_s": steps * num_envs / cpu,
        "loop_steps_per_s": steps * num_envs / wall,
        "loop_steps_per_cpu_s": steps * num_envs / cpu,
        "ms_per_step": 1e3 * wall / steps,
        "host_bytes_per_step": 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env-id", default="VertexElim-RoeFlux-v0")
    parser.add_argument("--capacity", type=int, default=None, help="padded size (default: the env's default)")
    parser.add_argument("--num-envs", type=int, nargs="+", default=[64, 512, 2048], help="vector env sizes")
    parser.add_argument("--sync-num-envs", type=int, nargs="+", default=[8], help="SyncVectorEnv sizes")
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring time per row")
    parser.add_argument("--json", help="write the results to this JSON file")
    args = parser.parse_args()

    kwargs = {} if args.capacity is None else {"capacity": args.capacity}
    rows = []
    for num_envs in args.num_envs:
        envs = gym.make_vec(args.env_id, num_envs=num_envs, **kwargs)
        rows.append({"mode": "vector", "num_envs": num_envs, **_measure_gymnasium(envs, args.seconds, warmup=20)})
        capacity = int(envs.single_action_space.n)
        envs.close()
    for num_envs in args.sync_num_envs:
        envs = gym.make_vec(args.env_id, num_envs=num_envs, vectorization_mode="sync", **kwargs)
        rows.append({"mode": "sync", "num_envs": num_envs, **_measure_gymnasium(envs, args.seconds, warmup=5)})
        envs.close()
    for num_envs in args.num_envs:
        rows.append({"mode": "jax-scan", "num_envs": num_envs, **_measure_scan(args.env_id, num_envs, args.capacity, args.seconds)})
    for num_envs in args.num_envs:
        rows.append({"mode": "core", "num_envs": num_envs, **_measure_core(args.env_id, num_envs, args.capacity, args.seconds)})

    header = f"{'mode':9s} {'envs':>5s} {'env steps/s':>12s} {'per CPU s':>10s} {'loop steps/s':>13s} {'ms/step':>8s} {'host MB/step':>13s}"
    print(f"{args.env_id} (capacity {capacity}), {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(header)
    for r in rows:
        print(
            f"{r['mode']:9s} {r['num_envs']:5d} {r['env_steps_per_s']:12,.0f} {r['env_steps_per_cpu_s']:10,.0f} "
            f"{r['loop_steps_per_s']:13,.0f} {r['ms_per_step']:8.2f} {r['host_bytes_per_step'] / 1e6:13.2f}"
        )
    ratios: dict[str, dict[int, float]] = {}
    for reference in ("jax-scan", "core"):
        for r in rows:
            if r["mode"] == "vector":
                base = next(b for b in rows if b["mode"] == reference and b["num_envs"] == r["num_envs"])
                ratios.setdefault(reference, {})[r["num_envs"]] = r["env_steps_per_cpu_s"] / base["env_steps_per_cpu_s"]
        print(f"vector / {reference} (per CPU second): " + ", ".join(f"{n} envs {x:.2f}" for n, x in ratios[reference].items()))
    if args.json:
        result = {
            "env_id": args.env_id,
            "capacity": capacity,
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg()[0],
            "platform": platform.platform(),
            "jax": jax.__version__,
            "rows": rows,
            "vector_over_per_cpu_s": ratios,
        }
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()

"""Throughput of the functional JAX game (env-steps per second).

Measures, on a ~100-vertex graph (the 1-D Roe flux) at capacity 128:

* ``scan``: whole episodes inside ``lax.scan`` under ``jit(vmap(...))``, actions from pre-drawn random
  complete orders (pure game stepping) and from a random legal policy sampled inside the scan;
* ``python-loop``: a Python loop calling a jitted, vmapped step (dispatch overhead included);

for batch sizes 1, 64, 512 and 4096, and reports the memory of one state. Next to the wall-clock
rate of ``scan(orders)`` it prints the rate per CPU-second (process time, all threads): on a machine
shared with other jobs it is disturbed less than the wall-clock rate, which is the target's measure.

    python benchmarks/env_throughput.py --json env_throughput.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np

from graphs.tasks import get_task
from elimgym import game
from elimgym.testing import random_legal_action


def _time(fn, *args, repeats: int) -> tuple[float, float]:
    """Median wall-clock and CPU (process, all threads) seconds of ``fn(*args)``, compile excluded."""
    jax.block_until_ready(fn(*args))
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        jax.block_until_ready(fn(*args))
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return float(np.median(walls)), float(np.median(cpus))


def _scan_orders(state0):
    def episode(order):
        def body(state, action):
            state, reward, _ = game.step(state, action)
            return state, reward

        return jax.lax.scan(body, state0, order)[1].sum()

    return jax.jit(jax.vmap(episode))


def _scan_policy(state0, steps: int):
    def episode(key):
        def body(state, key):
            state, reward, _ = game.step(state, random_legal_action(state, key))
            return state, reward

        return jax.lax.scan(body, state0, jax.random.split(key, steps))[1].sum()

    return jax.jit(jax.vmap(episode))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="RoeFlux_1d")
    parser.add_argument("--capacity", type=int, default=128)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64, 512, 4096])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", help="write the results to this JSON file")
    args = parser.parse_args()

    graph = get_task(args.task).graph()
    state0 = game.init(game.encode(graph, args.capacity))
    steps = len(graph.intermediates)
    rng = np.random.default_rng(0)
    state_bytes = sum(x.nbytes for x in jax.tree_util.tree_leaves(state0))
    rows = []
    jitted_step = jax.jit(jax.vmap(game.step))
    for batch in args.batches:
        orders = jnp.asarray(np.stack([rng.permutation(graph.intermediates) for _ in range(batch)]), jnp.int32)
        t_orders, cpu_orders = _time(_scan_orders(state0), orders, repeats=args.repeats)
        keys = jax.random.split(jax.random.PRNGKey(1), batch)
        t_policy, _ = _time(_scan_policy(state0, steps), keys, repeats=args.repeats)
        states = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (batch,) + x.shape), state0)

        def loop(states, orders):
            for t in range(steps):
                states, _, _ = jitted_step(states, orders[:, t])
            return states.cost_lo

        t_loop, _ = _time(loop, states, orders, repeats=max(1, args.repeats // 2))
        rows.append(
            {
                "batch": batch,
                "scan_orders_steps_per_s": batch * steps / t_orders,
                "scan_orders_steps_per_cpu_s": batch * steps / cpu_orders,
                "scan_policy_steps_per_s": batch * steps / t_policy,
                "python_loop_steps_per_s": batch * steps / t_loop,
            }
        )
        r = rows[-1]
        print(
            f"batch {batch:>5}  scan(orders) {r['scan_orders_steps_per_s']:>12,.0f}  "
            f"(per CPU-s {r['scan_orders_steps_per_cpu_s']:>12,.0f})  "
            f"scan(random policy) {r['scan_policy_steps_per_s']:>12,.0f}  "
            f"python loop {r['python_loop_steps_per_s']:>12,.0f}  env-steps/s",
            flush=True,
        )
    load = os.getloadavg()[0]
    print(f"\n{graph.summary()}; capacity {args.capacity}; one state = {state_bytes:,d} bytes")
    print(f"{os.cpu_count()} CPUs, load average {load:.1f} (other jobs slow the wall-clock figures)")
    result = {
        "task": args.task,
        "vertices": graph.num_vertices,
        "capacity": args.capacity,
        "steps_per_episode": steps,
        "state_bytes": state_bytes,
        "jax_version": jax.__version__,
        "machine": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average": load,
        "rows": rows,
    }
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)


if __name__ == "__main__":
    main()

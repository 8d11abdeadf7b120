"""Throughput of the functional JAX game (env-steps per second).

Measures, on a ~100-vertex graph (the 1-D Roe flux) at capacity 128:

* ``scan``: whole episodes inside ``lax.scan`` under ``jit(vmap(...))``, actions from pre-drawn random
  complete orders (pure game stepping) and from a random legal policy sampled inside the scan;
* ``python-loop``: a Python loop calling a jitted, vmapped step (dispatch overhead included);

for batch sizes 1, 64, 512 and 4096, and reports the memory of one state.

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


def _time(fn, *args, repeats: int) -> float:
    """Median wall time of ``fn(*args)`` after one warm-up call (compile excluded)."""
    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return float(np.median(times))


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
        t_orders = _time(_scan_orders(state0), orders, repeats=args.repeats)
        keys = jax.random.split(jax.random.PRNGKey(1), batch)
        t_policy = _time(_scan_policy(state0, steps), keys, repeats=args.repeats)
        states = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (batch,) + x.shape), state0)

        def loop(states, orders):
            for t in range(steps):
                states, _, _ = jitted_step(states, orders[:, t])
            return states.cost_lo

        t_loop = _time(loop, states, orders, repeats=max(1, args.repeats // 2))
        rows.append(
            {
                "batch": batch,
                "scan_orders_steps_per_s": batch * steps / t_orders,
                "scan_policy_steps_per_s": batch * steps / t_policy,
                "python_loop_steps_per_s": batch * steps / t_loop,
            }
        )
        r = rows[-1]
        print(
            f"batch {batch:>5}  scan(orders) {r['scan_orders_steps_per_s']:>12,.0f}  "
            f"scan(random policy) {r['scan_policy_steps_per_s']:>12,.0f}  "
            f"python loop {r['python_loop_steps_per_s']:>12,.0f}  env-steps/s",
            flush=True,
        )
    print(f"\n{graph.summary()}; capacity {args.capacity}; one state = {state_bytes:,d} bytes")
    result = {
        "task": args.task,
        "vertices": graph.num_vertices,
        "capacity": args.capacity,
        "steps_per_episode": steps,
        "state_bytes": state_bytes,
        "jax_version": jax.__version__,
        "machine": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "rows": rows,
    }
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)


if __name__ == "__main__":
    main()

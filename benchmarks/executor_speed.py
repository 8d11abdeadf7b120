"""Speed of the Jacobian executor against JAX's own modes, task by task.

For every benchmark task, times ``jit(vmap(jacobian(f, order)))`` at a batch of inputs for the
forward, reverse and Markowitz orders and the best known order
(``graphs/data/orders/<Task>.json``; where none is stored, the cheapest of the three, as the
table says), next to ``jit(vmap(jax.jacrev(f)))`` and ``jit(vmap(jax.jacfwd(f)))``, all in the
same run, interleaved round by round so that they share the machine's noise. Reports medians
of the CPU time of this process (what the ratios and targets use: on a shared machine it counts
only the work done for this process) and of the wall clock, compile times, the cost model's
multiplications per order, and the ratio executor(best order) / best of JAX's two.

Usage::

    python benchmarks/executor_speed.py --json executor_speed.json
    python benchmarks/executor_speed.py --tasks RoeFlux_1d RobotArm_6DOF --rounds 9
    python benchmarks/executor_speed.py --json executor_speed.json --resume --markdown table.md

``--resume`` keeps the tasks already in the JSON file (it is written after every task), so an
interrupted run continues where it stopped, and a complete file is only printed again.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import jax
import numpy as np

from elimgym.executor import elimination_program, jacobian, trace_for
from elimgym.orders import Order, OrderError
from graphs.tasks import TASKS

ORDERS_DIR = Path(__file__).resolve().parent.parent / "graphs" / "data" / "orders"
NAMED = ("forward", "reverse", "markowitz")
MAX_BATCH_MULTIPLICATIONS = 2e9
"""Orders whose multiplications for the whole batch exceed this are not timed (they would take
seconds per call and gigabytes of memory); the table marks them as skipped. ``jax.jacfwd`` and
``jax.jacrev`` are skipped where the forward and the reverse order are."""


def batched_arguments(args: tuple[Any, ...], batch: int, seed: int = 0) -> tuple[Any, ...]:
    """``batch`` copies of the task's arguments, each entry perturbed by a relative 1e-3 so that
    the inputs stay in the task's domain."""
    rng = np.random.default_rng(seed)

    def perturb(leaf):
        leaf = np.asarray(leaf)
        noise = rng.uniform(-1e-3, 1e-3, (batch,) + leaf.shape)
        return jax.numpy.asarray(leaf[None] * (1.0 + noise), leaf.dtype)

    return jax.tree_util.tree_map(perturb, args)


def best_known_order(task_name: str, graph) -> tuple[Order | None, str]:
    """The stored best order of a task if there is a valid one, and a note saying what was used."""
    path = ORDERS_DIR / f"{task_name}.json"
    if not path.exists():
        return None, "no stored order: best of forward/reverse/Markowitz"
    try:
        order = Order.load(path)
        order.check(graph)
    except OrderError as err:
        return None, f"stored order unusable ({err}): best of forward/reverse/Markowitz"
    return order, f"stored ({order.method or 'unknown method'})"


def measure(functions: dict[str, Any], args: tuple[Any, ...], rounds: int, min_time: float) -> dict[str, dict[str, float]]:
    """Median wall-clock and CPU seconds per call of each compiled function, measured
    round-robin (one sample of every function per round).

    CPU time (``time.process_time``: all threads of this process) is what the ratios use: on a
    machine shared with other jobs it counts only the work done for this process, while the
    wall clock also counts the time other processes held the cores.
    """
    numbers = {}
    for name, fn in functions.items():
        jax.block_until_ready(fn(*args))
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        once = max(time.perf_counter() - start, 1e-7)
        numbers[name] = max(1, int(min_time / once))
    wall: dict[str, list[float]] = {name: [] for name in functions}
    cpu: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(rounds):
        for name, fn in functions.items():
            start_wall, start_cpu = time.perf_counter(), time.process_time()
            for _ in range(numbers[name]):
                out = fn(*args)
            jax.block_until_ready(out)
            wall[name].append((time.perf_counter() - start_wall) / numbers[name])
            cpu[name].append((time.process_time() - start_cpu) / numbers[name])
    return {name: {"wall": statistics.median(wall[name]), "cpu": statistics.median(cpu[name])} for name in functions}


def benchmark_task(task, batch: int, rounds: int, min_time: float) -> dict[str, Any]:
    args = task.make_args()
    argnums = tuple(range(len(args)))
    graph = trace_for(task.function, *args, argnums=argnums)
    costs = {name: elimination_program(task.function, name, *args, argnums=argnums).cost for name in NAMED}
    stored, note = best_known_order(task.name, graph)
    if stored is None:
        best_name = min(NAMED, key=lambda n: (costs[n], NAMED.index(n)))
        best_spec: Any = best_name
        note = f"{note} ({best_name})"
    else:
        best_spec = stored
    costs["best"] = elimination_program(task.function, best_spec, *args, argnums=argnums).cost
    variants = {name: jacobian(task.function, name, argnums) for name in NAMED}
    if stored is not None:
        variants["best"] = jacobian(task.function, best_spec, argnums)
    variants["jax.jacrev"] = jax.jacrev(task.function, argnums)
    variants["jax.jacfwd"] = jax.jacfwd(task.function, argnums)
    skipped = [name for name in NAMED if costs[name] * batch > MAX_BATCH_MULTIPLICATIONS]
    # JAX's modes do at least the work of the matching pure order: skip them where it is skipped.
    skipped += [jax_name for name, jax_name in (("forward", "jax.jacfwd"), ("reverse", "jax.jacrev")) if name in skipped]
    for name in skipped:
        del variants[name]
    batched = batched_arguments(args, batch)
    compiled, compile_s = {}, {}
    for name, fn in variants.items():
        start = time.perf_counter()
        compiled[name] = jax.jit(jax.vmap(fn)).lower(*batched).compile()
        compile_s[name] = time.perf_counter() - start
    timings = measure(compiled, batched, rounds, min_time)
    if stored is None:
        # The best order is one of the named ones: the same program, timed once.
        timings["best"] = timings[best_spec]
        compile_s["best"] = compile_s[best_spec]
    seconds = {name: t["cpu"] for name, t in timings.items()}
    wall_seconds = {name: t["wall"] for name, t in timings.items()}
    jax_names = [name for name in ("jax.jacrev", "jax.jacfwd") if name in seconds]
    jax_best = min(seconds[name] for name in jax_names)
    savings = 1.0 - costs["best"] / min(costs["forward"], costs["reverse"])
    ratio = seconds["best"] / jax_best
    target = 0.8 if savings >= 0.25 else 1.0
    return {
        "task": task.name,
        "vertices": graph.num_vertices,
        "batch": batch,
        "rounds": rounds,
        "multiplications": costs,
        "best_order": note,
        "savings_vs_better_of_forward_reverse": savings,
        "seconds": seconds,
        "wall_seconds": wall_seconds,
        "skipped": skipped,
        "compile_seconds": compile_s,
        "ratio_best_to_jax": ratio,
        "wall_ratio_best_to_jax": wall_seconds["best"] / min(wall_seconds[name] for name in jax_names),
        "target_ratio": target,
        "meets_target": ratio <= target,
        "timing": "median of per-round means; 'seconds' is CPU time of this process, 'wall_seconds' wall clock",
    }


def _cell(row: dict[str, Any], column: str, key: str) -> str:
    if column in row["skipped"]:
        return f"{'skipped':>12}"
    return f"{row[key][column] * 1e3:>12.3f}"


def print_table(rows: list[dict[str, Any]]) -> None:
    """The results as text tables (times in ms, CPU time first, then wall clock)."""
    columns = ["forward", "reverse", "markowitz", "best", "jax.jacrev", "jax.jacfwd"]
    batch = rows[0]["batch"] if rows else "-"
    for title, key, ratio_key in (("CPU", "seconds", "ratio_best_to_jax"), ("wall-clock", "wall_seconds", "wall_ratio_best_to_jax")):
        header = f"{'task':<22}" + "".join(f"{c:>12}" for c in columns) + f"{'ratio':>7}{'target':>7}{'saves':>7}"
        print(f"median {title} ms per call of jit(vmap(...)) at batch {batch}; ratio = best / min(jacrev, jacfwd)")
        print(header)
        print("-" * len(header))
        for row in rows:
            times = "".join(_cell(row, c, key) for c in columns)
            missed = " MISSED" if row[ratio_key] > row["target_ratio"] else ""
            print(
                f"{row['task']:<22}{times}{row[ratio_key]:>7.2f}{row['target_ratio']:>7.1f}"
                f"{row['savings_vs_better_of_forward_reverse']:>7.0%}{missed}"
            )
        print()
    print("best order used")
    for row in rows:
        print(f"  {row['task']:<22}{row['best_order']}")
    print()
    print("compile seconds")
    print(f"{'task':<22}" + "".join(f"{c:>12}" for c in columns))
    for row in rows:
        print(f"{row['task']:<22}" + "".join(f"{row['compile_seconds'][c]:>12.2f}" if c in row["compile_seconds"] else f"{'skipped':>12}" for c in columns))
    print()
    print("multiplications per example (cost model = executor count)")
    print(f"{'task':<22}" + "".join(f"{c:>14}" for c in NAMED + ("best",)))
    for row in rows:
        print(f"{row['task']:<22}" + "".join(f"{row['multiplications'][c]:>14,d}" for c in NAMED + ("best",)))


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The main results as a Markdown table (CPU ms per call; ratio = best / min(jacrev, jacfwd))."""
    columns = ["forward", "reverse", "markowitz", "best", "jax.jacrev", "jax.jacfwd"]
    lines = [
        "| task | " + " | ".join(columns) + " | ratio | wall ratio | target | best saves | best order |",
        "|---" * (len(columns) + 6) + "|",
    ]
    for row in rows:
        cells = ["skipped" if c in row["skipped"] else f"{row['seconds'][c] * 1e3:.3f}" for c in columns]
        verdict = "met" if row["meets_target"] else "**missed**"
        lines.append(
            f"| {row['task']} | " + " | ".join(cells) + f" | {row['ratio_best_to_jax']:.2f} | {row['wall_ratio_best_to_jax']:.2f} "
            f"| <= {row['target_ratio']:.1f} ({verdict}) | {row['savings_vs_better_of_forward_reverse']:.0%} | {row['best_order']} |"
        )
    return "\n".join(lines)


def _write_json(path: Path, rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    payload = {
        "benchmark": "executor_speed",
        "jax_version": jax.__version__,
        "backend": jax.default_backend(),
        "machine": platform.platform(),
        "processor": platform.processor(),
        "batch": args.batch,
        "rounds": args.rounds,
        "results": rows,
    }
    path.write_text(json.dumps(payload, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="*", default=None, help="task names (default: every task)")
    parser.add_argument("--batch", type=int, default=512, help="batch size of the vmapped inputs")
    parser.add_argument("--rounds", type=int, default=7, help="timing rounds (the median is reported)")
    parser.add_argument("--min-time", type=float, default=0.02, help="seconds of calls per timing sample")
    parser.add_argument("--json", type=Path, default=None, help="write the results to this JSON file (after every task)")
    parser.add_argument("--resume", action="store_true", help="keep the tasks already in --json and time only the others")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the main table as Markdown to this file")
    args = parser.parse_args(argv)
    names = args.tasks or list(TASKS)
    unknown = [n for n in names if n not in TASKS]
    if unknown:
        parser.error(f"unknown task(s) {unknown}; available: {sorted(TASKS)}")
    rows = []
    if args.resume and args.json is not None and args.json.exists():
        rows = [row for row in json.loads(args.json.read_text())["results"] if row["task"] in names]
        print(f"resuming: {len(rows)} task(s) already in {args.json}")
    for name in names:
        if any(row["task"] == name for row in rows):
            continue
        rows.append(benchmark_task(TASKS[name], args.batch, args.rounds, args.min_time))
        print(f"{name}: ratio {rows[-1]['ratio_best_to_jax']:.2f}", flush=True)
        if args.json is not None:
            _write_json(args.json, rows, args)
    rows.sort(key=lambda row: names.index(row["task"]))
    print()
    print_table(rows)
    if args.json is not None:
        print(f"wrote {args.json}")
    if args.markdown is not None:
        args.markdown.write_text(markdown_table(rows) + "\n")
        print(f"wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

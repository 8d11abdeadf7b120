"""How fast the exact DP solves random graphs: ``python benchmarks/exact_dp.py``.

For random traced programs (:func:`graphs.generators.random_graph`) with a given number of
vertices, it runs a few seconds of annealing for an upper bound, then :func:`solve_exact`, and
prints a table (intermediates, largest independent part, wall-clock and CPU time of the DP - CPU
time is what it costs on a machine shared with other jobs -, the 1-minute load average,
transitions, states, whether the optimum was proven, the cost found and the bound) and writes it
as JSON with ``--json FILE``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

from graphs.generators import GeneratorParams, random_graph

from elimgym.solvers.anneal import anneal
from elimgym.solvers.exact import solve_exact, warm_up
from elimgym.solvers.heuristics import run_heuristic
from elimgym.solvers.problem import Problem
from elimgym.solvers.reductions import independent_parts

__all__ = ["measure", "main"]


def measure(num_vertices: int, seed: int, kind: str, time_limit: float, anneal_seconds: float) -> dict:
    """Solve one random graph exactly; returns the row of the table."""
    graph = random_graph(GeneratorParams(kind=kind, num_vertices=(num_vertices, num_vertices)), seed=seed)
    problem = Problem.from_graph(graph)
    start = run_heuristic(problem, "markowitz")
    upper = anneal(problem, np.array([start.order]), budget=anneal_seconds, seed=seed)
    warm_up(problem)
    began, cpu_began = time.perf_counter(), time.process_time()
    result = solve_exact(problem, upper.order, time_limit=time_limit)
    return {
        "graph": graph.name,
        "intermediates": len(graph.intermediates),
        "largest_part": max((len(p) for p in independent_parts(graph)), default=0),
        "seconds": round(time.perf_counter() - began, 2),
        "cpu_seconds": round(time.process_time() - cpu_began, 2),
        "load_average": round(os.getloadavg()[0], 1),
        "transitions": result.info["transitions"],
        "states": result.info["states"],
        "optimal": result.optimal,
        "markowitz": start.cost,
        "upper_bound": upper.cost,
        "cost": result.cost,
        "lower_bound": result.lower_bound,
        "order_dependent_states": result.info["order_dependent_states"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vertices", default="16,20,24", help="comma-separated graph sizes (inputs + ops)")
    parser.add_argument("--seeds", type=int, default=3, help="graphs per size")
    parser.add_argument("--kind", default="scalar", help="generator kind (graphs.generators.KINDS)")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds the DP may use per graph")
    parser.add_argument("--anneal", type=float, default=5.0, help="seconds of annealing for the upper bound")
    parser.add_argument("--json", metavar="FILE", help="write the rows as JSON")
    args = parser.parse_args(argv)
    rows = []
    header = (
        "graph", "intermediates", "largest_part", "seconds", "cpu_seconds", "load_average", "transitions", "states",
        "optimal", "markowitz", "upper_bound", "cost", "lower_bound",
    )
    print(" ".join(f"{h:>14}" for h in header), flush=True)
    for size in (int(v) for v in args.vertices.split(",")):
        for seed in range(args.seeds):
            row = measure(size, seed, args.kind, args.time_limit, args.anneal)
            rows.append(row)
            print(" ".join(f"{str(row[h]):>14}" for h in header), flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"machine": f"{platform.machine()} {os.cpu_count()} cores", "rows": rows}, fh, indent=1)
            fh.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

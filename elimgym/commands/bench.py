"""``elimgym bench``: solve every benchmark task and write ``docs/results.md`` (and CSV/JSON).

Per task: the baselines (forward, reverse, Markowitz with lowest-index ties), the best order
found and its gain over the cheapest baseline, the gain the published RL method reported, the
proven lower bound, the certified gap and the time. Best orders go to
``graphs/data/orders/<Task>.json``; an order file is only ever replaced by a cheaper order, and
an existing one seeds the next search.

The run checkpoints after every task: the JSON results are rewritten each time, and a rerun
skips tasks already solved with the same graph and at least the same budget (``--force`` redoes
them), so an interrupted bench resumes where it stopped.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import time
from typing import Any

from graphs.lcg import LCG
from graphs.tasks import TASKS

from elimgym.commands.common import resolve_target
from elimgym.commands.solve import check_budget, enable_compilation_cache, parse_methods, progress_bar, verify_order
from elimgym.orders import Order, OrderError
from elimgym.solvers.exact import GraphTooLargeForExact
from elimgym.solvers.portfolio import solve

__all__ = ["add_parser", "PUBLISHED_GAINS", "DEFAULT_BUDGET", "load_results", "render_markdown", "render_csv"]

DEFAULT_BUDGET = 120.0
"""Seconds of search per task by default."""

PUBLISHED_GAINS = {
    "RoeFlux_1d": 0.121,
    "RoeFlux_3d": 0.135,
    "RobotArm_6DOF": 0.198,
    "HumanHeartDipole": 0.140,
    "PropaneCombustion": 0.022,
    "BlackScholes_Jacobian": 0.109,
    "f": 0.317,
    "g": 0.075,
    "Perceptron": 0.008,
    "Encoder": 0.007,
}
"""Gain over min(forward, reverse, Markowitz) reported for the RL method of Lohoff & Neftci
(2024, arXiv 2406.05027) on each task (measured on their graphs and cost model, not ours)."""

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FORMAT = "elimgym-bench"
VERSION = 1


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="solve every benchmark task and write docs/results.md, .csv and .json",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET, help=f"seconds of search per task (default {DEFAULT_BUDGET:g})")
    parser.add_argument("--tasks", default=None, help="comma-separated task names (default: all)")
    parser.add_argument("--methods", default=None, help="comma-separated methods, as for elimgym solve")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--docs", default=os.path.join(_ROOT, "docs"), help="where results.md/.csv/.json go")
    parser.add_argument("--orders", default=os.path.join(_ROOT, "graphs", "data", "orders"), help="where best orders go")
    parser.add_argument("--force", action="store_true", help="redo tasks that already have results")
    parser.add_argument("--no-verify", action="store_true", help="skip checking best orders with the executor")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def load_results(path: str) -> dict[str, Any]:
    """The results file's task entries (empty if the file does not exist).

    Raises:
        SystemExit: if the file exists but is not an elimgym bench results file.
    """
    if not os.path.exists(path):
        return {}
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as err:
        raise SystemExit(f"elimgym bench: {path} is not valid JSON ({err}); move it away to start afresh") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("version") != VERSION:
        raise SystemExit(f"elimgym bench: {path} is not an {FORMAT} v{VERSION} results file; move it away to start afresh")
    return dict(data.get("tasks", {}))


def _write_atomic(path: str, text: str) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _previous_order(path: str, graph: LCG) -> Order | None:
    """The saved best order of this graph, if there is a valid one."""
    if not os.path.exists(path):
        return None
    try:
        order = Order.load(path)
        order.check(graph)
    except OrderError:
        return None
    return order


_COLUMNS = (
    ("task", "Task"),
    ("intermediates", "n"),
    ("forward", "forward"),
    ("reverse", "reverse"),
    ("markowitz", "Markowitz"),
    ("best", "best found"),
    ("best_method", "by"),
    ("gain", "gain"),
    ("published_gain", "RL (published)"),
    ("target_met", "≥ RL?"),
    ("lower_bound", "lower bound"),
    ("gap", "gap"),
    ("seconds", "time (s)"),
)


def _row(name: str, entry: dict[str, Any]) -> dict[str, Any]:
    methods = entry["methods"]
    return {
        "task": name,
        "intermediates": entry["intermediates"],
        "forward": methods["forward"]["cost"],
        "reverse": methods["reverse"]["cost"],
        "markowitz": methods["markowitz"]["cost"],
        "best": entry["best"]["cost"],
        "best_method": entry["best"]["method"],
        "gain": entry["gain"],
        "published_gain": entry.get("published_gain"),
        "target_met": entry.get("target_met"),
        "lower_bound": entry["lower_bound"],
        "gap": entry["gap"],
        "seconds": entry["seconds"],
    }


def render_csv(tasks: dict[str, Any]) -> str:
    """One CSV row per task (fractions as numbers)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[key for key, _ in _COLUMNS], lineterminator="\n")
    writer.writeheader()
    for name, entry in tasks.items():
        writer.writerow(_row(name, entry))
    return out.getvalue()


def _percent(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.1f}%"


def render_markdown(tasks: dict[str, Any], command: str) -> str:
    """The results page: a table and notes."""
    lines = [
        "# Results: elimination orders on the benchmark tasks",
        "",
        f"Generated by `elimgym bench` (last run: `{command}`; see [solvers.md](solvers.md)); do not edit by hand.",
        "",
        "Costs are exact scalar multiplications under elimgym's structured cost model, on the graphs "
        "traced by `graphs.tasks`. *gain* is the saving of the best order over min(forward, reverse, "
        "Markowitz with lowest-index ties); *RL (published)* is the gain Lohoff & Neftci (2024) report for "
        "their RL agent on the task of the same name - measured on their graphs and cost model, so it is a "
        "reference point, not a like-for-like comparison. *lower bound* is proven (docs/solvers.md); *gap* = "
        "(best - bound) / best, 0 meaning the best order is optimal. Best orders: `graphs/data/orders/<Task>.json`.",
        "",
        "| " + " | ".join(title for _, title in _COLUMNS) + " |",
        "|" + "|".join("---" if k < 2 or key == "best_method" else "---:" for k, (key, _) in enumerate(_COLUMNS)) + "|",
    ]
    for name, entry in tasks.items():
        row = _row(name, entry)
        cells = []
        for key, _ in _COLUMNS:
            value = row[key]
            if key in ("gain", "published_gain", "gap"):
                cells.append(_percent(value))
            elif key == "target_met":
                optimal_baseline = row["gap"] == 0 and row["gain"] == 0
                cells.append("" if value is None else ("yes" if value else ("no (baseline proven optimal)" if optimal_baseline else "**no**")))
            elif key == "seconds":
                cells.append(f"{value:.0f}")
            elif isinstance(value, int):
                cells.append(f"{value:,}")
            else:
                cells.append(str(value))
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", _METHODS_NOTE, "", "Per-task budgets, machines, verification and every method's cost:", ""]
    for name, entry in tasks.items():
        lines.append(
            f"- **{name}**: budget {entry['budget']:g} s, {entry['seconds']:.0f} s wall clock on {entry.get('machine', '?')}; "
            f"executor check: {entry.get('verification', 'not run')}; {_methods_text(entry)}"
        )
    return "\n".join(lines) + "\n"


_METHODS_NOTE = (
    "Columns: *n* = eliminable (intermediate) vertices; *forward*, *reverse*, *Markowitz* = the classical "
    "orders (Markowitz: lowest |P|·|S| first, lowest index on ties); *best found* = the cheapest order any "
    "method found, *by* = that method (\"(earlier run)\": the saved order from a previous bench run, which "
    "seeds the next one); *time* = wall clock for the task, compilation included. Methods "
    "([solvers.md](solvers.md)): `markowitz_highest`/`markowitz_random` (other tie-breaks), `vlr` (relative "
    "Markowitz), `min_fill`, `greedy_cost` (cheapest elimination now), `pilot_<h>` (one-step lookahead "
    "completed by `<h>`), `beam` (beam search), `anneal` (simulated annealing over orders), `window` "
    "(exact re-ordering of sliding windows of the best order), `given` (the saved order), `exact` (the "
    "branch-and-bound DP over sets of eliminated vertices: optimal when it finishes). A DP that runs out of "
    "time - always the case with an independent part of more than 40 intermediates, where it gets only a "
    "few seconds - keeps its start order, so it is listed as *exact DP stopped* with the lower bound it "
    "certified and no cost of its own. The *lower bound* is the larger of the static bounds (vertex cuts, "
    "general values, Jacobian entries) and the stopped DP's layer bound, all proven in "
    "[solvers.md](solvers.md#lower-bounds-proofs); *gap* = (best - bound) / best."
)


def _dp_stopped(entry: dict[str, Any]) -> dict[str, Any] | None:
    """The entry's exact-DP run if it stopped without improving on its start (it then only
    raised the bound), else None. Older result files listed such runs as a method ``exact``
    whose cost was its start order's."""
    dp = entry.get("dp")
    if dp is not None:
        return None if "exact" in entry["methods"] else dp
    exact = entry["methods"].get("exact")
    if exact is None or exact["optimal"]:
        return None
    others = [r["cost"] for m, r in entry["methods"].items() if m != "exact"]
    improved = exact["info"].get("improved", bool(others) and exact["cost"] < min(others))
    return None if improved else exact


def _methods_text(entry: dict[str, Any]) -> str:
    stopped = _dp_stopped(entry)
    costs = [f"{m} {r['cost']:,}" for m, r in entry["methods"].items() if not (stopped is not None and m == "exact")]
    text = "methods: " + ", ".join(costs)
    if stopped is not None:
        text += (
            f"; exact DP stopped after {stopped['seconds']:.0f} s (DP layers done: {stopped['info'].get('layers', '?')}; "
            f"independent parts {stopped['info'].get('parts')}), certifying the bound {stopped['lower_bound']:,}"
        )
    return text


def _save(docs: str, tasks: dict[str, Any], command: str) -> None:
    """Write results.json, .csv and .md (atomically, tasks in suite order)."""
    ordered = {t: tasks[t] for t in list(TASKS) + sorted(set(tasks) - set(TASKS)) if t in tasks}
    payload = json.dumps({"format": FORMAT, "version": VERSION, "tasks": ordered}, indent=1) + "\n"
    _write_atomic(os.path.join(docs, "results.json"), payload)
    _write_atomic(os.path.join(docs, "results.csv"), render_csv(ordered))
    _write_atomic(os.path.join(docs, "results.md"), render_markdown(ordered, command))


def _machine() -> str:
    return f"{platform.machine()} {os.cpu_count()} cores ({platform.system()})"


def run(args: argparse.Namespace) -> int:
    check_budget(args.budget, "bench")
    methods = parse_methods(args.methods)
    enable_compilation_cache()
    names = list(TASKS) if args.tasks is None else [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = [t for t in names if t not in TASKS]
    if unknown:
        raise SystemExit(f"elimgym bench: unknown task(s) {', '.join(unknown)}; available: {', '.join(TASKS)}")
    os.makedirs(args.docs, exist_ok=True)
    os.makedirs(args.orders, exist_ok=True)
    json_path = os.path.join(args.docs, "results.json")
    tasks = load_results(json_path)
    command = "elimgym bench --budget " + f"{args.budget:g}" + ("" if args.tasks is None else f" --tasks {args.tasks}")
    for name in names:
        target = resolve_target(name)
        fingerprint = target.graph.fingerprint()
        done = tasks.get(name)
        if done and not args.force and done.get("fingerprint") == fingerprint and done.get("budget", 0) >= args.budget:
            print(f"{name}: already solved with budget {done['budget']:g} s (best {done['best']['cost']:,}); skipping")
            continue
        order_path = os.path.join(args.orders, f"{name}.json")
        previous = _previous_order(order_path, target.graph)
        print(target.graph.summary(), flush=True)
        bar, update = progress_bar(args.budget, name, enabled=not args.quiet)
        try:
            report = solve(
                target.graph, budget=args.budget, methods=methods, seed=args.seed,
                starts=[previous.vertices] if previous else (), progress=update,
            )
        except GraphTooLargeForExact as err:
            raise SystemExit(f"elimgym bench: {name}: {err}") from None
        finally:
            if bar is not None:
                bar.close()
        print(report.table(), flush=True)
        best = report.best
        earlier = (previous.method if previous else "").removesuffix(" (earlier run)") or "unknown method"
        method = best.method if best.method != "given" else f"{earlier} (earlier run)"
        order = Order.for_graph(target.graph, best.order, cost=best.cost, method=method)
        if previous is None or previous.cost is None or best.cost < previous.cost:
            order.save(order_path)
        status = "skipped" if args.no_verify else verify_order(target, order)[0]
        entry = report.to_dict()
        entry["best"]["method"] = method
        entry["published_gain"] = PUBLISHED_GAINS.get(name)
        entry["target_met"] = None if name not in PUBLISHED_GAINS else bool(report.gain >= PUBLISHED_GAINS[name])
        entry["verification"] = status
        entry["machine"] = _machine()
        entry["finished_at"] = time.strftime("%Y-%m-%d %H:%M:%S")
        tasks[name] = entry
        _save(args.docs, tasks, command)
        print(f"{name}: best {best.cost:,} ({100 * report.gain:.1f}% below baseline {report.baseline:,}), "
              f"bound {report.lower_bound:,}, executor check {status}; results saved", flush=True)
    if tasks:
        _save(args.docs, tasks, command)
    return 0

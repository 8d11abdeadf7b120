"""Evaluate an agent on a graph split and the real tasks, against the classical orders and search.

``python -m agents.evaluate --agent alphazero --split heldout --json FILE`` prints two tables --
one row per size band of the split, one row per benchmark task -- comparing the agent's orders
with forward, reverse, Markowitz (lowest-index ties) and the best search baseline of
:mod:`elimgym.solvers`, and writes every per-graph result to ``FILE``. The agent's orders are
checked (complete and legal) and costed here with the pure-Python reference eliminator
(:mod:`elimgym.reference`), independently of the agent's own bookkeeping, and so are the classical
orders. The held-out split is
only read when named: the default split is ``validation``.

Adding an agent
---------------
Register one :class:`AgentEntry` in :data:`AGENTS`::

    AGENTS["ppo"] = AgentEntry(
        load=load_ppo,                       # (checkpoint: str | None, settings: EvalSettings) -> Agent
        default_checkpoint="agents/checkpoints/ppo_generalist.pt",
        description="PPO generalist (agents/ppo.py)",
    )

The loader returns any object with a ``name`` attribute and a method
``solve(graphs: Sequence[LCG]) -> list[Sequence[int]]`` returning one complete elimination order
(vertex indices of the graph, every intermediate exactly once) per graph; it may solve the
graphs in batches. :class:`EvalSettings` carries the command-line knobs (search simulations,
seed) an agent may use.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from graphs.lcg import LCG
from graphs.splits import BANDS, SPLITS, band_of, split_graphs
from graphs.tasks import TASKS

from elimgym import reference
from elimgym.orders import check_order

__all__ = ["Agent", "AgentEntry", "EvalSettings", "AGENTS", "GraphResult", "collect_graphs", "spread_subset", "evaluate_agent", "summarise", "main"]

_CLASSICAL = {
    "forward": reference.forward_order,
    "reverse": reference.reverse_order,
    "markowitz": reference.markowitz_order,
}
"""The classical orders (reference implementations; Markowitz with lowest-index ties)."""


class Agent(Protocol):
    """What an evaluated agent provides."""

    name: str

    def solve(self, graphs: Sequence[LCG]) -> list[Sequence[int]]:
        """One complete elimination order per graph."""


@dataclass(frozen=True)
class EvalSettings:
    """Knobs an agent loader may use.

    Attributes:
        simulations: search simulations per move (search-based agents).
        seed: random seed.
    """

    simulations: int = 64
    seed: int = 0


@dataclass(frozen=True)
class AgentEntry:
    """A registered agent: how to load it, and its default checkpoint."""

    load: Callable[[str | None, EvalSettings], Agent]
    default_checkpoint: str | None
    description: str


class _AlphaZeroAgent:
    """The AlphaZero network searching with Gumbel MuZero (deterministic, ``simulations`` per move)."""

    def __init__(self, checkpoint: str, settings: EvalSettings):
        from agents.alphazero.checkpoint import load_model

        self.model, self.config, self.meta = load_model(checkpoint)
        self.settings = settings
        self.name = f"alphazero({settings.simulations} sims)"
        self.details: list[dict[str, Any]] = []
        """Per graph of the last :meth:`solve`: the search's own cost and where the answer was
        completed by a heuristic (see :func:`agents.alphazero.solve.solve_graphs`)."""

    def solve(self, graphs: Sequence[LCG]) -> list[Sequence[int]]:
        from agents.alphazero.solve import solve_graphs

        results = solve_graphs(self.model, self.config, graphs, self.settings.simulations, self.settings.seed)
        self.details = [{"search_cost": r.search_cost, "completed_from": r.completed_from} for r in results]
        return [r.order.vertices for r in results]


def _load_alphazero(checkpoint: str | None, settings: EvalSettings) -> Agent:
    from agents.alphazero.checkpoint import DEFAULT_CHECKPOINT

    return _AlphaZeroAgent(checkpoint or str(DEFAULT_CHECKPOINT), settings)


def _load_ppo(checkpoint: str | None, settings: EvalSettings) -> Agent:
    from agents.ppo import DEFAULT_CHECKPOINT, GreedySolver

    del settings  # the greedy policy is deterministic and searches nothing
    return GreedySolver(checkpoint or DEFAULT_CHECKPOINT)


AGENTS: dict[str, AgentEntry] = {
    "alphazero": AgentEntry(
        load=_load_alphazero,
        default_checkpoint="agents/checkpoints/alphazero_generalist",
        description="AlphaZero generalist: graph transformer + Gumbel MuZero search (agents/alphazero)",
    ),
    "ppo": AgentEntry(
        load=_load_ppo,
        default_checkpoint="agents/checkpoints/ppo_generalist.pt",
        description="PPO generalist: message-passing policy played greedily (agents/ppo.py)",
    ),
}
"""Agent name -> :class:`AgentEntry`."""


@dataclass(frozen=True)
class GraphResult:
    """The agent against the baselines on one graph (costs are exact multiplications)."""

    name: str
    group: str
    num_vertices: int
    agent: int
    forward: int
    reverse: int
    markowitz: int
    search: int | None
    search_method: str | None
    search_optimal: bool | None = None
    lower_bound: int | None = None

    @property
    def best_classical(self) -> int:
        return min(self.forward, self.reverse, self.markowitz)

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["best_classical"] = self.best_classical
        out["beats_best_classical"] = self.agent < self.best_classical
        return out


def _search_baseline(graph: LCG, budget: float, seed: int) -> tuple[int, str, bool, int]:
    """``(cost, method, proven optimal, lower bound)`` of the best order :func:`elimgym.solvers.solve`
    finds within ``budget`` seconds (heuristics, pilot, beam search, annealing, exact DP)."""
    from elimgym.solvers import solve

    report = solve(graph, budget=budget, seed=seed)
    return int(report.best.cost), report.best.method, bool(report.optimal), int(report.lower_bound)


def evaluate_agent(
    agent: Agent,
    graphs: Sequence[tuple[LCG, str]],
    search_budget: float | None,
    search_cache: dict[str, Any] | None = None,
    log: Callable[[str], None] = print,
    seed: int = 0,
) -> list[GraphResult]:
    """Solve every graph with ``agent`` and compare with the baselines.

    Args:
        agent: the agent.
        graphs: ``(graph, group)`` pairs; the group is a size band or ``"task"``.
        search_budget: seconds per graph for the search baseline; ``None`` skips it.
        search_cache: ``"fingerprint:budget"`` -> ``[cost, method, optimal, bound]`` of earlier
            search baselines (updated in place).
        log: progress messages.
        seed: seed of the search baseline.

    Raises:
        elimgym.orders.OrderError: the agent returned an incomplete or illegal order.
    """
    start = time.perf_counter()
    orders = agent.solve([g for g, _ in graphs])
    log(f"{agent.name}: solved {len(graphs)} graphs in {time.perf_counter() - start:.1f} s")
    results = []
    for (graph, group), order in zip(graphs, orders):
        checked = check_order(graph, list(order))
        cost = int(reference.play(graph, checked)[0])
        classical = {name: int(reference.play(graph, make(graph))[0]) for name, make in _CLASSICAL.items()}
        search = None
        if search_budget is not None:
            key = f"{graph.fingerprint()}:{search_budget}"
            if search_cache is None or key not in search_cache:
                found = list(_search_baseline(graph, search_budget, seed))
                if search_cache is not None:
                    search_cache[key] = found
            else:
                found = search_cache[key]
            search = tuple(found)
        results.append(
            GraphResult(
                graph.name,
                group,
                graph.num_vertices,
                cost,
                classical["forward"],
                classical["reverse"],
                classical["markowitz"],
                *(search if search is not None else (None, None, None, None)),
            )
        )
    return results


def summarise(results: Sequence[GraphResult]) -> dict[str, Any]:
    """Per-group statistics: graphs, fraction where the agent beats / matches
    ``min(forward, reverse, Markowitz)``, and mean cost ratios to it."""
    groups: dict[str, list[GraphResult]] = {}
    for r in results:
        groups.setdefault(r.group, []).append(r)
    out = {}
    for group, rows in groups.items():
        n = len(rows)
        searched = [r for r in rows if r.search is not None]
        out[group] = {
            "graphs": n,
            "agent_beats": sum(r.agent < r.best_classical for r in rows) / n,
            "agent_at_most": sum(r.agent <= r.best_classical for r in rows) / n,
            "agent_ratio": sum(r.agent / max(r.best_classical, 1) for r in rows) / n,
            "markowitz_ratio": sum(r.markowitz / max(r.best_classical, 1) for r in rows) / n,
            "search_ratio": sum(r.search / max(r.best_classical, 1) for r in searched) / len(searched) if searched else None,
            "agent_beats_search": sum(r.agent < r.search for r in searched) / len(searched) if searched else None,
            "agent_at_most_search": sum(r.agent <= r.search for r in searched) / len(searched) if searched else None,
            "classical_proven_optimal": sum(bool(r.search_optimal) and r.search == r.best_classical for r in searched) / len(searched) if searched else None,
        }
    return out


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _format_band_table(summary: dict[str, Any], agent: str) -> str:
    header = (
        f"{'band':<8} {'graphs':>6} {'beats min(f,r,M)':>17} {'<= min':>7} {agent + '/min':>22} {'Markowitz/min':>14} "
        f"{'search/min':>11} {'beats search':>13} {'<= search':>10} {'min proven opt.':>16}"
    )
    lines = [header]
    for band in [*BANDS, "all"]:
        if band not in summary:
            continue
        s = summary[band]
        search = "-" if s["search_ratio"] is None else f"{s['search_ratio']:.3f}"
        lines.append(
            f"{band:<8} {s['graphs']:>6} {_percent(s['agent_beats']):>17} {_percent(s['agent_at_most']):>7} {s['agent_ratio']:>22.3f} "
            f"{s['markowitz_ratio']:>14.3f} {search:>11} {_percent(s['agent_beats_search']):>13} {_percent(s['agent_at_most_search']):>10} "
            f"{_percent(s['classical_proven_optimal']):>16}"
        )
    lines.append("ratios are means of cost / min(forward, reverse, Markowitz); 'min proven opt.': the search proved min(f,r,M) optimal")
    return "\n".join(lines)


def _format_task_table(results: Sequence[GraphResult], agent: str) -> str:
    lines = [f"{'task':<22} {'forward':>11} {'reverse':>11} {'Markowitz':>11} {'search':>11} {agent:>22} {'gain':>7}"]
    for r in results:
        search = "-" if r.search is None else f"{r.search:,d}"
        gain = 100 * (1 - r.agent / r.best_classical) if r.best_classical else 0.0
        lines.append(f"{r.name:<22} {r.forward:>11,d} {r.reverse:>11,d} {r.markowitz:>11,d} {search:>11} {r.agent:>22,d} {gain:>+6.1f}%")
    beaten = sum(r.agent < r.best_classical for r in results)
    lines.append(f"beats min(forward, reverse, Markowitz) on {beaten} of {len(results)} tasks (gain = 1 - agent / min)")
    return "\n".join(lines)


def spread_subset(count: int, limit: int | None) -> list[int]:
    """Indices of ``limit`` items spread evenly over ``count`` (first and last included), or all
    of them when ``limit`` is ``None`` or not smaller than ``count``.

    The splits store each band's graphs grouped by generator kind (scalar, vector, mixed), so an
    evenly spread subset samples every kind where the first ``limit`` graphs would not.

    Raises:
        ValueError: ``limit < 1``.
    """
    if limit is not None and limit < 1:
        raise ValueError(f"--limit must be >= 1, got {limit}")
    if limit is None or limit >= count:
        return list(range(count))
    if limit == 1:
        return [0]
    return sorted({round(k * (count - 1) / (limit - 1)) for k in range(limit)})


def collect_graphs(split: str, limit: int | None, tasks: bool) -> list[tuple[LCG, str]]:
    """``(graph, group)`` pairs: the split's graphs by band (``limit`` per band, spread evenly over
    the band by :func:`spread_subset`; none for ``split == "none"``), then the benchmark tasks
    (group ``"task"``) if ``tasks``."""
    graphs: list[tuple[LCG, str]] = []
    if split != "none":
        for band in BANDS:
            members = split_graphs(split, band)
            graphs += [(members[k], band_of(members[k])) for k in spread_subset(len(members), limit)]
    if tasks:
        graphs += [(task.graph(), "task") for task in TASKS.values()]
    return graphs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m agents.evaluate", description="Evaluate an agent against the classical orders and search.")
    parser.add_argument("--agent", required=True, choices=sorted(AGENTS), help="registered agent")
    parser.add_argument("--checkpoint", help="agent checkpoint (default: the agent's shipped one)")
    parser.add_argument("--split", default="validation", choices=(*SPLITS, "none"), help="graph split to evaluate on ('heldout' for final results; default: validation)")
    parser.add_argument("--limit", type=int, help="only LIMIT graphs of each band of the split, spread evenly over the band (all kinds)")
    parser.add_argument("--no-tasks", action="store_true", help="skip the benchmark tasks")
    parser.add_argument("--simulations", type=int, default=64, help="search simulations per move (default: 64)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--search-budget", type=float, default=None, help="seconds per graph for the search baseline (default: skip it)")
    parser.add_argument("--search-cache", help="JSON file caching search-baseline results between runs")
    parser.add_argument("--json", help="write per-graph results and the summary here")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    graphs = collect_graphs(args.split, args.limit, not args.no_tasks)
    if not graphs:
        print("agents.evaluate: nothing to evaluate (--split none and --no-tasks)", file=sys.stderr)
        return 2
    entry = AGENTS[args.agent]
    agent = entry.load(args.checkpoint, EvalSettings(simulations=args.simulations, seed=args.seed))
    cache_path = Path(args.search_cache) if args.search_cache else None
    cache = json.loads(cache_path.read_text()) if cache_path and cache_path.exists() else {}
    results = evaluate_agent(agent, graphs, args.search_budget, cache, seed=args.seed)
    if cache_path:
        cache_path.write_text(json.dumps(cache, indent=1, sort_keys=True) + "\n")
    split_results = [r for r in results if r.group != "task"]
    task_results = [r for r in results if r.group == "task"]
    summary = summarise(split_results)
    if split_results:
        summary["all"] = summarise([GraphResult(**{**r.__dict__, "group": "all"}) for r in split_results])["all"]
        print(f"\n{args.split} split ({len(split_results)} graphs):")
        print(_format_band_table(summary, agent.name))
    if task_results:
        summary["task"] = summarise(task_results)["task"]
        print("\nbenchmark tasks:")
        print(_format_task_table(task_results, agent.name))
    if args.json:
        record = {
            "agent": agent.name,
            "checkpoint": args.checkpoint or entry.default_checkpoint,
            "split": args.split,
            "simulations": args.simulations,
            "search_budget": args.search_budget,
            "summary": summary,
            "graphs": [r.to_dict() for r in results],
        }
        details = getattr(agent, "details", None)
        if details:
            for row, extra in zip(record["graphs"], details):
                row["agent_details"] = extra
        Path(args.json).write_text(json.dumps(record, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``elimgym graphs ...``: list, show, draw, convert the graph suite, and regenerate docs/tasks.md.

Sub-commands:

* ``list [--json]``: the tasks and the split sizes (inputs, outputs, vertices, edges).
* ``show NAME [--png FILE]``: a summary of a task, built-in example, split graph or graph file,
  and optionally a drawing.
* ``export NAME --format {elimgym,edge-list,vertexgame} --out FILE``.
* ``import-edge-list FILE.json --out FILE`` and ``import-vertexgame FILE.npy --out FILE``:
  convert to the package's own format (:mod:`graphs.io`).
* ``docs [--out docs/tasks.md] [--check] [--costs {jax,reference}]``: regenerate the task tables.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from graphs import interchange, io
from graphs.lcg import LCG
from graphs.splits import BANDS, SPLITS, split_graphs
from graphs.tasks import TASKS, Task
from graphs.tasks.store import REGENERATE_COMMAND

from elimgym.commands.common import Target, resolve_target

__all__ = ["add_parser", "task_rows", "split_rows", "task_costs", "tasks_markdown", "COST_METHODS"]

COST_METHODS = ("forward", "reverse", "markowitz")
DOCS_COMMAND = "elimgym graphs docs"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("graphs", help="list, show, draw and convert the benchmark graphs")
    commands = parser.add_subparsers(dest="graphs_command", required=True)

    listing = commands.add_parser("list", help="the tasks and the split sizes")
    listing.add_argument("--json", action="store_true", help="print JSON instead of tables")
    listing.set_defaults(func=run_list)

    show = commands.add_parser("show", help="summarise (and draw) one graph")
    show.add_argument("name", help="a task, a built-in example, a split graph (e.g. heldout-small-scalar-000) or a graph file")
    show.add_argument("--png", metavar="FILE", help="also draw the graph to this PNG file")
    show.set_defaults(func=run_show)

    export = commands.add_parser("export", help="write a graph in another format")
    export.add_argument("name", help="a task, a built-in example, a split graph or a graph file")
    export.add_argument("--format", choices=("elimgym", "edge-list", "vertexgame"), default="elimgym")
    export.add_argument("--out", required=True, metavar="FILE")
    export.set_defaults(func=run_export)

    edge_list = commands.add_parser("import-edge-list", help="convert an edge-list JSON file to the elimgym format")
    edge_list.add_argument("file")
    edge_list.add_argument("--out", required=True, metavar="FILE")
    edge_list.set_defaults(func=run_import_edge_list)

    vertexgame = commands.add_parser("import-vertexgame", help="convert a reference VertexGame .npy array to the elimgym format")
    vertexgame.add_argument("file")
    vertexgame.add_argument("--out", required=True, metavar="FILE")
    vertexgame.add_argument("--name", help="graph name (default: the file name)")
    vertexgame.set_defaults(func=run_import_vertexgame)

    docs = commands.add_parser("docs", help="regenerate docs/tasks.md from the stored task graphs")
    docs.add_argument("--out", default="docs/tasks.md", metavar="FILE")
    docs.add_argument("--check", action="store_true", help="exit 1 if FILE differs from what would be written")
    docs.add_argument(
        "--costs",
        choices=("jax", "reference"),
        default="jax",
        help="play the baselines with the JAX game (elimgym.policies) or the pure-Python reference eliminator",
    )
    docs.set_defaults(func=run_docs)


# -------------------------------------------------------------------------------- rows
def _counts(graph: LCG) -> dict[str, int]:
    return {
        "inputs": len(graph.inputs),
        "intermediates": len(graph.intermediates),
        "outputs": len(graph.outputs),
        "vertices": graph.num_vertices,
        "edges": graph.num_edges,
    }


def task_rows() -> list[dict[str, Any]]:
    """One row per task: name, Gymnasium id and the sizes of its stored graph."""
    return [
        {"name": task.name, "id": f"VertexElim-{task.env_name}-v0", **_counts(task.graph())} for task in TASKS.values()
    ]


def split_rows() -> list[dict[str, Any]]:
    """One row per split and band: number of graphs and ``[min, max]`` of each size."""
    rows = []
    for split in SPLITS:
        for band in BANDS:
            graphs = split_graphs(split, band)
            counts = [_counts(g) for g in graphs]
            row: dict[str, Any] = {"split": split, "band": band, "graphs": len(graphs)}
            for key in ("inputs", "outputs", "vertices", "edges"):
                values = [c[key] for c in counts]
                row[key] = [min(values), max(values)]
            rows.append(row)
    return rows


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    cells = [[_cell(row[c]) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[k]) for r in cells)) for k, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return f"{value[0]}-{value[1]}"
    return str(value)


def run_list(args: argparse.Namespace) -> int:
    tasks, splits = task_rows(), split_rows()
    if args.json:
        print(json.dumps({"tasks": tasks, "splits": splits}, indent=1))
        return 0
    print("Tasks")
    print(_table(tasks, ["name", "id", "inputs", "intermediates", "outputs", "vertices", "edges"]))
    print("\nSplits (heldout: final evaluation only)")
    print(_table(splits, ["split", "band", "graphs", "inputs", "outputs", "vertices", "edges"]))
    return 0


# -------------------------------------------------------------------------- show/export
def _resolve(name: str) -> Target:
    """A split graph by name, else whatever :func:`resolve_target` resolves."""
    split = name.split("-", 1)[0]
    if split in SPLITS:
        for graph in split_graphs(split):
            if graph.name == name:
                return Target(name, graph)
    return resolve_target(name)


def _vertex_list(graph: LCG, indices: tuple[int, ...]) -> str:
    return ", ".join(f"{graph.vertices[k].name or k} {list(graph.vertices[k].shape)}" for k in indices)


def run_show(args: argparse.Namespace) -> int:
    target = _resolve(args.name)
    graph = target.graph
    print(graph.summary())
    task = next((t for t in TASKS.values() if t.name == target.name), None)
    if task is not None:
        print(f"  id:         VertexElim-{task.env_name}-v0")
        print(f"  computes:   {task.description}")
        print(f"  reference:  {task.reference}")
    print(f"  inputs:     {_vertex_list(graph, graph.inputs)}")
    print(f"  outputs:    {_vertex_list(graph, graph.outputs)}")
    print(f"  largest vertex: {max(v.size for v in graph.vertices)} entries; fingerprint {graph.fingerprint()}")
    structures: dict[str, int] = {}
    for structure in graph.edges.values():
        structures[str(structure)] = structures.get(str(structure), 0) + 1
    common = sorted(structures.items(), key=lambda kv: (-kv[1], kv[0]))
    print("  edge structures: " + ", ".join(f"{s} x{n}" for s, n in common))
    for key in ("split", "band", "seed"):
        if key in graph.metadata:
            print(f"  {key}: {graph.metadata[key]}")
    if args.png:
        from graphs.draw import draw_graph

        draw_graph(graph, title=graph.summary()).savefig(args.png)
        print(f"drawing -> {args.png}")
    return 0


def _fail(message: str) -> int:
    print(f"elimgym graphs: {message}", file=sys.stderr)
    return 1


def run_export(args: argparse.Namespace) -> int:
    graph = _resolve(args.name).graph
    try:
        if args.format == "elimgym":
            io.save(graph, args.out)
        elif args.format == "edge-list":
            interchange.save_edge_list(graph, args.out)
        else:
            interchange.save_vertexgame(graph, args.out)
    except interchange.InterchangeError as err:
        return _fail(str(err))
    print(f"{graph.summary()} -> {args.out} ({args.format})")
    return 0


def run_import_edge_list(args: argparse.Namespace) -> int:
    try:
        graph = interchange.load_edge_list(args.file)
    except (interchange.InterchangeError, OSError) as err:
        return _fail(str(err))
    io.save(graph, args.out)
    print(f"{graph.summary()} -> {args.out}")
    return 0


def run_import_vertexgame(args: argparse.Namespace) -> int:
    try:
        graph = interchange.load_vertexgame(args.file, args.name)
    except interchange.InterchangeError as err:
        return _fail(str(err))
    io.save(graph, args.out)
    print(f"{graph.summary()} -> {args.out}")
    return 0


# --------------------------------------------------------------------------------- docs
def _jax_costs(graph: LCG, capacity: int) -> dict[str, int]:
    from elimgym.policies import baseline_costs

    return baseline_costs(graph, capacity=capacity)


def _reference_costs(graph: LCG, capacity: int) -> dict[str, int]:
    from elimgym import reference

    del capacity
    orders = {
        "forward": reference.forward_order(graph),
        "reverse": reference.reverse_order(graph),
        "markowitz": reference.markowitz_order(graph, "lowest"),
    }
    return {name: reference.play(graph, order)[0] for name, order in orders.items()}


def _source_of(task: Task) -> str:
    module = task.function.__module__.replace(".", "/") + ".py"
    return f"`{module}` (`{task.function.__name__}`)"


def tasks_markdown(costs: Mapping[str, Mapping[str, int]]) -> str:
    """The text of ``docs/tasks.md``, given each task's baseline ``costs``
    (``{task: {"forward": ..., "reverse": ..., "markowitz": ...}}``)."""
    lines = [
        f"<!-- Generated by `{DOCS_COMMAND}` from the stored task graphs; do not edit by hand. -->",
        "# Benchmark tasks",
        "",
        f"Regenerate this page with `{DOCS_COMMAND}` (after `{REGENERATE_COMMAND}` if the tasks changed).",
        "",
        "Costs are scalar multiplications of the structured cost model (`elimgym.cost`) for the classical",
        "elimination orders: forward (increasing index), reverse (decreasing index) and dynamic Markowitz",
        "with lowest-index ties (`elimgym.policies.baseline_costs`). Every task's graph is stored in",
        "`graphs/data/tasks/<task>.json` and loaded with `graphs.tasks.get_task(name).graph()`.",
        "",
        "| task | Gymnasium id | inputs | intermediates | outputs | edges | forward | reverse | Markowitz |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for task in TASKS.values():
        g = task.graph()
        c = costs[task.name]
        lines.append(
            f"| [{task.name}](#{task.name.lower()}) | `VertexElim-{task.env_name}-v0` | {len(g.inputs)} | "
            f"{len(g.intermediates)} | {len(g.outputs)} | {g.num_edges} | {c['forward']:,} | {c['reverse']:,} | "
            f"{c['markowitz']:,} |"
        )
    for task in TASKS.values():
        g = task.graph()
        c = costs[task.name]
        best = min(COST_METHODS, key=lambda m: (c[m], COST_METHODS.index(m)))
        shapes = sorted({v.shape for v in g.vertices}, key=lambda s: (len(s), s))
        rows = [
            ("computes", task.description),
            ("reference", task.reference),
            ("source", _source_of(task)),
            ("Gymnasium id", f"`VertexElim-{task.env_name}-v0`"),
            ("inputs", f"{len(g.inputs)}: " + ", ".join(f"`{g.vertices[k].name}` {list(g.vertices[k].shape)}" for k in g.inputs)),
            ("outputs", f"{len(g.outputs)}: " + ", ".join(f"`{g.vertices[k].name}` {list(g.vertices[k].shape)}" for k in g.outputs)),
            ("intermediates (eliminable)", str(len(g.intermediates))),
            ("vertices / edges", f"{g.num_vertices} / {g.num_edges}"),
            ("vertex shapes", ", ".join(str(list(s)) for s in shapes)),
            ("forward cost", f"{c['forward']:,}"),
            ("reverse cost", f"{c['reverse']:,}"),
            ("Markowitz cost", f"{c['markowitz']:,}"),
            ("best baseline", best),
            ("fingerprint", f"`{g.fingerprint()}`"),
        ]
        lines += ["", f"## {task.name}", "", "| | |", "|---|---|"]
        lines += [f"| {key} | {value.replace('|', '/')} |" for key, value in rows]
    lines += [
        "",
        "## Random graph splits",
        "",
        "Fixed random programs (`graphs.splits`), stored in `graphs/data/splits/`. `heldout` is for final",
        "evaluation only: train with `train`, select models with `validation` (see docs/graphs.md).",
        "",
        "| split | band | graphs | inputs | outputs | vertices | edges |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in split_rows():
        lines.append(
            f"| {row['split']} | {row['band']} | {row['graphs']} | "
            + " | ".join(_cell(row[k]) for k in ("inputs", "outputs", "vertices", "edges"))
            + " |"
        )
    return "\n".join(lines) + "\n"


def task_costs(method: str) -> dict[str, dict[str, int]]:
    """Baseline costs of every task, played with the JAX game or the reference eliminator."""
    graphs = {name: task.graph() for name, task in TASKS.items()}
    capacity = -(-max(g.num_vertices for g in graphs.values()) // 16) * 16  # one compilation for all
    play: Callable[[LCG, int], dict[str, int]] = _jax_costs if method == "jax" else _reference_costs
    return {name: play(graph, capacity) for name, graph in graphs.items()}


def run_docs(args: argparse.Namespace) -> int:
    text = tasks_markdown(task_costs(args.costs))
    path = Path(args.out)
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            return _fail(f"{path} is out of date; regenerate it with `{DOCS_COMMAND}`")
        print(f"{path} is up to date")
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0

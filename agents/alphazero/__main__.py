"""``python -m agents.alphazero {train,solve,export}``.

* ``train --run-dir DIR [options]``: train (or resume: a run directory with a checkpoint continues
  from it; options left out come from the saved config, ``--iterations`` may be raised).
  Every field of :class:`~agents.alphazero.config.Config` is an option (``--num-simulations``,
  ``--graphs``, ``--width``, ...); ``--init-from CHECKPOINT`` starts from another run's network
  (fine-tuning).
* ``solve TASK|EXAMPLE|FILE [--checkpoint DIR] [--simulations N]``: search with a trained network,
  print the order's cost against forward/reverse/Markowitz, check it with the Jacobian executor,
  optionally save it (``--out ORDER.json``, usable by ``elimgym verify``).
* ``export CHECKPOINT OUT``: copy a checkpoint's network alone (a few hundred kB) for shipping.

See ``docs/alphazero.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agents.alphazero.checkpoint import DEFAULT_CHECKPOINT
from agents.alphazero.config import Config, ConfigError, NetworkConfig, SearchConfig, TrainConfig

__all__ = ["main", "build_parser"]

_SECTIONS = {"network": NetworkConfig, "search": SearchConfig, "train": TrainConfig}


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    """One option per config field; left-out options stay unset (``argparse.SUPPRESS``)."""
    for section, kind in _SECTIONS.items():
        group = parser.add_argument_group(f"{section} config")
        doc = {}
        for line in (kind.__doc__ or "").splitlines():
            name, sep, text = line.strip().partition(":")
            if sep and name.isidentifier():
                doc[name] = text.strip()
        for f in dataclasses.fields(kind):
            default = getattr(kind(), f.name)
            flag = "--" + f.name.replace("_", "-")
            help_text = f"{doc.get(f.name, '')} (default: {default!r})"
            if isinstance(default, tuple):
                element = type(default[0]) if default else str
                group.add_argument(flag, dest=f"{section}.{f.name}", nargs="+", type=element, default=argparse.SUPPRESS, help=help_text)
            else:
                group.add_argument(flag, dest=f"{section}.{f.name}", type=type(default), default=argparse.SUPPRESS, help=help_text)


def _overrides(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for dest, value in vars(args).items():
        section, _, name = dest.partition(".")
        if section in _SECTIONS and name:
            out.setdefault(section, {})[name] = tuple(value) if isinstance(value, list) else value
    return out


def _train(args: argparse.Namespace) -> int:
    from agents.alphazero.checkpoint import latest_checkpoint, load_run_state
    from agents.alphazero.pool import load_graphs
    from agents.alphazero.solve import solve_capacities
    from agents.alphazero.trainer import Trainer

    overrides = _overrides(args)
    latest = latest_checkpoint(args.run_dir)
    if latest is not None:
        base = load_run_state(latest)[0]
        print(f"resuming from {latest}")
    elif args.config is not None:
        base = Config.from_dict(json.loads(Path(args.config).read_text()))
    else:
        base = Config()
    graphs = overrides.get("train", {}).get("graphs", base.train.graphs)
    if latest is None and "capacities" not in overrides.get("train", {}) and not graphs.startswith("split:"):
        overrides.setdefault("train", {})["capacities"] = solve_capacities(load_graphs(graphs))
    config = base.replace(**overrides)
    trainer = Trainer(config, args.run_dir, init_model=args.init_from, progress=not args.no_progress)
    print(json.dumps(trainer.config.to_dict(), indent=1))
    state = trainer.run()
    print(f"stopped after iteration {state.iteration} ({state.games} games, {state.updates} updates, {state.elapsed / 60:.1f} min)")
    return 0


def _solve(args: argparse.Namespace) -> int:
    from elimgym.commands.common import resolve_target

    from agents.alphazero.checkpoint import CheckpointError, load_model
    from agents.alphazero.solve import solve_target

    try:
        model, config, meta = load_model(args.checkpoint)
    except CheckpointError as err:
        print(f"alphazero solve: {err}", file=sys.stderr)
        return 2
    target = resolve_target(args.target)
    print(target.graph.summary())
    print(f"checkpoint: {args.checkpoint} (trained on {meta['env_id']}, {meta.get('iteration', '?')} iterations)")
    result = solve_target(model, config, target, args.simulations, seed=args.seed, verify=not args.no_verify, complete_from_path=not args.pure_search)
    best = min(result.baselines.values())
    rows = list(result.baselines.items()) + [(f"search ({args.simulations} sims)", result.search_cost), ("alphazero", result.order.cost)]
    for name, cost in rows:
        print(f"  {name:<22} {cost:>14,d}  {cost / best if best else 1.0:6.3f} x min(fwd, rev, Markowitz)")
    if result.completed_from is not None:
        move, heuristic = result.completed_from
        print(f"answer: the search's first {move} moves, then {heuristic} (cheaper than the search's own order)")
    print(f"gain over min(forward, reverse, Markowitz): {100 * result.gain:+.1f}%  ({result.seconds:.1f} s)")
    status = 0
    if result.verification is not None:
        print(result.verification)
        status = 0 if result.verification.passed else 1
    elif not args.no_verify:
        print("executor check skipped: the target has no function behind it")
    if args.out:
        result.order.save(args.out)
        print(f"order written to {args.out}")
    if args.json:
        record = {
            "target": target.name,
            "cost": result.order.cost,
            "search_cost": result.search_cost,
            "completed_from": result.completed_from,
            "order": list(result.order.vertices),
            "baselines": result.baselines,
            "gain": result.gain,
            "seconds": result.seconds,
            "simulations": args.simulations,
            "checkpoint": str(args.checkpoint),
            "verified": None if result.verification is None else bool(result.verification.passed),
        }
        Path(args.json).write_text(json.dumps(record, indent=2) + "\n")
    return status


def _export(args: argparse.Namespace) -> int:
    from agents.alphazero.checkpoint import export_model, latest_checkpoint

    source = Path(args.checkpoint)
    if (source / "checkpoints").is_dir():
        source = latest_checkpoint(source) or source
    note = json.loads(args.note) if args.note else None
    print(f"exported {source} -> {export_model(source, args.out, note)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m agents.alphazero", description="AlphaZero (Gumbel MuZero search) for vertex elimination.")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train or resume a run")
    train.add_argument("--run-dir", required=True, help="directory for checkpoints, metrics.jsonl and learning_curve.png")
    train.add_argument("--config", help="JSON config file (a checkpoint's config.json) to start from")
    train.add_argument("--init-from", help="checkpoint whose network initialises a new run (fine-tuning)")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_config_options(train)
    train.set_defaults(func=_train)
    solve = commands.add_parser("solve", help="search an elimination order with a trained network")
    solve.add_argument("target", help="a task name, a built-in example name, or a graph file")
    solve.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT), help="checkpoint directory (default: the shipped generalist)")
    solve.add_argument("--simulations", type=int, default=64, help="simulations per move (default: 64)")
    solve.add_argument("--seed", type=int, default=0)
    solve.add_argument("--out", help="write the order file here")
    solve.add_argument("--json", help="write the result as JSON here")
    solve.add_argument("--no-verify", action="store_true", help="skip the executor check")
    solve.add_argument("--pure-search", action="store_true", help="answer with the search's own order, not the cheapest heuristic completion along its path")
    solve.set_defaults(func=_solve)
    export = commands.add_parser("export", help="copy a checkpoint's network alone")
    export.add_argument("checkpoint", help="a checkpoint directory, or a run directory (its latest checkpoint)")
    export.add_argument("out", help="output directory")
    export.add_argument("--note", help="JSON object stored as meta['note'] (e.g. the command and seed)")
    export.set_defaults(func=_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, ValueError) as err:
        print(f"alphazero {args.command}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

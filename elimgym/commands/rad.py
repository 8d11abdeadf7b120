"""``elimgym rad study``: the randomized-AD study (memory, unbiasedness, variance, training, PDE)."""

from __future__ import annotations

import argparse
import json
import sys
import time

__all__ = ["add_parser"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("rad", help="randomized automatic differentiation: low-memory unbiased gradients")
    commands = parser.add_subparsers(dest="rad_command", required=True)
    study = commands.add_parser(
        "study",
        help="measure memory, unbiasedness, gradient variance, training curves and the PDE; write CSV, plots and markdown",
    )
    study.add_argument("--quick", action="store_true", help="a small version of every part (under 3 minutes on 2 cores)")
    study.add_argument("--out", default="docs", help="output folder: DIR/rad[_quick]_results.md and the CSVs, plots and summary JSON under DIR/rad/ (default: docs)")
    study.add_argument("--checkpoint-dir", default="runs/rad_checkpoints", help="where finished parts and training states are saved (default: runs/rad_checkpoints)")
    study.add_argument("--no-checkpoints", action="store_true", help="neither read nor write checkpoints")
    study.add_argument("--parts", default=None, help="comma-separated subset of: memory,unbiased,variance,training,pde")
    study.add_argument("--models", default=None, help="comma-separated models of the variance and training parts (mlp,cnn,rnn; default: the config's)")
    study.add_argument("--train-models", default=None, help="comma-separated models of the training part (default: --models, else the config's)")
    study.add_argument("--labels", default=None, help="comma-separated sampler labels of the variance part (e.g. different,active-wor; default: the config's)")
    study.add_argument("--points", default=None, help="comma-separated parameter points of the variance part (init,trained; default: the config's)")
    study.set_defaults(func=run_study_command)


def _names(text: str | None) -> tuple[str, ...] | None:
    """``"a, b"`` -> ``("a", "b")``; None stays None."""
    return None if text is None else tuple(name.strip() for name in text.split(",") if name.strip())


def run_study_command(args: argparse.Namespace) -> int:
    from elimgym.rad.checkpoint import CheckpointStore
    from elimgym.rad.report import write_report
    from elimgym.rad.study import (
        FULL,
        PARTS,
        QUICK,
        run_study,
        summarize,
        with_overrides,
    )

    parts = _names(args.parts) or PARTS
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise SystemExit(f"elimgym rad study: unknown parts {sorted(unknown)}; choose from {', '.join(PARTS)}")
    try:
        config = with_overrides(QUICK if args.quick else FULL, models=_names(args.models), labels=_names(args.labels), points=_names(args.points), train_models=_names(args.train_models))
    except (KeyError, ValueError) as err:
        raise SystemExit(f"elimgym rad study: {err}") from None
    store = CheckpointStore(None if args.no_checkpoints else args.checkpoint_dir)
    start = time.perf_counter()
    results = run_study(config, store, parts, log=lambda line: print(line, file=sys.stderr, flush=True))
    summary = summarize(results)
    summary["seconds"] = round(time.perf_counter() - start, 1)
    written = write_report(results, summary, args.out)
    print(json.dumps(summary, indent=1))
    print(f"wrote {len(written)} files under {args.out}", file=sys.stderr)
    return 0

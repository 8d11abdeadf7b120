"""The metrics log of a run (JSON lines) and its learning-curve plot (PNG, matplotlib Agg).

Each line of ``metrics.jsonl`` is one iteration: counters, wall time, losses, self-play results
and, every ``eval_every`` iterations, the deterministic search's results on the evaluation graphs.
Costs are reported as ratios to ``min(forward, reverse, Markowitz)`` of each graph (below 1 =
better than every classical order); ``markowitz_ratio`` is Markowitz's own ratio for reference.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["MetricsLog", "plot_learning_curve"]


class MetricsLog:
    """Append-only JSON-lines log. On resume, :meth:`truncate` drops lines of iterations that the
    restored checkpoint does not contain (they will be redone)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def truncate(self, iteration: int) -> None:
        """Keep only the records of iterations ``<= iteration``."""
        kept = [r for r in self.read() if r["iteration"] <= iteration]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in kept))
        os.replace(tmp, self.path)

    def append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as fh:
            fh.write(json.dumps(record, sort_keys=True) + "\n")


def plot_learning_curve(records: list[dict[str, Any]], path: str | os.PathLike, title: str = "") -> Path:
    """Draw the learning curve: cost ratios against training minutes (left), losses (right).

    Left panel: the evaluation search's mean cost ratio, self-play's mean ratio and the best order
    found so far (all relative to ``min(forward, reverse, Markowitz)``), with 1 (the best classical
    order) and Markowitz's ratio as reference lines.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    evals = [r for r in records if "eval_ratio" in r]
    if evals:
        left.plot([r["elapsed_seconds"] / 60 for r in evals], [r["eval_ratio"] for r in evals], "o-", label="search (eval)")
        left.axhline(evals[-1]["eval_markowitz_ratio"], color="tab:red", ls="--", label="Markowitz")
    played = [r for r in records if "selfplay_ratio" in r]
    played_minutes = [r["elapsed_seconds"] / 60 for r in played]
    left.plot(played_minutes, [r["selfplay_ratio"] for r in played], alpha=0.5, label="self-play")
    left.plot(played_minutes, [r["best_ratio"] for r in played], color="tab:green", label="best found")
    left.axhline(1.0, color="black", ls=":", label="min(fwd, rev, Markowitz)")
    left.set_xlabel("training wall time [min]")
    left.set_ylabel("cost / min(forward, reverse, Markowitz)")
    left.legend(fontsize=8)
    trained = [r for r in records if "loss" in r]
    if trained:
        its = [r["iteration"] for r in trained]
        right.plot(its, [r["policy_loss"] for r in trained], label="policy")
        right.plot(its, [r["value_loss"] for r in trained], label="value")
        right.set_yscale("log")
    right.set_xlabel("iteration")
    right.set_ylabel("loss")
    right.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

"""How costs become rewards: the scaling of rewards and the penalty of an illegal action."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from elimgym.envs.pool import BASELINE_NAMES

__all__ = ["REWARD_SCALINGS", "RewardRule"]

REWARD_SCALINGS = ("raw",) + BASELINE_NAMES
"""Named reward scalings: ``"raw"`` (reward = minus multiplications) or a baseline's name
(reward = minus multiplications / that baseline's total cost on the graph)."""


@dataclass(frozen=True)
class RewardRule:
    """Reward of an elimination = ``-multiplications / scale``; of an illegal action = ``-penalty``.

    Attributes:
        scaling: ``"raw"`` (scale 1), ``"markowitz"``, ``"forward"`` or ``"reverse"`` (scale = that
            baseline's total cost on the graph, at least 1, so that playing the baseline's order
            returns -1), or a positive float (a constant scale).
        illegal_penalty: the penalty in reward units; ``None`` is the graph's worst baseline
            cost, scaled: an illegal move is as bad as a whole episode of the worst classical order.

    Raises:
        ValueError: for an unknown scaling name, a non-positive scale or a negative penalty.
    """

    scaling: str | float = "raw"
    illegal_penalty: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.scaling, str):
            if self.scaling not in REWARD_SCALINGS:
                raise ValueError(f"unknown reward_scaling {self.scaling!r}; use one of {REWARD_SCALINGS} or a positive float")
        elif not float(self.scaling) > 0:
            raise ValueError(f"reward_scaling must be a name in {REWARD_SCALINGS} or a positive float, got {self.scaling!r}")
        if self.illegal_penalty is not None and not float(self.illegal_penalty) >= 0:
            raise ValueError(f"illegal_penalty must be >= 0, got {self.illegal_penalty!r}")

    @property
    def needs_baselines(self) -> bool:
        """Whether :meth:`scales` or :meth:`penalties` read the baselines."""
        return self.scaling in BASELINE_NAMES or self.illegal_penalty is None

    def scales(self, baselines: np.ndarray) -> np.ndarray:
        """``[G] float64``: the divisor of each graph's rewards (``baselines``: ``[G, 3] int64``)."""
        num_graphs = baselines.shape[0]
        if self.scaling == "raw":
            return np.ones(num_graphs, np.float64)
        if isinstance(self.scaling, str):
            return np.maximum(baselines[:, BASELINE_NAMES.index(self.scaling)], 1).astype(np.float64)
        return np.full(num_graphs, float(self.scaling), np.float64)

    def penalties(self, baselines: np.ndarray) -> np.ndarray:
        """``[G] float64``: the reward magnitude of an illegal action on each graph."""
        if self.illegal_penalty is None:
            return np.maximum(baselines.max(axis=1), 1) / self.scales(baselines)
        return np.full(baselines.shape[0], float(self.illegal_penalty), np.float64)

"""The strict configuration of an AlphaZero run: frozen dataclasses validated on construction.

A run is fully described by one :class:`Config` (network, search, training). It is written into
every checkpoint as JSON and read back with :meth:`Config.from_dict`, which rejects unknown or
missing keys instead of guessing, so a checkpoint always says exactly how it was made.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ConfigError",
    "NetworkConfig",
    "SearchConfig",
    "TrainConfig",
    "Config",
    "VALUE_BASELINES",
    "BASELINE_POLICIES",
]

VALUE_BASELINES = ("heuristics", "none")
"""``"heuristics"``: the value head predicts a correction of the best heuristic completion from the
node (see :mod:`agents.alphazero.baseline`); ``"none"``: the plain AlphaZero value head."""

BASELINE_POLICIES = ("forward", "reverse", "markowitz")
"""Heuristics whose completions can form the value baseline."""


class ConfigError(ValueError):
    """A configuration value is out of range, or a configuration dictionary is malformed."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


@dataclass(frozen=True)
class NetworkConfig:
    """The graph transformer (:mod:`agents.alphazero.network`).

    Attributes:
        width: token width ``D``.
        depth: number of transformer blocks.
        heads: attention heads (``width`` must be divisible by it).
        mlp_ratio: hidden width of each block's MLP, as a multiple of ``width``.
    """

    width: int = 64
    depth: int = 3
    heads: int = 4
    mlp_ratio: int = 2

    def __post_init__(self) -> None:
        _require(self.width >= 4, f"network width must be >= 4, got {self.width}")
        _require(self.depth >= 1, f"network depth must be >= 1, got {self.depth}")
        _require(self.heads >= 1 and self.width % self.heads == 0, f"network width {self.width} is not divisible by heads {self.heads}")
        _require(self.mlp_ratio >= 1, f"mlp_ratio must be >= 1, got {self.mlp_ratio}")


@dataclass(frozen=True)
class SearchConfig:
    """The Gumbel MuZero search (:mod:`agents.alphazero.search`).

    Attributes:
        num_simulations: simulations per move.
        max_considered_actions: actions sampled at the root for Sequential Halving.
        gumbel_scale: scale of the root Gumbel noise (0 = deterministic search).
        value_baseline: one of :data:`VALUE_BASELINES`.
        baseline_policies: heuristics completing each node for the ``"heuristics"`` baseline.
    """

    num_simulations: int = 32
    max_considered_actions: int = 16
    gumbel_scale: float = 1.0
    value_baseline: str = "heuristics"
    baseline_policies: tuple[str, ...] = BASELINE_POLICIES

    def __post_init__(self) -> None:
        object.__setattr__(self, "baseline_policies", tuple(self.baseline_policies))
        _require(self.num_simulations >= 1, f"num_simulations must be >= 1, got {self.num_simulations}")
        _require(self.max_considered_actions >= 1, f"max_considered_actions must be >= 1, got {self.max_considered_actions}")
        _require(self.gumbel_scale >= 0, f"gumbel_scale must be >= 0, got {self.gumbel_scale}")
        _require(self.value_baseline in VALUE_BASELINES, f"value_baseline must be one of {VALUE_BASELINES}, got {self.value_baseline!r}")
        unknown = [p for p in self.baseline_policies if p not in BASELINE_POLICIES]
        _require(not unknown, f"unknown baseline policies {unknown}; choose from {BASELINE_POLICIES}")
        _require(
            self.value_baseline != "heuristics" or len(self.baseline_policies) > 0,
            "the 'heuristics' value baseline needs at least one baseline policy",
        )


@dataclass(frozen=True)
class TrainConfig:
    """Self-play and optimisation (:mod:`agents.alphazero.trainer`).

    Attributes:
        graphs: where training graphs come from: ``"split:train"``, ``"split:train:small"`` (one
            band), ``"split:validation"``, ``"task:NAME"`` or ``"file:PATH"`` (a graph file).
            The held-out split is refused.
        capacities: padded sizes graphs are bucketed into (ascending); a graph goes to the
            smallest capacity that holds it.
        iterations: training iterations (each: one self-play batch, then ``updates_per_iteration``
            gradient steps).
        selfplay_batch: games played in parallel per iteration (a multiple of the device count).
        updates_per_iteration: gradient steps per iteration.
        train_batch: samples per gradient step (a multiple of the device count).
        replay_capacity: samples the replay buffer keeps (oldest dropped first).
        min_replay: samples needed before the first gradient step.
        learning_rate: peak Adam learning rate (cosine decay to 10% over ``iterations``).
        weight_decay: AdamW weight decay.
        value_weight: weight of the value loss against the policy loss.
        grad_clip: global gradient-norm clip.
        seed: seeds parameters, graph sampling and search noise.
        checkpoint_every: iterations between checkpoints.
        eval_every: iterations between evaluations of the deterministic search.
        eval_graphs: graphs evaluated (the first ones of the validation split, or the task).
        eval_simulations: simulations of the evaluation search.
    """

    graphs: str = "split:train"
    capacities: tuple[int, ...] = (48, 80, 128)
    iterations: int = 200
    selfplay_batch: int = 16
    updates_per_iteration: int = 8
    train_batch: int = 64
    replay_capacity: int = 20_000
    min_replay: int = 256
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    value_weight: float = 1.0
    grad_clip: float = 1.0
    seed: int = 0
    checkpoint_every: int = 5
    eval_every: int = 10
    eval_graphs: int = 16
    eval_simulations: int = 32

    def __post_init__(self) -> None:
        object.__setattr__(self, "capacities", tuple(int(c) for c in self.capacities))
        _require(self.graphs.split(":", 1)[0] in ("split", "task", "file"), f"graphs must start with 'split:', 'task:' or 'file:', got {self.graphs!r}")
        _require(not self.graphs.startswith("split:heldout"), "training on the held-out split is not allowed (it is for final evaluation only)")
        _require(len(self.capacities) >= 1, "capacities must not be empty")
        _require(all(c >= 2 for c in self.capacities), f"capacities must be >= 2, got {self.capacities}")
        _require(list(self.capacities) == sorted(set(self.capacities)), f"capacities must be strictly ascending, got {self.capacities}")
        for name in ("iterations", "selfplay_batch", "updates_per_iteration", "train_batch", "replay_capacity", "checkpoint_every", "eval_every", "eval_graphs", "eval_simulations"):
            _require(getattr(self, name) >= 1, f"{name} must be >= 1, got {getattr(self, name)}")
        _require(0 <= self.min_replay <= self.replay_capacity, f"min_replay must be in [0, replay_capacity], got {self.min_replay}")
        _require(self.learning_rate > 0, f"learning_rate must be > 0, got {self.learning_rate}")
        _require(self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay}")
        _require(self.value_weight >= 0, f"value_weight must be >= 0, got {self.value_weight}")
        _require(self.grad_clip > 0, f"grad_clip must be > 0, got {self.grad_clip}")


@dataclass(frozen=True)
class Config:
    """A complete run: network, search and training."""

    network: NetworkConfig = field(default_factory=NetworkConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable nested dictionary (tuples become lists)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Config":
        """Inverse of :meth:`to_dict`.

        Raises:
            ConfigError: a section or key is missing or unknown, or a value is out of range.
        """
        sections = {"network": NetworkConfig, "search": SearchConfig, "train": TrainConfig}
        if not isinstance(data, dict) or set(data) != set(sections):
            raise ConfigError(f"a config needs exactly the sections {sorted(sections)}, got {sorted(data) if isinstance(data, dict) else type(data).__name__}")
        return cls(**{name: _section(kind, data[name], name) for name, kind in sections.items()})

    def replace(self, **sections: Any) -> "Config":
        """A copy with some fields of some sections replaced: ``replace(train={"iterations": 5})``."""
        updated = {}
        for name, changes in sections.items():
            current = getattr(self, name)
            unknown = set(changes) - {f.name for f in dataclasses.fields(current)}
            if unknown:
                raise ConfigError(f"unknown {name} config keys {sorted(unknown)}")
            updated[name] = dataclasses.replace(current, **changes)
        return dataclasses.replace(self, **updated)


def _section(kind: type, values: Any, name: str):
    if not isinstance(values, dict):
        raise ConfigError(f"config section {name!r} must be a mapping, got {type(values).__name__}")
    expected = {f.name for f in dataclasses.fields(kind)}
    if set(values) != expected:
        missing, unknown = sorted(expected - set(values)), sorted(set(values) - expected)
        raise ConfigError(f"config section {name!r}: missing keys {missing}, unknown keys {unknown}")
    return kind(**values)

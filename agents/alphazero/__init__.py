"""AlphaZero for vertex elimination: one size-agnostic graph transformer for every graph, trained
by self-play with ``mctx``'s Gumbel MuZero search over the JAX game.

Modules, lowest first: :mod:`~agents.alphazero.config` (the strict run config),
:mod:`~agents.alphazero.baseline` (heuristic completions), :mod:`~agents.alphazero.features`
and :mod:`~agents.alphazero.network` (the policy-value net), :mod:`~agents.alphazero.search`
(mctx), :mod:`~agents.alphazero.pool` (training graphs), :mod:`~agents.alphazero.sharding`,
:mod:`~agents.alphazero.play` (whole games), :mod:`~agents.alphazero.replay`,
:mod:`~agents.alphazero.training` (loss and update), :mod:`~agents.alphazero.checkpoint`,
:mod:`~agents.alphazero.metrics`, :mod:`~agents.alphazero.trainer` (the loop) and
:mod:`~agents.alphazero.solve`. Command line: ``python -m agents.alphazero``; guide:
``docs/alphazero.md``.
"""

from agents.alphazero.checkpoint import CheckpointError, export_model, load_model, save_checkpoint
from agents.alphazero.config import Config, ConfigError, NetworkConfig, SearchConfig, TrainConfig
from agents.alphazero.network import PolicyValueNet
from agents.alphazero.search import Node, search
from agents.alphazero.solve import SolveResult, solve_graphs, solve_target
from agents.alphazero.trainer import Trainer

__all__ = [
    "Config",
    "ConfigError",
    "NetworkConfig",
    "SearchConfig",
    "TrainConfig",
    "PolicyValueNet",
    "Node",
    "search",
    "Trainer",
    "SolveResult",
    "solve_graphs",
    "solve_target",
    "CheckpointError",
    "load_model",
    "save_checkpoint",
    "export_model",
]

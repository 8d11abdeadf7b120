"""Checkpoints: everything a run needs to resume exactly, and model-only exports.

A checkpoint is a directory:

* ``config.json``: the :class:`~agents.alphazero.config.Config`;
* ``meta.json``: format version, env id, game version, library versions, counters, wall time,
  the JAX key and the NumPy generator state;
* ``model.eqx``: the network parameters (``equinox.tree_serialise_leaves``);
* full checkpoints also hold ``opt_state.eqx`` (optimizer state), ``replay.npz`` (the replay
  buffer) and ``best.npz`` (the cheapest order found so far for every training graph).

A run directory keeps its checkpoints under ``checkpoints/iter_NNNNNN`` (the last few) and names
the newest in ``checkpoints/LATEST``. Each is written to a temporary directory and renamed into
place, so an interruption never leaves a half-written checkpoint behind.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import numpy as np

from graphs.tasks import TASKS

import elimgym

from agents.alphazero.config import Config
from agents.alphazero.network import PolicyValueNet
from agents.alphazero.replay import ReplayBuffer
from agents.alphazero.training import make_optimizer

__all__ = [
    "CheckpointError",
    "RunState",
    "DEFAULT_CHECKPOINT",
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "GAME_VERSION",
    "env_id_for",
    "save_checkpoint",
    "load_run_state",
    "load_model",
    "latest_checkpoint",
    "export_model",
]

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "checkpoints" / "alphazero_generalist"
"""The shipped pretrained generalist (a model-only checkpoint)."""

CHECKPOINT_FORMAT = "elimgym-alphazero-checkpoint"
CHECKPOINT_VERSION = 1
GAME_VERSION = "v0"
"""Version of the game rules the agent plays (the ``-v0`` of the ``VertexElim-*`` ids)."""

_KEEP = 2
_LIBRARIES = ("jax", "jaxlib", "mctx", "equinox", "optax", "numpy")


class CheckpointError(ValueError):
    """A checkpoint is missing, incomplete, of another format version, or made for another config."""


@dataclass
class RunState:
    """The mutable state of a training run (everything a checkpoint restores).

    Attributes:
        model: the network.
        opt_state: the optimizer state.
        replay: the replay buffer.
        key: the JAX PRNG key (``[2] uint32``) for the next iteration.
        rng: the NumPy generator for graph and sample choices.
        iteration: iterations completed.
        games, samples, updates: self-play games, replay samples and gradient steps so far.
        elapsed: training wall time so far, in seconds (summed over resumed sessions).
        best_cost: ``[G] int64``: cheapest cost found in self-play per pool graph (-1: none yet).
        best_order: ``[G, W] int16``: the order that achieved it (-1 padded).
    """

    model: PolicyValueNet
    opt_state: Any
    replay: ReplayBuffer
    key: jax.Array
    rng: np.random.Generator
    iteration: int
    games: int
    samples: int
    updates: int
    elapsed: float
    best_cost: np.ndarray
    best_order: np.ndarray


def env_id_for(graphs: str) -> str:
    """The Gymnasium id of the env a graph source corresponds to."""
    kind, _, rest = graphs.partition(":")
    if kind == "task" and rest in TASKS:
        return f"VertexElim-{TASKS[rest].env_name}-{GAME_VERSION}"
    if kind == "split":
        return f"VertexElim-Random-{GAME_VERSION}"
    return f"VertexElim-{GAME_VERSION}"


def _library_versions() -> dict[str, str]:
    versions = {"elimgym": elimgym.__version__}
    for name in _LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _meta(config: Config, state: RunState | None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "env_id": env_id_for(config.train.graphs),
        "game_version": GAME_VERSION,
        "libraries": _library_versions(),
        "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if state is not None:
        meta.update(
            iteration=state.iteration,
            games=state.games,
            samples=state.samples,
            updates=state.updates,
            elapsed_seconds=state.elapsed,
            key=[int(x) for x in np.asarray(state.key, np.uint32)],
            rng_state=state.rng.bit_generator.state,
        )
    return meta


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def _write_directory(target: Path, fill) -> Path:
    """Create ``target`` atomically: ``fill(tmp_dir)`` writes the files, then a rename."""
    target = Path(target)
    tmp = target.with_name(target.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    fill(tmp)
    if target.exists():
        shutil.rmtree(target)
    os.replace(tmp, target)
    return target


def save_checkpoint(run_dir: str | os.PathLike, config: Config, state: RunState) -> Path:
    """Write a full checkpoint of ``state`` into ``run_dir/checkpoints`` and point LATEST at it."""
    root = Path(run_dir) / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)

    def fill(tmp: Path) -> None:
        _write_json(tmp / "config.json", config.to_dict())
        _write_json(tmp / "meta.json", _meta(config, state))
        eqx.tree_serialise_leaves(tmp / "model.eqx", state.model)
        eqx.tree_serialise_leaves(tmp / "opt_state.eqx", state.opt_state)
        np.savez(tmp / "replay.npz", **state.replay.state_dict())
        np.savez(tmp / "best.npz", cost=state.best_cost, order=state.best_order)

    path = _write_directory(root / f"iter_{state.iteration:06d}", fill)
    pointer = root / "LATEST.tmp"
    pointer.write_text(path.name + "\n")
    os.replace(pointer, root / "LATEST")
    for old in sorted(p for p in root.glob("iter_*") if p.is_dir() and not p.name.endswith(".tmp"))[:-_KEEP]:
        shutil.rmtree(old)
    return path


def latest_checkpoint(run_dir: str | os.PathLike) -> Path | None:
    """The newest checkpoint of a run directory, or ``None`` if it has none."""
    pointer = Path(run_dir) / "checkpoints" / "LATEST"
    if not pointer.exists():
        return None
    path = pointer.parent / pointer.read_text().strip()
    if not path.is_dir():
        raise CheckpointError(f"{pointer} names {path.name}, which does not exist")
    return path


def _read(path: Path) -> tuple[Config, dict[str, Any]]:
    path = Path(path)
    for name in ("config.json", "meta.json", "model.eqx"):
        if not (path / name).exists():
            raise CheckpointError(f"{path} is not an AlphaZero checkpoint: {name} is missing")
    meta = json.loads((path / "meta.json").read_text())
    if meta.get("format") != CHECKPOINT_FORMAT or meta.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format {meta.get('format')!r} version {meta.get('version')!r}; "
            f"this elimgym reads {CHECKPOINT_FORMAT!r} version {CHECKPOINT_VERSION}"
        )
    if meta.get("game_version") != GAME_VERSION:
        raise CheckpointError(f"{path}: made for game version {meta.get('game_version')!r}, this elimgym plays {GAME_VERSION!r}")
    return Config.from_dict(json.loads((path / "config.json").read_text())), meta


def load_model(path: str | os.PathLike) -> tuple[PolicyValueNet, Config, dict[str, Any]]:
    """The network of a checkpoint (full or exported), with its config and metadata.

    Raises:
        CheckpointError: the directory is not a checkpoint of this format and game version.
    """
    config, meta = _read(Path(path))
    skeleton = PolicyValueNet(config.network, jax.random.PRNGKey(0))
    return eqx.tree_deserialise_leaves(Path(path) / "model.eqx", skeleton), config, meta


def load_run_state(path: str | os.PathLike) -> tuple[Config, RunState]:
    """Everything a full checkpoint holds, ready to resume.

    Raises:
        CheckpointError: not a full checkpoint (an exported model cannot be resumed).
    """
    path = Path(path)
    model, config, meta = load_model(path)
    for name in ("opt_state.eqx", "replay.npz", "best.npz"):
        if not (path / name).exists():
            raise CheckpointError(f"{path} cannot be resumed: {name} is missing (is it an exported model?)")
    opt_skeleton = make_optimizer(config).init(eqx.filter(model, eqx.is_array))
    opt_state = eqx.tree_deserialise_leaves(path / "opt_state.eqx", opt_skeleton)
    with np.load(path / "replay.npz") as data:
        replay = ReplayBuffer.from_state_dict(dict(data))
    with np.load(path / "best.npz") as data:
        best_cost, best_order = data["cost"], data["order"]
    rng = np.random.default_rng()
    rng.bit_generator.state = meta["rng_state"]
    state = RunState(
        model=model,
        opt_state=opt_state,
        replay=replay,
        key=jax.numpy.asarray(np.array(meta["key"], np.uint32)),
        rng=rng,
        iteration=int(meta["iteration"]),
        games=int(meta["games"]),
        samples=int(meta["samples"]),
        updates=int(meta["updates"]),
        elapsed=float(meta["elapsed_seconds"]),
        best_cost=best_cost,
        best_order=best_order,
    )
    return config, state


def export_model(source: str | os.PathLike, target: str | os.PathLike, note: dict[str, Any] | None = None) -> Path:
    """Copy the network of checkpoint ``source`` to a model-only checkpoint at ``target``.

    ``note`` (e.g. the command and seed that made it) is stored in ``meta.json`` under ``"note"``.
    """
    model, config, meta = load_model(source)
    meta = {**meta, "exported_from": str(source)}
    if note is not None:
        meta["note"] = note
    for private in ("key", "rng_state"):
        meta.pop(private, None)

    def fill(tmp: Path) -> None:
        _write_json(tmp / "config.json", config.to_dict())
        _write_json(tmp / "meta.json", meta)
        eqx.tree_serialise_leaves(tmp / "model.eqx", model)

    return _write_directory(Path(target), fill)

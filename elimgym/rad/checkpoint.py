"""Checkpoints for long studies: finished results as JSON, training states as ``.npz`` pytrees.

Every write goes to a temporary file first and is then renamed, so an interrupted run never
leaves a half-written checkpoint behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import jax
import numpy as np

__all__ = ["CheckpointStore"]


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


class CheckpointStore:
    """A directory of named checkpoints (``None`` directory: a store that keeps nothing).

    ``name`` must be a plain file stem (letters, digits, ``._-@``).
    """

    def __init__(self, directory: str | os.PathLike | None) -> None:
        self.directory = None if directory is None else Path(directory)

    def _path(self, name: str, suffix: str) -> Path | None:
        if not name or not all(c.isalnum() or c in "._-@" for c in name):
            raise ValueError(f"bad checkpoint name {name!r}: use letters, digits and ._-@ only")
        return None if self.directory is None else self.directory / f"{name}{suffix}"

    def load_result(self, name: str) -> Any | None:
        """The JSON result saved under ``name``, or None."""
        path = self._path(name, ".json")
        if path is None or not path.exists():
            return None
        return json.loads(path.read_text())

    def save_result(self, name: str, result: Any) -> None:
        """Save a JSON-serialisable result under ``name``."""
        path = self._path(name, ".json")
        if path is not None:
            _atomic_write(path, lambda f: f.write(json.dumps(result, indent=1).encode()))

    def load_state(self, name: str, template: Any) -> tuple[Any, dict] | None:
        """The pytree saved under ``name`` (restored into ``template``'s structure) and its
        metadata, or None.

        Raises:
            ValueError: the saved state does not match ``template`` (another configuration).
        """
        path = self._path(name, ".npz")
        if path is None or not path.exists():
            return None
        leaves, treedef = jax.tree_util.tree_flatten(template)
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["__meta__"]))
            if meta.get("treedef") != str(treedef) or meta.get("num_leaves") != len(leaves):
                raise ValueError(f"checkpoint {path} was made for another configuration; delete it or run with --fresh")
            restored = []
            for i, leaf in enumerate(leaves):
                value = data[f"leaf{i}"]
                if jax.dtypes.issubdtype(getattr(leaf, "dtype", None), jax.dtypes.prng_key):
                    value = jax.random.wrap_key_data(value, impl=jax.random.key_impl(leaf))
                restored.append(value)
        return jax.tree_util.tree_unflatten(treedef, restored), meta["user"]

    def save_state(self, name: str, state: Any, meta: dict) -> None:
        """Save a pytree of arrays (PRNG keys allowed) plus JSON metadata under ``name``."""
        path = self._path(name, ".npz")
        if path is None:
            return
        leaves, treedef = jax.tree_util.tree_flatten(state)
        arrays = {}
        for i, leaf in enumerate(leaves):
            if jax.dtypes.issubdtype(getattr(leaf, "dtype", None), jax.dtypes.prng_key):
                leaf = jax.random.key_data(leaf)
            arrays[f"leaf{i}"] = np.asarray(leaf)
        arrays["__meta__"] = np.asarray(json.dumps({"treedef": str(treedef), "num_leaves": len(leaves), "user": meta}))
        _atomic_write(path, lambda f: np.savez(f, **arrays))

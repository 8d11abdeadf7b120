"""Data parallelism over every JAX device with ``jax.sharding``.

One 1-D device mesh with axis ``"data"``: batches (self-play games, training samples) are split
along their leading axis, parameters and optimizer state are replicated. The jitted search and
training step are ordinary ``jit`` functions: XLA partitions them from the input shardings and
inserts the gradient all-reduce, so the same script runs on one CPU, several forced host devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=2``) or a multi-GPU host.
"""

from __future__ import annotations

from typing import Any, TypeVar

import equinox as eqx
import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = ["Placement", "DATA_AXIS"]

DATA_AXIS = "data"

T = TypeVar("T")


class Placement:
    """Where arrays live: a mesh over ``devices`` (default: all of them)."""

    def __init__(self, devices: list[Any] | None = None):
        devices = jax.devices() if devices is None else list(devices)
        if not devices:
            raise ValueError("a placement needs at least one device")
        self.mesh = Mesh(np.array(devices), (DATA_AXIS,))
        self._split = NamedSharding(self.mesh, PartitionSpec(DATA_AXIS))
        self._whole = NamedSharding(self.mesh, PartitionSpec())

    @property
    def num_devices(self) -> int:
        return int(self.mesh.devices.size)

    def check_divisible(self, size: int, what: str) -> None:
        """Raise ``ValueError`` unless ``size`` splits evenly over the devices."""
        if size % self.num_devices:
            raise ValueError(f"{what} ({size}) must be a multiple of the number of devices ({self.num_devices})")

    def batch(self, tree: T) -> T:
        """Split every array leaf of ``tree`` along its leading (batch) axis across the devices."""
        leaves = jax.tree_util.tree_leaves(tree)
        if leaves:
            self.check_divisible(int(np.shape(leaves[0])[0]), "the batch size")
        return jax.tree_util.tree_map(lambda x: jax.device_put(x, self._split), tree)

    def replicate(self, tree: T) -> T:
        """Copy every array leaf of ``tree`` (a pytree or an equinox module) to every device."""
        arrays, static = eqx.partition(tree, eqx.is_array)
        arrays = jax.tree_util.tree_map(lambda x: jax.device_put(x, self._whole), arrays)
        return eqx.combine(arrays, static)

"""The observation layout shared by every elimgym environment (Gymnasium, vector, PettingZoo).

An observation is a dict of three fixed-size arrays (``N`` = the env's capacity,
``F = len(VERTEX_FEATURE_NAMES)`` = 12):

* ``"edges"``: ``[N, N] uint8``: ``edges[s, t]`` is the structure code of the current edge
  ``s -> t`` (0 = no edge, ``1..NUM_CODES-1`` = :attr:`graphs.structure.Structure.code`; look up
  :func:`elimgym.tables.code_features` for a size-independent description of each code).
  Eliminating a vertex removes its row and column and fills in the fill-in edges.
* ``"vertices"``: ``[N, F] float32``: per-vertex features, one column per name of
  :data:`VERTEX_FEATURE_NAMES` (role one-hots, eliminated and legal flags, log2 of the shape's
  axis sizes and total size, ``log1p`` of the current in- and out-degree and of their product,
  the Markowitz degree).
* ``"action_mask"``: ``[N] int8``: 1 where eliminating the vertex is legal (an intermediate not yet
  eliminated), else 0. At a terminal state every entry is 1 (nothing is left to choose).

Padding slots (vertex index >= the graph's size) have no edges, ``is_padding = 1`` and mask 0.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import numpy as np
from gymnasium import spaces

from graphs.structure import NUM_CODES

from elimgym.game import MAX_VERTEX_SIZE, VERTEX_FEATURE_NAMES, Observation

__all__ = [
    "VERTEX_FEATURE_NAMES",
    "EDGE_DTYPE",
    "VERTEX_DTYPE",
    "MASK_DTYPE",
    "OBSERVATION_KEYS",
    "LayoutObservation",
    "observation_space",
    "vertex_feature_bound",
    "to_layout",
]

EDGE_DTYPE = np.uint8
"""dtype of ``"edges"``: structure codes are below ``NUM_CODES`` (148)."""

VERTEX_DTYPE = np.float32
"""dtype of ``"vertices"``."""

MASK_DTYPE = np.int8
"""dtype of ``"action_mask"`` (Gymnasium's ``Discrete.sample(mask=...)`` convention)."""

OBSERVATION_KEYS = ("edges", "vertices", "action_mask")
"""The keys of an observation dict, in order."""

class LayoutObservation(NamedTuple):
    """An observation in the environments' dtypes (JAX arrays inside jitted code, NumPy outside).

    Attributes:
        edges: ``[..., N, N] uint8`` structure codes.
        vertices: ``[..., N, F] float32`` features named by :data:`VERTEX_FEATURE_NAMES`.
        action_mask: ``[..., N] int8`` legal actions.
    """

    edges: jax.Array
    vertices: jax.Array
    action_mask: jax.Array

    def as_dict(self) -> dict[str, np.ndarray]:
        """The observation dict (keys :data:`OBSERVATION_KEYS`) with NumPy arrays."""
        return {key: np.asarray(value) for key, value in zip(OBSERVATION_KEYS, self)}


def vertex_feature_bound(capacity: int) -> float:
    """Upper bound of every vertex feature at this capacity (flags are 0/1; log-sizes are at most
    ``log2(MAX_VERTEX_SIZE)``; ``log1p`` degrees at most ``log1p(N * N)``)."""
    return float(max(1.0, math.log2(MAX_VERTEX_SIZE), math.log1p(capacity * capacity)))


def observation_space(capacity: int) -> spaces.Dict:
    """The ``Dict`` observation space of an env of capacity ``N`` (see the module docstring)."""
    n, f = int(capacity), len(VERTEX_FEATURE_NAMES)
    return spaces.Dict(
        {
            "edges": spaces.Box(0, NUM_CODES - 1, (n, n), EDGE_DTYPE),
            "vertices": spaces.Box(0.0, vertex_feature_bound(n), (n, f), VERTEX_DTYPE),
            "action_mask": spaces.Box(0, 1, (n,), MASK_DTYPE),
        }
    )


def to_layout(observation: Observation) -> LayoutObservation:
    """Convert a game observation (any batch shape) to the environments' dtypes (pure JAX)."""
    return LayoutObservation(
        edges=observation.edges.astype(EDGE_DTYPE),
        vertices=observation.vertices.astype(VERTEX_DTYPE),
        action_mask=observation.action_mask.astype(MASK_DTYPE),
    )

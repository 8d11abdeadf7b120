"""Environments: Gymnasium (single and vector), a JAX-native batched API, and PettingZoo.

``import elimgym`` registers the ``VertexElim-*`` Gymnasium ids (:mod:`elimgym.envs.registration`).
The classes are imported on first access, so registering stays cheap:

* :class:`VertexElimEnv` (:mod:`elimgym.envs.single`): the NumPy-facing Gymnasium env.
* :class:`VertexElimVectorEnv` (:mod:`elimgym.envs.vector`): ``gym.make_vec``'s JAX-backed vector env.
* :mod:`elimgym.envs.batched`: pure JAX ``reset`` / ``step`` with autoreset, for JAX agents.
* :mod:`elimgym.envs.multiagent`: PettingZoo single-player AEC env and two-player duel.

See ``docs/envs.md``.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "VertexElimEnv",
    "VertexElimVectorEnv",
    "GraphPool",
    "RewardRule",
    "IllegalAction",
    "ENV_IDS",
    "observation_space",
]

_LOCATIONS = {
    "VertexElimEnv": "elimgym.envs.single",
    "VertexElimVectorEnv": "elimgym.envs.vector",
    "GraphPool": "elimgym.envs.pool",
    "RewardRule": "elimgym.envs.rewards",
    "IllegalAction": "elimgym.envs.episode",
    "ENV_IDS": "elimgym.envs.registration",
    "observation_space": "elimgym.envs.layout",
}


def __getattr__(name: str) -> Any:
    if name in _LOCATIONS:
        return getattr(importlib.import_module(_LOCATIONS[name]), name)
    raise AttributeError(f"module 'elimgym.envs' has no attribute {name!r}")

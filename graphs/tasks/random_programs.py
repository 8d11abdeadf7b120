"""The fixed random programs ``f`` (vector and matrix operations) and ``g`` (scalar).

Both are drawn once by :func:`graphs.generators.random_program` from the parameters and seeds
below and never change (the stored graphs pin them; a new generator version must keep them or
move them to new task names). They stand in for unstructured code with many inputs and outputs,
in the spirit of the random functions ``f`` and ``g`` of Lohoff & Neftci, "Optimizing automatic
differentiation with deep reinforcement learning" (arXiv:2406.05027, 2024).

* ``f``: 4 inputs (two matrices, two vectors) -> 4 outputs, 75 eliminable vertices of vector and
  matrix operations (matrix products, reductions, broadcasts, elementwise maths).
* ``g``: 15 scalar inputs -> 20 scalar outputs, 85 eliminable scalar vertices.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from graphs.generators import GeneratorParams, Program, random_program

__all__ = ["F_PARAMS", "F_SEED", "G_PARAMS", "G_SEED", "f", "f_args", "g", "g_args"]

_OP_WEIGHTS = {"unary": 3.0, "binary": 4.0, "matmul": 1.5, "reduce": 1.0, "broadcast": 1.0, "transpose": 0.5}
F_PARAMS = GeneratorParams(
    kind="vector", num_inputs=(4, 4), num_vertices=(83, 83), num_outputs=(4, 4), dims=(2, 3, 4, 5, 8), op_weights=_OP_WEIGHTS
)
"""Parameters of ``f`` (all spelled out, so changing the generator's defaults cannot change ``f``)."""
F_SEED = 1
G_PARAMS = GeneratorParams(
    kind="scalar", num_inputs=(15, 15), num_vertices=(120, 120), num_outputs=(20, 20), dims=(2, 3, 4, 5, 8), op_weights=_OP_WEIGHTS
)
"""Parameters of ``g``."""
G_SEED = 0


@functools.lru_cache(maxsize=None)
def _program(name: str) -> Program:
    params, seed = {"f": (F_PARAMS, F_SEED), "g": (G_PARAMS, G_SEED)}[name]
    return random_program(params, seed)


def _task_function(name: str, num_inputs: int) -> Callable[..., tuple[Any, ...]]:
    def function(*inputs: Any) -> tuple[Any, ...]:
        return _program(name).evaluate(*inputs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"The fixed random program ``{name}`` (see :mod:`graphs.tasks.random_programs`)."
    function.__signature__ = inspect.Signature(
        [inspect.Parameter(f"x{k}", inspect.Parameter.POSITIONAL_ONLY) for k in range(num_inputs)]
    )
    return function


f = _task_function("f", F_PARAMS.num_inputs[0])
g = _task_function("g", G_PARAMS.num_inputs[0])


def f_args() -> tuple[Any, ...]:
    """The example arguments drawn with ``f``: ``float32`` entries in ``[-1, 1]``."""
    return _program("f").args


def g_args() -> tuple[Any, ...]:
    """The example arguments drawn with ``g``: fifteen ``float32`` scalars in ``[-1, 1]``."""
    return _program("g").args

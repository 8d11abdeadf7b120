"""Small built-in example functions (used by the docs, the tests and ``elimgym solve``).

Each entry maps a name to ``(function, example_args)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np

__all__ = ["EXAMPLES", "scalar_example", "elementwise_chain", "matrix_vector", "example"]


def scalar_example(x: Any, y: Any) -> tuple[Any, Any]:
    """``u = sin(x) * y``, ``v = exp(u)``: outputs ``v + x`` and ``v * u`` (a scalar graph)."""
    u = jnp.sin(x) * y
    v = jnp.exp(u)
    return v + x, v * u


def elementwise_chain(x: Any) -> Any:
    """``sum(exp(sin(x)) * x)`` on a vector: a chain of diagonal partials ending in a sum."""
    return jnp.sum(jnp.exp(jnp.sin(x)) * x)


def matrix_vector(W: Any, x: Any) -> Any:
    """``tanh(W @ x)``: dense partials w.r.t. ``x``, structured ones w.r.t. ``W``."""
    return jnp.tanh(W @ x)


def _args(*shapes: tuple[int, ...], seed: int = 0) -> tuple[Any, ...]:
    rng = np.random.default_rng(seed)
    return tuple(jnp.asarray(rng.uniform(0.5, 1.5, s), jnp.float32) for s in shapes)


EXAMPLES: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]] = {
    "scalar": (scalar_example, _args((), ())),
    "elementwise": (elementwise_chain, _args((4,))),
    "matvec": (matrix_vector, _args((3, 4), (4,))),
}
"""Name -> (function, example arguments)."""


def example(name: str) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """The function and example arguments of a built-in example."""
    try:
        return EXAMPLES[name]
    except KeyError:
        raise KeyError(f"unknown example {name!r}; available: {sorted(EXAMPLES)}") from None

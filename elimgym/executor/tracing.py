"""Tracing a function for differentiation with respect to some of its arguments.

The LCG an order is made for has one input vertex per leaf of the *differentiated* arguments
(``argnums``, as in ``jax.jacrev``); the other arguments and keyword arguments are constants of
the graph. :func:`trace_for` returns that very graph, so that vertex ids in an order refer to it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jax

from graphs.lcg import LCG
from graphs.trace import TracedFunction, trace_function

__all__ = ["Argnums", "normalize_argnums", "Differentiation", "differentiate", "trace_for"]

Argnums = int | Sequence[int]


def normalize_argnums(argnums: Argnums, num_args: int) -> tuple[int, ...]:
    """``argnums`` as a tuple of non-negative argument indices.

    Raises:
        ValueError: for an empty, repeated or out-of-range index.
        TypeError: for something that is not an int or a sequence of ints.
    """
    single = isinstance(argnums, int)
    raw = (argnums,) if single else tuple(argnums)
    if not raw:
        raise ValueError("argnums must name at least one argument")
    out = []
    for a in raw:
        if isinstance(a, bool) or not isinstance(a, int):
            raise TypeError(f"argnums must be an int or a sequence of ints, got {argnums!r}")
        if not -num_args <= a < num_args:
            raise ValueError(f"argnums {a} is out of range for a call with {num_args} positional argument(s)")
        out.append(a % num_args)
    if len(set(out)) != len(out):
        raise ValueError(f"argnums {argnums!r} repeats an argument")
    return tuple(out)


@dataclass(frozen=True)
class Differentiation:
    """One call of a function, traced for differentiation with respect to ``argnums``.

    Attributes:
        traced: the traced function of the differentiated arguments.
        leaves: the values of the differentiated leaves (input vertex ``k`` is leaf ``k``).
        diff_tree: the pytree structure of ``args[argnums]`` (an int ``argnums``) or of the
            tuple of the differentiated arguments (a sequence ``argnums``), as ``jax.jacrev``
            nests the Jacobian.
        output_vertices: the output vertex of each output leaf.
    """

    traced: TracedFunction
    leaves: tuple[Any, ...]
    diff_tree: Any
    output_vertices: tuple[int, ...]

    @property
    def graph(self) -> LCG:
        return self.traced.lcg


def _restricted(f: Callable, args: Sequence[Any], kwargs: dict, positions: tuple[int, ...]) -> Callable:
    """``f`` as a function of the arguments at ``positions`` only (the others are closed over).

    It carries the signature of those parameters, so that input vertices are named after them.
    """

    def restricted(*diff_args):
        full = list(args)
        for position, value in zip(positions, diff_args):
            full[position] = value
        return f(*full, **kwargs)

    try:
        params = list(inspect.signature(f).parameters.values())
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        names = [positional[k].name if k < len(positional) else f"arg{k}" for k in positions]
        restricted.__signature__ = inspect.Signature(
            [inspect.Parameter(n, inspect.Parameter.POSITIONAL_ONLY) for n in names]
        )
    except (TypeError, ValueError):
        pass
    restricted.__name__ = getattr(f, "__name__", "graph")
    restricted.__qualname__ = getattr(f, "__qualname__", restricted.__name__)
    return restricted


def differentiate(f: Callable, args: Sequence[Any], kwargs: dict, argnums: Argnums) -> Differentiation:
    """Trace ``f(*args, **kwargs)`` as a function of ``args[argnums]``.

    Raises:
        graphs.trace.UnsupportedPrimitive, graphs.trace.TraceError: as :func:`graphs.trace.trace_function`.
    """
    positions = normalize_argnums(argnums, len(args))
    diff_args = tuple(args[k] for k in positions)
    name = getattr(f, "__name__", "graph")
    traced = trace_function(_restricted(f, args, kwargs, positions), *diff_args, name=name)
    diff_object = diff_args[0] if isinstance(argnums, int) else diff_args
    return Differentiation(
        traced=traced,
        leaves=tuple(jax.tree_util.tree_leaves(diff_args)),
        diff_tree=jax.tree_util.tree_structure(diff_object),
        output_vertices=traced.output_vertices,
    )


def trace_for(f: Callable, *args: Any, argnums: Argnums = 0, **kwargs: Any) -> LCG:
    """The LCG that :func:`elimgym.executor.jacobian` eliminates for ``f(*args, **kwargs)``.

    Its input vertices are the leaves of ``args[argnums]`` (in pytree order), everything else
    is a constant; vertex ids of an elimination order refer to this graph. With ``argnums``
    covering every argument it is the graph :func:`graphs.trace.trace` returns.
    """
    return differentiate(f, args, kwargs, argnums).graph

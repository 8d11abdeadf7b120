"""Elimination orders bound to the graph they were made for, and their file format.

An :class:`Order` records the eliminated vertices and the fingerprint of its LCG
(:meth:`graphs.lcg.LCG.fingerprint`), so that using it on another graph - e.g. after the function
changed - is detected instead of silently giving a wrong Jacobian. Files look like::

    {"format": "elimgym-order", "version": 1, "graph": "RoeFlux_1d",
     "fingerprint": "3f2a...", "vertices": [12, 7, ...], "cost": 231, "method": "beam"}
"""

from __future__ import annotations

import json
import operator
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from graphs.lcg import LCG, Role

__all__ = ["Order", "OrderError", "check_order"]

FORMAT = "elimgym-order"
VERSION = 1


class OrderError(ValueError):
    """An order that is incomplete, repeats or names a wrong vertex, or belongs to another graph."""


def check_order(graph: LCG, vertices: Sequence[int]) -> tuple[int, ...]:
    """Validate a complete elimination order of ``graph``; returns it as a tuple of ints.

    Raises:
        OrderError: naming the first vertex that is unknown, not an intermediate, repeated, or
            the intermediates the order misses.
    """
    seen: set[int] = set()
    out = []
    for position, raw in enumerate(vertices):
        try:
            v = operator.index(raw)
        except TypeError:
            raise OrderError(f"order position {position}: {raw!r} is not an integer vertex id") from None
        if not 0 <= v < graph.num_vertices:
            raise OrderError(f"order position {position}: vertex {v} does not exist in graph {graph.name!r} ({graph.num_vertices} vertices)")
        role = graph.vertices[v].role
        if role is not Role.INTERMEDIATE:
            raise OrderError(f"order position {position}: vertex {v} of graph {graph.name!r} is an {role.name.lower()}, not an intermediate")
        if v in seen:
            raise OrderError(f"order position {position}: vertex {v} is eliminated twice")
        seen.add(v)
        out.append(v)
    missing = sorted(set(graph.intermediates) - seen)
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        raise OrderError(f"order misses {len(missing)} intermediate(s) of graph {graph.name!r}: {shown}")
    return tuple(out)


@dataclass(frozen=True)
class Order:
    """A complete elimination order for one LCG.

    Attributes:
        vertices: the intermediates in elimination order.
        fingerprint: :meth:`LCG.fingerprint` of the graph it belongs to.
        graph_name: the graph's name (informative).
        cost: its total cost in multiplications, if known.
        method: what produced it (``"forward"``, ``"markowitz"``, ``"beam"``, ...).
    """

    vertices: tuple[int, ...]
    fingerprint: str
    graph_name: str = ""
    cost: int | None = None
    method: str = ""

    @classmethod
    def for_graph(cls, graph: LCG, vertices: Iterable[int], cost: int | None = None, method: str = "") -> "Order":
        """Validate ``vertices`` against ``graph`` and bind them to it."""
        return cls(check_order(graph, list(vertices)), graph.fingerprint(), graph.name, cost, method)

    def check(self, graph: LCG) -> None:
        """Raise :class:`OrderError` unless this order is a complete order of ``graph``."""
        if self.fingerprint != graph.fingerprint():
            raise OrderError(
                f"order was made for graph {self.graph_name!r} (fingerprint {self.fingerprint}) but is used on "
                f"graph {graph.name!r} (fingerprint {graph.fingerprint()}): the graph changed or it is another graph"
            )
        check_order(graph, self.vertices)

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "graph": self.graph_name,
            "fingerprint": self.fingerprint,
            "vertices": list(self.vertices),
            "cost": self.cost,
            "method": self.method,
        }

    def save(self, path: str | os.PathLike) -> None:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.to_dict(), fh, indent=1)
            fh.write("\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Order":
        """Read an order file.

        Raises:
            OrderError: if the file is not an elimgym order of a supported version or is malformed.
        """
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except json.JSONDecodeError as err:
            raise OrderError(f"{path}: not valid JSON ({err})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise OrderError(f"{path}: not an elimgym order file (expected format {FORMAT!r})")
        if data.get("version") != VERSION:
            raise OrderError(f"{path}: unsupported order file version {data.get('version')!r} (this elimgym reads {VERSION})")
        vertices = data.get("vertices")
        if not isinstance(vertices, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in vertices):
            raise OrderError(f"{path}: 'vertices' must be a list of integers")
        if not isinstance(data.get("fingerprint"), str):
            raise OrderError(f"{path}: missing 'fingerprint'")
        cost = data.get("cost")
        return cls(tuple(vertices), data["fingerprint"], str(data.get("graph", "")), cost, str(data.get("method", "")))

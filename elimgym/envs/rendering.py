"""Rendering an episode: ``"ansi"`` (a text summary) and ``"rgb_array"`` (a picture of the graph)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from graphs.lcg import LCG
from graphs.structure import Structure

__all__ = ["RENDER_MODES", "Snapshot", "check_render_mode", "current_graph", "render_ansi", "render_rgb_array", "render"]

RENDER_MODES = ("ansi", "rgb_array")

_MAX_LISTED = 24
"""Vertices listed per line of the text rendering before eliding."""


def check_render_mode(render_mode: str | None) -> str | None:
    """``render_mode`` if it is ``None`` or one of :data:`RENDER_MODES`, else a ``ValueError``."""
    if render_mode is not None and render_mode not in RENDER_MODES:
        raise ValueError(f"unknown render_mode {render_mode!r}; use one of {RENDER_MODES} or None")
    return render_mode


class Snapshot(NamedTuple):
    """What rendering needs to know about one env now (``N`` = capacity).

    Attributes:
        graph: the graph being played (as it was at the start).
        edges: ``[N, N]`` current structure codes.
        eliminated: ``[N] bool``.
        order: ``[N]`` vertices eliminated so far, then -1.
        cost: exact multiplications so far.
        baselines: ``{"forward", "reverse", "markowitz"}`` costs of the graph.
        terminated: the episode is over.
    """

    graph: LCG
    edges: np.ndarray
    eliminated: np.ndarray
    order: np.ndarray
    cost: int
    baselines: dict[str, int]
    terminated: bool


def current_graph(snapshot: Snapshot) -> LCG:
    """The graph as it is now: the original vertices with the current edges (an eliminated
    vertex keeps no edge)."""
    graph = snapshot.graph
    codes = snapshot.edges[: graph.num_vertices, : graph.num_vertices]
    sources, targets = np.nonzero(codes)
    edges = {(int(s), int(t)): Structure.from_code(int(codes[s, t])) for s, t in zip(sources, targets)}
    return LCG(graph.vertices, edges, graph.name, graph.metadata)


def _listing(vertices: list[int]) -> str:
    shown = " ".join(map(str, vertices[:_MAX_LISTED]))
    return shown + (f" ... (+{len(vertices) - _MAX_LISTED})" if len(vertices) > _MAX_LISTED else "")


def render_ansi(snapshot: Snapshot) -> str:
    """A few lines: graph, step, cost so far and baselines, the order so far, the remaining
    intermediates with their current Markowitz degree ``|pred| x |succ|``."""
    graph = snapshot.graph
    baselines = ", ".join(f"{name} {cost}" for name, cost in snapshot.baselines.items())
    order = [int(v) for v in snapshot.order if v >= 0]
    remaining = [v for v in graph.intermediates if not snapshot.eliminated[v]]
    codes = snapshot.edges
    degrees = [f"{v}:{int(np.count_nonzero(codes[:, v])) * int(np.count_nonzero(codes[v]))}" for v in remaining]
    status = "terminated" if snapshot.terminated else f"{len(remaining)} intermediates left"
    return "\n".join(
        [
            f"{graph.name}: step {len(order)}/{len(graph.intermediates)}, cost {snapshot.cost} ({status})",
            f"baselines: {baselines}",
            f"order: {_listing(order) or '-'}",
            f"remaining (vertex:markowitz degree): {_listing(degrees) or '-'}",
        ]
    ) + "\n"


def render_rgb_array(snapshot: Snapshot) -> np.ndarray:
    """``[H, W, 3] uint8``: the current graph drawn by :func:`graphs.draw.render_rgb`, the cost so
    far in the title. Eliminated vertices stay where they were, hollow, with their original edges
    faded (so the layout does not move between frames)."""
    from graphs.draw import render_rgb

    current = current_graph(snapshot)
    eliminated = {int(v) for v in np.flatnonzero(snapshot.eliminated)}
    faded = {edge: structure for edge, structure in snapshot.graph.edges.items() if eliminated.intersection(edge)}
    picture = LCG(current.vertices, {**current.edges, **faded}, current.name, current.metadata)
    title = f"{snapshot.graph.name}: cost {snapshot.cost} after {len(eliminated)} eliminations"
    return render_rgb(picture, eliminated=sorted(eliminated), title=title)


def render(snapshot: Snapshot, render_mode: str) -> str | np.ndarray:
    """Render ``snapshot`` in ``render_mode``."""
    if check_render_mode(render_mode) == "ansi":
        return render_ansi(snapshot)
    return render_rgb_array(snapshot)

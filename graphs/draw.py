"""Draw an LCG with matplotlib (Agg backend: no display needed).

Vertices are placed in columns by depth (the longest path from an input), inputs on the left and
outputs in the rightmost column. Colours: inputs green, intermediates blue, outputs orange,
eliminated vertices hollow grey. Edges: dense partials red, structured ones (diagonals, ties)
blue, free copies (``+1``/``-1`` values) dashed grey.

Example::

    >>> from graphs.draw import draw_graph
    >>> from graphs.tasks import get_task
    >>> figure = draw_graph(get_task("RoeFlux_1d").graph(), title="Roe flux")
    >>> figure.savefig("roe.png")
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from graphs.lcg import LCG, Role
from graphs.structure import DENSE, Structure

__all__ = ["ROLE_COLORS", "EDGE_COLORS", "edge_kind", "layout", "draw_graph", "render_rgb"]

ROLE_COLORS = {Role.INPUT: "#4caf50", Role.INTERMEDIATE: "#64b5f6", Role.OUTPUT: "#ffa726"}
EDGE_COLORS = {"dense": "#d32f2f", "structured": "#1565c0", "copy": "#9e9e9e"}
_ELIMINATED_COLOR = "#bdbdbd"


def edge_kind(structure: Structure) -> str:
    """``"copy"`` (a unit value: free to multiply), ``"structured"`` (some axes tied) or ``"dense"``."""
    if structure.value.is_unit:
        return "copy"
    if any(t >= 0 for t in structure.target) or (structure.target and DENSE not in structure.target):
        return "structured"
    return "dense"


def layout(graph: LCG) -> np.ndarray:
    """Positions ``[num_vertices, 2]`` (x = depth column, y = rank within the column, centred)."""
    depth = [0] * graph.num_vertices
    for (s, t) in graph.edges:  # edges are sorted by source, and sources precede targets
        depth[t] = max(depth[t], depth[s] + 1)
    last = max(depth, default=0) + 1
    for k in graph.outputs:
        depth[k] = last
    columns: dict[int, list[int]] = {}
    for k, d in enumerate(depth):
        columns.setdefault(d, []).append(k)
    positions = np.zeros((graph.num_vertices, 2))
    for d, members in columns.items():
        for rank, k in enumerate(members):
            positions[k] = (d, rank - (len(members) - 1) / 2)
    return positions


def draw_graph(graph: LCG, *, eliminated: Iterable[int] = (), title: str = "", ax: Axes | None = None) -> Figure:
    """Draw ``graph``; vertices in ``eliminated`` are hollow grey and their edges faded.

    Args:
        graph: the graph to draw.
        eliminated: indices of eliminated vertices.
        title: the axes title.
        ax: draw into these axes (of any figure); by default a new figure sized to the graph.

    Returns:
        The figure drawn into (``ax.figure`` when ``ax`` is given).
    """
    eliminated = {int(k) for k in eliminated}
    positions = layout(graph)
    if ax is None:
        width = float(np.clip(1.0 + 0.6 * (positions[:, 0].max(initial=0) + 1), 4, 24))
        height = float(np.clip(1.0 + 0.35 * (np.ptp(positions[:, 1]) + 1 if len(positions) else 1), 3, 16))
        figure = Figure(figsize=(width, height), dpi=100)
        FigureCanvasAgg(figure)
        ax = figure.add_subplot(1, 1, 1)
    else:
        figure = ax.figure
    for (s, t), structure in graph.edges.items():
        faded = s in eliminated or t in eliminated
        kind = edge_kind(structure)
        ax.annotate(
            "",
            xy=positions[t],
            xytext=positions[s],
            arrowprops={
                "arrowstyle": "-|>",
                "color": _ELIMINATED_COLOR if faded else EDGE_COLORS[kind],
                "alpha": 0.3 if faded else 0.8,
                "linestyle": "--" if kind == "copy" else "-",
                "linewidth": 0.8,
                "shrinkA": 6,
                "shrinkB": 6,
                "mutation_scale": 8,
            },
        )
    size = 160 if graph.num_vertices <= 60 else 80
    for k, vertex in enumerate(graph.vertices):
        gone = k in eliminated
        ax.scatter(
            *positions[k],
            s=size,
            c="white" if gone else ROLE_COLORS[vertex.role],
            edgecolors=_ELIMINATED_COLOR if gone else "#424242",
            linewidths=0.8,
            zorder=3,
        )
        if graph.num_vertices <= 100:
            ax.text(*positions[k], str(k), ha="center", va="center", fontsize=6 if size < 100 else 7, zorder=4)
    handles = [Line2D([], [], marker="o", linestyle="", markerfacecolor=c, markeredgecolor="#424242", label=r.name.lower()) for r, c in ROLE_COLORS.items()]
    handles += [Line2D([], [], color=c, linestyle="--" if kind == "copy" else "-", label=kind) for kind, c in EDGE_COLORS.items()]
    if eliminated:
        handles.append(Line2D([], [], marker="o", linestyle="", markerfacecolor="white", markeredgecolor=_ELIMINATED_COLOR, label="eliminated"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
    ax.set_title(title or graph.summary(), fontsize=9)
    ax.set_axis_off()
    ax.margins(0.05)
    figure.tight_layout()
    return figure


def render_rgb(graph: LCG, *, eliminated: Iterable[int] = (), title: str = "") -> np.ndarray:
    """:func:`draw_graph` rasterised: an ``[height, width, 3] uint8`` RGB image."""
    figure = draw_graph(graph, eliminated=eliminated, title=title)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()

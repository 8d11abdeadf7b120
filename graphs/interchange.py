"""Exchange graphs with other tools: a plain edge-list JSON and the reference VertexGame tensors.

The package's own, versioned format is :mod:`graphs.io`. This module adds:

Edge-list JSON
--------------
A format any tool can write by hand::

    {
      "format": "elimgym-edge-list", "version": 1,          (both optional on import)
      "name": "example",                                     (optional)
      "vertices": [{"id": "x", "role": "input", "shape": [], "name": "x"}, ...],
      "edges": [{"source": "x", "target": "y", "structure": "<-:[]"}, ...],
      "metadata": {}                                         (optional)
    }

Vertex ``id`` s are unique integers or strings in any order; the importer numbers the vertices
topologically (inputs first) and keeps the listed order wherever the edges allow, so exporting
then importing reproduces a graph exactly. On import, ``role`` defaults to ``"input"`` for a
vertex without incoming edges, ``"output"`` for one without outgoing edges and
``"intermediate"`` otherwise; ``shape`` defaults to ``[]`` (a scalar); ``name`` to the id; an
edge's ``structure`` (notation of :meth:`graphs.structure.Structure.parse`) defaults to a dense
partial.

VertexGame tensors
------------------
The int32 array of shape ``(5, n_in + n_v + 1, n_v)`` published with the VertexGame of Lohoff &
Neftci (arXiv:2406.05027). Row 0 is a header: channel 0 holds ``[n_in, n_v - n_out, n_out]``,
channel 1 marks vertices that may not be eliminated (those already eliminated, and in the
reference implementation the outputs too), channel 2 the outputs, channel 3 the vertices
eliminated so far in order (1-based, then zeros). Rows ``1..n_in`` are the inputs and rows
``n_in + 1 .. n_in + n_v`` the vertices ``1..n_v`` as edge sources; column ``c`` is vertex
``c + 1`` as edge target. Per edge, channel 0 is the sparsity code (0 none, 1 dense, -1 copy,
others for diagonal and Kronecker structures) and channels 1-2 / 3-4 the target / source
shapes, scalars as ``(1, 1)``.

Import rules (:func:`from_vertexgame`):

* Only scalar graphs are exact: every edge must have shapes ``(1, 1)`` and code 1 (``"<-:[]"``)
  or -1 (``"<-:1"``); any other code or shape raises :class:`InterchangeError` naming the edge.
* A vertex marked in channel 2 is an output. A vertex marked in channel 1 but not in channel 2
  is already eliminated: it must have no edges left and is dropped, so the imported graph is the
  game that remains from that state. An eliminated vertex that still has edges is refused.
* An output that has outgoing edges (allowed in the reference layout) becomes an intermediate
  vertex followed by a new output vertex joined by a copy edge (``"<-:1"``, free), because
  outputs of an :class:`~graphs.lcg.LCG` are sinks; such outputs are listed in the metadata
  entry ``"vertexgame_output_copies"``.
* Inputs are named ``i1..i<n_in>`` and vertices ``v1..v<n_v>`` after their rows; channel 3 is
  kept in the metadata entry ``"vertexgame_order"``.

:func:`to_vertexgame` writes the layout for scalar graphs whose edges are all ``"<-:[]"`` or
``"<-:1"`` (outputs marked in channels 1 and 2, as the reference does).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from graphs.io import ROLES_BY_NAME, ROLE_NAMES, is_shape
from graphs.lcg import LCG, GraphError, Role, Vertex
from graphs.structure import Structure, StructureError

__all__ = [
    "EDGE_LIST_FORMAT",
    "EDGE_LIST_VERSION",
    "InterchangeError",
    "to_edge_list",
    "from_edge_list",
    "save_edge_list",
    "load_edge_list",
    "VERTEXGAME_CODES",
    "to_vertexgame",
    "from_vertexgame",
    "load_vertexgame",
    "save_vertexgame",
]

EDGE_LIST_FORMAT = "elimgym-edge-list"
EDGE_LIST_VERSION = 1


class InterchangeError(ValueError):
    """A file or array that cannot be converted (the message names the source and the entry)."""


# ------------------------------------------------------------------------------ edge list
def to_edge_list(graph: LCG) -> dict[str, Any]:
    """The edge-list JSON form of ``graph`` (vertex ids are the vertex indices)."""
    return {
        "format": EDGE_LIST_FORMAT,
        "version": EDGE_LIST_VERSION,
        "name": graph.name,
        "vertices": [
            {"id": k, "role": ROLE_NAMES[v.role], "shape": list(v.shape), "name": v.name, "primitive": v.primitive}
            for k, v in enumerate(graph.vertices)
        ],
        "edges": [{"source": s, "target": t, "structure": str(e)} for (s, t), e in graph.edges.items()],
        "metadata": dict(graph.metadata),
    }


def _is_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def from_edge_list(data: Any, source: str = "<edge list>") -> LCG:
    """Build an LCG from the edge-list JSON form; ``source`` names the origin in error messages.

    Raises:
        InterchangeError: malformed data or an invalid graph (the message names the entry).
    """
    if not isinstance(data, Mapping):
        raise InterchangeError(f"{source}: expected a JSON object, got {type(data).__name__}")
    if data.get("format", EDGE_LIST_FORMAT) != EDGE_LIST_FORMAT:
        raise InterchangeError(f"{source}: format is {data.get('format')!r}, expected {EDGE_LIST_FORMAT!r}")
    if data.get("version", EDGE_LIST_VERSION) != EDGE_LIST_VERSION:
        raise InterchangeError(f"{source}: unsupported edge-list version {data.get('version')!r} (this elimgym reads {EDGE_LIST_VERSION})")
    for key in ("vertices", "edges"):
        if not isinstance(data.get(key), list):
            raise InterchangeError(f"{source}: missing or malformed {key!r} (expected a list)")
    index: dict[Any, int] = {}
    entries = []
    for k, entry in enumerate(data["vertices"]):
        where = f"{source}: vertex entry {k}"
        if not isinstance(entry, Mapping) or not _is_id(entry.get("id")):
            raise InterchangeError(f"{where}: expected an object with an integer or string 'id', got {entry!r}")
        if entry["id"] in index:
            raise InterchangeError(f"{where}: duplicate vertex id {entry['id']!r}")
        index[entry["id"]] = k
        entries.append(entry)
    edges: dict[tuple[int, int], Any] = {}
    for k, entry in enumerate(data["edges"]):
        where = f"{source}: edge entry {k}"
        if not isinstance(entry, Mapping) or not _is_id(entry.get("source")) or not _is_id(entry.get("target")):
            raise InterchangeError(f"{where}: expected an object with 'source' and 'target' vertex ids, got {entry!r}")
        for end in ("source", "target"):
            if entry[end] not in index:
                raise InterchangeError(f"{where}: {end} {entry[end]!r} is not a vertex id")
        key = (index[entry["source"]], index[entry["target"]])
        if key in edges:
            raise InterchangeError(f"{where}: duplicate edge {entry['source']!r} -> {entry['target']!r}")
        edges[key] = entry.get("structure")
    has_in = {t for _, t in edges}
    has_out = {s for s, _ in edges}
    vertices = []
    for k, entry in enumerate(entries):
        where = f"{source}: vertex {entry['id']!r}"
        role_name = entry.get("role")
        if role_name is None:
            role = Role.INPUT if k not in has_in else (Role.OUTPUT if k not in has_out else Role.INTERMEDIATE)
        elif role_name in ROLES_BY_NAME:
            role = ROLES_BY_NAME[role_name]
        else:
            raise InterchangeError(f"{where}: unknown role {role_name!r} (expected one of {sorted(ROLES_BY_NAME)})")
        shape = entry.get("shape", [])
        if not is_shape(shape):
            raise InterchangeError(f"{where}: shape must be a list of integers, got {shape!r}")
        primitive = entry.get("primitive")
        try:
            vertices.append(Vertex(role, tuple(shape), str(entry.get("name", entry["id"])), primitive))
        except GraphError as err:
            raise InterchangeError(f"{where}: {err}") from None
    structures: dict[tuple[int, int], Structure] = {}
    for (s, t), text in edges.items():
        where = f"{source}: edge {entries[s]['id']!r} -> {entries[t]['id']!r}"
        if text is None:
            structures[(s, t)] = Structure.full(len(vertices[t].shape), len(vertices[s].shape))
            continue
        try:
            structures[(s, t)] = Structure.parse(str(text))
        except StructureError as err:
            raise InterchangeError(f"{where}: {err}") from None
    metadata = data.get("metadata", {})
    if not isinstance(metadata, Mapping):
        raise InterchangeError(f"{source}: metadata must be an object")
    try:
        return LCG.from_edges(vertices, structures, str(data.get("name", "graph")), dict(metadata))
    except GraphError as err:
        raise InterchangeError(f"{source}: {err}") from None


def save_edge_list(graph: LCG, path: str | os.PathLike) -> None:
    """Write ``graph`` as edge-list JSON."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(to_edge_list(graph), fh, indent=1)
        fh.write("\n")


def load_edge_list(path: str | os.PathLike) -> LCG:
    """Read an edge-list JSON file (see the module docstring)."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as err:
        raise InterchangeError(f"{path}: not valid JSON ({err})") from None
    return from_edge_list(data, str(path))


# ----------------------------------------------------------------------------- VertexGame
VERTEXGAME_CODES = {1: Structure.parse("<-:[]"), -1: Structure.parse("<-:1")}
"""The reference layout's sparsity codes that have an exact meaning for scalar edges."""

_CODE_OF = {str(structure): code for code, structure in VERTEXGAME_CODES.items()}


def to_vertexgame(graph: LCG) -> np.ndarray:
    """Encode a scalar graph in the reference VertexGame layout (int32, ``(5, n_in + n_v + 1, n_v)``).

    Raises:
        InterchangeError: a vertex is not a scalar, or an edge is neither ``"<-:[]"`` nor ``"<-:1"``.
    """
    for k, v in enumerate(graph.vertices):
        if v.shape != ():
            raise InterchangeError(f"graph {graph.name!r}: vertex {k} ({v.name!r}) has shape {v.shape}; the VertexGame layout is exact for scalar graphs only")
    n_in = len(graph.inputs)
    n_v = graph.num_vertices - n_in
    n_out = len(graph.outputs)
    array = np.zeros((5, n_in + n_v + 1, n_v), np.int32)
    array[0, 0, :3] = (n_in, n_v - n_out, n_out)[: min(3, n_v)]
    for k in graph.outputs:
        array[1, 0, k - n_in] = 1
        array[2, 0, k - n_in] = 1
    for (s, t), structure in graph.edges.items():
        code = _CODE_OF.get(str(structure))
        if code is None:
            raise InterchangeError(
                f"graph {graph.name!r}: edge {s}->{t} has structure {structure} which the VertexGame layout "
                f"cannot express exactly (only {sorted(_CODE_OF)})"
            )
        array[:, 1 + s, t - n_in] = (code, 1, 1, 1, 1)
    return array


def from_vertexgame(array: Any, name: str = "vertexgame", source: str = "<array>") -> LCG:
    """Decode the reference VertexGame layout (see the module docstring for the rules).

    Raises:
        InterchangeError: wrong shape or dtype, inconsistent header, an edge with a code other
            than 1 / -1 or a non-scalar shape (named with its code), an eliminated vertex that
            still has edges, or an invalid graph.
    """
    array = np.asarray(array)
    if array.ndim != 3 or array.shape[0] != 5:
        raise InterchangeError(f"{source}: expected an array of shape (5, n_in + n_v + 1, n_v), got {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        raise InterchangeError(f"{source}: expected an integer array, got dtype {array.dtype}")
    n_v = array.shape[2]
    n_in = array.shape[1] - n_v - 1
    if n_in < 0 or n_v < 1:
        raise InterchangeError(f"{source}: shape {array.shape} leaves {n_in} inputs and {n_v} vertices")
    header = array[:, 0, :].astype(np.int64)
    outputs = header[2] != 0
    n_out = int(outputs.sum())
    expected = [n_in, n_v - n_out, n_out][: min(3, n_v)]
    if header[0, :3].tolist() != expected:
        raise InterchangeError(
            f"{source}: header channel 0 is {header[0, :3].tolist()} but the array has {n_in} inputs, "
            f"{n_v} vertices and {n_out} outputs marked in channel 2 (expected {expected})"
        )
    eliminated = (header[1] != 0) & ~outputs
    body = array[:, 1:, :].astype(np.int64)  # body[:, row, column]: row = source, column = target
    source_names = [f"i{r + 1}" for r in range(n_in)] + [f"v{c + 1}" for c in range(n_v)]

    def edge_name(row: int, column: int) -> str:
        return f"{source_names[row]} -> v{column + 1}"

    edges: dict[tuple[int, int], Structure] = {}
    for row, column in zip(*np.nonzero(body[0])):
        row, column = int(row), int(column)
        code = int(body[0, row, column])
        shapes = body[1:, row, column].tolist()
        if code not in VERTEXGAME_CODES:
            raise InterchangeError(
                f"{source}: edge {edge_name(row, column)} has sparsity code {code}; only scalar edges with "
                f"code 1 (dense) or -1 (copy) convert exactly"
            )
        if shapes != [1, 1, 1, 1]:
            raise InterchangeError(
                f"{source}: edge {edge_name(row, column)} has target/source shapes {shapes[:2]}/{shapes[2:]}; "
                f"only scalar edges (1, 1) convert exactly"
            )
        edges[(row, n_in + column)] = VERTEXGAME_CODES[code]
    for column in np.nonzero(eliminated)[0]:
        touching = [e for e in edges if n_in + int(column) in e]
        if touching:
            s, t = touching[0]
            raise InterchangeError(
                f"{source}: vertex v{column + 1} is marked eliminated (header channel 1) but still has edge "
                f"{source_names[s]} -> {source_names[t]}"
            )
    order = [int(v) for v in header[3] if v != 0]
    for v in order:
        if not (1 <= v <= n_v and eliminated[v - 1]):
            raise InterchangeError(f"{source}: header channel 3 lists vertex {v} as eliminated, but it is not an eliminated vertex")
    vertices: list[Vertex] = [Vertex(Role.INPUT, (), source_names[r]) for r in range(n_in)]
    for c in range(n_v):
        role = Role.OUTPUT if outputs[c] else Role.INTERMEDIATE
        vertices.append(Vertex(role, (), f"v{c + 1}"))
    copies = []
    for c in np.nonzero(outputs)[0]:
        k = n_in + int(c)
        if any(s == k for s, _ in edges):
            vertices[k] = Vertex(Role.INTERMEDIATE, (), f"v{c + 1}")
            vertices.append(Vertex(Role.OUTPUT, (), f"v{c + 1}'"))
            edges[(k, len(vertices) - 1)] = VERTEXGAME_CODES[-1]
            copies.append(int(c) + 1)
    keep = [k for k in range(len(vertices)) if not (n_in <= k < n_in + n_v and eliminated[k - n_in])]
    renumber = {old: new for new, old in enumerate(keep)}
    metadata = {"imported_from": "vertexgame", "vertexgame_order": order, "vertexgame_output_copies": copies}
    try:
        return LCG.from_edges(
            [vertices[k] for k in keep],
            {(renumber[s], renumber[t]): e for (s, t), e in edges.items()},
            name,
            metadata,
        )
    except GraphError as err:
        raise InterchangeError(f"{source}: {err}") from None


def load_vertexgame(path: str | os.PathLike, name: str | None = None) -> LCG:
    """Read a ``.npy`` file holding a VertexGame array (no pickles)."""
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise InterchangeError(f"{path}: not a readable .npy array ({err})") from None
    default = os.path.splitext(os.path.basename(str(path)))[0]
    return from_vertexgame(array, name or default, str(path))


def save_vertexgame(graph: LCG, path: str | os.PathLike) -> None:
    """Write :func:`to_vertexgame` of ``graph`` to a ``.npy`` file."""
    np.save(path, to_vertexgame(graph), allow_pickle=False)

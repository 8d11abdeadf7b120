"""Save and load LCGs in the package's versioned JSON format.

A file looks like::

    {
      "format": "elimgym-lcg",
      "version": 1,
      "name": "RoeFlux_1d",
      "vertices": [{"role": "input", "shape": [], "name": "rho_l", "primitive": null}, ...],
      "edges": [[0, 6, "<-:[]"], [6, 7, "<-:1"], ...],
      "metadata": {...}
    }

Edges are ``[source, target, structure]`` with the structure in the notation of
:meth:`graphs.structure.Structure.parse`. Loading validates everything and raises
:class:`GraphFormatError` naming the file and the offending entry.
"""

from __future__ import annotations

import json
import os
from typing import Any

from graphs.lcg import LCG, GraphError, Role, Vertex
from graphs.structure import StructureError, Structure

__all__ = ["FORMAT", "VERSION", "ROLE_NAMES", "ROLES_BY_NAME", "GraphFormatError", "save", "load", "to_dict", "from_dict", "is_shape"]

FORMAT = "elimgym-lcg"
VERSION = 1

ROLE_NAMES = {Role.INPUT: "input", Role.INTERMEDIATE: "intermediate", Role.OUTPUT: "output"}
"""How every JSON graph format (this one, :mod:`graphs.interchange`) spells each vertex role."""
ROLES_BY_NAME = {name: role for role, name in ROLE_NAMES.items()}


def is_shape(value: Any) -> bool:
    """Whether ``value`` is a shape as JSON graph formats write it: a list of integers (no booleans)."""
    return isinstance(value, list) and all(isinstance(n, int) and not isinstance(n, bool) for n in value)


class GraphFormatError(ValueError):
    """A graph file that is malformed, of another format or version, or describes an invalid graph."""


def to_dict(graph: LCG) -> dict[str, Any]:
    """The JSON-serialisable form of ``graph``."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "name": graph.name,
        "vertices": [
            {"role": ROLE_NAMES[v.role], "shape": list(v.shape), "name": v.name, "primitive": v.primitive}
            for v in graph.vertices
        ],
        "edges": [[s, t, str(e)] for (s, t), e in graph.edges.items()],
        "metadata": dict(graph.metadata),
    }


def from_dict(data: Any, source: str = "<dict>") -> LCG:
    """Parse and validate the JSON form; ``source`` names the origin in error messages."""
    if not isinstance(data, dict):
        raise GraphFormatError(f"{source}: expected a JSON object, got {type(data).__name__}")
    if data.get("format") != FORMAT:
        raise GraphFormatError(f"{source}: not an elimgym graph (format is {data.get('format')!r}, expected {FORMAT!r})")
    version = data.get("version")
    if version != VERSION:
        raise GraphFormatError(f"{source}: unsupported version {version!r} (this elimgym reads version {VERSION})")
    for key, kind in (("vertices", list), ("edges", list)):
        if not isinstance(data.get(key), kind):
            raise GraphFormatError(f"{source}: missing or malformed {key!r} (expected a list)")
    vertices = []
    for k, entry in enumerate(data["vertices"]):
        where = f"{source}: vertex {k}"
        if not isinstance(entry, dict):
            raise GraphFormatError(f"{where}: expected an object")
        role = ROLES_BY_NAME.get(entry.get("role"))
        if role is None:
            raise GraphFormatError(f"{where}: unknown role {entry.get('role')!r} (expected one of {sorted(ROLES_BY_NAME)})")
        shape = entry.get("shape")
        if not is_shape(shape):
            raise GraphFormatError(f"{where}: shape must be a list of integers, got {shape!r}")
        try:
            vertices.append(Vertex(role, tuple(shape), str(entry.get("name", "")), entry.get("primitive")))
        except GraphError as err:
            raise GraphFormatError(f"{where}: {err}") from None
    edges: dict[tuple[int, int], Structure] = {}
    for k, entry in enumerate(data["edges"]):
        where = f"{source}: edge {k}"
        if not (isinstance(entry, list) and len(entry) == 3 and all(isinstance(x, int) and not isinstance(x, bool) for x in entry[:2])):
            raise GraphFormatError(f"{where}: expected [source, target, structure], got {entry!r}")
        s, t, text = entry
        if (s, t) in edges:
            raise GraphFormatError(f"{where}: duplicate edge {s}->{t}")
        try:
            edges[(s, t)] = Structure.parse(str(text))
        except StructureError as err:
            raise GraphFormatError(f"{where} ({s}->{t}): {err}") from None
    metadata = data.get("metadata", {})
    if not isinstance(metadata, dict):
        raise GraphFormatError(f"{source}: metadata must be an object")
    try:
        return LCG(tuple(vertices), edges, str(data.get("name", "graph")), metadata)
    except GraphError as err:
        raise GraphFormatError(f"{source}: {err}") from None


def save(graph: LCG, path: str | os.PathLike) -> None:
    """Write ``graph`` to ``path`` (JSON, one edge per line for readable diffs)."""
    data = to_dict(graph)
    edges = data.pop("edges")
    text = json.dumps(data, indent=1)
    edge_lines = ",\n".join("  " + json.dumps(e) for e in edges)
    text = text[: text.rindex("}")].rstrip() + ',\n "edges": [\n' + edge_lines + "\n ]\n}\n"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def load(path: str | os.PathLike) -> LCG:
    """Read and validate a graph file written by :func:`save`."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as err:
        raise GraphFormatError(f"{path}: not valid JSON ({err})") from None
    return from_dict(data, str(path))

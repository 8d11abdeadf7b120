"""The linearized computational graph (LCG): host-side model and padded tensor encoding.

An LCG is a DAG whose vertices are the inputs, intermediates and outputs of a program, each with
a shape (rank 0, 1 or 2), and whose edges carry partial Jacobians described by a
:class:`~graphs.structure.Structure`. Vertices are numbered in topological order with the
inputs first, so every edge goes from a lower to a higher index; outputs are sinks.

:class:`LCG` is immutable; :meth:`LCG.pad` encodes it into fixed-capacity NumPy arrays
(:class:`PaddedGraph`) that the JAX game consumes.
"""

from __future__ import annotations

import enum
import hashlib
import heapq
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from graphs.structure import MAX_RANK, Structure, StructureError

__all__ = ["Role", "Vertex", "LCG", "PaddedGraph", "GraphError", "CapacityError"]


class GraphError(ValueError):
    """A graph that violates the LCG invariants (the message names the offending part)."""


class CapacityError(GraphError):
    """A graph that does not fit the requested padded capacity."""


class Role(enum.IntEnum):
    """Role of a vertex; ``PAD`` marks unused slots of a padded encoding."""

    PAD = 0
    INPUT = 1
    INTERMEDIATE = 2
    OUTPUT = 3


@dataclass(frozen=True)
class Vertex:
    """One vertex of an LCG.

    Attributes:
        role: input, intermediate or output.
        shape: the shape of the value (rank at most 2).
        name: a human-readable name (input/output names, or the primitive for intermediates).
        primitive: the JAX primitive that computes it, for traced intermediates and outputs.
    """

    role: Role
    shape: tuple[int, ...]
    name: str = ""
    primitive: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "role", Role(self.role))
        object.__setattr__(self, "shape", tuple(int(n) for n in self.shape))
        if self.role is Role.PAD:
            raise GraphError("a vertex cannot have the PAD role")
        if len(self.shape) > MAX_RANK:
            raise GraphError(
                f"vertex {self.name!r} has shape {self.shape}: rank {len(self.shape)} is above the "
                f"supported maximum {MAX_RANK} (scalars, vectors and matrices)"
            )
        if any(n < 1 for n in self.shape):
            raise GraphError(f"vertex {self.name!r} has shape {self.shape}: every axis needs size >= 1")

    @property
    def size(self) -> int:
        """Number of scalar entries."""
        return int(np.prod(self.shape, dtype=np.int64))


@dataclass(frozen=True)
class LCG:
    """A linearized computational graph.

    Attributes:
        vertices: the vertices in topological order, inputs first.
        edges: ``(source, target) -> Structure`` for every edge.
        name: a name for the graph (the task name for benchmark graphs).
        metadata: free-form JSON-serialisable information (provenance, sizes...).
    """

    vertices: tuple[Vertex, ...]
    edges: Mapping[tuple[int, int], Structure]
    name: str = "graph"
    metadata: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "vertices", tuple(self.vertices))
        object.__setattr__(
            self, "edges", MappingProxyType({(int(s), int(t)): e for (s, t), e in sorted(self.edges.items())})
        )
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))
        self._validate()

    def __reduce__(self):
        """Pickle and copy through the constructor (the read-only mapping views cannot be pickled)."""
        return (LCG, (self.vertices, dict(self.edges), self.name, dict(self.metadata)))

    # --------------------------------------------------------------------- validation
    def _validate(self) -> None:
        n = len(self.vertices)
        roles = [v.role for v in self.vertices]
        num_inputs = roles.count(Role.INPUT)
        if roles[:num_inputs] != [Role.INPUT] * num_inputs:
            first = next(k for k, r in enumerate(roles) if r is not Role.INPUT)
            late = next(k for k in range(first, n) if roles[k] is Role.INPUT)
            raise GraphError(f"graph {self.name!r}: input vertex {late} comes after non-input vertex {first}; inputs must come first")
        for (s, t), structure in self.edges.items():
            for end, k in (("source", s), ("target", t)):
                if not 0 <= k < n:
                    raise GraphError(f"graph {self.name!r}: edge {s}->{t} is dangling: {end} vertex {k} does not exist (the graph has {n} vertices)")
            if s == t:
                raise GraphError(f"graph {self.name!r}: edge {s}->{t} is a self-loop")
            if roles[t] is Role.INPUT:
                raise GraphError(f"graph {self.name!r}: edge {s}->{t} points into input vertex {t}")
            if roles[s] is Role.OUTPUT:
                raise GraphError(f"graph {self.name!r}: edge {s}->{t} leaves output vertex {s}; outputs must be sinks (route internal uses through a copy vertex)")
            if not isinstance(structure, Structure):
                raise GraphError(f"graph {self.name!r}: edge {s}->{t} has no Structure but {structure!r}")
            try:
                structure.check_shapes(self.vertices[t].shape, self.vertices[s].shape)
            except StructureError as err:
                raise GraphError(f"graph {self.name!r}: edge {s}->{t}: shape mismatch: {err}") from None
        cycle = self._find_cycle()
        if cycle:
            raise GraphError(f"graph {self.name!r} has a cycle: {' -> '.join(map(str, cycle))}")
        for s, t in self.edges:
            if s > t:
                raise GraphError(f"graph {self.name!r}: edge {s}->{t} goes backwards; vertices must be numbered in topological order (use LCG.from_edges to renumber)")

    def _find_cycle(self) -> list[int]:
        succ: dict[int, list[int]] = {}
        for s, t in self.edges:
            succ.setdefault(s, []).append(t)
        state = [0] * len(self.vertices)  # 0 unvisited, 1 on stack, 2 done
        for start in range(len(self.vertices)):
            if state[start]:
                continue
            stack = [(start, iter(succ.get(start, ())))]
            path = [start]
            state[start] = 1
            while stack:
                node, children = stack[-1]
                child = next(children, None)
                if child is None:
                    stack.pop()
                    path.pop()
                    state[node] = 2
                elif state[child] == 1:
                    return path[path.index(child):] + [child]
                elif state[child] == 0:
                    state[child] = 1
                    path.append(child)
                    stack.append((child, iter(succ.get(child, ()))))
        return []

    # -------------------------------------------------------------------- construction
    @classmethod
    def from_edges(
        cls,
        vertices: Iterable[Vertex],
        edges: Mapping[tuple[int, int], Structure | str],
        name: str = "graph",
        metadata: Mapping[str, object] | None = None,
    ) -> "LCG":
        """Build an LCG from vertices in any order, renumbering them topologically (inputs first).

        Structures may be given in the text notation of :meth:`Structure.parse`. The relative
        order of vertices is kept wherever the edges allow it.
        """
        vertices = list(vertices)
        parsed = {k: Structure.parse(e) if isinstance(e, str) else e for k, e in edges.items()}
        n = len(vertices)
        for s, t in parsed:
            if not (0 <= s < n and 0 <= t < n):
                raise GraphError(f"graph {name!r}: edge {s}->{t} is dangling (the graph has {n} vertices)")
        indegree = [0] * n
        succ: dict[int, list[int]] = {}
        for s, t in parsed:
            indegree[t] += 1
            succ.setdefault(s, []).append(t)
        ready = [(0 if v.role is Role.INPUT else 1, k) for k, v in enumerate(vertices) if indegree[k] == 0]
        heapq.heapify(ready)
        order: list[int] = []
        while ready:
            _, k = heapq.heappop(ready)
            order.append(k)
            for t in succ.get(k, ()):
                indegree[t] -= 1
                if indegree[t] == 0:
                    heapq.heappush(ready, (0 if vertices[t].role is Role.INPUT else 1, t))
        if len(order) != n:
            # Let the constructor name the cycle.
            cls(tuple(vertices), parsed, name, metadata or {})
        new_index = {old: new for new, old in enumerate(order)}
        return cls(
            tuple(vertices[k] for k in order),
            {(new_index[s], new_index[t]): e for (s, t), e in parsed.items()},
            name,
            metadata or {},
        )

    # ---------------------------------------------------------------------------- views
    @property
    def num_vertices(self) -> int:
        return len(self.vertices)

    @property
    def num_edges(self) -> int:
        return len(self.edges)

    def indices(self, role: Role) -> tuple[int, ...]:
        """Indices of the vertices with this role, ascending."""
        return tuple(k for k, v in enumerate(self.vertices) if v.role is role)

    @property
    def inputs(self) -> tuple[int, ...]:
        return self.indices(Role.INPUT)

    @property
    def intermediates(self) -> tuple[int, ...]:
        """The eliminable vertices."""
        return self.indices(Role.INTERMEDIATE)

    @property
    def outputs(self) -> tuple[int, ...]:
        return self.indices(Role.OUTPUT)

    def predecessors(self, v: int) -> tuple[int, ...]:
        return tuple(s for (s, t) in self.edges if t == v)

    def successors(self, v: int) -> tuple[int, ...]:
        return tuple(t for (s, t) in self.edges if s == v)

    def is_scalar(self) -> bool:
        """Whether every vertex is a scalar."""
        return all(v.shape == () for v in self.vertices)

    def fingerprint(self) -> str:
        """A hash of the graph's vertices (roles, shapes) and edges (structures); names excluded."""
        payload = json.dumps(
            {
                "vertices": [[int(v.role), list(v.shape)] for v in self.vertices],
                "edges": [[s, t, str(e)] for (s, t), e in self.edges.items()],
            },
            separators=(",", ":"),
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def summary(self) -> str:
        """One line: name, vertex counts by role, edges."""
        return (
            f"{self.name}: {len(self.inputs)} inputs, {len(self.intermediates)} intermediates, "
            f"{len(self.outputs)} outputs, {self.num_edges} edges"
        )

    def with_name(self, name: str) -> "LCG":
        return LCG(self.vertices, dict(self.edges), name, self.metadata)

    # --------------------------------------------------------------------- padded form
    def pad(self, capacity: int | None = None) -> "PaddedGraph":
        """Encode into fixed-capacity arrays (capacity defaults to the number of vertices)."""
        n = self.num_vertices
        capacity = n if capacity is None else int(capacity)
        if n > capacity:
            raise CapacityError(
                f"graph {self.name!r} has {n} vertices but the capacity is {capacity}; "
                f"use a capacity of at least {n}"
            )
        edges = np.zeros((capacity, capacity), np.int16)
        for (s, t), structure in self.edges.items():
            edges[s, t] = structure.code
        shapes = np.ones((capacity, MAX_RANK), np.int32)
        ranks = np.zeros(capacity, np.int8)
        roles = np.zeros(capacity, np.int8)
        for k, v in enumerate(self.vertices):
            shapes[k, : len(v.shape)] = v.shape
            ranks[k] = len(v.shape)
            roles[k] = int(v.role)
        return PaddedGraph(edges=edges, shapes=shapes, ranks=ranks, roles=roles)


class PaddedGraph(NamedTuple):
    """Fixed-capacity array encoding of an LCG (``N`` = capacity); a pytree, so batches of
    padded graphs can be stacked and ``vmap``-ed over.

    Attributes:
        edges: ``[N, N] int16``: ``edges[s, t]`` is the structure code of edge ``s -> t``
            (:attr:`Structure.code`), 0 where there is no edge.
        shapes: ``[N, 2] int32``: the vertex shapes, missing axes and padding filled with 1.
        ranks: ``[N] int8``: the vertex ranks (0 for padding).
        roles: ``[N] int8``: :class:`Role` values (0 for padding).
    """

    edges: np.ndarray
    shapes: np.ndarray
    ranks: np.ndarray
    roles: np.ndarray

    @property
    def capacity(self) -> int:
        return int(self.roles.shape[-1])

    def to_lcg(self, name: str = "graph") -> LCG:
        """Decode back into an :class:`LCG` (names and primitives are not stored in the arrays)."""
        roles = np.asarray(self.roles)
        n = int(np.count_nonzero(roles))
        if np.any(roles[n:]):
            raise GraphError("padded graph has real vertices after a padding slot")
        shapes, ranks, codes = np.asarray(self.shapes), np.asarray(self.ranks), np.asarray(self.edges)
        vertices = [Vertex(Role(int(roles[k])), tuple(int(x) for x in shapes[k, : ranks[k]])) for k in range(n)]
        src, dst = np.nonzero(codes)
        edges = {(int(s), int(t)): Structure.from_code(int(codes[s, t])) for s, t in zip(src, dst)}
        return LCG(tuple(vertices), edges, name)

"""Sound reductions that shrink the exact search.

**Independent parts** (:func:`independent_parts`). Call two intermediates *comparable* when a
path joins them. Eliminating ``u`` only changes edges ``p -> s`` with ``p`` a current predecessor
and ``s`` a current successor of ``u``; both are comparable with ``u``, so each is an input, an
output, or an intermediate comparable with ``u``. Split the intermediates into the connected
components of the comparability relation: an elimination in one component never changes an edge
that touches an intermediate of another (edges between an input and an output are never used by
a later elimination), so each component's costs do not depend on what happens in the others.
The optimal order is therefore any concatenation of optimal orders of the components, found
separately, and the optimum is the sum of theirs.
"""

from __future__ import annotations

import numpy as np

from graphs.lcg import LCG

__all__ = ["independent_parts", "reachability"]


def reachability(graph: LCG) -> np.ndarray:
    """``[n, n] bool``: ``out[u, w]`` is True when a path ``u -> ... -> w`` exists (``u != w``)."""
    n = graph.num_vertices
    reach = np.zeros((n, n), bool)
    succ: list[list[int]] = [[] for _ in range(n)]
    for s, t in graph.edges:
        succ[s].append(t)
    for u in range(n - 1, -1, -1):
        for t in succ[u]:
            reach[u, t] = True
            reach[u] |= reach[t]
    return reach


def independent_parts(graph: LCG) -> list[tuple[int, ...]]:
    """The intermediates split into independent components (each ascending, components ordered
    by their smallest vertex)."""
    inter = list(graph.intermediates)
    reach = reachability(graph)
    parent = {v: v for v in inter}

    def find(v: int) -> int:
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    for i, u in enumerate(inter):
        for w in inter[i + 1 :]:
            if reach[u, w] or reach[w, u]:
                ru, rw = find(u), find(w)
                if ru != rw:
                    parent[max(ru, rw)] = min(ru, rw)
    parts: dict[int, list[int]] = {}
    for v in inter:
        parts.setdefault(find(v), []).append(v)
    return sorted((tuple(p) for p in parts.values()), key=lambda p: p[0])

"""A dense reference Jacobian assembled from the traced structured partials (test helper).

Forward accumulation over the LCG with every edge materialised by ``Structure.dense``: slow and
simple, independent of the cost model and of the executor.
"""

from __future__ import annotations

import jax
import numpy as np

from graphs.lcg import Role
from graphs.trace import TracedFunction


def dense_jacobians(traced: TracedFunction, *args) -> dict[tuple[int, int], np.ndarray]:
    """``{(output vertex, input vertex): J}`` with ``J`` of shape ``(out.size, in.size)``."""
    graph = traced.lcg
    env = traced.evaluate(jax.tree_util.tree_leaves(args))
    size = [v.size for v in graph.vertices]
    blocks: dict[int, dict[int, np.ndarray]] = {k: {k: np.eye(size[k])} for k in graph.inputs}
    for t, vertex in enumerate(graph.vertices):
        if vertex.role is Role.INPUT:
            continue
        acc: dict[int, np.ndarray] = {}
        for s in graph.predecessors(t):
            structure = graph.edges[(s, t)]
            value = traced.edge_value((s, t), env)
            edge = structure.dense(vertex.shape, graph.vertices[s].shape, None if value is None else np.asarray(value))
            edge = edge.reshape(size[t], size[s])
            for i, block in blocks[s].items():
                acc[i] = acc.get(i, 0) + edge @ block
        blocks[t] = acc
    return {
        (o, i): blocks[o].get(i, np.zeros((size[o], size[i]))) for o in graph.outputs for i in graph.inputs
    }


def jacrev_blocks(traced: TracedFunction, f, *args) -> dict[tuple[int, int], np.ndarray]:
    """The same blocks from ``jax.jacrev`` (outputs matched to output vertices by leaf order)."""
    graph = traced.lcg
    leaves, tree = jax.tree_util.tree_flatten(args)

    def flat(*xs):
        return jax.tree_util.tree_leaves(f(*jax.tree_util.tree_unflatten(tree, xs)))

    jac = jax.jacrev(flat, argnums=tuple(range(len(leaves))))(*leaves)
    out = {}
    for leaf, o in enumerate(traced.output_vertices):
        for i in graph.inputs:
            out[(o, i)] = np.asarray(jac[leaf][i]).reshape(graph.vertices[o].size, graph.vertices[i].size)
    return out


"""Path sampling on an LCG: an unbiased Monte-Carlo estimate of a Jacobian.

Bauer's formula writes the Jacobian of the outputs with respect to the inputs as a sum over all
paths of the product of the edge partials along the path. Path sampling keeps, at every vertex
(in topological order), a uniformly random subset of ``k`` of its outgoing edges and multiplies
each kept edge by ``d / k`` (``d`` = the vertex's out-degree; a vertex with ``d <= k`` keeps all
its edges with weight 1). The choices at different vertices are independent and a path visits
each vertex once, so every path's expected weight is 1 and the sparsified graph's Jacobian is
an unbiased estimate of the exact one. Fewer kept edges means fewer partials to store and
multiply, in return for variance.

Two granularities:

* ``level="vertex"``: the LCG's (tensor) vertices and edges, each edge a dense block;
* ``level="scalar"``: every scalar entry of every vertex is a node and every non-zero entry of a
  block an edge, so each scalar keeps ``k`` of its non-zero outgoing partials.

The graph comes from :func:`graphs.trace.trace_function`: :class:`LinearizedGraph` evaluates the
primal values and every edge's partial once, as dense float32 blocks ``[target size, source
size]``; the sampled accumulation is then a pure, ``jit``-able function of a PRNG key. The
Jacobian is flat: ``[M, N]`` with rows the output leaves' entries and columns the input leaves'
entries, both in leaf order (each leaf row-major).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from graphs.lcg import LCG, Role
from graphs.trace import TracedFunction, trace_function

__all__ = [
    "LEVELS",
    "LinearizedGraph",
    "accumulate",
    "exact_expectation",
    "flat_jacobian",
    "path_sample_jacobian",
    "sample_edge_weights",
]

LEVELS = ("vertex", "scalar")
"""Granularities of path sampling (see the module docstring)."""

Edge = tuple[int, int]


@dataclass(frozen=True)
class LinearizedGraph:
    """An LCG with every edge's partial evaluated as a dense block at one point.

    Attributes:
        lcg: the graph.
        blocks: ``(source, target) -> float32 [size(target), size(source)]`` partial Jacobians.
        input_vertices: the input vertices in argument-leaf order.
        output_vertices: the output vertex of each output leaf, in leaf order.
    """

    lcg: LCG
    blocks: dict[Edge, jax.Array]
    input_vertices: tuple[int, ...]
    output_vertices: tuple[int, ...]

    @classmethod
    def from_traced(cls, traced: TracedFunction, *args: Any) -> LinearizedGraph:
        """Evaluate ``traced`` (made from a function of ``args``) at ``args``."""
        leaves = jax.tree_util.tree_leaves(args)
        env = traced.evaluate(leaves)
        lcg = traced.lcg
        blocks = {}
        for (s, t), structure in lcg.edges.items():
            t_shape, s_shape = lcg.vertices[t].shape, lcg.vertices[s].shape
            value = traced.edge_value((s, t), env)
            dense = structure.dense(t_shape, s_shape, None if value is None else np.asarray(value))
            blocks[(s, t)] = jnp.asarray(dense.reshape(lcg.vertices[t].size, lcg.vertices[s].size), jnp.float32)
        return cls(lcg, blocks, tuple(lcg.inputs), _output_vertices(traced))

    @classmethod
    def from_function(cls, f: Callable[..., Any], *args: Any) -> LinearizedGraph:
        """Trace ``f(*args)`` into an LCG and evaluate its partials at ``args``."""
        return cls.from_traced(trace_function(f, *args), *args)

    @property
    def shape(self) -> tuple[int, int]:
        """``(M, N)``: total output entries, total input entries."""
        sizes = [v.size for v in self.lcg.vertices]
        return sum(sizes[v] for v in self.output_vertices), sum(sizes[v] for v in self.input_vertices)

    def successors(self, v: int) -> tuple[int, ...]:
        """Targets of the edges leaving ``v``, in increasing order."""
        return tuple(sorted(t for (s, t) in self.blocks if s == v))


def _output_vertices(traced: TracedFunction) -> tuple[int, ...]:
    """The output vertex of each output leaf (outputs are named ``out<path>`` by the tracer)."""
    paths = jax.tree_util.tree_flatten_with_path(jax.tree_util.tree_unflatten(traced.out_tree, range(traced.out_tree.num_leaves)))[0]
    by_name = {v.name: k for k, v in enumerate(traced.lcg.vertices) if v.role is Role.OUTPUT}
    found = []
    for path, _ in paths:
        name = f"out{jax.tree_util.keystr(path)}"
        if name not in by_name:
            raise ValueError(f"{traced.lcg.name}: no output vertex named {name!r} (outputs: {sorted(by_name)})")
        found.append(by_name[name])
    return tuple(found)


def accumulate(graph: LinearizedGraph, weights: dict[Edge, jax.Array] | None = None) -> jax.Array:
    """Reverse accumulation of the (weighted) graph: the flat Jacobian ``[M, N]``.

    Args:
        weights: ``edge -> w`` multiplying that edge's block: a scalar (vertex level) or an array
            of the block's shape (scalar level). Missing edges keep weight 1; ``None`` gives the
            exact Jacobian.
    """
    weights = weights or {}
    sizes = [v.size for v in graph.lcg.vertices]
    rows = sum(sizes[v] for v in graph.output_vertices)
    adjoint: dict[int, jax.Array] = {}
    offset = 0
    for v in graph.output_vertices:
        seed = jnp.eye(rows, sizes[v], -offset, dtype=jnp.float32)
        adjoint[v] = adjoint[v] + seed if v in adjoint else seed
        offset += sizes[v]
    for v in reversed(range(len(graph.lcg.vertices))):
        for t in graph.successors(v):
            if t not in adjoint:
                continue
            block = graph.blocks[(v, t)]
            if (v, t) in weights:
                block = block * weights[(v, t)]
            term = adjoint[t] @ block
            adjoint[v] = adjoint[v] + term if v in adjoint else term
    columns = [adjoint.get(v, jnp.zeros((rows, sizes[v]), jnp.float32)) for v in graph.input_vertices]
    return jnp.concatenate(columns, axis=1)


def _check(level: str, k: int) -> None:
    if level not in LEVELS:
        raise ValueError(f"unknown path-sampling level {level!r}; choose one of {LEVELS}")
    if k < 1:
        raise ValueError(f"path sampling keeps k >= 1 edges per vertex, got k={k}")


def _keep_smallest(priority: jax.Array, k: int, axis: int) -> jax.Array:
    """Bool mask of the ``k`` smallest entries along ``axis`` (ties broken by position)."""
    rank = jnp.argsort(jnp.argsort(priority, axis=axis, stable=True), axis=axis, stable=True)
    return rank < k


def sample_edge_weights(graph: LinearizedGraph, key: jax.Array, k: int = 1, level: str = "vertex", rescale: bool = True) -> dict[Edge, jax.Array]:
    """One random draw of the kept edges and their weights (see the module docstring).

    ``rescale=False`` keeps the sampled edges with weight 1: the biased negative control.
    """
    _check(level, k)
    weights: dict[Edge, jax.Array] = {}
    for v in range(len(graph.lcg.vertices)):
        targets = graph.successors(v)
        if not targets:
            continue
        vertex_key = jax.random.fold_in(key, v)
        if level == "vertex":
            degree = len(targets)
            if degree <= k:
                continue
            kept = _keep_smallest(jax.random.uniform(vertex_key, (degree,)), k, axis=0)
            scale = degree / k if rescale else 1.0
            for i, t in enumerate(targets):
                weights[(v, t)] = jnp.where(kept[i], scale, 0.0).astype(jnp.float32)
        else:
            stacked = jnp.concatenate([graph.blocks[(v, t)] for t in targets], axis=0)  # [R, size(v)]
            nonzero = stacked != 0
            priority = jnp.where(nonzero, jax.random.uniform(vertex_key, stacked.shape), 2.0)
            kept = _keep_smallest(priority, k, axis=0) & nonzero
            degree = jnp.sum(nonzero, axis=0)
            scale = jnp.where(degree > k, degree / k, 1.0) if rescale else jnp.ones(degree.shape)
            stacked_weights = jnp.where(kept, scale[None, :], 0.0).astype(jnp.float32)
            start = 0
            for t in targets:
                height = graph.blocks[(v, t)].shape[0]
                weights[(v, t)] = stacked_weights[start : start + height]
                start += height
    return weights


def path_sample_jacobian(graph: LinearizedGraph, key: jax.Array, k: int = 1, level: str = "vertex", rescale: bool = True) -> jax.Array:
    """One path-sampling estimate of the flat Jacobian ``[M, N]`` (unbiased when ``rescale``)."""
    return accumulate(graph, sample_edge_weights(graph, key, k, level, rescale))


def _choice_groups(graph: LinearizedGraph, level: str) -> list[list[tuple[Edge, tuple[int, ...] | None]]]:
    """Per sampling unit (a vertex, or a scalar node), its candidate outgoing edges."""
    groups = []
    for v in range(len(graph.lcg.vertices)):
        targets = graph.successors(v)
        if level == "vertex":
            groups.append([((v, t), None) for t in targets])
            continue
        for column in range(graph.lcg.vertices[v].size):
            candidates = []
            for t in targets:
                block = np.asarray(graph.blocks[(v, t)])
                candidates += [((v, t), (row, column)) for row in np.flatnonzero(block[:, column])]
            groups.append(candidates)
    return [g for g in groups if g]


def _draws(graph: LinearizedGraph, k: int, level: str, rescale: bool) -> Iterator[tuple[dict[Edge, np.ndarray], float]]:
    """Every possible draw of :func:`sample_edge_weights` with its probability."""
    groups = _choice_groups(graph, level)
    options = []
    for candidates in groups:
        degree = len(candidates)
        keep = min(k, degree)
        scale = degree / keep if rescale else 1.0
        options.append([(candidates, subset, scale, 1.0 / math.comb(degree, keep)) for subset in itertools.combinations(range(degree), keep)])
    for combination in itertools.product(*options):
        weights = {edge: np.ones(()) if level == "vertex" else np.ones(graph.blocks[edge].shape) for edge in graph.blocks}
        probability = 1.0
        for candidates, subset, scale, p in combination:
            probability *= p
            for i, (edge, entry) in enumerate(candidates):
                factor = scale if i in subset else 0.0
                if entry is None:
                    weights[edge] = weights[edge] * factor
                else:
                    weights[edge] = weights[edge].copy()
                    weights[edge][entry] *= factor
        yield weights, probability


def exact_expectation(graph: LinearizedGraph, k: int = 1, level: str = "vertex", rescale: bool = True, limit: int = 100_000) -> jax.Array:
    """The exact mean of :func:`path_sample_jacobian`, by enumerating every possible draw.

    Raises:
        ValueError: if there are more than ``limit`` draws.
    """
    _check(level, k)
    count = 1
    for candidates in _choice_groups(graph, level):
        count *= math.comb(len(candidates), min(k, len(candidates)))
    if count > limit:
        raise ValueError(f"exact_expectation: {count} possible draws exceed the limit {limit}")
    draws = list(_draws(graph, k, level, rescale))
    stacked = {edge: jnp.asarray(np.stack([w[edge] for w, _ in draws]), jnp.float32) for edge in graph.blocks}
    probabilities = jnp.asarray([p for _, p in draws], jnp.float32)
    estimates = jax.jit(jax.vmap(lambda weights: accumulate(graph, weights)))(stacked)
    return jnp.tensordot(probabilities, estimates, axes=1)


def flat_jacobian(f: Callable[..., Any], *args: Any) -> jax.Array:
    """The exact flat Jacobian ``[M, N]`` of ``f`` at ``args`` by ``jax.jacfwd`` (same layout)."""
    leaves, tree = jax.tree_util.tree_flatten(args)
    shapes = [jnp.shape(x) for x in leaves]
    sizes = [math.prod(s) for s in shapes]

    def flat_f(flat_in: jax.Array) -> jax.Array:
        parts = jnp.split(flat_in, np.cumsum(sizes)[:-1])
        rebuilt = jax.tree_util.tree_unflatten(tree, [p.reshape(s) for p, s in zip(parts, shapes)])
        out = f(*rebuilt)
        return jnp.concatenate([jnp.ravel(o) for o in jax.tree_util.tree_leaves(out)])

    flat_in = jnp.concatenate([jnp.ravel(jnp.asarray(x, jnp.float32)) for x in leaves])
    return jax.jacfwd(flat_f)(flat_in)

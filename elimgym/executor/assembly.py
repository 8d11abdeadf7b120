"""Assembling the final input -> output edges into the Jacobian pytree ``jax.jacrev`` returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from graphs.lcg import LCG
from graphs.structure import Structure, embed

__all__ = ["dense_block", "jacobian_blocks", "nest_blocks"]

Edge = tuple[int, int]


def dense_block(value: Any, structure: Structure, target_shape: tuple[int, ...], source_shape: tuple[int, ...], dtype) -> jax.Array:
    """The full partial ``d target / d source`` (shape ``target_shape + source_shape``) from its
    structured value, by ``where``/broadcast only (no multiplications)."""
    full = Structure.full(len(target_shape), len(source_shape))
    return embed(value, structure, full, target_shape, source_shape).astype(dtype)


def jacobian_blocks(
    graph: LCG,
    edges: Mapping[Edge, Structure],
    values: Mapping[Edge, Any],
    output_vertices: Sequence[int],
    dtypes: Sequence[Any],
) -> list[list[jax.Array]]:
    """``blocks[o][i]``: the Jacobian of output leaf ``o`` with respect to input leaf ``i``.

    Args:
        graph: the LCG (its input vertex ``i`` is input leaf ``i``).
        edges: structures of the input -> output edges left after elimination.
        values: their values (None for units).
        output_vertices: the output vertex of each output leaf.
        dtypes: the dtype of each input leaf (``jax.jacrev`` returns blocks in the input's dtype).

    Returns:
        Dense blocks of shape ``output shape + input shape``; zeros where no path connects them.
    """
    blocks = []
    for o in output_vertices:
        row = []
        for i, dtype in zip(graph.inputs, dtypes):
            t_shape, s_shape = graph.vertices[o].shape, graph.vertices[i].shape
            if (i, o) in edges:
                row.append(dense_block(values[(i, o)], edges[(i, o)], t_shape, s_shape, dtype))
            else:
                row.append(jnp.zeros(t_shape + s_shape, dtype))
        blocks.append(row)
    return blocks


def nest_blocks(blocks: list[list[jax.Array]], out_tree: Any, diff_tree: Any) -> Any:
    """Nest ``blocks[o][i]`` like ``jax.jacrev``: the result's pytree with each output leaf
    replaced by a pytree shaped like the differentiated arguments."""
    per_output = [jax.tree_util.tree_unflatten(diff_tree, row) for row in blocks]
    return jax.tree_util.tree_unflatten(out_tree, per_output)

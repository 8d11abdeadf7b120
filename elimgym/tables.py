"""Lookup tables that let the JAX game apply the cost model to structure codes.

All tables are indexed by structure codes (:attr:`graphs.structure.Structure.code`, 0 = no edge)
and built once from :mod:`elimgym.cost`, so the JAX game and the host reference share one model.

For a pair ``b = code(p -> v)``, ``a = code(v -> s)``, flattened as ``b * NUM_CODES + a``:

* ``PRODUCT[pair]``: code of ``d s/d p`` (0 if either edge is missing);
* ``COST_MASKS[pair]``: which vertex axes' sizes multiply into the cost (see :func:`pair_cost`);
* ``JOIN[e * NUM_CODES + r]``: code of the sum of two partials of one edge.

Cost masks use one bit per vertex axis: bit 0/1 = axes 0/1 of ``s``, bits 2/3 of ``v``, bits 4/5
of ``p``. Bits 0-5 hold the main product's labels, bit 6 says whether there is a main product;
bits 8-13 and bit 14 do the same for the final scaling (see :class:`elimgym.cost.ProductPlan`).
"""

from __future__ import annotations

import functools

import numpy as np

from graphs.structure import DENSE, NUM_CODES, REPLICATED, TIED, Value, all_structures, join

from elimgym.cost import IncompatibleStructures, product

__all__ = ["NUM_CODES", "tables", "CODE_FEATURE_NAMES", "code_features", "Tables"]

_AXIS_BIT = {("s", 0): 0, ("s", 1): 1, ("v", 0): 2, ("v", 1): 3, ("p", 0): 4, ("p", 1): 5}
MAIN_FLAG = 1 << 6
SCALE_SHIFT = 8
SCALE_FLAG = 1 << 14


class Tables:
    """The tables as NumPy arrays (flattened pair index ``first * NUM_CODES + second``)."""

    def __init__(self) -> None:
        structures = (None,) + all_structures()
        n = NUM_CODES
        self.product = np.zeros(n * n, np.int16)
        self.cost_masks = np.zeros(n * n, np.int32)
        self.join = np.zeros(n * n, np.int16)
        for b_code in range(1, n):
            b = structures[b_code]
            for a_code in range(1, n):
                a = structures[a_code]
                pair = b_code * n + a_code
                try:
                    plan = product(a, b)
                except IncompatibleStructures:
                    continue
                self.product[pair] = plan.result.code
                mask = 0
                if plan.multiplies:
                    mask |= MAIN_FLAG
                    for label in plan.main_labels:
                        mask |= 1 << _AXIS_BIT[plan.label_axes[label]]
                if plan.scale_labels is not None:
                    mask |= SCALE_FLAG
                    for label in plan.scale_labels:
                        mask |= 1 << (SCALE_SHIFT + _AXIS_BIT[plan.label_axes[label]])
                self.cost_masks[pair] = mask
        for e_code in range(1, n):
            for r_code in range(1, n):
                e, r = structures[e_code], structures[r_code]
                if (e.target_rank, e.source_rank) == (r.target_rank, r.source_rank):
                    self.join[e_code * n + r_code] = join(e, r).code


@functools.lru_cache(maxsize=None)
def tables() -> Tables:
    """The (cached) lookup tables."""
    return Tables()


CODE_FEATURE_NAMES = (
    "present",
    "target_rank",
    "source_rank",
    "unit",
    "negated",
    "num_ties",
    "num_varying_ties",
    "num_dense_target_axes",
    "num_replicated_target_axes",
    "num_dense_source_axes",
    "num_constant_source_axes",
    "value_rank",
)
"""Names of the columns of :func:`code_features`."""


@functools.lru_cache(maxsize=None)
def code_features() -> np.ndarray:
    """``[NUM_CODES, len(CODE_FEATURE_NAMES)] float32``: a size-independent description of each
    structure code (row 0, "no edge", is all zeros), for agents that embed edge structures."""
    rows = [np.zeros(len(CODE_FEATURE_NAMES), np.float32)]
    for s in all_structures():
        rows.append(
            np.array(
                [
                    1,
                    s.target_rank,
                    s.source_rank,
                    s.value.is_unit,
                    s.value is Value.MINUS_ONE,
                    sum(t >= 0 for t in s.target),
                    sum(s.varying),
                    s.target.count(DENSE),
                    s.target.count(REPLICATED),
                    s.source.count(DENSE),
                    len(s.source) - s.source.count(DENSE) - s.source.count(TIED),
                    0 if s.value.is_unit else len(s.value_axes()),
                ],
                np.float32,
            )
        )
    return np.stack(rows)

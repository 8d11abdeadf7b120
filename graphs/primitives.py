"""Partial-Jacobian rules for JAX primitives.

For an equation ``out = prim(x_0, ..., x_m)`` the rule for operand ``k`` returns a
:class:`PartialRule`: the :class:`~graphs.structure.Structure` of ``d out / d x_k`` and a function
that computes its value ``V`` (in the structure's canonical axis order) from the operand and output
values. A rule returns ``None`` when the partial is identically zero (comparisons, ``sign``,
``stop_gradient``...). The derivative formulas follow the mathematical definitions, with the same
conventions as JAX at non-differentiable points (``abs'(0) = 1``, ties of ``max``/``min`` and of
``reduce_max``/``reduce_min`` split evenly), so that assembled Jacobians equal ``jax.jacrev``.

Slicing-like primitives (``slice``, ``concatenate``, ``pad``, ``rev``, ``dynamic_slice``,
``dynamic_update_slice`` and reshapes that merge or split non-unit axes) get a dense 0/1 selection
value along the axes they change: exact, but costed like any dense partial.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from graphs.structure import CONSTANT, DENSE, REPLICATED, TIED, Structure, Value

__all__ = ["PartialRule", "EquationInfo", "RULES", "ZERO_DERIVATIVE", "UnsupportedPrimitive", "partial_rule"]

Shape = tuple[int, ...]
ValueFn = Callable[[Sequence[Any], Any], Any]


@dataclass(frozen=True)
class PartialRule:
    """The partial ``d out / d x_k`` of one equation.

    Attributes:
        structure: its structure.
        value: ``value(operands, out) -> V`` with ``V`` of shape ``structure.value_shape(...)``;
            ``None`` for unit structures.
    """

    structure: Structure
    value: ValueFn | None


@dataclass(frozen=True)
class EquationInfo:
    """What a rule may read about an equation: shapes of operands and output, and the params."""

    primitive: str
    in_shapes: tuple[Shape, ...]
    out_shape: Shape
    params: dict


Rule = Callable[[EquationInfo, int], PartialRule | None]


class UnsupportedPrimitive(ValueError):
    """A primitive (or a variant of one) that the tracer cannot turn into LCG edges."""

ZERO_DERIVATIVE = frozenset(
    {"sign", "floor", "ceil", "round", "stop_gradient", "is_finite", "nextafter", "random_bits"}
)
"""Primitives whose partials are identically zero: their outputs are constants of the LCG."""


# --------------------------------------------------------------------------- elementwise
def _elementwise(
    eq: EquationInfo,
    k: int,
    derivative: Callable[[Sequence[Any], Any], Any] | None,
    depends_on: Sequence[int] = (),
    uses_out: bool = False,
    unit: Value = Value.GENERAL,
) -> PartialRule:
    """Partial of an elementwise primitive w.r.t. operand ``k`` (operands broadcast to the output).

    Args:
        derivative: ``(operands, out) -> d out / d x_k`` elementwise, broadcastable to the output.
        depends_on: operand indices the derivative reads (decides along which axes it varies).
        uses_out: whether the derivative reads the output.
        unit: ``Value.ONE``/``MINUS_ONE`` for a constant +-1 derivative (then ``derivative`` is None).
    """
    out_shape = eq.out_shape
    rank = len(out_shape)
    x_shape = eq.in_shapes[k]

    def aligned(shape: Shape) -> bool:
        return len(shape) == rank

    varies = []
    for d in range(rank):
        if out_shape[d] == 1 or unit.is_unit:
            varies.append(False)
            continue
        v = uses_out or any(aligned(eq.in_shapes[m]) and eq.in_shapes[m][d] > 1 for m in depends_on)
        varies.append(v)
    target, varying = [], []
    for d in range(rank):
        if aligned(x_shape) and x_shape[d] == out_shape[d]:
            target.append(d)
            varying.append(varies[d])
        else:
            target.append(DENSE if varies[d] else REPLICATED)
            varying.append(False)
    source = [TIED if d in target else CONSTANT for d in range(len(x_shape))]
    structure = Structure(tuple(target), tuple(source), tuple(varying), unit)
    if unit.is_unit:
        return PartialRule(structure, None)
    value_dims = [d for d in range(rank) if target[d] == DENSE or varying[d]]

    def value(operands, out):
        full = jnp.broadcast_to(jnp.asarray(derivative(operands, out), out.dtype), out_shape)
        return full[tuple(slice(None) if d in value_dims else 0 for d in range(rank))]

    return PartialRule(structure, value)


def _unary(derivative: Callable[[Any, Any], Any], uses_out: bool = False) -> Rule:
    """Rule for ``out = f(x)``; ``derivative(x, out)`` is ``f'(x)``."""

    def rule(eq: EquationInfo, k: int) -> PartialRule:
        return _elementwise(eq, k, lambda ops, out: derivative(ops[0], out), depends_on=(0,), uses_out=uses_out)

    return rule


def _unit(sign: int) -> Rule:
    def rule(eq: EquationInfo, k: int) -> PartialRule:
        return _elementwise(eq, k, None, unit=Value.ONE if sign > 0 else Value.MINUS_ONE)

    return rule


def _binary(dx: Callable | None, dy: Callable | None, unit_x: int = 0, unit_y: int = 0, uses_out: bool = False) -> Rule:
    """Rule for ``out = f(x, y)`` with broadcasting; ``dx(x, y, out)``/``dy(x, y, out)``."""

    def rule(eq: EquationInfo, k: int) -> PartialRule:
        derivative, unit = (dx, unit_x) if k == 0 else (dy, unit_y)
        if unit:
            return _elementwise(eq, k, None, unit=Value.ONE if unit > 0 else Value.MINUS_ONE)
        return _elementwise(
            eq, k, lambda ops, out: derivative(ops[0], ops[1], out), depends_on=(0, 1), uses_out=uses_out
        )

    return rule


def _balanced(x, other, out):
    """``d max(x, other) / d x`` (and the same for min) with ties split evenly, as in JAX."""
    return jnp.where(x == out, 1.0, 0.0) / jnp.where(other == out, 2.0, 1.0)


def _integer_pow(eq: EquationInfo, k: int) -> PartialRule | None:
    n = eq.params["y"]
    if n == 0:
        return None
    if n == 1:
        return _elementwise(eq, k, None, unit=Value.ONE)
    return _elementwise(eq, k, lambda ops, out: n * jax.lax.integer_pow(ops[0], n - 1), depends_on=(0,))


def _pow(eq: EquationInfo, k: int) -> PartialRule:
    def d_base(ops, out):
        x, y = jnp.asarray(ops[0]), jnp.asarray(ops[1])
        if jnp.issubdtype(y.dtype, jnp.integer):
            yf = y.astype(out.dtype)
            return jnp.where(y == 0, 0.0, yf * jnp.power(x, yf - 1))
        return y * jnp.power(x, y - 1)

    def d_exponent(ops, out):
        x = jnp.asarray(ops[0])
        return jnp.log(jnp.where(x == 0, jnp.ones_like(x), x)) * out

    derivative = d_base if k == 0 else d_exponent
    return _elementwise(eq, k, derivative, depends_on=(0, 1), uses_out=(k == 1))


def _select_n(eq: EquationInfo, k: int) -> PartialRule | None:
    if k == 0:
        return None
    case = k - 1
    return _elementwise(eq, k, lambda ops, out: jnp.asarray(ops[0]).astype(jnp.int32) == case, depends_on=(0,))


def _clamp(eq: EquationInfo, k: int) -> PartialRule:
    conditions = {
        0: lambda lo, x, hi: (lo > x) & (lo < hi),
        1: lambda lo, x, hi: (x > lo) & (x < hi),
        2: lambda lo, x, hi: hi < x,
    }
    condition = conditions[k]
    return _elementwise(eq, k, lambda ops, out: condition(*ops), depends_on=(0, 1, 2))


ELEMENTWISE: dict[str, Rule] = {
    "neg": _unit(-1),
    "copy": _unit(1),
    "copy_p": _unit(1),
    "reduce_precision": _unit(1),
    "convert_element_type": _unit(1),
    "optimization_barrier": _unit(1),
    "abs": _unary(lambda x, y: jnp.where(x >= 0, 1.0, -1.0)),
    "exp": _unary(lambda x, y: y, uses_out=True),
    "exp2": _unary(lambda x, y: np.log(2.0) * y, uses_out=True),
    "expm1": _unary(lambda x, y: y + 1, uses_out=True),
    "log": _unary(lambda x, y: 1 / x),
    "log1p": _unary(lambda x, y: 1 / (x + 1)),
    "sin": _unary(lambda x, y: jnp.cos(x)),
    "cos": _unary(lambda x, y: -jnp.sin(x)),
    "tan": _unary(lambda x, y: 1 + y * y, uses_out=True),
    "asin": _unary(lambda x, y: jax.lax.rsqrt(1 - x * x)),
    "acos": _unary(lambda x, y: -jax.lax.rsqrt(1 - x * x)),
    "atan": _unary(lambda x, y: 1 / (1 + x * x)),
    "sinh": _unary(lambda x, y: jnp.cosh(x)),
    "cosh": _unary(lambda x, y: jnp.sinh(x)),
    "tanh": _unary(lambda x, y: (1 + y) * (1 - y), uses_out=True),
    "asinh": _unary(lambda x, y: jax.lax.rsqrt(x * x + 1)),
    "acosh": _unary(lambda x, y: jax.lax.rsqrt(x * x - 1)),
    "atanh": _unary(lambda x, y: 1 / (1 + x) / (1 - x)),
    "sqrt": _unary(lambda x, y: 0.5 / y, uses_out=True),
    "rsqrt": _unary(lambda x, y: -0.5 * y / x, uses_out=True),
    "cbrt": _unary(lambda x, y: jax.lax.integer_pow(y, -2) / 3, uses_out=True),
    "logistic": _unary(lambda x, y: y * (1 - y), uses_out=True),
    "erf": _unary(lambda x, y: 2 / np.sqrt(np.pi) * jnp.exp(-x * x)),
    "erfc": _unary(lambda x, y: -2 / np.sqrt(np.pi) * jnp.exp(-x * x)),
    "erf_inv": _unary(lambda x, y: np.sqrt(np.pi) / 2 * jnp.exp(y * y), uses_out=True),
    "lgamma": _unary(lambda x, y: jax.scipy.special.digamma(x)),
    "digamma": _unary(lambda x, y: jax.scipy.special.polygamma(1, x)),
    "square": _unary(lambda x, y: 2 * x),
    "integer_pow": _integer_pow,
    "add": _binary(None, None, unit_x=1, unit_y=1),
    "add_any": _binary(None, None, unit_x=1, unit_y=1),
    "sub": _binary(None, None, unit_x=1, unit_y=-1),
    "mul": _binary(lambda x, y, z: y, lambda x, y, z: x),
    "div": _binary(lambda x, y, z: 1 / y, lambda x, y, z: -x * jax.lax.integer_pow(y, -2)),
    "max": _binary(lambda x, y, z: _balanced(x, y, z), lambda x, y, z: _balanced(y, x, z), uses_out=True),
    "min": _binary(lambda x, y, z: _balanced(x, y, z), lambda x, y, z: _balanced(y, x, z), uses_out=True),
    "atan2": _binary(lambda x, y, z: y / (x * x + y * y), lambda x, y, z: -x / (x * x + y * y)),
    "rem": _binary(None, lambda x, y, z: -jnp.sign(x / y) * jnp.floor(jnp.abs(x / y)), unit_x=1),
    "pow": _pow,
    "select_n": _select_n,
    "clamp": _clamp,
}


# -------------------------------------------------------------------------- dot_general
def _dot_general(eq: EquationInfo, k: int) -> PartialRule:
    """``d (lhs . rhs) / d lhs`` is ``rhs`` rearranged (and symmetrically for ``rhs``)."""
    (lhs_contract, rhs_contract), (lhs_batch, rhs_batch) = eq.params["dimension_numbers"]
    contract = (tuple(lhs_contract), tuple(rhs_contract))
    batch = (tuple(lhs_batch), tuple(rhs_batch))
    free = tuple(
        [d for d in range(len(eq.in_shapes[side])) if d not in contract[side] and d not in batch[side]]
        for side in (0, 1)
    )
    other = 1 - k
    # Output axes are: batch axes, then lhs free axes, then rhs free axes.
    target, varying, value_perm = [], [], []
    for mine, theirs in zip(batch[k], batch[other]):
        target.append(mine)
        varying.append(True)
        value_perm.append(theirs)
    for side in (0, 1):
        for d in free[side]:
            if side == k:
                target.append(d)
                varying.append(False)
            else:
                target.append(DENSE)
                varying.append(False)
                value_perm.append(d)
    source = []
    for d in range(len(eq.in_shapes[k])):
        if d in contract[k]:
            source.append(DENSE)
            value_perm.append(contract[other][contract[k].index(d)])
        else:
            source.append(TIED)
    structure = Structure(tuple(target), tuple(source), tuple(varying), Value.GENERAL)

    def value(operands, out):
        return jnp.transpose(jnp.asarray(operands[other], out.dtype), value_perm)

    return PartialRule(structure, value)


# ---------------------------------------------------------------------------- reductions
def _reduce_sum(eq: EquationInfo, k: int) -> PartialRule:
    axes = tuple(eq.params["axes"])
    kept = [d for d in range(len(eq.in_shapes[0])) if d not in axes]
    source = [CONSTANT if d in axes else TIED for d in range(len(eq.in_shapes[0]))]
    return PartialRule(Structure(tuple(kept), tuple(source), (False,) * len(kept), Value.ONE), None)


def _reduce_choose(eq: EquationInfo, k: int) -> PartialRule:
    """reduce_max / reduce_min: an indicator of the chosen entries, ties split evenly."""
    axes = tuple(eq.params["axes"])
    in_shape = eq.in_shapes[0]
    kept = [d for d in range(len(in_shape)) if d not in axes]
    source = [DENSE if d in axes else TIED for d in range(len(in_shape))]
    structure = Structure(tuple(kept), tuple(source), (True,) * len(kept), Value.GENERAL)
    perm = kept + [d for d in range(len(in_shape)) if d in axes]

    def value(operands, out):
        x = jnp.asarray(operands[0])
        chosen = (x == jnp.expand_dims(out, axes)).astype(out.dtype)
        share = chosen / jnp.sum(chosen, axis=axes, keepdims=True)
        return jnp.transpose(share, perm)

    return PartialRule(structure, value)


# ------------------------------------------------------------------------ shape changes
def _broadcast_in_dim(eq: EquationInfo, k: int) -> PartialRule | None:
    if k != 0:
        return None
    in_shape, out_shape = eq.in_shapes[0], eq.out_shape
    dims = tuple(eq.params["broadcast_dimensions"])
    target = [REPLICATED] * len(out_shape)
    source = []
    for d, o in enumerate(dims):
        if in_shape[d] == out_shape[o]:
            target[o] = d
            source.append(TIED)
        else:
            source.append(CONSTANT)
    return PartialRule(Structure(tuple(target), tuple(source), (False,) * len(out_shape), Value.ONE), None)


def _unit_axes_map(in_shape: Shape, out_shape: Shape) -> Structure | None:
    """Structure of a reshape that only inserts or removes unit axes (None otherwise)."""
    in_axes = [d for d, n in enumerate(in_shape) if n != 1]
    out_axes = [d for d, n in enumerate(out_shape) if n != 1]
    if [in_shape[d] for d in in_axes] != [out_shape[d] for d in out_axes]:
        return None
    target = [REPLICATED] * len(out_shape)
    source = [CONSTANT] * len(in_shape)
    for o, d in zip(out_axes, in_axes):
        target[o] = d
        source[d] = TIED
    return Structure(tuple(target), tuple(source), (False,) * len(out_shape), Value.ONE)


def _reshape(eq: EquationInfo, k: int) -> PartialRule | None:
    if k != 0:
        return None
    if eq.params.get("dimensions") is not None:
        raise UnsupportedPrimitive("reshape with a 'dimensions' permutation is not supported")
    in_shape, out_shape = eq.in_shapes[0], eq.out_shape
    structure = _unit_axes_map(in_shape, out_shape)
    if structure is not None:
        return PartialRule(structure, None)
    size = int(np.prod(in_shape, dtype=np.int64))
    selection = np.eye(size).reshape(out_shape + in_shape)
    return _constant_rule(Structure.full(len(out_shape), len(in_shape)), selection)


def _squeeze(eq: EquationInfo, k: int) -> PartialRule:
    return PartialRule(_unit_axes_map(eq.in_shapes[0], eq.out_shape), None)


def _transpose(eq: EquationInfo, k: int) -> PartialRule:
    perm = tuple(eq.params["permutation"])
    rank = len(perm)
    return PartialRule(Structure(perm, (TIED,) * rank, (False,) * rank, Value.ONE), None)


# --------------------------------------------------------------------- selections (0/1)
def _constant_rule(structure: Structure, array: np.ndarray) -> PartialRule:
    def value(operands, out):
        return jnp.asarray(array, out.dtype)

    return PartialRule(structure, value)


def _selection_structure(changed: Sequence[bool]) -> Structure:
    """Structure of a partial that is an identity along unchanged axes and a selection along the others."""
    rank = len(changed)
    target = tuple(DENSE if c else d for d, c in enumerate(changed))
    source = tuple(DENSE if c else TIED for c in changed)
    return Structure(target, source, (False,) * rank, Value.GENERAL)


def _outer(matrices: Sequence[Any], xp=np):
    """``V[t_1..t_m, s_1..s_m] = prod_d M_d[t_d, s_d]`` for selection matrices ``M_d``."""
    m = len(matrices)
    letters = "abcdefgh"
    spec = ",".join(letters[d] + letters[d + m] for d in range(m))
    return xp.einsum(spec + "->" + letters[:m] + letters[m : 2 * m], *matrices)


def _selection_rule(changed: Sequence[bool], matrices: Sequence[np.ndarray]) -> PartialRule | None:
    if not any(changed):
        return PartialRule(Structure.identity(len(changed)), None)
    return _constant_rule(_selection_structure(changed), _outer(matrices))


def _slice(eq: EquationInfo, k: int) -> PartialRule | None:
    in_shape, out_shape = eq.in_shapes[0], eq.out_shape
    starts = eq.params["start_indices"]
    strides = eq.params["strides"] or (1,) * len(in_shape)
    changed, matrices = [], []
    for d, (n, m) in enumerate(zip(in_shape, out_shape)):
        if n == m and starts[d] == 0:
            changed.append(False)
            continue
        changed.append(True)
        s = np.zeros((m, n))
        s[np.arange(m), starts[d] + strides[d] * np.arange(m)] = 1.0
        matrices.append(s)
    return _selection_rule(changed, matrices)


def _rev(eq: EquationInfo, k: int) -> PartialRule | None:
    dims = tuple(eq.params["dimensions"])
    changed = [d in dims and n > 1 for d, n in enumerate(eq.out_shape)]
    matrices = [np.eye(n)[::-1] for d, n in enumerate(eq.out_shape) if changed[d]]
    return _selection_rule(changed, matrices)


def _concatenate(eq: EquationInfo, k: int) -> PartialRule | None:
    axis = eq.params["dimension"]
    offset = sum(shape[axis] for shape in eq.in_shapes[:k])
    n, m = eq.in_shapes[k][axis], eq.out_shape[axis]
    changed = [d == axis and n != m for d in range(len(eq.out_shape))]
    s = np.zeros((m, n))
    s[offset + np.arange(n), np.arange(n)] = 1.0
    return _selection_rule(changed, [s] if changed[axis] else [])


def _pad(eq: EquationInfo, k: int) -> PartialRule | None:
    config = [tuple(int(c) for c in axis) for axis in eq.params["padding_config"]]
    in_shape, out_shape = eq.in_shapes[0], eq.out_shape
    matrices, changed, positions = [], [], []
    for d, (lo, hi, interior) in enumerate(config):
        n, m = in_shape[d], out_shape[d]
        pos = lo + np.arange(n) * (interior + 1)
        positions.append(pos)
        if (lo, hi, interior) == (0, 0, 0):
            changed.append(False)
            continue
        changed.append(True)
        s = np.zeros((m, n))
        keep = (pos >= 0) & (pos < m)
        s[pos[keep], np.arange(n)[keep]] = 1.0
        matrices.append(s)
    if k == 0:
        return _selection_rule(changed, matrices)
    # Partial w.r.t. the padding value: 1 where the output does not come from the operand.
    grids = np.meshgrid(*[p[(p >= 0) & (p < m)] for p, m in zip(positions, out_shape)], indexing="ij")
    from_operand = np.zeros(out_shape, bool)
    from_operand[tuple(grids)] = True
    mask = (~from_operand).astype(float)
    if not mask.any():
        return None
    rank = len(out_shape)
    return _constant_rule(Structure((DENSE,) * rank, (), (False,) * rank, Value.GENERAL), mask)


def _dynamic_slice(eq: EquationInfo, k: int) -> PartialRule | None:
    if k != 0:
        return None
    in_shape, out_shape = eq.in_shapes[0], eq.out_shape
    changed = [n != m for n, m in zip(in_shape, out_shape)]
    if not any(changed):
        return PartialRule(Structure.identity(len(in_shape)), None)

    def value(operands, out):
        matrices = []
        for d, (n, m) in enumerate(zip(in_shape, out_shape)):
            if changed[d]:
                start = jnp.clip(jnp.asarray(operands[1 + d]), 0, n - m)
                matrices.append(jax.nn.one_hot(start + jnp.arange(m), n, dtype=out.dtype))
        return _outer(matrices, jnp)

    return PartialRule(_selection_structure(changed), value)


def _dynamic_update_slice(eq: EquationInfo, k: int) -> PartialRule | None:
    if k >= 2:
        return None
    op_shape, up_shape = eq.in_shapes[0], eq.in_shapes[1]
    rank = len(op_shape)

    def starts(operands):
        return [jnp.clip(jnp.asarray(operands[2 + d]), 0, op_shape[d] - up_shape[d]) for d in range(rank)]

    if k == 0:
        structure = Structure(tuple(range(rank)), (TIED,) * rank, (True,) * rank, Value.GENERAL)

        def keep_value(operands, out):
            inside = jnp.ones((), bool)
            for d, start in enumerate(starts(operands)):
                idx = jnp.arange(op_shape[d]).reshape([-1 if e == d else 1 for e in range(rank)])
                inside = inside & (idx >= start) & (idx < start + up_shape[d])
            return jnp.where(inside, 0.0, 1.0).astype(out.dtype)

        return PartialRule(structure, keep_value)
    changed = [n != m for n, m in zip(op_shape, up_shape)]
    if not any(changed):
        return PartialRule(Structure.identity(rank), None)

    def update_value(operands, out):
        matrices = []
        for d, start in enumerate(starts(operands)):
            if changed[d]:
                matrices.append(jax.nn.one_hot(start + jnp.arange(up_shape[d]), op_shape[d], dtype=out.dtype).T)
        return _outer(matrices, jnp)

    return PartialRule(_selection_structure(changed), update_value)


RULES: dict[str, Rule] = {
    **ELEMENTWISE,
    "dot_general": _dot_general,
    "reduce_sum": _reduce_sum,
    "reduce_max": _reduce_choose,
    "reduce_min": _reduce_choose,
    "broadcast_in_dim": _broadcast_in_dim,
    "reshape": _reshape,
    "squeeze": _squeeze,
    "transpose": _transpose,
    "slice": _slice,
    "rev": _rev,
    "concatenate": _concatenate,
    "pad": _pad,
    "dynamic_slice": _dynamic_slice,
    "dynamic_update_slice": _dynamic_update_slice,
}
"""Partial rules by primitive name."""


def partial_rule(eq: EquationInfo, k: int) -> PartialRule | None:
    """The partial of ``eq`` w.r.t. operand ``k`` (None if it is identically zero).

    Raises:
        KeyError: if the primitive has no rule (the tracer checks :data:`RULES` first).
        UnsupportedPrimitive: for a variant of a primitive that cannot be expressed.
    """
    if eq.primitive in ZERO_DERIVATIVE:
        return None
    return RULES[eq.primitive](eq, k)

"""Sparsity structure of one partial Jacobian (one LCG edge).

An edge ``p -> t`` carries the partial Jacobian ``J = d t / d p``: an array of shape
``t.shape + p.shape``. Its *structure* says which entries can be non-zero and which ones are
equal, so that products and sums of partials can be done without materialising ``J``.

Every axis of ``J`` gets a *label*. A target axis and a source axis that share a label are tied
by a Kronecker delta (``J`` is zero unless the two indices agree; they must have equal sizes).
All other axes carry a label of their own. The partial is then

    J[t..., p...] = V[labels in V] * prod(delta(tied pairs))

where the *value* ``V`` is indexed by a subset of the labels:

* a label in ``V`` on an untied axis is a **dense** axis;
* a target label not in ``V`` is **replicated** (``J`` is constant along it: broadcast);
* a source label not in ``V`` is **constant** (``J`` is constant along it: a sum);
* a tied label in ``V`` is a **diagonal** (the value varies along the tie), a tied label not in
  ``V`` is an identity/permutation;
* the whole value may be the constant ``+1`` (a *copy*: multiplying by it is free) or ``-1``
  (a negated copy: multiplying by it is a free sign flip); then no label is in ``V``.

The notation used by :meth:`Structure.parse` and ``str()`` spells this out, e.g.

========================  ==========================================================
``"ij<-ij:[ij]"``         elementwise function of a matrix (diagonal)
``"ij<-ij:1"``            copy / identity of a matrix
``"ij<-ji:1"``            transpose
``"ij<-j:1"``             broadcast of a vector along a new leading axis
``"<-i:1"``               sum of a vector
``"i<-j:[ij]"``           dense (matrix-vector product w.r.t. the vector)
``"i<-ij:[j]"``           matrix-vector product w.r.t. the matrix
``"i<-i:-1"``             negation
========================  ==========================================================

Vertices have rank at most :data:`MAX_RANK` (scalars, vectors, matrices); every structure of
that rank is enumerated once, which gives each a small integer :attr:`Structure.code` used by the
padded tensor encoding of the JAX game (code 0 means "no edge").
"""

from __future__ import annotations

import enum
import functools
import itertools
import string
from dataclasses import dataclass

__all__ = [
    "MAX_RANK",
    "Value",
    "DENSE",
    "REPLICATED",
    "CONSTANT",
    "TIED",
    "Structure",
    "StructureError",
    "NUM_CODES",
    "all_structures",
]

MAX_RANK = 2
"""Largest rank of a vertex (0 scalar, 1 vector, 2 matrix)."""

DENSE = -1
"""Axis kind of an untied axis that indexes the value."""
REPLICATED = -2
"""Target axis kind: untied, the value does not depend on it (broadcast)."""
CONSTANT = -2
"""Source axis kind: untied, the value does not depend on it (summed)."""
TIED = -3
"""Source axis kind: tied to a target axis."""


class StructureError(ValueError):
    """A structure that is malformed or does not fit the shapes of its vertices."""


class Value(enum.IntEnum):
    """What the value ``V`` of a partial is."""

    GENERAL = 0
    ONE = 1
    MINUS_ONE = 2

    @property
    def is_unit(self) -> bool:
        """Whether the value is the constant +1 or -1 (multiplying by it is free)."""
        return self is not Value.GENERAL

    @property
    def sign(self) -> int:
        """+1 or -1 for unit values."""
        return -1 if self is Value.MINUS_ONE else 1


@dataclass(frozen=True)
class Structure:
    """The structure of a partial Jacobian ``d target / d source``.

    Attributes:
        target: one entry per target axis: the index of the source axis it is tied to, or
            ``DENSE`` or ``REPLICATED``.
        source: one entry per source axis: ``TIED``, ``DENSE`` or ``CONSTANT``.
        varying: one entry per target axis: for a tied axis, whether the value varies along the
            tie (a diagonal); always False for untied axes.
        value: ``Value.GENERAL`` or a unit value (``ONE``/``MINUS_ONE``).
    """

    target: tuple[int, ...]
    source: tuple[int, ...]
    varying: tuple[bool, ...]
    value: Value = Value.GENERAL

    def __post_init__(self) -> None:
        if len(self.target) > MAX_RANK or len(self.source) > MAX_RANK:
            raise StructureError(f"rank above {MAX_RANK} in structure {self._raw()}")
        if len(self.varying) != len(self.target):
            raise StructureError(f"varying must have one flag per target axis: {self._raw()}")
        object.__setattr__(self, "value", Value(self.value))
        tied_sources = [t for t in self.target if t >= 0]
        if len(set(tied_sources)) != len(tied_sources):
            raise StructureError(f"a source axis is tied to two target axes: {self._raw()}")
        for j, kind in enumerate(self.source):
            if (kind == TIED) != (j in tied_sources):
                raise StructureError(f"source axis {j} tie marker disagrees with target: {self._raw()}")
            if kind not in (TIED, DENSE, CONSTANT):
                raise StructureError(f"bad source axis kind {kind}: {self._raw()}")
        for i, kind in enumerate(self.target):
            if kind >= len(self.source) or kind < REPLICATED:
                raise StructureError(f"bad target axis kind {kind}: {self._raw()}")
            if self.varying[i] and kind < 0:
                raise StructureError(f"untied target axis {i} marked varying: {self._raw()}")
        if self.value.is_unit and (
            any(self.varying) or DENSE in self.target or DENSE in self.source
        ):
            raise StructureError(f"a unit value cannot vary along any axis: {self._raw()}")

    def _raw(self) -> str:
        return f"(target={self.target}, source={self.source}, varying={self.varying}, value={self.value!r})"

    # ----------------------------------------------------------------------------- views
    @property
    def target_rank(self) -> int:
        return len(self.target)

    @property
    def source_rank(self) -> int:
        return len(self.source)

    def labels(self) -> tuple[str, str, str]:
        """Letters of the target axes, of the source axes, and of the value's axes (canonical order)."""
        letters = iter(string.ascii_lowercase)
        target_labels = [next(letters) for _ in self.target]
        source_labels = [""] * len(self.source)
        for i, j in enumerate(self.target):
            if j >= 0:
                source_labels[j] = target_labels[i]
        for j in range(len(self.source)):
            if not source_labels[j]:
                source_labels[j] = next(letters)
        return "".join(target_labels), "".join(source_labels), "".join(
            target_labels[a] if side == "t" else source_labels[a] for side, a in self.value_axes()
        )

    def value_axes(self) -> tuple[tuple[str, int], ...]:
        """Axes of ``V`` in canonical order: ``("t", i)`` for dense or varying-tied target axes,
        then ``("s", j)`` for dense source axes."""
        axes = [("t", i) for i, kind in enumerate(self.target) if kind == DENSE or self.varying[i]]
        axes += [("s", j) for j, kind in enumerate(self.source) if kind == DENSE]
        return tuple(axes)

    def value_shape(self, target_shape: tuple[int, ...], source_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of ``V`` for the given vertex shapes."""
        return tuple(target_shape[a] if side == "t" else source_shape[a] for side, a in self.value_axes())

    def value_size(self, target_shape: tuple[int, ...], source_shape: tuple[int, ...]) -> int:
        """Number of entries of ``V`` (0 for a unit value, which is never stored)."""
        if self.value.is_unit:
            return 0
        size = 1
        for n in self.value_shape(target_shape, source_shape):
            size *= n
        return size

    def check_shapes(self, target_shape: tuple[int, ...], source_shape: tuple[int, ...]) -> None:
        """Raise :class:`StructureError` unless the structure fits these vertex shapes."""
        if len(target_shape) != self.target_rank or len(source_shape) != self.source_rank:
            raise StructureError(
                f"structure {self} has ranks ({self.target_rank}, {self.source_rank}) but the "
                f"vertices have shapes {target_shape} and {source_shape}"
            )
        for i, j in enumerate(self.target):
            if j >= 0 and target_shape[i] != source_shape[j]:
                raise StructureError(
                    f"structure {self} ties target axis {i} (size {target_shape[i]}) to source "
                    f"axis {j} (size {source_shape[j]}): sizes differ"
                )

    def dense(self, target_shape: tuple[int, ...], source_shape: tuple[int, ...], value=None):
        """The full Jacobian ``J`` as a NumPy array of shape ``target_shape + source_shape``.

        ``value`` is ``V`` (shape :meth:`value_shape`); it is ignored for unit values.
        """
        import numpy as np

        self.check_shapes(target_shape, source_shape)
        t_labels, s_labels, v_labels = self.labels()
        if self.value.is_unit:
            v = np.asarray(float(self.value.sign))
            v_labels = ""
        else:
            v = np.asarray(value, dtype=np.float64)
            expected = self.value_shape(target_shape, source_shape)
            if v.shape != expected:
                raise StructureError(f"value of {self} has shape {v.shape}, expected {expected}")
        sizes = dict(zip(t_labels, target_shape)) | dict(zip(s_labels, source_shape))
        # J = einsum of V, one identity per tie and one vector of ones per axis V does not index.
        operands, specs = [v], [v_labels]
        for c in t_labels:
            if c in s_labels:
                operands.append(np.eye(sizes[c]))
                specs.append(c + c.upper())
            elif c not in v_labels:
                operands.append(np.ones(sizes[c]))
                specs.append(c)
        for c in s_labels:
            if c not in t_labels and c not in v_labels:
                operands.append(np.ones(sizes[c]))
                specs.append(c)
        out_labels = t_labels + "".join(c.upper() if c in t_labels else c for c in s_labels)
        return np.einsum(",".join(specs) + "->" + out_labels, *operands)

    # --------------------------------------------------------------------------- notation
    def __str__(self) -> str:
        t_labels, s_labels, v_labels = self.labels()
        if self.value is Value.ONE:
            value = "1"
        elif self.value is Value.MINUS_ONE:
            value = "-1"
        else:
            value = f"[{v_labels}]"
        return f"{t_labels}<-{s_labels}:{value}"

    def __repr__(self) -> str:
        return f"Structure({str(self)!r})"

    @classmethod
    def parse(cls, text: str) -> "Structure":
        """Parse the notation ``"<target labels><-<source labels>:<value>"``.

        ``<value>`` is ``1``, ``-1`` or ``[<labels of V>]``. Every label is one lowercase letter;
        a letter on both sides ties those axes; a letter may appear at most once per side.
        """
        try:
            head, value_text = text.replace(" ", "").split(":")
            t_labels, s_labels = head.split("<-")
        except ValueError:
            raise StructureError(f"cannot parse structure {text!r}: expected 'tt<-ss:value'") from None
        if len(set(t_labels)) != len(t_labels) or len(set(s_labels)) != len(s_labels):
            raise StructureError(f"structure {text!r} repeats a label on one side")
        if value_text == "1":
            value, v_labels = Value.ONE, ""
        elif value_text == "-1":
            value, v_labels = Value.MINUS_ONE, ""
        elif value_text.startswith("[") and value_text.endswith("]"):
            value, v_labels = Value.GENERAL, value_text[1:-1]
        else:
            raise StructureError(f"structure {text!r}: value must be 1, -1 or [labels]")
        unknown = set(v_labels) - set(t_labels) - set(s_labels)
        if unknown:
            raise StructureError(f"structure {text!r}: value labels {sorted(unknown)} name no axis")
        target, varying = [], []
        for c in t_labels:
            if c in s_labels:
                target.append(s_labels.index(c))
                varying.append(c in v_labels)
            else:
                target.append(DENSE if c in v_labels else REPLICATED)
                varying.append(False)
        source = [TIED if c in t_labels else (DENSE if c in v_labels else CONSTANT) for c in s_labels]
        return cls(tuple(target), tuple(source), tuple(varying), value)

    # ------------------------------------------------------------------------------ codes
    @property
    def code(self) -> int:
        """Small positive integer identifying this structure (0 is reserved for "no edge")."""
        return _code_of()[self]

    @classmethod
    def from_code(cls, code: int) -> "Structure":
        """Inverse of :attr:`code`."""
        table = all_structures()
        if not 1 <= code <= len(table):
            raise StructureError(f"structure code {code} is not in 1..{len(table)}")
        return table[code - 1]

    # --------------------------------------------------------------------- constructors
    @classmethod
    def identity(cls, rank: int, value: Value = Value.ONE) -> "Structure":
        """Copy (or negated copy) of a tensor of the given rank."""
        return cls(tuple(range(rank)), (TIED,) * rank, (False,) * rank, value)

    @classmethod
    def diagonal(cls, rank: int) -> "Structure":
        """Elementwise function of a tensor of the given rank."""
        return cls(tuple(range(rank)), (TIED,) * rank, (True,) * rank, Value.GENERAL)

    @classmethod
    def full(cls, target_rank: int, source_rank: int) -> "Structure":
        """A dense partial: every axis indexes the value."""
        return cls((DENSE,) * target_rank, (DENSE,) * source_rank, (False,) * target_rank, Value.GENERAL)


@functools.lru_cache(maxsize=None)
def all_structures() -> tuple[Structure, ...]:
    """Every structure with target and source rank at most :data:`MAX_RANK`, in code order."""
    found: list[Structure] = []
    for target_rank, source_rank in itertools.product(range(MAX_RANK + 1), repeat=2):
        target_kinds = [DENSE, REPLICATED, *range(source_rank)]
        for target in itertools.product(target_kinds, repeat=target_rank):
            tied = [j for j in target if j >= 0]
            if len(set(tied)) != len(tied):
                continue
            free_sources = [j for j in range(source_rank) if j not in tied]
            tie_positions = [i for i, j in enumerate(target) if j >= 0]
            for source_free in itertools.product([DENSE, CONSTANT], repeat=len(free_sources)):
                source = [TIED] * source_rank
                for j, kind in zip(free_sources, source_free):
                    source[j] = kind
                for varying_ties in itertools.product([False, True], repeat=len(tie_positions)):
                    varying = [False] * target_rank
                    for i, flag in zip(tie_positions, varying_ties):
                        varying[i] = flag
                    for value in Value:
                        try:
                            found.append(Structure(tuple(target), tuple(source), tuple(varying), value))
                        except StructureError:
                            continue
    return tuple(found)


@functools.lru_cache(maxsize=None)
def _code_of() -> dict[Structure, int]:
    return {s: k + 1 for k, s in enumerate(all_structures())}


NUM_CODES = len(all_structures()) + 1
"""Number of edge codes including 0 ("no edge")."""


@functools.lru_cache(maxsize=None)
def join(left: Structure, right: Structure) -> Structure:
    """Structure of the sum of two partials of the same edge.

    A tie survives only where both operands have it (varying if either varies); every other axis
    that either operand ties or indexes becomes dense; an axis both operands replicate (target)
    or hold constant (source) stays so. The value is general. Summing costs no multiplications.
    """
    if left.target_rank != right.target_rank or left.source_rank != right.source_rank:
        raise StructureError(f"cannot add {left} and {right}: ranks differ")
    target, varying = [], []
    for i, (lk, rk) in enumerate(zip(left.target, right.target)):
        if lk >= 0 and lk == rk:
            target.append(lk)
            varying.append(left.varying[i] or right.varying[i])
        else:
            target.append(REPLICATED if lk == rk == REPLICATED else DENSE)
            varying.append(False)
    kept_ties = {j for j in target if j >= 0}
    source = []
    for j, (lk, rk) in enumerate(zip(left.source, right.source)):
        if j in kept_ties:
            source.append(TIED)
        else:
            source.append(CONSTANT if lk == rk == CONSTANT else DENSE)
    return Structure(tuple(target), tuple(source), tuple(varying), Value.GENERAL)


def embed(value, structure: Structure, into: Structure, target_shape: tuple[int, ...], source_shape: tuple[int, ...]):
    """Re-express the value of a partial in a coarser structure, without multiplications.

    ``into`` must be reachable from ``structure`` by :func:`join` (``join(structure, x) == into``
    for some ``x``, or ``into == structure``). Ties that ``into`` drops are materialised with
    ``jnp.where`` on an identity mask; axes it adds are broadcast.

    Args:
        value: ``V`` of ``structure`` (shape ``structure.value_shape(...)``); ignored for units.
        structure: the structure ``value`` belongs to.
        into: the target structure (general value).
        target_shape, source_shape: the vertex shapes.

    Returns:
        ``V`` of ``into``, shape ``into.value_shape(target_shape, source_shape)``.
    """
    import jax.numpy as jnp

    if into == structure:
        return value
    if into.value.is_unit or into != join(structure, into):
        raise StructureError(f"cannot embed {structure} into {into}: not a coarsening")
    names: list[str] = []
    if structure.value.is_unit:
        array = jnp.asarray(float(structure.value.sign))
    else:
        array = jnp.asarray(value)
        names = [f"t{a}" if side == "t" else f"s{a}" for side, a in structure.value_axes()]
    sizes = {f"t{i}": n for i, n in enumerate(target_shape)} | {f"s{j}": n for j, n in enumerate(source_shape)}

    def add_axis(name: str) -> None:
        nonlocal array
        array = jnp.broadcast_to(array[..., None], array.shape + (sizes[name],))
        names.append(name)

    for i, j in enumerate(structure.target):
        if j >= 0 and into.target[i] != j:
            # A tie that the coarser structure drops: t_i and s_j become separate dense axes.
            if f"t{i}" not in names:
                add_axis(f"t{i}")
            add_axis(f"s{j}")
            ti, sj = names.index(f"t{i}"), names.index(f"s{j}")
            mask_shape = [1] * array.ndim
            mask_shape[ti], mask_shape[sj] = sizes[f"t{i}"], sizes[f"s{j}"]
            mask = jnp.eye(sizes[f"t{i}"], dtype=bool)
            mask = mask if ti < sj else mask.T
            array = jnp.where(mask.reshape(mask_shape), array, jnp.zeros((), array.dtype))
    wanted = [f"t{a}" if side == "t" else f"s{a}" for side, a in into.value_axes()]
    for name in wanted:
        if name not in names:
            add_axis(name)
    return jnp.transpose(array, [names.index(n) for n in wanted])

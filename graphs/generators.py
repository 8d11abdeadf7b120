"""Random JAX programs, traced into LCGs.

Every random graph has a real function behind it: :func:`random_program` draws a straight-line
program (a list of :class:`Op` applications of JAX primitives) from a :class:`GeneratorParams`
and a seed, and :func:`random_graph` traces it with :func:`graphs.trace.trace`. The parameters
and the seed are stored in the graph's ``metadata`` so that :func:`function_from_metadata`
rebuilds the exact function and its example arguments (for instance to check a Jacobian).

Programs are drawn with NumPy's ``default_rng(seed)`` and use only deterministic integer and
interval arithmetic to decide, so the same parameters and seed always give the same program.

Each op is one JAX primitive (``lax`` calls, no ``jnp`` convenience wrappers), so each op is
one vertex of the graph: a graph has ``num_inputs + num_ops`` vertices. The values stay finite
and moderate: every value carries an interval that bounds all its entries, and an op whose
result could leave ``[-MAX_MAGNITUDE, MAX_MAGNITUDE]`` (or whose operand leaves the op's safe
domain, e.g. ``log`` of values near 0) is never drawn.

Example::

    >>> from graphs.generators import GeneratorParams, random_graph, function_from_metadata
    >>> graph = random_graph(GeneratorParams(kind="scalar", num_vertices=(20, 20)), seed=3)
    >>> graph.num_vertices
    20
    >>> f, args = function_from_metadata(graph.metadata)
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import jax.numpy as jnp
import numpy as np
from jax import lax

from graphs.lcg import LCG
from graphs.trace import trace

__all__ = [
    "GENERATOR",
    "GENERATOR_VERSION",
    "KINDS",
    "OP_FAMILIES",
    "MAX_MAGNITUDE",
    "GeneratorParams",
    "Op",
    "Program",
    "random_program",
    "random_graph",
    "generator_metadata",
    "program_from_metadata",
    "function_from_metadata",
    "regenerate",
    "GeneratorError",
]

GENERATOR = "elimgym-random-program"
"""Value of ``metadata["generator"]`` in graphs made by this module."""

GENERATOR_VERSION = 1
"""Bumped whenever the same parameters and seed would draw a different program."""

KINDS = ("scalar", "vector", "mixed")
"""Program kinds: only scalars; vectors and matrices as inputs; scalars, vectors and matrices as inputs."""

OP_FAMILIES = ("unary", "binary", "matmul", "reduce", "broadcast", "transpose")
"""Families of ops the generator draws from (scalar programs only use unary and binary)."""

MAX_MAGNITUDE = 100.0
"""Bound on the absolute value of every entry of every value of a generated program."""

_INPUT_INTERVAL = (-1.0, 1.0)
_DOMAIN_MARGIN = 0.1  # log, sqrt need operands >= this; divisors must stay this far from 0


class GeneratorError(ValueError):
    """Invalid generator parameters or metadata (the message names the offending field)."""


@dataclass(frozen=True)
class GeneratorParams:
    """What kind of random program to draw.

    Attributes:
        kind: one of :data:`KINDS`.
        num_inputs: ``(low, high)`` inclusive range of the number of input leaves.
        num_vertices: ``(low, high)`` inclusive range of the number of graph vertices
            (inputs plus ops; every op is one vertex).
        num_outputs: ``(low, high)`` inclusive range of the number of outputs the generator
            steers towards (results never used by another op are outputs, so the final count
            can differ by a few).
        dims: axis sizes that vector and matrix values may have (each at most 32, so that every
            value has at most 1024 entries).
        op_weights: relative frequency of each family of :data:`OP_FAMILIES` (missing = 0).
    """

    kind: str = "mixed"
    num_inputs: tuple[int, int] = (2, 6)
    num_vertices: tuple[int, int] = (20, 60)
    num_outputs: tuple[int, int] = (1, 4)
    dims: tuple[int, ...] = (2, 3, 4, 5, 8)
    op_weights: Mapping[str, float] = field(
        default_factory=lambda: {"unary": 3.0, "binary": 4.0, "matmul": 1.5, "reduce": 1.0, "broadcast": 1.0, "transpose": 0.5}
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "num_inputs", tuple(int(n) for n in self.num_inputs))
        object.__setattr__(self, "num_vertices", tuple(int(n) for n in self.num_vertices))
        object.__setattr__(self, "num_outputs", tuple(int(n) for n in self.num_outputs))
        object.__setattr__(self, "dims", tuple(int(n) for n in self.dims))
        object.__setattr__(self, "op_weights", {str(k): float(w) for k, w in dict(self.op_weights).items()})
        self.validate()

    def validate(self) -> None:
        """Raise :class:`GeneratorError` naming the first invalid field."""
        if self.kind not in KINDS:
            raise GeneratorError(f"kind must be one of {KINDS}, got {self.kind!r}")
        for name in ("num_inputs", "num_vertices", "num_outputs"):
            low_high = getattr(self, name)
            if len(low_high) != 2 or not 1 <= low_high[0] <= low_high[1]:
                raise GeneratorError(f"{name} must be a (low, high) range with 1 <= low <= high, got {low_high}")
        if self.num_vertices[0] < 2 * self.num_inputs[1]:
            raise GeneratorError(
                f"num_vertices {self.num_vertices} must start at twice the largest number of inputs {self.num_inputs[1]} "
                "or more (at least one op per input, so that every input is used)"
            )
        if not self.dims or any(not 1 <= d <= 32 for d in self.dims):
            raise GeneratorError(f"dims must be a non-empty tuple of axis sizes in 1..32, got {self.dims}")
        unknown = set(self.op_weights) - set(OP_FAMILIES)
        if unknown:
            raise GeneratorError(f"op_weights has unknown families {sorted(unknown)}; known: {OP_FAMILIES}")
        if any(w < 0 for w in self.op_weights.values()):
            raise GeneratorError(f"op_weights must be non-negative, got {self.op_weights}")
        if self.op_weights.get("unary", 0.0) + self.op_weights.get("binary", 0.0) <= 0:
            raise GeneratorError("op_weights must give the unary or the binary family a positive weight")

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (the inverse of :meth:`from_json`)."""
        data = asdict(self)
        data["num_inputs"] = list(self.num_inputs)
        data["num_vertices"] = list(self.num_vertices)
        data["num_outputs"] = list(self.num_outputs)
        data["dims"] = list(self.dims)
        data["op_weights"] = dict(sorted(self.op_weights.items()))
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "GeneratorParams":
        """Rebuild parameters from :meth:`to_json`'s dict."""
        known = {"kind", "num_inputs", "num_vertices", "num_outputs", "dims", "op_weights"}
        unknown = set(data) - known
        if unknown:
            raise GeneratorError(f"unknown generator parameters {sorted(unknown)}; known: {sorted(known)}")
        try:
            return cls(**dict(data))
        except (TypeError, ValueError) as err:
            if isinstance(err, GeneratorError):
                raise
            raise GeneratorError(f"malformed generator parameters {dict(data)!r}: {err}") from None


@dataclass(frozen=True)
class Op:
    """One primitive application of a program.

    Attributes:
        name: the op (``"sin"``, ``"add"``, ``"matmul"``, ``"reduce_sum"``, ``"broadcast"``, ...).
        operands: indices of the operand values (inputs are values ``0..num_inputs-1``; op ``k``
            produces value ``num_inputs + k``).
        params: static parameters: the reduced axis, the broadcast shape and dimensions.
        shape: the shape of the result.
    """

    name: str
    operands: tuple[int, ...]
    params: tuple[int, ...] = ()
    shape: tuple[int, ...] = ()


@dataclass(frozen=True, eq=False)
class Program:
    """A straight-line random program.

    Attributes:
        input_shapes: the shape of each input leaf.
        ops: the ops in evaluation order.
        outputs: indices of the values returned (as a tuple, in this order).
        args: example arguments, ``float32`` arrays with entries in ``[-1, 1]``.
    """

    input_shapes: tuple[tuple[int, ...], ...]
    ops: tuple[Op, ...]
    outputs: tuple[int, ...]
    args: tuple[Any, ...]

    def evaluate(self, *inputs: Any) -> tuple[Any, ...]:
        """Evaluate the program on ``inputs`` (one array per input leaf); returns the outputs."""
        if len(inputs) != len(self.input_shapes):
            raise TypeError(f"the program takes {len(self.input_shapes)} inputs, got {len(inputs)}")
        values = list(inputs)
        for op in self.ops:
            values.append(_apply(op, [values[k] for k in op.operands]))
        return tuple(values[k] for k in self.outputs)

    @functools.cached_property
    def function(self) -> Callable[..., tuple[Any, ...]]:
        """:meth:`evaluate` as a function whose signature names the inputs ``x0, x1, ...``
        (the tracer uses these names for the input vertices)."""

        def program(*inputs: Any) -> tuple[Any, ...]:
            return self.evaluate(*inputs)

        program.__signature__ = inspect.Signature(
            [inspect.Parameter(f"x{k}", inspect.Parameter.POSITIONAL_ONLY) for k in range(len(self.input_shapes))]
        )
        return program


# --------------------------------------------------------------------------- the op set
Interval = tuple[float, float]

_UNARY: dict[str, tuple[Callable[[Any], Any], Callable[[float, float], Interval | None]]] = {
    "sin": (lax.sin, lambda lo, hi: (-1.0, 1.0)),
    "cos": (lax.cos, lambda lo, hi: (-1.0, 1.0)),
    "tanh": (lax.tanh, lambda lo, hi: (math.tanh(lo), math.tanh(hi))),
    "logistic": (lax.logistic, lambda lo, hi: (1 / (1 + math.exp(-lo)), 1 / (1 + math.exp(-hi)))),
    "atan": (lax.atan, lambda lo, hi: (math.atan(lo), math.atan(hi))),
    "asinh": (lax.asinh, lambda lo, hi: (math.asinh(lo), math.asinh(hi))),
    "neg": (lax.neg, lambda lo, hi: (-hi, -lo)),
    "square": (
        lambda x: lax.integer_pow(x, 2),
        lambda lo, hi: (0.0 if lo <= 0 <= hi else min(lo * lo, hi * hi), max(lo * lo, hi * hi)),
    ),
    "exp": (lax.exp, lambda lo, hi: (math.exp(lo), math.exp(hi)) if hi <= 4.0 else None),
    "log": (lax.log, lambda lo, hi: (math.log(lo), math.log(hi)) if lo >= _DOMAIN_MARGIN else None),
    "sqrt": (lax.sqrt, lambda lo, hi: (math.sqrt(lo), math.sqrt(hi)) if lo >= _DOMAIN_MARGIN else None),
}
"""Unary elementwise ops: name -> (implementation, interval of the result or None if unsafe)."""


def _product_interval(a: Interval, b: Interval) -> Interval:
    products = (a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1])
    return min(products), max(products)


def _quotient_interval(a: Interval, b: Interval) -> Interval | None:
    if b[0] < _DOMAIN_MARGIN and b[1] > -_DOMAIN_MARGIN:
        return None
    return _product_interval(a, (1.0 / b[1], 1.0 / b[0]))


_BINARY: dict[str, tuple[Callable[[Any, Any], Any], Callable[[Interval, Interval], Interval | None]]] = {
    "add": (lax.add, lambda a, b: (a[0] + b[0], a[1] + b[1])),
    "sub": (lax.sub, lambda a, b: (a[0] - b[1], a[1] - b[0])),
    "mul": (lax.mul, _product_interval),
    "div": (lax.div, _quotient_interval),
    "max": (lax.max, lambda a, b: (max(a[0], b[0]), max(a[1], b[1]))),
    "min": (lax.min, lambda a, b: (min(a[0], b[0]), min(a[1], b[1]))),
}
"""Binary elementwise ops on equal shapes: name -> (implementation, interval or None if unsafe)."""

_MATMUL_DIMENSIONS = {  # (rank a, rank b) -> contracting axes of a and b
    (2, 2): ((1,), (0,)),
    (2, 1): ((1,), (0,)),
    (1, 2): ((0,), (0,)),
    (1, 1): ((0,), (0,)),
}


def _apply(op: Op, operands: list[Any]) -> Any:
    """Evaluate one op with JAX (one primitive)."""
    if op.name in _UNARY:
        return _UNARY[op.name][0](operands[0])
    if op.name in _BINARY:
        return _BINARY[op.name][0](operands[0], operands[1])
    if op.name == "matmul":
        a, b = operands
        contracting = _MATMUL_DIMENSIONS[(a.ndim, b.ndim)]
        return lax.dot_general(a, b, (contracting, ((), ())))
    if op.name == "reduce_sum":
        return lax.reduce_sum(operands[0], op.params)
    if op.name == "broadcast":
        return lax.broadcast_in_dim(operands[0], op.shape, op.params)
    if op.name == "transpose":
        return lax.transpose(operands[0], (1, 0))
    raise GeneratorError(f"unknown op {op.name!r}")


# ---------------------------------------------------------------------------- drawing
@dataclass
class _Value:
    shape: tuple[int, ...]
    interval: Interval
    uses: int = 0


class _Drawer:
    """Draws one program; all randomness comes from ``rng``."""

    def __init__(self, params: GeneratorParams, rng: np.random.Generator) -> None:
        self.params = params
        self.rng = rng
        self.values: list[_Value] = []
        self.ops: list[Op] = []
        self.num_inputs = 0
        self.num_outputs = 1
        sizes = rng.choice(np.array(params.dims), size=min(2, len(params.dims)), replace=False)
        self.sizes = tuple(int(s) for s in sizes)

    # --- shapes ---
    def random_shape(self, ranks: Sequence[int]) -> tuple[int, ...]:
        rank = int(self.rng.choice(np.array(ranks)))
        return tuple(int(self.rng.choice(np.array(self.sizes))) for _ in range(rank))

    def input_shapes(self, count: int) -> list[tuple[int, ...]]:
        kind = self.params.kind
        if kind == "scalar":
            return [()] * count
        ranks = (1, 2) if kind == "vector" else (0, 1, 2)
        return [self.random_shape(ranks) for _ in range(count)]

    # --- operand choice ---
    def open_values(self) -> list[int]:
        """Op results not used by any op yet (they would be outputs if the program ended now)."""
        return [k for k in range(self.num_inputs, len(self.values)) if self.values[k].uses == 0]

    def unused_inputs(self) -> list[int]:
        return [k for k in range(self.num_inputs) if self.values[k].uses == 0]

    def pick(self, candidates: list[int], remaining: int) -> int:
        """Pick an operand among ``candidates``: unused inputs first, then steer the open count."""
        unused = [k for k in self.unused_inputs() if k in candidates]
        if unused:
            return int(self.rng.choice(np.array(unused)))
        open_all = set(self.open_values())
        open_ = [k for k in candidates if k in open_all]
        used = [k for k in candidates if k not in open_all] or candidates
        excess = len(open_all) - self.num_outputs
        p_open = min(0.95, max(0.05, 0.5 + excess / max(remaining, 1)))
        if open_ and self.rng.random() < p_open:
            return int(self.rng.choice(np.array(open_)))
        # Recent values are likelier, which makes programs deep rather than flat.
        weights = np.array([0.9 ** (len(self.values) - 1 - k) for k in used])
        return int(self.rng.choice(np.array(used), p=weights / weights.sum()))

    def candidates(self, predicate: Callable[[_Value], bool]) -> list[int]:
        return [k for k, v in enumerate(self.values) if predicate(v)]

    # --- op families; each returns an Op and its interval, or None if impossible now ---
    def draw_unary(self, remaining: int):
        a = self.pick(list(range(len(self.values))), remaining)
        lo, hi = self.values[a].interval
        names = [n for n, (_, bound) in _UNARY.items() if _safe(bound(lo, hi))]
        if not names:
            return None
        name = str(self.rng.choice(np.array(names)))
        return Op(name, (a,), (), self.values[a].shape), _UNARY[name][1](lo, hi)

    def draw_binary(self, remaining: int):
        a = self.pick(list(range(len(self.values))), remaining)
        shape = self.values[a].shape
        partners = [k for k in self.candidates(lambda v: v.shape == shape) if k != a]
        if not partners:
            return None
        b = self.pick(partners, remaining)
        if self.rng.random() < 0.5:
            a, b = b, a
        ia, ib = self.values[a].interval, self.values[b].interval
        names = [n for n, (_, bound) in _BINARY.items() if _safe(bound(ia, ib))]
        if not names:
            return None
        name = str(self.rng.choice(np.array(names)))
        return Op(name, (a, b), (), shape), _BINARY[name][1](ia, ib)

    def draw_matmul(self, remaining: int):
        firsts = self.candidates(lambda v: len(v.shape) >= 1)
        if not firsts:
            return None
        a = self.pick(firsts, remaining)
        sa = self.values[a].shape
        k = sa[-1] if len(sa) == 2 else sa[0]
        partners = self.candidates(lambda v: len(v.shape) >= 1 and v.shape[0] == k)
        if not partners:
            return None
        b = self.pick(partners, remaining)
        sb = self.values[b].shape
        shape = sa[:-1] + sb[1:]
        lo, hi = _product_interval(self.values[a].interval, self.values[b].interval)
        interval = (k * lo, k * hi)
        if not _safe(interval):
            return None
        return Op("matmul", (a, b), (), shape), interval

    def draw_reduce(self, remaining: int):
        firsts = self.candidates(lambda v: len(v.shape) >= 1)
        if not firsts:
            return None
        a = self.pick(firsts, remaining)
        sa = self.values[a].shape
        axis = int(self.rng.integers(len(sa)))
        n = sa[axis]
        lo, hi = self.values[a].interval
        interval = (n * lo, n * hi)
        if not _safe(interval):
            return None
        shape = sa[:axis] + sa[axis + 1 :]
        return Op("reduce_sum", (a,), (axis,), shape), interval

    def draw_broadcast(self, remaining: int):
        firsts = self.candidates(lambda v: len(v.shape) <= 1)
        if not firsts:
            return None
        a = self.pick(firsts, remaining)
        sa = self.values[a].shape
        new = int(self.rng.choice(np.array(self.sizes)))
        if not sa:
            shape, dims = (new,), ()
        elif self.rng.random() < 0.5:
            shape, dims = (new, sa[0]), (1,)
        else:
            shape, dims = (sa[0], new), (0,)
        return Op("broadcast", (a,), dims, shape), self.values[a].interval

    def draw_transpose(self, remaining: int):
        firsts = self.candidates(lambda v: len(v.shape) == 2)
        if not firsts:
            return None
        a = self.pick(firsts, remaining)
        sa = self.values[a].shape
        return Op("transpose", (a,), (), (sa[1], sa[0])), self.values[a].interval

    def draw(self) -> tuple[list[tuple[int, ...]], list[Op], list[int]]:
        params, rng = self.params, self.rng
        self.num_inputs = int(rng.integers(params.num_inputs[0], params.num_inputs[1] + 1))
        num_vertices = int(rng.integers(params.num_vertices[0], params.num_vertices[1] + 1))
        self.num_outputs = int(rng.integers(params.num_outputs[0], params.num_outputs[1] + 1))
        num_ops = num_vertices - self.num_inputs
        shapes = self.input_shapes(self.num_inputs)
        self.values = [_Value(s, _INPUT_INTERVAL) for s in shapes]
        families = [f for f in OP_FAMILIES if params.op_weights.get(f, 0.0) > 0]
        if params.kind == "scalar":
            families = [f for f in families if f in ("unary", "binary")]
        weights = np.array([params.op_weights[f] for f in families])
        draws = {f: getattr(self, f"draw_{f}") for f in families}
        elementwise = [f for f in families if f in ("unary", "binary")]
        elementwise_weights = np.array([params.op_weights[f] for f in elementwise])
        while len(self.ops) < num_ops:
            remaining = num_ops - len(self.ops)
            # While an input is unused, draw elementwise ops: they accept any operand, so each
            # one consumes an unused input and every input ends up used.
            names, p = (elementwise, elementwise_weights) if self.unused_inputs() else (families, weights)
            drawn = None
            for _ in range(50):
                family = str(rng.choice(np.array(names), p=p / p.sum()))
                drawn = draws[family](remaining)
                if drawn is not None:
                    break
            if drawn is None:
                drawn = self.draw_bounded_unary()
            op, interval = drawn
            for k in set(op.operands):
                self.values[k].uses += 1
            self.ops.append(op)
            self.values.append(_Value(op.shape, (float(interval[0]), float(interval[1]))))
        outputs = self.open_values()
        return shapes, self.ops, outputs

    def draw_bounded_unary(self):
        """A fallback that always works: ``sin`` of the first unused input, else of the newest value."""
        unused = self.unused_inputs()
        a = unused[0] if unused else len(self.values) - 1
        return Op("sin", (a,), (), self.values[a].shape), (-1.0, 1.0)


def _safe(interval: Interval | None) -> bool:
    return interval is not None and all(math.isfinite(x) and abs(x) <= MAX_MAGNITUDE for x in interval)


def random_program(params: GeneratorParams, seed: int) -> Program:
    """Draw the program for ``params`` and ``seed`` (deterministic).

    The example arguments are ``float32`` arrays drawn uniformly from ``[-1, 1]`` with the same
    seed.
    """
    seed = int(seed)
    if seed < 0:
        raise GeneratorError(f"seed must be a non-negative integer, got {seed}")
    rng = np.random.default_rng(seed)
    shapes, ops, outputs = _Drawer(params, rng).draw()
    arg_rng = np.random.default_rng([seed, 1])
    args = tuple(jnp.asarray(arg_rng.uniform(-1.0, 1.0, size=s), jnp.float32) for s in shapes)
    return Program(tuple(shapes), tuple(ops), tuple(outputs), args)


def generator_metadata(params: GeneratorParams, seed: int) -> dict[str, Any]:
    """The metadata entries that identify a random program: generator, version, params, seed."""
    return {"generator": GENERATOR, "generator_version": GENERATOR_VERSION, "params": params.to_json(), "seed": int(seed)}


def random_graph(params: GeneratorParams, seed: int, name: str | None = None) -> LCG:
    """Draw a random program and trace it into an LCG.

    The graph's metadata holds ``generator``, ``generator_version``, ``params``
    (:meth:`GeneratorParams.to_json`) and ``seed``, plus the tracer's provenance fields.
    """
    program = random_program(params, seed)
    name = name or f"random-{params.kind}-{seed}"
    graph = trace(program.function, *program.args, name=name)
    metadata = {**dict(graph.metadata), **generator_metadata(params, seed)}
    metadata["traced_from"] = GENERATOR
    return LCG(graph.vertices, dict(graph.edges), name, metadata)


def program_from_metadata(metadata: Mapping[str, Any]) -> Program:
    """Rebuild the program of a graph made by :func:`random_graph` from its ``metadata``.

    Raises:
        GeneratorError: the metadata was not written by this generator, by another version of
            it, or is malformed.
    """
    if metadata.get("generator") != GENERATOR:
        raise GeneratorError(
            f"graph metadata has generator {metadata.get('generator')!r}, not {GENERATOR!r}: "
            "it was not made by graphs.generators.random_graph"
        )
    version = metadata.get("generator_version")
    if version != GENERATOR_VERSION:
        raise GeneratorError(
            f"graph was made by generator version {version!r}; this elimgym draws version {GENERATOR_VERSION}"
        )
    seed = metadata.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise GeneratorError(f"graph metadata has no integer 'seed' (got {seed!r})")
    params = metadata.get("params")
    if not isinstance(params, Mapping):
        raise GeneratorError(f"graph metadata has no 'params' object (got {params!r})")
    return random_program(GeneratorParams.from_json(params), seed)


def function_from_metadata(metadata: Mapping[str, Any]) -> tuple[Callable[..., tuple[Any, ...]], tuple[Any, ...]]:
    """The function and example arguments behind a random graph, rebuilt from its ``metadata``.

    ``trace(f, *args)`` reproduces the graph (with this JAX version).
    """
    program = program_from_metadata(metadata)
    return program.function, program.args


def regenerate(graph: LCG) -> LCG:
    """Re-draw and re-trace a graph made by :func:`random_graph` from its metadata.

    The result has the same name and metadata (except the tracer's ``jax_version``, which is
    the current one); with the JAX version that made ``graph`` it equals ``graph``.
    """
    program = program_from_metadata(graph.metadata)
    traced = trace(program.function, *program.args, name=graph.name)
    metadata = {**dict(graph.metadata), "jax_version": traced.metadata["jax_version"]}
    return LCG(traced.vertices, dict(traced.edges), graph.name, metadata)

"""Trace a JAX function into an LCG.

:func:`trace` makes the function's jaxpr, inlines nested calls (``jit``, ``closed_call``,
``remat``, ``custom_jvp_call``, ``custom_vjp_call``: their primal implementation is differentiated),
and creates one vertex per primitive application whose output depends differentiably on an input.
Literals, closed-over constants and values that do not depend on the inputs (or only through
zero-derivative primitives such as ``stop_gradient``) are constants, not vertices. Vertices that
reach no output are dropped.

Each output leaf becomes an output vertex. When an output value is also used inside the graph,
appears twice among the outputs, is an input, or is a constant, the output vertex is a separate
copy of it (an identity edge, free to multiply), so outputs stay sinks.

:func:`trace_function` also returns what the executor needs to evaluate the primal values and
every edge's partial in its structured form.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from jax.extend import core as jcore
from jax.extend import source_info_util

from graphs.lcg import LCG, Role, Vertex
from graphs.primitives import RULES, ZERO_DERIVATIVE, EquationInfo, PartialRule, UnsupportedPrimitive, partial_rule
from graphs.structure import MAX_RANK, Structure, embed, join

__all__ = ["trace", "trace_function", "TracedFunction", "UnsupportedPrimitive", "TraceError"]

INLINED_CALLS = {
    "jit": "jaxpr",
    "pjit": "jaxpr",
    "closed_call": "call_jaxpr",
    "core_call": "call_jaxpr",
    "remat2": "jaxpr",
    "checkpoint": "jaxpr",
    "custom_jvp_call": "call_jaxpr",
    "custom_vjp_call": "call_jaxpr",
    "custom_vjp_call_jaxpr": "fun_jaxpr",
}
"""Call-like primitives whose body is inlined, with the param that holds the body."""


class TraceError(ValueError):
    """A function that cannot be traced into an LCG (the message says why and where)."""


@dataclass(frozen=True)
class Constant:
    """A value that is not a vertex: a literal or a closed-over constant."""

    value: Any


Ref = int | Constant
"""A flat variable id or a constant."""


@dataclass(frozen=True)
class FlatEquation:
    """One primitive application after inlining."""

    primitive: Any
    params: dict
    inputs: tuple[Ref, ...]
    outputs: tuple[int, ...]
    source: str


@dataclass(frozen=True)
class EdgeTerm:
    """One contribution to an edge: operand ``operand`` of equation ``equation``."""

    equation: int
    operand: int
    rule: PartialRule


@dataclass(frozen=True)
class EdgeRecipe:
    """How to compute the value of one LCG edge: the sum of its terms, in its (joined) structure.

    An edge with no terms is an output copy (identity).
    """

    structure: Structure
    terms: tuple[EdgeTerm, ...]


@dataclass(frozen=True)
class TracedFunction:
    """A traced function: its LCG plus everything needed to evaluate primals and partials.

    Attributes:
        lcg: the graph.
        equations: the inlined equations in evaluation order (constants included).
        input_vars: the flat variable of each input leaf (vertex ``k`` is input leaf ``k``).
        output_refs: the flat variable or constant of each output leaf.
        output_vertices: the output vertex of each output leaf.
        vertex_vars: for each vertex, the flat variable holding its value (-1 for a constant output).
        recipes: ``(source, target) -> EdgeRecipe`` for every edge of ``lcg``.
        in_tree, out_tree: pytree structures of the arguments and of the result.
        in_avals: shape/dtype of each input leaf.
    """

    lcg: LCG
    equations: tuple[FlatEquation, ...]
    input_vars: tuple[int, ...]
    output_refs: tuple[Ref, ...]
    output_vertices: tuple[int, ...]
    vertex_vars: tuple[int, ...]
    recipes: Mapping[tuple[int, int], EdgeRecipe]
    in_tree: Any
    out_tree: Any
    in_avals: tuple[jax.ShapeDtypeStruct, ...]

    def evaluate(self, leaves: Sequence[Any]) -> dict[int, Any]:
        """Run the equations on input leaves; returns every flat variable's value."""
        env: dict[int, Any] = dict(zip(self.input_vars, leaves))

        def read(ref: Ref):
            return ref.value if isinstance(ref, Constant) else env[ref]

        for eq in self.equations:
            outs = eq.primitive.bind(*[read(r) for r in eq.inputs], **eq.params)
            if not eq.primitive.multiple_results:
                outs = (outs,)
            env.update(zip(eq.outputs, outs))
        return env

    def read(self, env: Mapping[int, Any], ref: Ref):
        return ref.value if isinstance(ref, Constant) else env[ref]

    def edge_value(self, edge: tuple[int, int], env: Mapping[int, Any]):
        """The value ``V`` of an edge's partial (None for unit structures)."""
        recipe = self.recipes[edge]
        if recipe.structure.value.is_unit:
            return None
        s, t = edge
        t_shape, s_shape = self.lcg.vertices[t].shape, self.lcg.vertices[s].shape
        total = None
        for term in recipe.terms:
            eq = self.equations[term.equation]
            operands = [self.read(env, r) for r in eq.inputs]
            out = env[eq.outputs[0]]
            value = term.rule.value(operands, out) if term.rule.value is not None else None
            value = embed(value, term.rule.structure, recipe.structure, t_shape, s_shape)
            total = value if total is None else total + value
        return total


def _source_of(eqn, enclosing: str) -> str:
    """The user-code location of ``eqn``, or that of the call it was inlined from."""
    try:
        where = source_info_util.summarize(eqn.source_info)
    except (AttributeError, TypeError, ValueError):
        where = ""
    return where or enclosing


def _is_float(aval) -> bool:
    return jnp.issubdtype(aval.dtype, jnp.inexact)


def _input_names(f: Callable, args: Sequence[Any]) -> list[str]:
    try:
        params = list(inspect.signature(f).parameters)
    except (TypeError, ValueError):
        params = []
    names = []
    for a, arg in enumerate(args):
        base = params[a] if a < len(params) else f"arg{a}"
        leaves = jax.tree_util.tree_leaves_with_path(arg)
        for path, _ in leaves:
            names.append(base + jax.tree_util.keystr(path))
    return names


def trace_function(f: Callable, *args: Any, name: str | None = None) -> TracedFunction:
    """Trace ``f(*args)`` into a :class:`TracedFunction` (an LCG plus evaluation recipes).

    Every array leaf of ``args`` is an input vertex; every leaf of the result an output vertex.

    Raises:
        UnsupportedPrimitive: a primitive without a partial rule acts on a value that depends on
            the inputs; the message names the primitive and the source line.
        TraceError: an input or a vertex has rank above 2, or an input is not floating point.
    """
    name = name or getattr(f, "__name__", "graph")
    closed, out_shape = jax.make_jaxpr(f, return_shape=True)(*args)
    flat_args, in_tree = jax.tree_util.tree_flatten(args)
    out_tree = jax.tree_util.tree_structure(out_shape)
    input_names = _input_names(f, args)
    for k, (leaf, var) in enumerate(zip(flat_args, closed.jaxpr.invars)):
        if not _is_float(var.aval):
            raise TraceError(f"{name}: input {input_names[k]!r} has dtype {var.aval.dtype}; inputs must be floating point")
        if len(var.aval.shape) > MAX_RANK:
            raise TraceError(
                f"{name}: input {input_names[k]!r} has shape {var.aval.shape}: rank {len(var.aval.shape)} "
                f"is not supported (vertices are scalars, vectors or matrices)"
            )

    builder = _Builder(name)
    input_vars = tuple(builder.new_var() for _ in closed.jaxpr.invars)
    env: dict[Any, Ref] = dict(zip(closed.jaxpr.invars, input_vars))
    for var, invar in zip(input_vars, closed.jaxpr.invars):
        builder.is_vertex[var] = True
        builder.shapes[var] = tuple(invar.aval.shape)
    outputs = builder.inline(closed.jaxpr, [Constant(c) for c in closed.consts], env)
    output_names = [f"out{jax.tree_util.keystr(path)}" for path, _ in jax.tree_util.tree_flatten_with_path(out_shape)[0]]
    output_shapes = [tuple(v.aval.shape) for v in closed.jaxpr.outvars]
    traced = builder.finish(input_vars, outputs, input_names, output_names, output_shapes, f)
    return TracedFunction(
        **traced,
        in_tree=in_tree,
        out_tree=out_tree,
        in_avals=tuple(jax.ShapeDtypeStruct(v.aval.shape, v.aval.dtype) for v in closed.jaxpr.invars),
    )


def trace(f: Callable, *args: Any, name: str | None = None) -> LCG:
    """Trace ``f(*args)`` into an :class:`~graphs.lcg.LCG` (see :func:`trace_function`)."""
    return trace_function(f, *args, name=name).lcg


class _Builder:
    """Accumulates flat equations and edges while walking (nested) jaxprs."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.next_var = 0
        self.equations: list[FlatEquation] = []
        self.is_vertex: dict[int, bool] = {}
        self.shapes: dict[int, tuple[int, ...]] = {}
        self.primitive_of: dict[int, str] = {}
        # target var -> source var -> terms
        self.terms: dict[int, dict[int, list[EdgeTerm]]] = {}

    def new_var(self) -> int:
        self.next_var += 1
        return self.next_var - 1

    def inline(self, jaxpr, consts: Sequence[Ref], env: dict[Any, Ref], enclosing: str = "<unknown location>") -> list[Ref]:
        for var, const in zip(jaxpr.constvars, consts):
            env[var] = const

        def read(atom) -> Ref:
            if isinstance(atom, jcore.Literal):
                return Constant(atom.val)
            return env[atom]

        for eqn in jaxpr.eqns:
            inputs = [read(a) for a in eqn.invars]
            prim = eqn.primitive.name
            if prim in INLINED_CALLS:
                body = eqn.params[INLINED_CALLS[prim]]
                if isinstance(body, jcore.ClosedJaxpr):
                    inner_consts: list[Ref] = [Constant(c) for c in body.consts]
                    body = body.jaxpr
                else:
                    inner_consts = []
                inner_env = dict(zip(body.invars, inputs))
                results = self.inline(body, inner_consts, inner_env, _source_of(eqn, enclosing))
                for outvar, ref in zip(eqn.outvars, results):
                    env[outvar] = ref
                continue
            self.add_equation(eqn, inputs, env, _source_of(eqn, enclosing))
        return [read(a) for a in jaxpr.outvars]

    def add_equation(self, eqn, inputs: list[Ref], env: dict[Any, Ref], where: str) -> None:
        outputs = tuple(self.new_var() for _ in eqn.outvars)
        for outvar, var in zip(eqn.outvars, outputs):
            env[outvar] = var
        index = len(self.equations)
        self.equations.append(FlatEquation(eqn.primitive, dict(eqn.params), tuple(inputs), outputs, where))
        vertex_operands = [k for k, r in enumerate(inputs) if isinstance(r, int) and self.is_vertex.get(r, False)]
        if not vertex_operands or not any(_is_float(v.aval) for v in eqn.outvars):
            return
        prim = eqn.primitive.name
        if prim not in RULES and prim not in ZERO_DERIVATIVE:
            raise UnsupportedPrimitive(
                f"{self.name}: unsupported primitive {prim!r} at {where} (it acts on a value that depends on "
                f"the inputs; supported primitives are listed in graphs.primitives.RULES)"
            )
        if len(eqn.outvars) != 1:
            raise UnsupportedPrimitive(
                f"{self.name}: primitive {prim!r} at {where} has several outputs and acts on a traced value; it is not supported"
            )
        out_aval = eqn.outvars[0].aval
        if len(out_aval.shape) > MAX_RANK:
            raise TraceError(
                f"{self.name}: primitive {prim!r} at {where} produces a value of shape {tuple(out_aval.shape)} "
                f"that depends on the inputs: rank {len(out_aval.shape)} is not supported (vertices are "
                f"scalars, vectors or matrices)"
            )
        info = EquationInfo(prim, tuple(tuple(getattr(a.aval, "shape", ())) for a in eqn.invars), tuple(out_aval.shape), dict(eqn.params))
        rules: dict[int, list[EdgeTerm]] = {}
        for k in vertex_operands:
            try:
                rule = partial_rule(info, k)
            except UnsupportedPrimitive as err:
                raise UnsupportedPrimitive(f"{self.name}: {err} (primitive {prim!r} at {where})") from None
            if rule is not None:
                rules.setdefault(inputs[k], []).append(EdgeTerm(index, k, rule))
        if not rules:
            return
        var = outputs[0]
        self.is_vertex[var] = True
        self.shapes[var] = tuple(out_aval.shape)
        self.primitive_of[var] = prim
        self.terms[var] = rules

    def finish(self, input_vars, outputs, input_names, output_names, output_shapes, f) -> dict[str, Any]:
        """Prune dead vertices, number the rest, add output copies; the TracedFunction's fields."""
        # Keep the vertices that reach an output.
        live: set[int] = set()
        stack = [r for r in outputs if isinstance(r, int) and self.is_vertex.get(r, False)]
        while stack:
            var = stack.pop()
            if var in live:
                continue
            live.add(var)
            stack.extend(self.terms.get(var, {}))
        used_inside = {s for t in live for s in self.terms.get(t, {})}
        # Decide which output leaves are vertices themselves and which are copies.
        direct: dict[int, int] = {}  # var -> output leaf index
        for leaf, ref in enumerate(outputs):
            if (
                isinstance(ref, int)
                and ref in live
                and ref not in input_vars
                and ref not in used_inside
                and outputs.count(ref) == 1
            ):
                direct[ref] = leaf
        vertices: list[Vertex] = []
        vertex_vars: list[int] = []
        index_of: dict[int, int] = {}
        for k, var in enumerate(input_vars):
            index_of[var] = len(vertices)
            vertices.append(Vertex(Role.INPUT, self.shapes[var], input_names[k]))
            vertex_vars.append(var)
        for eq in self.equations:
            var = eq.outputs[0] if eq.outputs else None
            if var in live and var not in index_of:
                index_of[var] = len(vertices)
                role = Role.OUTPUT if var in direct else Role.INTERMEDIATE
                label = output_names[direct[var]] if var in direct else self.primitive_of[var]
                vertices.append(Vertex(role, self.shapes[var], label, self.primitive_of[var]))
                vertex_vars.append(var)
        recipes: dict[tuple[int, int], EdgeRecipe] = {}
        for t_var in live:
            for s_var, terms in self.terms.get(t_var, {}).items():
                structure = terms[0].rule.structure
                for term in terms[1:]:
                    structure = join(structure, term.rule.structure)
                recipes[(index_of[s_var], index_of[t_var])] = EdgeRecipe(structure, tuple(terms))
        output_vertices = [index_of[ref] if isinstance(ref, int) and direct.get(ref) == leaf else -1 for leaf, ref in enumerate(outputs)]
        for leaf, ref in enumerate(outputs):
            if isinstance(ref, int) and direct.get(ref) == leaf:
                continue
            index = len(vertices)
            output_vertices[leaf] = index
            if isinstance(ref, int) and ref in index_of:
                shape = vertices[index_of[ref]].shape
                recipes[(index_of[ref], index)] = EdgeRecipe(Structure.identity(len(shape)), ())
                vertex_vars.append(ref)
            else:
                shape = output_shapes[leaf]
                if len(shape) > MAX_RANK:
                    raise TraceError(f"{self.name}: output {output_names[leaf]!r} has rank {len(shape)}; at most {MAX_RANK} is supported")
                vertex_vars.append(ref if isinstance(ref, int) else -1)
            vertices.append(Vertex(Role.OUTPUT, shape, output_names[leaf], "copy"))
        lcg = LCG(
            tuple(vertices),
            {edge: recipe.structure for edge, recipe in recipes.items()},
            self.name,
            {"traced_from": getattr(f, "__qualname__", repr(f)), "jax_version": jax.__version__},
        )
        return dict(
            lcg=lcg,
            equations=tuple(self.equations),
            input_vars=tuple(input_vars),
            output_refs=tuple(outputs),
            output_vertices=tuple(output_vertices),
            vertex_vars=tuple(vertex_vars),
            recipes=recipes,
        )

"""Linearized computational graphs: the data model, tracing JAX functions, and the benchmark graphs.

This layer imports nothing from ``elimgym`` or ``agents``.
"""

from graphs.io import GraphFormatError, load, save
from graphs.lcg import LCG, CapacityError, GraphError, PaddedGraph, Role, Vertex
from graphs.structure import Structure, StructureError, Value
from graphs.trace import TraceError, TracedFunction, UnsupportedPrimitive, trace, trace_function

__all__ = [
    "LCG",
    "Vertex",
    "Role",
    "PaddedGraph",
    "Structure",
    "Value",
    "trace",
    "trace_function",
    "TracedFunction",
    "load",
    "save",
    "GraphError",
    "CapacityError",
    "GraphFormatError",
    "StructureError",
    "TraceError",
    "UnsupportedPrimitive",
]

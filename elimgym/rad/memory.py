"""Measured memory of a backward pass: saved residuals and the compiled program's buffers.

Nothing here is counted by hand. :func:`residual_report` asks JAX which values reverse-mode AD
saves between the forward and the backward pass of ``f`` (the list that
:func:`jax.ad_checkpoint.print_saved_residuals` prints) and sums their sizes;
:func:`compiled_memory` compiles ``jax.grad(f)`` with XLA and reads its memory analysis.

Residuals that are the function's own arguments (parameters, the data batch) or constants cost no
extra memory, so they are reported apart from the **computed** residuals, the activation memory
that the estimators of :mod:`elimgym.rad` shrink.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np
from jax._src import ad_checkpoint as _ad_checkpoint

__all__ = ["CompiledMemory", "Residual", "ResidualReport", "compiled_memory", "residual_report"]


@dataclass(frozen=True)
class Residual:
    """One value saved for the backward pass.

    Attributes:
        shape, dtype: of the saved value (``dtype`` as a string, e.g. ``"float32"``).
        nbytes: its size in bytes.
        origin: ``"argument"``, ``"constant"`` or ``"computed"``.
        source: JAX's description (which operation produced it, and where).
    """

    shape: tuple[int, ...]
    dtype: str
    nbytes: int
    origin: str
    source: str


@dataclass(frozen=True)
class ResidualReport:
    """All residuals of one function, with byte totals by origin."""

    residuals: tuple[Residual, ...]

    @property
    def computed_bytes(self) -> int:
        """Bytes of residuals computed by the forward pass (the activation memory)."""
        return sum(r.nbytes for r in self.residuals if r.origin == "computed")

    @property
    def argument_bytes(self) -> int:
        """Bytes of residuals that are arguments or constants (no extra memory)."""
        return sum(r.nbytes for r in self.residuals if r.origin != "computed")

    def table(self) -> str:
        """A plain-text listing, one residual per line."""
        lines = [f"{r.nbytes:>12,d} B  {r.dtype}{list(r.shape)}  {r.origin:<8}  {r.source}" for r in self.residuals]
        lines.append(f"{self.computed_bytes:>12,d} B  computed in total")
        return "\n".join(lines)


def _nbytes(aval) -> int:
    shape = tuple(int(n) for n in aval.shape)
    if jax.dtypes.issubdtype(aval.dtype, jax.dtypes.prng_key):
        data = jax.eval_shape(jax.random.key_data, jax.ShapeDtypeStruct(shape, aval.dtype))
        return math.prod(data.shape) * np.dtype(data.dtype).itemsize
    return math.prod(shape) * np.dtype(aval.dtype).itemsize


def _origin(description: str) -> str:
    if description.startswith("from the argument"):
        return "argument"
    if description.startswith("from a constant"):
        return "constant"
    return "computed"


def residual_report(f: Callable[..., Any], *args: Any) -> ResidualReport:
    """The residuals reverse-mode AD of ``f(*args)`` saves (with respect to every argument).

    ``f`` must return a scalar or an array; arguments may be pytrees. Integer and key arguments
    are allowed (they get no cotangent).
    """
    found = _ad_checkpoint.saved_residuals(f, *args)
    return ResidualReport(
        tuple(
            Residual(tuple(int(n) for n in aval.shape), str(aval.dtype), _nbytes(aval), _origin(text), text)
            for aval, text in found
        )
    )


@dataclass(frozen=True)
class CompiledMemory:
    """XLA's memory analysis of a compiled program (bytes).

    Attributes:
        temp: scratch buffers live during the program (activations and residuals included).
        argument, output: the program's inputs and outputs.
        total: ``temp + argument + output - alias``.
    """

    temp: int
    argument: int
    output: int
    alias: int

    @property
    def total(self) -> int:
        return self.temp + self.argument + self.output - self.alias


def compiled_memory(f: Callable[..., Any], *args: Any, argnums: int | Sequence[int] = 0) -> CompiledMemory:
    """Compile ``jax.grad(f, argnums)(*args)`` and return XLA's memory analysis of it.

    Raises:
        RuntimeError: if the backend gives no memory analysis.
    """
    compiled = jax.jit(jax.grad(f, argnums=argnums)).lower(*args).compile()
    stats = compiled.memory_analysis()
    if stats is None:
        raise RuntimeError(f"the {jax.default_backend()} backend gives no memory analysis for compiled programs")
    return CompiledMemory(
        int(stats.temp_size_in_bytes),
        int(stats.argument_size_in_bytes),
        int(stats.output_size_in_bytes),
        int(stats.alias_size_in_bytes),
    )

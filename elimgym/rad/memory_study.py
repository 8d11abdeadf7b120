"""Measured memory per keep-fraction: residual bytes and compiled memory, baseline vs sampling
vs gradient checkpointing (the table of ``benchmarks/rad_memory.py`` and of the study).

Every number comes from :func:`~elimgym.rad.memory.residual_report` (bytes JAX saves for the
backward pass beyond the arguments) and :func:`~elimgym.rad.memory.compiled_memory` (XLA's
``temp`` buffers of the compiled gradient program).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from elimgym.rad import layers
from elimgym.rad.memory import compiled_memory, residual_report
from elimgym.rad.models import cross_entropy, get_model, plain_mlp_loss
from elimgym.rad.pde import (
    ReactionDiffusion,
    StorageScheme,
    checkpointed_loss,
    exact_loss,
    rad_loss,
)
from elimgym.rad.sampling import Sampler

__all__ = ["checkpointed_stack_loss", "format_table", "measure", "mlp_rows", "model_rows", "pde_rows", "stack_hidden", "stack_loss", "stack_params"]

Row = dict[str, Any]


def stack_params(widths: Sequence[int], key: jax.Array) -> list[dict[str, jax.Array]]:
    """Parameters of a ReLU MLP with layer widths ``widths`` (input first, classes last)."""
    keys = jax.random.split(key, len(widths) - 1)
    return [
        {"W": jax.random.normal(k, (m, n), jnp.float32) * jnp.sqrt(2.0 / m), "b": jnp.zeros(n, jnp.float32)}
        for k, m, n in zip(keys, widths[:-1], widths[1:])
    ]


def stack_loss(params, x, y, key, sampler: Sampler = layers.EXACT):
    """Cross-entropy of the MLP ``params``: an exact first layer, then ``relu_dense`` layers."""
    keys = jax.random.split(key, len(params))
    z = x @ params[0]["W"] + params[0]["b"]
    for p, k in zip(params[1:], keys[1:]):
        z = layers.relu_dense(z, p["W"], p["b"], k, sampler)
    return cross_entropy(z, y)


def stack_hidden(params: list[dict[str, jax.Array]]) -> tuple[dict, dict, dict]:
    """``(first, hidden, last)``: the equal-shaped hidden layers ``params[1:-1]`` stacked along a
    new leading axis (the parameter layout of :func:`checkpointed_stack_loss`).

    Raises:
        ValueError: the hidden layers do not all have one shape.
    """
    hidden = params[1:-1]
    if not hidden or len({p["W"].shape for p in hidden}) != 1:
        raise ValueError("checkpointing needs at least one hidden layer, all of one shape")
    return params[0], jax.tree_util.tree_map(lambda *a: jnp.stack(a), *hidden), params[-1]


def checkpointed_stack_loss(stacked, x, y, segment: int):
    """:func:`stack_loss` (exact) with gradient checkpointing: the hidden layers run as a
    ``lax.scan`` over segments of ``segment`` layers, each wrapped in :func:`jax.checkpoint`, so
    only each segment's input is stored and the rest is recomputed. (A scan, because on the CPU
    backend XLA merges recomputations of straight-line code with the forward pass.)

    Args:
        stacked: parameters as returned by :func:`stack_hidden`.

    Raises:
        ValueError: ``segment`` does not divide the number of hidden layers.
    """
    first, hidden, last = stacked
    count = hidden["W"].shape[0]
    if segment < 1 or count % segment:
        raise ValueError(f"segment {segment} must divide the {count} stacked hidden layers")
    key = jax.random.key(0)
    z = x @ first["W"] + first["b"]

    @jax.checkpoint
    def run_segment(z, start):
        for i in range(segment):
            p = jax.tree_util.tree_map(lambda a, index=start + i: lax.dynamic_index_in_dim(a, index, keepdims=False), hidden)
            z = layers.relu_dense(z, p["W"], p["b"], key)
        return z, None

    z, _ = lax.scan(run_segment, z, segment * jnp.arange(count // segment))
    return cross_entropy(layers.relu_dense(z, last["W"], last["b"], key), y)


def measure(method: str, keep: float, loss: Callable[..., Any], *args: Any, **extra: Any) -> Row:
    """One table row: residual bytes and compiled memory of ``grad(loss)(*args)``."""
    report = residual_report(loss, *args)
    compiled = compiled_memory(loss, *args)
    return {"method": method, "keep": keep, "residual_bytes": report.computed_bytes, "compiled_temp_bytes": compiled.temp, **extra}


def _with_ratios(rows: list[Row], baseline: Row) -> list[Row]:
    for row in rows:
        row["residual_saving"] = baseline["residual_bytes"] / max(row["residual_bytes"], 1)
        row["compiled_saving"] = baseline["compiled_temp_bytes"] / max(row["compiled_temp_bytes"], 1)
    return rows


def mlp_rows(
    widths: Sequence[int],
    batch: int,
    keeps: Sequence[float],
    labels: Sequence[str],
    segments: Sequence[int] = (),
    stock: bool = False,
    name: str = "mlp",
) -> list[Row]:
    """Rows for an MLP of ``widths`` at minibatch ``batch``: the exact (lean) baseline, the
    stock-JAX version (``stock``; only for the 2-hidden-layer digits shape), each sampler label
    at each keep fraction, and checkpointing every ``segment`` layers. Ratios are against the
    lean exact baseline."""
    params = stack_params(widths, jax.random.key(0))
    x = jax.random.uniform(jax.random.key(1), (batch, widths[0]))
    y = jnp.zeros(batch, jnp.int32)
    key = jax.random.key(2)
    rows = [measure("exact", 1.0, lambda p, x, y, k: stack_loss(p, x, y, k), params, x, y, key)]
    if stock:
        as_dict = lambda p: {"dense1": p[0], "dense2": p[1], "dense3": p[2]}
        rows.append(measure("exact (stock JAX)", 1.0, lambda p, x, y: plain_mlp_loss(as_dict(p), x, y), params, x, y))
    for label in labels:
        for keep in keeps:
            sampler = Sampler.from_label(label, keep)
            rows.append(measure(label, keep, lambda p, x, y, k, s=sampler: stack_loss(p, x, y, k, s), params, x, y, key))
    for segment in segments:
        rows.append(measure(f"checkpoint every {segment}", 1.0, lambda p, x, y, s=segment: checkpointed_stack_loss(p, x, y, s), stack_hidden(params), x, y))
    for row in rows:
        row.update(model=name, batch=batch)
    return _with_ratios(rows, rows[0])


def model_rows(name: str, batch: int, keeps: Sequence[float], labels: Sequence[str]) -> list[Row]:
    """Rows for a digits model of :data:`~elimgym.rad.models.MODELS` (random inputs of its format)."""
    model = get_model(name)
    shape = {"flat": (64,), "images": (8, 8, 1), "sequences": (8, 8)}[model.input_format]
    params = model.init(jax.random.key(0))
    x = jax.random.uniform(jax.random.key(1), (batch, *shape))
    y = jnp.zeros(batch, jnp.int32)
    key = jax.random.key(2)
    rows = [measure("exact", 1.0, lambda p, x, y, k: model.loss(p, x, y, k), params, x, y, key)]
    for label in labels:
        for keep in keeps:
            sampler = Sampler.from_label(label, keep)
            rows.append(measure(label, keep, lambda p, x, y, k, s=sampler: model.loss(p, x, y, k, s), params, x, y, key))
    for row in rows:
        row.update(model=f"{name}-digits", batch=batch)
    return _with_ratios(rows, rows[0])


def pde_rows(problem: ReactionDiffusion, keeps: Sequence[float], segments: Sequence[int] = ()) -> list[Row]:
    """Rows for the PDE: stock JAX, lean exact storage, each keep fraction (split layout), and
    checkpointing every ``segment`` steps. ``stored_fraction`` is measured residual bytes over
    the lean exact ones."""
    theta = jnp.zeros(7, jnp.float32)
    key = jax.random.key(0)
    rows = [
        measure("exact", 1.0, lambda t, k: rad_loss(problem, t, k, StorageScheme(1.0)), theta, key),
        measure("exact (stock JAX)", 1.0, lambda t: exact_loss(problem, t), theta),
    ]
    for keep in keeps:
        scheme = StorageScheme(keep)
        rows.append(measure("sampled", keep, lambda t, k, s=scheme: rad_loss(problem, t, k, s), theta, key))
    for segment in segments:
        rows.append(measure(f"checkpoint every {segment}", 1.0, lambda t, s=segment: checkpointed_loss(problem, t, s), theta))
    for row in rows:
        row.update(model=f"pde{problem.grid}x{problem.grid}x{problem.steps}", batch=1)
        row["stored_fraction"] = row["residual_bytes"] / rows[0]["residual_bytes"]
    return _with_ratios(rows, rows[0])


def format_table(rows: list[Row]) -> str:
    """A fixed-width text table of memory rows."""
    header = f"{'model':<16}{'method':<22}{'keep':>6}{'batch':>7}{'residual B':>14}{'saving':>8}{'compiled temp B':>17}{'saving':>8}"
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['model']:<16}{r['method']:<22}{r['keep']:>6g}{r['batch']:>7d}{r['residual_bytes']:>14,d}"
            f"{r['residual_saving']:>7.1f}x{r['compiled_temp_bytes']:>17,d}{r['compiled_saving']:>7.1f}x"
        )
    return "\n".join(lines)


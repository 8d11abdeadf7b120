"""The randomized-AD study behind ``elimgym rad study``: memory, unbiasedness, gradient variance,
training curves and the PDE, each part checkpointed so that an interrupted run resumes.

:func:`run_study` returns a JSON-ready dict of all results (see :func:`summarize` for the short
summary); :mod:`elimgym.rad.report` turns it into CSV files, plots and a markdown page.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from elimgym.rad import memory_study, suite
from elimgym.rad.checkpoint import CheckpointStore
from elimgym.rad.control import ControlRun, optimize
from elimgym.rad.data import FORMATS, load_digits
from elimgym.rad.layers import EXACT
from elimgym.rad.models import get_model
from elimgym.rad.pde import ReactionDiffusion, StorageScheme
from elimgym.rad.sampling import Sampler
from elimgym.rad.training import TrainingRun, train
from elimgym.rad.variance import (
    equal_memory_batch,
    full_gradient,
    gradient_errors,
    pretrain,
    residual_bytes,
)

__all__ = ["FULL", "PARTS", "POINTS", "QUICK", "StudyConfig", "run_study", "summarize", "with_overrides"]

PARTS = ("memory", "unbiased", "variance", "training", "pde")
"""The parts of the study, in the order they run."""


@dataclass(frozen=True)
class StudyConfig:
    """What the study measures, and how thoroughly.

    Attributes:
        name: ``"full"`` or ``"quick"`` (prefixes the output files of the quick study).
        keeps: keep fractions of the variance study (1.0 is the exact gradient).
        labels: sampler labels (:attr:`Sampler.label`) of the variance study.
        models: models of the variance study.
        points: parameter points: ``"init"`` and/or ``"trained"`` (after ``pretrain_steps``).
        batch: minibatch size ``B`` of the estimators.
        reps: draws per mean-squared-error estimate.
        pretrain_steps: exact Adam steps to reach the ``"trained"`` point.
        train_models, train_labels, train_keep, train_steps, eval_every, train_lr: the training
            curves (each model: exact at ``B``, each label at ``train_keep``, and the exact
            equal-memory reduced minibatch).
        pde: the control problem; pde_keeps, pde_iterations, pde_lr: its runs.
        memory_keeps, memory_labels, memory_models: the memory table (the digits MLP at batch
            1024 with every label, these models at batch 256); deep_widths: a deeper MLP for it;
            other_memory_labels: the labels of the deeper MLP and of ``memory_models``;
            checkpoint_segments, pde_segments: the gradient-checkpointing rows.
        suite_names: unbiasedness cases (None: all); suite_options: for ``check_unbiased``.
        seed: base PRNG seed.
    """

    name: str = "full"
    keeps: tuple[float, ...] = (1.0, 0.8, 0.5, 0.3, 0.1, 0.05)
    labels: tuple[str, ...] = ("same", "different", "active-wor", "projection")
    models: tuple[str, ...] = ("mlp", "cnn", "rnn")
    points: tuple[str, ...] = ("init", "trained")
    batch: int = 128
    reps: int = 128
    pretrain_steps: int = 300
    train_models: tuple[str, ...] = ("mlp", "cnn", "rnn")
    train_labels: tuple[str, ...] = ("different", "active-wor")
    train_keep: float = 0.1
    train_steps: int = 2000
    eval_every: int = 100
    train_lr: float = 1e-3
    pde: ReactionDiffusion = field(default_factory=ReactionDiffusion)
    pde_keeps: tuple[float, ...] = (1.0, 0.1, 0.03, 0.01, 0.005)
    pde_iterations: int = 300
    pde_lr: float = 0.1
    memory_keeps: tuple[float, ...] = (0.8, 0.5, 0.3, 0.1, 0.05)
    memory_labels: tuple[str, ...] = ("same", "different", "active-wor", "projection")
    memory_models: tuple[str, ...] = ("cnn", "rnn")
    other_memory_labels: tuple[str, ...] = ("different",)
    deep_widths: tuple[int, ...] = (64,) + (512,) * 13 + (10,)
    checkpoint_segments: tuple[int, ...] = (2, 3, 4, 6)
    pde_segments: tuple[int, ...] = (10, 20, 30)
    suite_names: tuple[str, ...] | None = None
    suite_options: dict = field(default_factory=lambda: {"tolerance": 0.1, "max_samples": 8192})
    seed: int = 0

    @property
    def prefix(self) -> str:
        """File-name prefix of this study's outputs: ``"rad_"`` or ``"rad_quick_"``."""
        return "rad_" if self.name == "full" else f"rad_{self.name}_"


FULL = StudyConfig()
"""The full study (hours on 2 CPU cores; resumable)."""

QUICK = StudyConfig(
    name="quick",
    keeps=(1.0, 0.3, 0.1),
    labels=("different", "active-wor"),
    models=("mlp",),
    points=("init",),
    reps=64,
    pretrain_steps=0,
    train_models=("mlp",),
    train_labels=("active-wor",),
    train_steps=300,
    eval_every=100,
    pde_keeps=(1.0, 0.005),
    pde_iterations=100,
    memory_keeps=(0.1,),
    memory_labels=("different",),
    memory_models=(),
    deep_widths=(),
    checkpoint_segments=(),
    pde_segments=(30,),
    suite_names=("relu_dense/different", "pde/split", "paths/vertex-k1", "relu_dense/different-unscaled", "pde/fused-shared"),
    suite_options={"tolerance": 0.2, "max_samples": 2048},
)
"""The quick study: every part, small (under 3 minutes on 2 CPU cores)."""


POINTS = ("init", "trained")
"""Parameter points of the variance study."""


def with_overrides(
    config: StudyConfig,
    models: tuple[str, ...] | None = None,
    labels: tuple[str, ...] | None = None,
    points: tuple[str, ...] | None = None,
    train_models: tuple[str, ...] | None = None,
) -> StudyConfig:
    """``config`` with other models (variance part, and training part unless ``train_models`` is
    given), sampler labels (variance part), parameter points or training models; None keeps the
    config's value.

    Raises:
        KeyError: an unknown model. ValueError: an unknown label or point, or an empty list.
    """
    changes: dict[str, Any] = {}
    if models is not None:
        for name in models:
            get_model(name)
        changes.update(models=models, train_models=models)
    if train_models is not None:
        for name in train_models:
            get_model(name)
        changes["train_models"] = train_models
    if labels is not None:
        for label in labels:
            Sampler.from_label(label)
        changes["labels"] = labels
    if points is not None:
        if not set(points) <= set(POINTS):
            raise ValueError(f"unknown parameter points {sorted(set(points) - set(POINTS))}; choose from {POINTS}")
        changes["points"] = points
    if any(not value for value in changes.values()):
        raise ValueError("models, labels, points and training models must not be empty")
    return dataclasses.replace(config, **changes)


def _digits(model_name: str):
    data = load_digits()
    convert = FORMATS[get_model(model_name).input_format]
    return (jnp.asarray(convert(data.x_train)), jnp.asarray(data.y_train), jnp.asarray(convert(data.x_test)), jnp.asarray(data.y_test))


def _digest(*settings: Any) -> str:
    """A short fingerprint of ``settings`` for checkpoint names: a changed setting is a new name, never a stale result."""
    return hashlib.sha1(repr(settings).encode()).hexdigest()[:10]


def _cached(store: CheckpointStore, name: str, compute: Callable[[], Any], log: Callable[[str], None]) -> Any:
    result = store.load_result(name)
    if result is None:
        start = time.perf_counter()
        result = compute()
        store.save_result(name, result)
        log(f"  {name}: {time.perf_counter() - start:.1f} s")
    return result


def _memory_part(config: StudyConfig, store: CheckpointStore, log) -> list[dict]:
    rows = _cached(
        store,
        f"{config.prefix}memory-mlp-{_digest(config.memory_keeps, config.memory_labels)}",
        lambda: memory_study.mlp_rows((64, 256, 256, 10), 1024, config.memory_keeps, config.memory_labels, stock=True, name="mlp-digits"),
        log,
    )
    if config.deep_widths:
        rows = rows + _cached(
            store,
            f"{config.prefix}memory-deep-{_digest(config.deep_widths, config.memory_keeps, config.other_memory_labels, config.checkpoint_segments)}",
            lambda: memory_study.mlp_rows(
                config.deep_widths, 1024, config.memory_keeps, config.other_memory_labels, config.checkpoint_segments,
                name=f"mlp-{len(config.deep_widths) - 2}x{config.deep_widths[1]}",
            ),
            log,
        )
    for model_name in config.memory_models:
        rows = rows + _cached(
            store,
            f"{config.prefix}memory-{model_name}-{_digest(config.memory_keeps, config.other_memory_labels)}",
            lambda name=model_name: memory_study.model_rows(name, 256, config.memory_keeps, config.other_memory_labels),
            log,
        )
    pde_keeps = tuple(k for k in config.pde_keeps if k < 1.0)
    name = f"{config.prefix}memory-pde-{_digest(config.pde, pde_keeps, config.pde_segments)}"
    return rows + _cached(store, name, lambda: memory_study.pde_rows(config.pde, pde_keeps, config.pde_segments), log)


@dataclass(frozen=True)
class _VariancePoint:
    """One model at one parameter point of the variance study, with its full-data gradient."""

    model_name: str
    point: str
    params: Any
    x: jax.Array
    y: jax.Array
    reference: Any
    exact_bytes: int


def _variance_cell(config: StudyConfig, store: CheckpointStore, log, at: _VariancePoint, method: str, keep: float, sampler: Sampler, batch: int) -> list[dict]:
    """Per-layer gradient MSE and residual memory of one estimator (cached in ``store``)."""
    model = get_model(at.model_name)

    def compute():
        errors = gradient_errors(model, at.params, at.x, at.y, at.reference, sampler, batch, config.reps, jax.random.key(config.seed + 2))
        memory = residual_bytes(model, at.params, at.x, at.y, sampler, batch)
        return [
            {"model": at.model_name, "point": at.point, "layer": layer, "method": method, "keep": keep, "batch": batch,
             "residual_bytes": memory, "memory_fraction": memory / at.exact_bytes, "mse": errors.mse[layer], "mse_stderr": errors.stderr[layer]}
            for layer in model.layers
        ]

    name = f"{config.prefix}variance-{at.model_name}-{at.point}-{method}-{keep:g}-B{batch}-R{config.reps}-P{config.pretrain_steps}"
    return _cached(store, name, compute, log)


def _variance_part(config: StudyConfig, store: CheckpointStore, log) -> list[dict]:
    rows = []
    for model_name in config.models:
        model = get_model(model_name)
        x, y, _, _ = _digits(model_name)
        init = model.init(jax.random.key(config.seed))
        for point in config.points:
            params = init if point == "init" else pretrain(model, init, x, y, config.pretrain_steps, jax.random.key(config.seed + 1), config.batch)
            at = _VariancePoint(model_name, point, params, x, y, full_gradient(model, params, x, y), residual_bytes(model, params, x, y, EXACT, config.batch))
            rows += _variance_cell(config, store, log, at, "exact", 1.0, EXACT, config.batch)
            for keep in (k for k in config.keeps if k < 1.0):
                for label in config.labels:
                    rows += _variance_cell(config, store, log, at, label, keep, Sampler.from_label(label, keep), config.batch)
                reduced = equal_memory_batch(model, params, x, y, Sampler.from_label(config.labels[0], keep), config.batch)
                rows += _variance_cell(config, store, log, at, "reduced-batch", keep, EXACT, reduced)
    return rows


def _training_part(config: StudyConfig, store: CheckpointStore, log) -> list[dict]:
    rows = []
    for model_name in config.train_models:
        model = get_model(model_name)
        x, y, x_test, y_test = _digits(model_name)
        params = model.init(jax.random.key(config.seed))
        sampler0 = Sampler.from_label(config.train_labels[0], config.train_keep)
        reduced = equal_memory_batch(model, params, x, y, sampler0, config.batch)
        runs = [("exact", EXACT, config.batch)]
        runs += [(label, Sampler.from_label(label, config.train_keep), config.batch) for label in config.train_labels]
        runs.append(("reduced-batch", EXACT, reduced))
        for method, sampler, batch in runs:
            run = TrainingRun(model, sampler, batch, config.train_steps, config.train_lr, config.eval_every, config.seed)
            start = time.perf_counter()
            history = train(run, x, y, x_test, y_test, store)
            log(f"  {run.name}: {time.perf_counter() - start:.1f} s")
            memory = residual_bytes(model, params, x, y, sampler, batch)
            rows += [{"model": model_name, "method": method, "keep": sampler.keep, "batch": batch, "residual_bytes": memory, **h} for h in history]
    return rows


def _pde_part(config: StudyConfig, store: CheckpointStore, log) -> list[dict]:
    rows = []
    for keep in config.pde_keeps:
        run = ControlRun(config.pde, StorageScheme(keep), config.pde_iterations, config.pde_lr, config.seed)
        start = time.perf_counter()
        result = optimize(run, store)
        log(f"  {run.name}: {time.perf_counter() - start:.1f} s")
        rows += [{"keep": keep, "iteration": i, "loss": loss} for i, loss in enumerate(result["loss"])]
    return rows


def run_study(config: StudyConfig, store: CheckpointStore, parts: tuple[str, ...] = PARTS, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the requested parts; returns ``part -> rows`` plus ``"config"``.

    Raises:
        ValueError: an unknown part or model.
    """
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown study parts {sorted(unknown)}; choose from {PARTS}")
    for model in config.models + config.train_models:
        get_model(model)
    results: dict[str, Any] = {"config": {k: v for k, v in dataclasses.asdict(config).items() if k != "pde"} | {"pde": dataclasses.asdict(config.pde)}}
    runners = {
        "memory": _memory_part,
        "unbiased": lambda c, s, l: _cached(s, f"{c.prefix}unbiased-{_digest(c.suite_names, c.suite_options, c.seed)}", lambda: suite.run_suite(list(c.suite_names) if c.suite_names else None, c.seed, **c.suite_options), l),
        "variance": _variance_part,
        "training": _training_part,
        "pde": _pde_part,
    }
    for part in PARTS:
        if part in parts:
            log(f"{part}:")
            results[part] = runners[part](config, store, log)
    return results


def _find(rows, **match):
    return [r for r in rows if all(r.get(k) == v for k, v in match.items())]


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """The short JSON summary: memory ratios, test verdicts, MSE ratios, PDE, and the targets."""
    summary: dict[str, Any] = {}
    targets: dict[str, Any] = {}
    if "memory" in results:
        mlp = [r for r in results["memory"] if r["model"] == "mlp-digits" and r["keep"] == 0.1 and r["method"] not in ("exact",)]
        summary["memory"] = {
            "mlp_keep0.1": {r["method"]: {"residual_saving": round(r["residual_saving"], 2), "compiled_saving": round(r["compiled_saving"], 2)} for r in mlp},
            "pde": {f"keep{r['keep']:g}": {"stored_fraction": round(r["stored_fraction"], 5), "compiled_saving": round(r["compiled_saving"], 2)}
                    for r in results["memory"] if r["model"].startswith("pde") and r["method"] == "sampled"},
        }
        sampled = [r for r in mlp if r["method"] not in ("exact (stock JAX)",) and not r["method"].startswith("checkpoint")]
        targets["mlp_residual_saving>=5x_at_0.1"] = bool(sampled) and all(r["residual_saving"] >= 5 for r in sampled)
    if "unbiased" in results:
        summary["unbiased"] = {name: {"p_value": float(f"{r['p_value']:.3g}"), "unbiased": r["unbiased"], "expected": r["expected"]} for name, r in results["unbiased"].items()}
        targets["estimators_pass"] = all(r["unbiased"] for r in results["unbiased"].values() if r["expected"] == "unbiased")
        targets["controls_fail"] = all(not r["unbiased"] for r in results["unbiased"].values() if r["expected"] == "biased")
    if "variance" in results:
        ratios = {}
        for r in results["variance"]:
            if r["method"] in ("exact", "reduced-batch"):
                continue
            base = _find(results["variance"], model=r["model"], point=r["point"], layer=r["layer"], method="reduced-batch", keep=r["keep"])
            if base:
                ratios[f"{r['model']}/{r['point']}/{r['layer']}/{r['method']}@{r['keep']:g}"] = round(r["mse"] / base[0]["mse"], 3)
        summary["mse_ratio_vs_reduced_batch"] = ratios
        hidden = {k: v for k, v in ratios.items() if k.startswith("mlp/") and k.endswith("@0.1") and "/dense1/" not in k}
        best = {}
        for k, v in hidden.items():
            best.setdefault(k.split("@")[0].rsplit("/", 1)[1], []).append(v)
        summary["mlp_sampled_layers_mean_mse_ratio@0.1"] = {label: round(float(np.mean(v)), 3) for label, v in best.items()}
        targets["mlp_mse_below_reduced_batch_at_0.1"] = {label: bool(max(v) < 1.0) for label, v in best.items()}
    if "pde" in results:
        finals = {r["keep"]: r["loss"] for r in results["pde"]}  # rows are in iteration order: the last is final
        exact = finals.get(1.0)
        summary["pde_final_loss"] = {f"keep{k:g}": round(v, 6) for k, v in finals.items()}
        if exact:
            summary["pde_final_loss_ratio"] = {f"keep{k:g}": round(v / exact, 4) for k, v in finals.items()}
            if "memory" in results:
                saved = {r["keep"]: 1 - r["stored_fraction"] for r in results["memory"] if r["model"].startswith("pde") and r["method"] == "sampled"}
                targets["pde_99%_saved_within_10%"] = any(saved.get(k, 0) >= 0.99 and v / exact <= 1.10 for k, v in finals.items() if k < 1.0)
    summary["targets"] = targets
    return summary

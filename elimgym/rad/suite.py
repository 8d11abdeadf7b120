"""A catalogue of the randomized estimators on small problems, each with its exact value.

:data:`ESTIMATORS` (every one must pass :func:`~elimgym.rad.unbiased.check_unbiased`) and
:data:`NEGATIVE_CONTROLS` (deliberately biased variants that must fail it) map a name to a
factory ``() -> Case``. The tests and ``elimgym rad study`` run the same catalogue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from elimgym.rad import layers, paths, pde
from elimgym.rad.sampling import Sampler
from graphs.examples import EXAMPLES
from graphs.tasks import TASKS

__all__ = ["ESTIMATORS", "NEGATIVE_CONTROLS", "Case", "run_suite"]


@dataclass(frozen=True)
class Case:
    """An estimator ``key -> estimate`` and the exact value it estimates (pytrees alike)."""

    estimator: Callable[[jax.Array], Any]
    exact: Any


def _layer_problem(seed: int = 0):
    keys = jax.random.split(jax.random.key(seed), 4)
    z = jax.random.normal(keys[0], (6, 16))
    W = jax.random.normal(keys[1], (16, 5)) * 0.3
    b = jax.random.normal(keys[2], (5,)) * 0.1
    return z, W, b


def _dense_case(label: str, keep: float = 0.25) -> Case:
    """Gradients (w.r.t. ``z``, ``W``, ``b``) of ``sum(sin(relu_dense(z, W, b)))``."""
    z, W, b = _layer_problem()
    sampler = Sampler.from_label(label, keep)

    def grads(key, s):
        loss = lambda z, W, b: jnp.sum(jnp.sin(layers.relu_dense(z, W, b, key, s)))
        return dict(zip(("z", "W", "b"), jax.grad(loss, argnums=(0, 1, 2))(z, W, b)))

    return Case(lambda key: grads(key, sampler), grads(jax.random.key(0), layers.EXACT))


def _conv_case(label: str, keep: float = 0.25) -> Case:
    """Gradients of ``sum(sin(relu_conv2d(z, K, c)))`` on 2 images of 4x4x3."""
    keys = jax.random.split(jax.random.key(1), 3)
    z = jax.random.normal(keys[0], (2, 4, 4, 3))
    K = jax.random.normal(keys[1], (3, 3, 3, 4)) * 0.3
    c = jnp.zeros(4)
    sampler = Sampler.from_label(label, keep)

    def grads(key, s):
        loss = lambda z, K, c: jnp.sum(jnp.sin(layers.relu_conv2d(z, K, c, key, s)))
        return dict(zip(("z", "K", "c"), jax.grad(loss, argnums=(0, 1, 2))(z, K, c)))

    return Case(lambda key: grads(key, sampler), grads(jax.random.key(0), layers.EXACT))


def _recurrent_case(label: str, keep: float = 0.25) -> Case:
    """Gradients of ``sum(sin(recurrent(xs, ...)))`` over 5 steps, batch 3, 4 inputs, 8 units."""
    keys = jax.random.split(jax.random.key(2), 3)
    xs = jax.random.normal(keys[0], (3, 5, 4))
    Wx = jax.random.normal(keys[1], (4, 8)) * 0.5
    Wh = jnp.eye(8) * 0.9 + jax.random.normal(keys[2], (8, 8)) * 0.1
    b = jnp.full((8,), 0.1)
    sampler = Sampler.from_label(label, keep)

    def grads(key, s):
        loss = lambda Wx, Wh, b: jnp.sum(jnp.sin(layers.recurrent(xs, Wx, Wh, b, key, s)))
        return dict(zip(("Wx", "Wh", "b"), jax.grad(loss, argnums=(0, 1, 2))(Wx, Wh, b)))

    return Case(lambda key: grads(key, sampler), grads(jax.random.key(0), layers.EXACT))


def _branching(x: jax.Array, y: jax.Array) -> jax.Array:
    """A small graph whose vertices have several successors: the test bed of path sampling."""
    u = jnp.sin(x) * y
    v = jnp.cos(u) + x * u
    w = jnp.tanh(v * y + u)
    return w * v + jnp.exp(u) * x


def _path_case(name: str, level: str, k: int, rescale: bool = True) -> Case:
    """Path sampling on ``_branching``, an example of :data:`graphs.examples.EXAMPLES` or a task of
    :data:`graphs.tasks.TASKS`."""
    if name == "branching":
        f, args = _branching, (jnp.linspace(0.3, 1.2, 3), jnp.linspace(-0.5, 0.8, 3))
    elif name in EXAMPLES:
        f, args = EXAMPLES[name]
    else:
        f, args = TASKS[name].function, TASKS[name].make_args()
    graph = paths.LinearizedGraph.from_function(f, *args)
    return Case(lambda key: paths.path_sample_jacobian(graph, key, k, level, rescale), paths.flat_jacobian(f, *args))


SMALL_PDE = pde.ReactionDiffusion(grid=8, steps=20)
"""A small version of the control problem for the unbiasedness tests."""


def _pde_case(keep: float, layout: str, rescale: bool = True) -> Case:
    theta = jnp.array([0.5, -0.3, 0.2, 0.4, -0.2, 0.1, 0.3], jnp.float32)
    scheme = pde.StorageScheme(keep, layout, rescale)
    exact = jax.grad(pde.exact_loss, argnums=1)(SMALL_PDE, theta)
    return Case(lambda key: pde.rad_gradient(SMALL_PDE, theta, key, scheme), exact)


ESTIMATORS: dict[str, Callable[[], Case]] = {
    "relu_dense/same": lambda: _dense_case("same"),
    "relu_dense/different": lambda: _dense_case("different"),
    "relu_dense/active": lambda: _dense_case("active"),
    "relu_dense/active-wor": lambda: _dense_case("active-wor"),
    "relu_dense/projection": lambda: _dense_case("projection"),
    "relu_conv2d/different": lambda: _conv_case("different"),
    "recurrent/different": lambda: _recurrent_case("different"),
    "paths/vertex-k1": lambda: _path_case("branching", "vertex", 1),
    "paths/scalar-k1": lambda: _path_case("matvec", "scalar", 1),
    "paths/HumanHeartDipole-vertex-k1": lambda: _path_case("HumanHeartDipole", "vertex", 1),
    "pde/split": lambda: _pde_case(0.1, "split"),
    "pde/fused-independent": lambda: _pde_case(0.1, "fused-independent"),
}
"""Unbiased estimators on small problems."""

NEGATIVE_CONTROLS: dict[str, Callable[[], Case]] = {
    "relu_dense/different-unscaled": lambda: _dense_case("different-unscaled"),
    "relu_dense/projection-unscaled": lambda: _dense_case("projection-unscaled"),
    "paths/vertex-k1-unscaled": lambda: _path_case("branching", "vertex", 1, rescale=False),
    "paths/HumanHeartDipole-vertex-k1-unscaled": lambda: _path_case("HumanHeartDipole", "vertex", 1, rescale=False),
    "pde/fused-shared": lambda: _pde_case(0.1, "fused-shared"),
    "pde/split-unscaled": lambda: _pde_case(0.1, "split", rescale=False),
}
"""Deliberately biased variants: no rescaling, or a sample that enters the gradient twice."""


def run_suite(names: list[str] | None = None, seed: int = 0, **options: Any) -> dict[str, dict[str, Any]]:
    """Run :func:`check_unbiased` on estimators and controls; ``name -> result dict`` (with
    ``"expected"``: ``"unbiased"`` or ``"biased"``, and ``"as_expected"``)."""
    from elimgym.rad.unbiased import check_unbiased

    catalogue = {**{n: ("unbiased", f) for n, f in ESTIMATORS.items()}, **{n: ("biased", f) for n, f in NEGATIVE_CONTROLS.items()}}
    results = {}
    for name in names or list(catalogue):
        expected, factory = catalogue[name]
        case = factory()
        test = check_unbiased(case.estimator, case.exact, jax.random.key(seed), **options)
        results[name] = {**test.to_dict(), "expected": expected, "as_expected": test.unbiased == (expected == "unbiased")}
    return results

"""Activation-sampling layers: exact input/bias gradients, consistent weight gradients, lean residuals."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from elimgym.rad import layers
from elimgym.rad.memory import residual_report
from elimgym.rad.sampling import Sampler, compress, reconstruct

KEY = jax.random.key(5)
Z = jax.random.normal(jax.random.key(0), (6, 16))
W = jax.random.normal(jax.random.key(1), (16, 5)) * 0.3
B = jnp.linspace(-0.2, 0.2, 5)


def _reference(z, W, b):
    return jnp.sum(jnp.sin(jax.nn.relu(z) @ W + b))


def _grads(sampler):
    loss = lambda z, W, b: jnp.sum(jnp.sin(layers.relu_dense(z, W, b, KEY, sampler)))
    return jax.jit(jax.grad(loss, argnums=(0, 1, 2)))(Z, W, B)


@pytest.mark.parametrize("label", ["exact", "same", "different", "active", "active-wor", "projection"])
def test_relu_dense__input_and_bias_gradients_are_exact(label):
    """Whatever is stored, d/dz and d/db equal standard AD of relu(z) @ W + b."""
    dz, _, db = _grads(Sampler.from_label(label, 0.25))
    ref_dz, ref_dW, ref_db = jax.grad(_reference, argnums=(0, 1, 2))(Z, W, B)
    np.testing.assert_allclose(dz, ref_dz, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(db, ref_db, rtol=1e-5, atol=1e-6)
    if label == "exact":
        np.testing.assert_allclose(_grads(layers.EXACT)[1], ref_dW, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("label", ["different", "active", "projection"])
def test_relu_dense__weight_gradient_uses_the_rebuilt_input(label):
    """d/dW equals x_hat^T g with x_hat rebuilt from this key's sample of relu(z)."""
    sampler = Sampler.from_label(label, 0.25)
    _, dW, _ = _grads(sampler)
    h = jax.nn.relu(Z)
    g = jnp.cos(h @ W + B)
    active = h > 0
    x_hat = reconstruct(sampler, KEY, compress(sampler, KEY, h, active if label == "active" else None), 16, active if label == "active" else None)
    np.testing.assert_allclose(dW, x_hat.T @ g, rtol=1e-4, atol=1e-5)
    assert not np.allclose(dW, jax.grad(_reference, argnums=1)(Z, W, B), atol=1e-3)


def test_relu_dense__saves_only_sampled_values_and_bits():
    """Residuals beyond the arguments: float32 [6, 4] samples and uint8 [6, 2] ReLU bits, nothing [6, 16]."""
    loss = lambda z, W, b, key: jnp.sum(layers.relu_dense(z, W, b, key, Sampler("different", 0.25)) ** 2)
    report = residual_report(loss, Z, W, B, KEY)
    computed = sorted((r.shape, r.dtype) for r in report.residuals if r.origin == "computed")
    assert ((6, 4), "float32") in computed and ((6, 2), "uint8") in computed
    assert not any(shape == (6, 16) for shape, _ in computed)
    exact = residual_report(lambda z, W, b: jnp.sum(layers.relu_dense(z, W, b, KEY) ** 2), Z, W, B)
    assert ((6, 16), "float32") in [(r.shape, r.dtype) for r in exact.residuals if r.origin == "computed"]


def test_relu__one_bit_derivative_matches_jax_relu():
    """The 1-bit ReLU has jax.nn.relu's gradient and stores only a uint8 [6, 2] mask."""
    weights = jnp.arange(96.0).reshape(6, 16)
    f = lambda z: jnp.sum(layers.relu(z) * weights)
    g = lambda z: jnp.sum(jax.nn.relu(z) * weights)
    np.testing.assert_allclose(jax.grad(f)(Z), jax.grad(g)(Z), rtol=1e-6)
    assert [(r.shape, r.dtype) for r in residual_report(f, Z).residuals if r.origin == "computed"] == [((6, 2), "uint8")]


def test_conv_and_recurrent__exact_sampler_matches_standard_ad():
    """With the exact sampler, relu_conv2d and recurrent give standard AD's gradients."""
    z = jax.random.normal(jax.random.key(2), (2, 5, 5, 3))
    K = jax.random.normal(jax.random.key(3), (3, 3, 3, 4))
    conv = lambda z, K: jnp.sum(jnp.sin(layers.relu_conv2d(z, K, jnp.zeros(4), KEY)))
    plain = lambda z, K: jnp.sum(jnp.sin(jax.lax.conv_general_dilated(jax.nn.relu(z), K, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))))
    for a, b in zip(jax.jit(jax.grad(conv, argnums=(0, 1)))(z, K), jax.jit(jax.grad(plain, argnums=(0, 1)))(z, K)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)

    xs = jax.random.normal(jax.random.key(4), (3, 4, 2))
    Wx, Wh, b = jnp.ones((2, 6)) * 0.3, jnp.eye(6) * 0.8, jnp.full((6,), 0.1)

    def unrolled(Wx, Wh, b):
        z = jnp.full((3, 6), -1.0)
        for t in range(4):
            z = xs[:, t] @ Wx + jax.nn.relu(z) @ Wh + b
        return jnp.sum(jnp.sin(z))

    rec = lambda Wx, Wh, b: jnp.sum(jnp.sin(layers.recurrent(xs, Wx, Wh, b, KEY)))
    for a, b_ in zip(jax.jit(jax.grad(rec, argnums=(0, 1, 2)))(Wx, Wh, b), jax.jit(jax.grad(unrolled, argnums=(0, 1, 2)))(Wx, Wh, b)):
        np.testing.assert_allclose(a, b_, rtol=1e-5, atol=1e-6)


def test_recurrent__sampled_input_gradient_is_exact_and_residuals_are_small():
    """A sampled RNN keeps d/dWx's backpropagated signal exact per step and stores [T, B, k] samples."""
    xs = jax.random.normal(jax.random.key(4), (3, 4, 2))
    params = (jnp.ones((2, 8)) * 0.3, jnp.eye(8) * 0.8, jnp.full((8,), 0.1))
    loss = lambda Wx, Wh, b: jnp.sum(layers.recurrent(xs, Wx, Wh, b, KEY, Sampler("different", 0.25)) ** 2)
    report = residual_report(loss, *params)
    shapes = [r.shape for r in report.residuals if r.origin == "computed"]
    assert (4, 3, 2) in shapes and (4, 3, 1) in shapes
    assert not any(len(s) == 3 and s[-1] == 8 for s in shapes)


def test_dense__active_sampler_without_relu_input_raises():
    """The 'active' sampler needs ReLU bits, so a plain dense layer refuses it."""
    with pytest.raises(ValueError, match="ReLU bits"):
        jax.grad(lambda x: jnp.sum(layers.dense(x, W, B, KEY, Sampler("active", 0.5))))(Z)


@pytest.mark.parametrize("label", ["different", "projection"])
def test_conv_and_recurrent__sampled_input_and_bias_gradients_are_exact(label):
    """Sampled relu_conv2d keeps d/dz and d/db exact; a sampled RNN keeps d/dxs and d/db exact."""
    sampler = Sampler.from_label(label, 0.25)
    z = jax.random.normal(jax.random.key(2), (2, 4, 4, 3))
    K = jax.random.normal(jax.random.key(3), (3, 3, 3, 4)) * 0.3
    c = jnp.linspace(-0.1, 0.1, 4)
    conv = lambda z, c, s: jnp.sum(jnp.sin(layers.relu_conv2d(z, K, c, KEY, s)))
    for a, b in zip(jax.jit(jax.grad(conv, argnums=(0, 1)), static_argnums=2)(z, c, sampler), jax.grad(conv, argnums=(0, 1))(z, c, layers.EXACT)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)

    xs = jax.random.normal(jax.random.key(4), (3, 4, 2))
    Wx, Wh = jnp.ones((2, 6)) * 0.3, jnp.eye(6) * 0.8
    rec = lambda xs, b, s: jnp.sum(jnp.sin(layers.recurrent(xs, Wx, Wh, b, KEY, s)))
    bias = jnp.full((6,), 0.1)
    for a, b in zip(jax.jit(jax.grad(rec, argnums=(0, 1)), static_argnums=2)(xs, bias, sampler), jax.grad(rec, argnums=(0, 1))(xs, bias, layers.EXACT)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)

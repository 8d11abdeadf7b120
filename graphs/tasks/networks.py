"""Small neural networks with their training losses: a perceptron and a transformer encoder.

Every array is a vector or a matrix (vertices have rank at most 2): a batch of examples or a
sequence of tokens is the leading axis, features the trailing one, and the encoder's attention
has a single head.

References:
    D. E. Rumelhart, G. E. Hinton, R. J. Williams, "Learning representations by
    back-propagating errors", Nature 323 (1986) 533-536 (the multi-layer perceptron).
    J. L. Ba, J. R. Kiros, G. E. Hinton, "Layer normalization", arXiv:1607.06450 (2016).
    A. Vaswani et al., "Attention is all you need", NeurIPS 2017 (the encoder block:
    scaled dot-product attention, residual connections, post-layer normalisation).
    S. Elfwing, E. Uchibe, K. Doya, "Sigmoid-weighted linear units for neural network function
    approximation in reinforcement learning", Neural Networks 107 (2018) 3-11 (SiLU).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "LAYER_NORM_EPS",
    "layer_norm",
    "log_softmax",
    "softmax",
    "perceptron",
    "perceptron_args",
    "PERCEPTRON_LABELS",
    "encoder_block",
    "encoder",
    "encoder_args",
    "ENCODER_TARGET",
]

LAYER_NORM_EPS = 1e-5
"""The variance offset of layer normalisation."""

# Perceptron sizes: a batch of 8 examples with 16 features, 32 hidden units, 10 classes.
_BATCH, _FEATURES, _HIDDEN, _CLASSES = 8, 16, 32, 10
# Encoder sizes: 8 tokens of width 16, feed-forward width 32, two blocks.
_TOKENS, _WIDTH, _FFN, _BLOCKS = 8, 16, 32, 2


def layer_norm(x: Any, scale: Any, bias: Any) -> Any:
    """Normalise each row of ``x`` ``[rows, features]`` to zero mean and unit variance, then
    scale and shift by ``scale``, ``bias`` ``[features]``."""
    centred = x - jnp.mean(x, axis=-1, keepdims=True)
    variance = jnp.mean(centred * centred, axis=-1, keepdims=True)
    return centred * jax.lax.rsqrt(variance + LAYER_NORM_EPS) * scale + bias


def log_softmax(logits: Any) -> Any:
    """Row-wise log-softmax of ``logits`` ``[rows, classes]``, shifted by the (constant) row max."""
    shifted = logits - jax.lax.stop_gradient(jnp.max(logits, axis=-1, keepdims=True))
    return shifted - jnp.log(jnp.sum(jnp.exp(shifted), axis=-1, keepdims=True))


def softmax(logits: Any) -> Any:
    """Row-wise softmax of ``logits`` ``[rows, columns]``, shifted by the (constant) row max."""
    exps = jnp.exp(logits - jax.lax.stop_gradient(jnp.max(logits, axis=-1, keepdims=True)))
    return exps / jnp.sum(exps, axis=-1, keepdims=True)


PERCEPTRON_LABELS = np.eye(_CLASSES, dtype=np.float32)[np.random.default_rng(7).integers(0, _CLASSES, _BATCH)]
"""One-hot class labels ``[8, 10]`` of the perceptron's batch (data, not an input)."""


def perceptron(x: Any, W1: Any, b1: Any, scale: Any, bias: Any, W2: Any, b2: Any) -> Any:
    """Softmax cross-entropy loss of a two-layer perceptron on a batch.

    ``h = tanh(layer_norm(x W1 + b1))``, ``logits = h W2 + b2``, loss = mean over the batch of
    ``-sum(labels * log_softmax(logits))`` with the fixed :data:`PERCEPTRON_LABELS`.

    Args:
        x: inputs ``[8, 16]``; W1 ``[16, 32]``, b1 ``[32]``: first layer; scale, bias ``[32]``:
            layer-norm parameters; W2 ``[32, 10]``, b2 ``[10]``: second layer.

    Returns:
        The scalar loss.
    """
    hidden = jnp.tanh(layer_norm(x @ W1 + b1, scale, bias))
    logits = hidden @ W2 + b2
    return -jnp.sum(PERCEPTRON_LABELS * log_softmax(logits)) / _BATCH


def _glorot(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, (fan_in, fan_out))


def perceptron_args() -> tuple[Any, ...]:
    """Standard-normal inputs, Glorot-uniform weights, small random biases, unit layer-norm
    scale (seeded, ``float32``)."""
    rng = np.random.default_rng(0)
    arrays = (
        rng.standard_normal((_BATCH, _FEATURES)),
        _glorot(rng, _FEATURES, _HIDDEN),
        0.1 * rng.standard_normal(_HIDDEN),
        np.ones(_HIDDEN),
        np.zeros(_HIDDEN),
        _glorot(rng, _HIDDEN, _CLASSES),
        0.1 * rng.standard_normal(_CLASSES),
    )
    return tuple(jnp.asarray(a, jnp.float32) for a in arrays)


def encoder_block(x: Any, p: dict[str, Any]) -> Any:
    """One post-norm transformer encoder block on ``x`` ``[tokens, width]``.

    ``y = layer_norm(x + softmax(q k^T / sqrt(width)) v W_o)`` with ``q, k, v = x W_q, x W_k, x W_v``,
    then ``layer_norm(y + silu(y W_1 + b_1) W_2 + b_2)``.
    """
    q, k, v = x @ p["wq"], x @ p["wk"], x @ p["wv"]
    scores = (q @ k.T) / np.sqrt(np.float32(_WIDTH))
    attention = softmax(scores)
    y = layer_norm(x + (attention @ v) @ p["wo"], p["ln1_scale"], p["ln1_bias"])
    pre = y @ p["w1"] + p["b1"]
    ffn = (pre * jax.nn.sigmoid(pre)) @ p["w2"] + p["b2"]
    return layer_norm(y + ffn, p["ln2_scale"], p["ln2_bias"])


ENCODER_TARGET = np.random.default_rng(11).standard_normal((_TOKENS, _WIDTH)).astype(np.float32)
"""Regression target ``[8, 16]`` of the encoder's loss (data, not an input)."""


def encoder(x: Any, blocks: tuple[dict[str, Any], ...]) -> Any:
    """Mean squared error between two encoder blocks' output and :data:`ENCODER_TARGET`.

    Args:
        x: token embeddings ``[8, 16]``.
        blocks: one parameter dict per block: ``wq, wk, wv, wo`` ``[16, 16]``, ``w1`` ``[16, 32]``,
            ``b1`` ``[32]``, ``w2`` ``[32, 16]``, ``b2``, ``ln1_scale``, ``ln1_bias``,
            ``ln2_scale``, ``ln2_bias`` ``[16]``.

    Returns:
        The scalar loss.
    """
    for p in blocks:
        x = encoder_block(x, p)
    error = x - ENCODER_TARGET
    return jnp.mean(error * error)


def encoder_args() -> tuple[Any, ...]:
    """Standard-normal embeddings and, per block, Glorot-uniform matrices, zero biases and unit
    layer-norm scales (seeded, ``float32``)."""
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.standard_normal((_TOKENS, _WIDTH)), jnp.float32)
    blocks = []
    for _ in range(_BLOCKS):
        params = {name: _glorot(rng, _WIDTH, _WIDTH) for name in ("wq", "wk", "wv", "wo")}
        params.update(
            w1=_glorot(rng, _WIDTH, _FFN),
            b1=np.zeros(_FFN),
            w2=_glorot(rng, _FFN, _WIDTH),
            b2=np.zeros(_WIDTH),
            ln1_scale=np.ones(_WIDTH),
            ln1_bias=np.zeros(_WIDTH),
            ln2_scale=np.ones(_WIDTH),
            ln2_bias=np.zeros(_WIDTH),
        )
        blocks.append({name: jnp.asarray(a, jnp.float32) for name, a in params.items()})
    return x, tuple(blocks)

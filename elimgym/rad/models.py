"""Small digit classifiers (MLP, CNN, RNN) built from the sampled layers of :mod:`elimgym.rad.layers`.

Every model takes one :class:`~elimgym.rad.sampling.Sampler` for all of its hidden layers. The
first layer reads the data batch, which stays in memory anyway (it is an argument of the loss), so
it stores nothing and its weight gradient is exact; every later layer is a ``relu_*`` layer that
stores the ReLU bits of its input and what the sampler keeps of it.

Parameters are dicts ``{layer: {"W": ..., "b": ...}}``; the loss is the mean softmax
cross-entropy over the batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp

from elimgym.rad import layers
from elimgym.rad.sampling import Sampler

__all__ = ["MODELS", "Model", "cross_entropy", "get_model", "plain_mlp_loss"]

Params = dict[str, dict[str, jax.Array]]


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean softmax cross-entropy of ``[B, C]`` logits against int ``[B]`` labels (nats)."""
    log_probs = jax.nn.log_softmax(logits)
    return -jnp.mean(jnp.take_along_axis(log_probs, labels[:, None], axis=1))


@dataclass(frozen=True)
class Model:
    """A classifier of 8x8 digits.

    Attributes:
        name: ``"mlp"``, ``"cnn"`` or ``"rnn"``.
        input_format: the key of :data:`elimgym.rad.data.FORMATS` its inputs use.
        layers: parameter groups from input to output (each has a weight ``"W"``).
        init: ``key -> params``.
        logits: ``(params, x, key, sampler) -> [B, 10]``.
    """

    name: str
    input_format: str
    layers: tuple[str, ...]
    init: Callable[[jax.Array], Params]
    logits: Callable[[Params, jax.Array, jax.Array, Sampler], jax.Array]

    def loss(self, params: Params, x: jax.Array, y: jax.Array, key: jax.Array, sampler: Sampler = layers.EXACT) -> jax.Array:
        """Mean cross-entropy of the batch ``(x, y)``; ``key`` drives the activation sampling."""
        return cross_entropy(self.logits(params, x, key, sampler), y)

    def accuracy(self, params: Params, x: jax.Array, y: jax.Array) -> jax.Array:
        """Fraction of correctly classified examples (forward pass only)."""
        logits = self.logits(params, x, jax.random.key(0), layers.EXACT)
        return jnp.mean(jnp.argmax(logits, axis=1) == y)


def _he(key: jax.Array, shape: tuple[int, ...], fan_in: int) -> jax.Array:
    return jax.random.normal(key, shape, jnp.float32) * jnp.sqrt(2.0 / fan_in)


# ----------------------------------------------------------------------------------- MLP
MLP_HIDDEN = 256


def _mlp_init(key: jax.Array) -> Params:
    k1, k2, k3 = jax.random.split(key, 3)
    h = MLP_HIDDEN
    return {
        "dense1": {"W": _he(k1, (64, h), 64), "b": jnp.zeros(h)},
        "dense2": {"W": _he(k2, (h, h), h), "b": jnp.zeros(h)},
        "dense3": {"W": _he(k3, (h, 10), h), "b": jnp.zeros(10)},
    }


def _mlp_logits(params: Params, x: jax.Array, key: jax.Array, sampler: Sampler) -> jax.Array:
    k2, k3 = jax.random.split(key)
    z1 = x @ params["dense1"]["W"] + params["dense1"]["b"]
    z2 = layers.relu_dense(z1, params["dense2"]["W"], params["dense2"]["b"], k2, sampler)
    return layers.relu_dense(z2, params["dense3"]["W"], params["dense3"]["b"], k3, sampler)


def plain_mlp_loss(params: Params, x: jax.Array, y: jax.Array) -> jax.Array:
    """The MLP written with stock JAX (``jax.nn.relu``, ``@``): what standard AD saves by default."""
    h = jax.nn.relu(x @ params["dense1"]["W"] + params["dense1"]["b"])
    h = jax.nn.relu(h @ params["dense2"]["W"] + params["dense2"]["b"])
    return cross_entropy(h @ params["dense3"]["W"] + params["dense3"]["b"], y)


# ----------------------------------------------------------------------------------- CNN
CNN_CHANNELS = (16, 32)


def _cnn_init(key: jax.Array) -> Params:
    k1, k2, k3 = jax.random.split(key, 3)
    c1, c2 = CNN_CHANNELS
    return {
        "conv1": {"W": _he(k1, (3, 3, 1, c1), 9), "b": jnp.zeros(c1)},
        "conv2": {"W": _he(k2, (3, 3, c1, c2), 9 * c1), "b": jnp.zeros(c2)},
        "dense": {"W": _he(k3, (64 * c2, 10), 64 * c2), "b": jnp.zeros(10)},
    }


def _cnn_logits(params: Params, x: jax.Array, key: jax.Array, sampler: Sampler) -> jax.Array:
    k2, k3 = jax.random.split(key)
    z1 = layers.conv2d(x, params["conv1"]["W"], params["conv1"]["b"], key, layers.EXACT)
    z2 = layers.relu_conv2d(z1, params["conv2"]["W"], params["conv2"]["b"], k2, sampler)
    return layers.relu_dense(z2.reshape(z2.shape[0], -1), params["dense"]["W"], params["dense"]["b"], k3, sampler)


# ----------------------------------------------------------------------------------- RNN
RNN_HIDDEN = 128


def _rnn_init(key: jax.Array) -> Params:
    k1, k2 = jax.random.split(key)
    h = RNN_HIDDEN
    return {
        "input": {"W": _he(k1, (8, h), 8)},
        "recurrent": {"W": jnp.eye(h, dtype=jnp.float32), "b": jnp.zeros(h)},
        "readout": {"W": _he(k2, (h, 10), h), "b": jnp.zeros(10)},
    }


def _rnn_logits(params: Params, x: jax.Array, key: jax.Array, sampler: Sampler) -> jax.Array:
    k1, k2 = jax.random.split(key)
    z = layers.recurrent(x, params["input"]["W"], params["recurrent"]["W"], params["recurrent"]["b"], k1, sampler)
    return layers.relu_dense(z, params["readout"]["W"], params["readout"]["b"], k2, sampler)


MODELS: dict[str, Model] = {
    "mlp": Model("mlp", "flat", ("dense1", "dense2", "dense3"), _mlp_init, _mlp_logits),
    "cnn": Model("cnn", "images", ("conv1", "conv2", "dense"), _cnn_init, _cnn_logits),
    "rnn": Model("rnn", "sequences", ("input", "recurrent", "readout"), _rnn_init, _rnn_logits),
}
"""Name -> model: a 64-256-256-10 ReLU MLP, a two-layer 3x3 CNN (16, 32 channels) with a dense
readout, and a 128-unit ReLU RNN (identity-initialised) reading the digit row by row."""


def get_model(name: str) -> Model:
    """The model called ``name``.

    Raises:
        KeyError: naming the available models.
    """
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; available: {sorted(MODELS)}") from None

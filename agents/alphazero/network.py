"""The policy-value network: a graph transformer over vertex tokens (equinox).

One token per vertex slot. Each block is pre-norm multi-head self-attention whose logits get a
learned bias per head from the structure of the edges in *both* directions (``s -> t`` and
``t -> s``; "no edge" is a structure too), followed by an MLP. The edge bias is a linear map of
:func:`elimgym.tables.code_features` (a size-independent description of every structure code), so
structures never seen in training still get a sensible bias. Padding slots are masked out as
keys, from the pooled value and from the policy.

Heads: a policy logit per vertex (an MLP of its token plus a learned linear skip from its input
features), and a scalar ``u`` from the masked mean and max of the tokens. Both heads' MLPs end in
zero-initialised layers and the skip starts as ``PRIOR_SKIP_INIT`` on the "next move of the
cheapest heuristic completion" feature: the initial prior prefers that move (probability
``e^2`` times any other's) and the initial value is the baseline (see :func:`value_from_head`).

No parameter depends on the capacity ``N``: the same network plays any graph.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from elimgym.tables import code_features

from agents.alphazero.config import NetworkConfig
from agents.alphazero.features import GAME_FEATURES, VERTEX_FEATURES, NetworkInput

__all__ = ["PolicyValueNet", "value_from_head", "MASKED_LOGIT", "RATIO_BOUND", "PRIOR_SKIP_INIT"]

MASKED_LOGIT = -1e9
"""Logit given to illegal vertices (softmax probability exactly 0 in float32)."""

RATIO_BOUND = 2.0
"""``|u|`` bound of the baseline correction: values lie within ``exp(+-2)`` of the baseline."""

PRIOR_SKIP_INIT = 2.0
"""Initial logit bonus of the cheapest heuristic completion's next move."""

_NEG = -1e9


def _linear(in_features: int, out_features: int, key: jax.Array, zero: bool = False) -> eqx.nn.Linear:
    layer = eqx.nn.Linear(in_features, out_features, key=key)
    if zero:
        layer = eqx.tree_at(lambda m: (m.weight, m.bias), layer, (jnp.zeros_like(layer.weight), jnp.zeros_like(layer.bias)))
    return layer


class _Block(eqx.Module):
    """Pre-norm attention with an additive per-head bias, then a pre-norm MLP."""

    attention_norm: eqx.nn.LayerNorm
    qkv: eqx.nn.Linear
    attention_out: eqx.nn.Linear
    mlp_norm: eqx.nn.LayerNorm
    mlp_in: eqx.nn.Linear
    mlp_out: eqx.nn.Linear
    heads: int = eqx.field(static=True)

    def __init__(self, width: int, heads: int, mlp_ratio: int, key: jax.Array):
        keys = jax.random.split(key, 4)
        self.attention_norm = eqx.nn.LayerNorm(width)
        self.qkv = _linear(width, 3 * width, keys[0])
        self.attention_out = _linear(width, width, keys[1])
        self.mlp_norm = eqx.nn.LayerNorm(width)
        self.mlp_in = _linear(width, mlp_ratio * width, keys[2])
        self.mlp_out = _linear(mlp_ratio * width, width, keys[3])
        self.heads = heads

    def __call__(self, x: jax.Array, bias: jax.Array) -> jax.Array:
        """``x [N, D]``, ``bias [H, N, N]`` (query, key; padding keys already at ``-1e9``) -> ``[N, D]``."""
        n, width = x.shape
        head_width = width // self.heads
        q, k, v = jnp.split(jax.vmap(self.qkv)(jax.vmap(self.attention_norm)(x)), 3, axis=-1)
        q, k, v = (t.reshape(n, self.heads, head_width) for t in (q, k, v))
        logits = jnp.einsum("qhd,khd->hqk", q, k) / math.sqrt(head_width) + bias
        attended = jnp.einsum("hqk,khd->qhd", jax.nn.softmax(logits, axis=-1), v).reshape(n, width)
        x = x + jax.vmap(self.attention_out)(attended)
        hidden = jax.nn.gelu(jax.vmap(self.mlp_in)(jax.vmap(self.mlp_norm)(x)))
        return x + jax.vmap(self.mlp_out)(hidden)


class PolicyValueNet(eqx.Module):
    """Graph transformer with a per-vertex policy head and a pooled value head.

    Call it on one :class:`~agents.alphazero.features.NetworkInput` (``vmap`` for a batch):
    returns ``(logits [N] float32, u [] float32)``; illegal vertices get :data:`MASKED_LOGIT`.
    """

    embed: eqx.nn.Linear
    edge_out_bias: eqx.nn.Linear
    edge_in_bias: eqx.nn.Linear
    self_bias: jax.Array
    prior_skip: jax.Array
    blocks: tuple[_Block, ...]
    final_norm: eqx.nn.LayerNorm
    policy_hidden: eqx.nn.Linear
    policy_out: eqx.nn.Linear
    value_hidden: eqx.nn.Linear
    value_out: eqx.nn.Linear
    depth: int = eqx.field(static=True)
    heads: int = eqx.field(static=True)

    def __init__(self, config: NetworkConfig, key: jax.Array):
        width, depth, heads = config.width, config.depth, config.heads
        keys = jax.random.split(key, depth + 7)
        num_code_features = code_features().shape[1]
        self.embed = _linear(len(VERTEX_FEATURES) + len(GAME_FEATURES), width, keys[0])
        self.edge_out_bias = _linear(num_code_features, depth * heads, keys[1])
        self.edge_in_bias = _linear(num_code_features, depth * heads, keys[2])
        self.self_bias = jnp.zeros((depth, heads), jnp.float32)
        skip = np.zeros(len(VERTEX_FEATURES), np.float32)
        skip[VERTEX_FEATURES.index("next_of_cheapest_completion")] = PRIOR_SKIP_INIT
        self.prior_skip = jnp.asarray(skip)
        self.blocks = tuple(_Block(width, heads, config.mlp_ratio, k) for k in keys[7:])
        self.final_norm = eqx.nn.LayerNorm(width)
        self.policy_hidden = _linear(width, width, keys[3])
        self.policy_out = _linear(width, 1, keys[4], zero=True)
        self.value_hidden = _linear(2 * width, width, keys[5])
        self.value_out = _linear(width, 1, keys[6], zero=True)
        self.depth = depth
        self.heads = heads

    def _edge_bias_tables(self) -> tuple[jax.Array, jax.Array]:
        """``([L, H, codes], [L, H, codes])``: bias of each structure code for edges ``query -> key``
        and ``key -> query``."""
        table = jnp.asarray(code_features())
        shape = (self.depth, self.heads, table.shape[0])
        out_table = jax.vmap(self.edge_out_bias)(table).T.reshape(shape)
        in_table = jax.vmap(self.edge_in_bias)(table).T.reshape(shape)
        return out_table, in_table

    def __call__(self, inputs: NetworkInput) -> tuple[jax.Array, jax.Array]:
        n = inputs.edges.shape[-1]
        game = jnp.broadcast_to(inputs.game, (n, inputs.game.shape[-1]))
        x = jax.vmap(self.embed)(jnp.concatenate([inputs.vertices, game], axis=-1))
        codes = inputs.edges.astype(jnp.int32)
        out_table, in_table = self._edge_bias_tables()
        padding = jnp.where(inputs.real, 0.0, _NEG)[None, None, :]
        eye = jnp.eye(n, dtype=jnp.float32)
        for layer, block in enumerate(self.blocks):
            # one gather per layer: slicing a stacked [L, H, N, N] bias is several times slower on CPU
            bias = out_table[layer][:, codes] + in_table[layer][:, codes.T] + self.self_bias[layer][:, None, None] * eye + padding
            x = block(x, bias)
        x = jax.vmap(self.final_norm)(x)
        logits = jax.vmap(lambda t: self.policy_out(jax.nn.gelu(self.policy_hidden(t)))[0])(x)
        logits = logits + inputs.vertices @ self.prior_skip
        logits = jnp.where(inputs.legal, logits, MASKED_LOGIT)
        real = inputs.real[:, None]
        count = jnp.maximum(jnp.sum(inputs.real), 1)
        mean = jnp.sum(jnp.where(real, x, 0.0), axis=0) / count
        peak = jnp.max(jnp.where(real, x, _NEG), axis=0)
        u = self.value_out(jax.nn.gelu(self.value_hidden(jnp.concatenate([mean, peak]))))[0]
        return logits, u


def value_from_head(u: jax.Array, baseline: jax.Array, terminated: jax.Array, value_baseline: str) -> jax.Array:
    """The state value (normalised return still to come, <= 0) from the value head's ``u``.

    * ``"heuristics"``: ``-baseline * exp(-2 tanh(u / 2))``: the network scales the cheapest
      heuristic completion by a factor in ``[e^-2, e^2]``; ``u = 0`` gives the baseline itself.
    * ``"none"``: ``-softplus(u + 0.5413)`` (``-1`` at ``u = 0``, the return of the best classical
      order from the initial state).

    Terminated games have value 0.
    """
    if value_baseline == "heuristics":
        value = -baseline * jnp.exp(-RATIO_BOUND * jnp.tanh(u / RATIO_BOUND))
    elif value_baseline == "none":
        value = -jax.nn.softplus(u + np.log(np.e - 1.0))
    else:
        raise ValueError(f"unknown value baseline {value_baseline!r}")
    return jnp.where(terminated, 0.0, value)

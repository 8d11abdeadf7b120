"""Gumbel MuZero search (``mctx.gumbel_muzero_policy``) with the JAX game as a perfect simulator.

The search never learns a model: ``recurrent_fn`` steps the real game. Conventions:

* **Normalised rewards.** A game's rewards are divided by its ``scale``: the cost of the best of
  the forward, reverse and Markowitz orders of its graph (:mod:`agents.alphazero.pool`), so the
  best classical order has return ``-1`` on every graph whatever its absolute cost, and a return of
  ``-0.9`` means 10% cheaper than all three. Values and Q-values are in the same unit.
* **Discount** 1 inside the game, 0 once a step terminates it (nothing follows a finished game).
* **Masks.** Illegal vertices get :data:`~agents.alphazero.network.MASKED_LOGIT` logits at every
  node, including interior nodes (mctx only masks the root through ``invalid_actions``, which is
  True for *illegal* actions -- the negation of the game's mask).
* **Value.** With the ``"heuristics"`` baseline, every node evaluation also finishes the game with
  each baseline heuristic (:mod:`agents.alphazero.baseline`); the value head corrects the cheapest
  of those completions (:func:`~agents.alphazero.network.value_from_head`). With ``"none"`` no
  game is played out and the value head alone estimates the return (plain AlphaZero).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import mctx

from elimgym import game
from elimgym.game import GameState

from agents.alphazero.baseline import Completions, baseline_of, complete
from agents.alphazero.config import SearchConfig
from agents.alphazero.features import network_input
from agents.alphazero.network import PolicyValueNet, value_from_head

__all__ = ["Node", "Evaluation", "SearchOutput", "evaluate", "search", "search_step"]


class Node(NamedTuple):
    """The embedding mctx stores per tree node (``B`` games, capacity ``N``).

    Attributes:
        state: the game states (leading axis ``B``).
        scale: ``[B] float32``: each game's reward normaliser (> 0).
    """

    state: GameState
    scale: jax.Array


class Evaluation(NamedTuple):
    """Network evaluation of a batch of nodes.

    Attributes:
        logits: ``[B, N] float32``: prior logits, illegal vertices masked.
        value: ``[B] float32``: normalised value (0 for finished games).
        completions: the nodes' heuristic completions (the network's extra input).
    """

    logits: jax.Array
    value: jax.Array
    completions: Completions


class SearchOutput(NamedTuple):
    """One search per game.

    Attributes:
        action: ``[B] int32``: the vertex to eliminate.
        policy: ``[B, N] float32``: the improved policy (training target for the prior).
        root_value: ``[B] float32``: the search's value estimate of the root.
        root: the network evaluation of the root.
    """

    action: jax.Array
    policy: jax.Array
    root_value: jax.Array
    root: Evaluation


def evaluate(model: PolicyValueNet, config: SearchConfig, node: Node) -> Evaluation:
    """Evaluate a batch of nodes with the network (and the heuristic baseline, if configured)."""
    state = node.state
    played = config.baseline_policies if config.value_baseline == "heuristics" else ()
    completions = complete(state, node.scale, played)
    inputs = jax.vmap(network_input)(state, node.scale, completions)
    logits, u = jax.vmap(model)(inputs)
    value = value_from_head(u, baseline_of(completions), state.terminated, config.value_baseline)
    return Evaluation(logits, value, completions)


def _recurrent_fn(config: SearchConfig):
    def recurrent_fn(model: PolicyValueNet, key: jax.Array, action: jax.Array, node: Node):
        del key
        state, reward, terminated = jax.vmap(game.step)(node.state, action)
        child = Node(state, node.scale)
        evaluation = evaluate(model, config, child)
        output = mctx.RecurrentFnOutput(
            reward=reward / node.scale,
            discount=jnp.where(terminated, 0.0, 1.0).astype(jnp.float32),
            prior_logits=evaluation.logits,
            value=evaluation.value,
        )
        return output, child

    return recurrent_fn


def search(model: PolicyValueNet, config: SearchConfig, node: Node, key: jax.Array, gumbel_scale: jax.Array | float | None = None) -> SearchOutput:
    """Run one Gumbel MuZero search from every root of the batch.

    Args:
        model: the network.
        config: search settings (simulations, considered actions, Gumbel scale, baseline).
        node: the root states and their scales.
        key: PRNG key (consumed).
        gumbel_scale: overrides ``config.gumbel_scale`` (may be a traced scalar).
    """
    root = evaluate(model, config, node)
    legal = jax.vmap(game.legal_action_mask)(node.state)
    output = mctx.gumbel_muzero_policy(
        params=model,
        rng_key=key,
        root=mctx.RootFnOutput(prior_logits=root.logits, value=root.value, embedding=node),
        recurrent_fn=_recurrent_fn(config),
        num_simulations=config.num_simulations,
        invalid_actions=~legal,
        max_num_considered_actions=config.max_considered_actions,
        gumbel_scale=config.gumbel_scale if gumbel_scale is None else gumbel_scale,
    )
    root_value = output.search_tree.node_values[:, output.search_tree.ROOT_INDEX]
    return SearchOutput(output.action.astype(jnp.int32), output.action_weights, root_value, root)


def search_step(model: PolicyValueNet, config: SearchConfig, node: Node, key: jax.Array):
    """Search, then play the chosen actions: ``(SearchOutput, next Node, rewards [B], terminated [B])``.

    Rewards are the raw (unnormalised) game rewards, ``-multiplications``. Compiled once per
    config up to ``gumbel_scale`` (passed as data, so self-play and evaluation share the code).
    """
    static = dataclasses.replace(config, gumbel_scale=0.0)
    return _search_step(model, static, node, key, jnp.float32(config.gumbel_scale))


@eqx.filter_jit
def _search_step(model: PolicyValueNet, config: SearchConfig, node: Node, key: jax.Array, gumbel_scale: jax.Array):
    out = search(model, config, node, key, gumbel_scale)
    state, reward, terminated = jax.vmap(game.step)(node.state, out.action)
    return out, Node(state, node.scale), reward, terminated

# docs and experiment results: docs/ppo.md
"""PPO with invalid-action masking on the elimgym vertex-elimination envs (CleanRL style).

One file, read top to bottom: the arguments, the env factory, the network, the evaluation helpers,
then the training loop under ``if __name__ == "__main__":``. Run ``python agents/ppo.py --help``.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import operator
import os
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import gymnasium as gym
import jax
import numpy as np
import torch
import torch.nn.functional as F
import tyro
from gymnasium.vector import AutoresetMode
from torch import nn
from torch.distributions.categorical import Categorical

import elimgym  # registers the VertexElim-* ids
from elimgym import game
from elimgym.envs.layout import to_layout
from elimgym.envs.pool import GraphPool, split_pool
from elimgym.game import VERTEX_FEATURE_NAMES
from elimgym.tables import code_features
from graphs.lcg import LCG


@dataclass
class Args:
    exp_name: str = "ppo"
    """the name of this experiment (part of the run name)"""
    seed: int = 1
    """seed of the experiment (Python, NumPy, torch and the envs' graph draws)"""
    torch_deterministic: bool = True
    """if toggled, `torch.backends.cudnn.deterministic=True`"""
    cuda: bool = False
    """if toggled, run the network on CUDA when it is available"""
    torch_threads: int = 1
    """torch CPU threads (1 is fastest on small shared CPUs, where more threads spin and wait)"""
    output_dir: str = "runs"
    """runs are written to `{output_dir}/{run_name}/` (TensorBoard events, metrics.csv, checkpoint.pt, curve.png)"""
    resume: str | None = None
    """a checkpoint.pt to continue from (its run directory, arguments and global step are kept)"""
    save_interval: int = 10
    """save a checkpoint every this many iterations (and at the end)"""

    # Environment
    env_id: str = "VertexElim-RoeFlux-v0"
    """any registered VertexElim-* id"""
    band: str | None = None
    """size band of the random-graph envs (`small`, `medium`, `large`; default: every band)"""
    capacity: int | None = None
    """padded graph size of the env (default: the env's own)"""
    reward_scaling: str = "markowitz"
    """the env's reward_scaling: rewards are -multiplications / the graph's Markowitz cost, so every graph's
    Markowitz order returns -1 whatever its size (`raw` gives plain multiplications)"""
    log_return: bool = True
    """train on the rewards log1p(c) - log1p(c'), where c and c' are the episode's scaled cost before and after
    the step: the return is -log(1 + cost / Markowitz), so relative improvements weigh alike on every graph and
    a few disastrous episodes do not dominate the value loss (and, through gradient clipping, the update)"""

    # Evaluation
    eval_interval: int = 10
    """evaluate the greedy policy every this many iterations (and at the end)"""
    eval_split: str = "validation"
    """split the greedy policy is evaluated on for random-graph envs (task envs evaluate on their graph)"""
    eval_graphs: int = 60
    """number of graphs of `eval_split` evaluated (spread evenly over the split)"""

    # Network
    width: int = 32
    """token width of the message-passing network"""
    depth: int = 3
    """number of message-passing rounds"""

    # Algorithm specific arguments
    total_timesteps: int = 500_000
    """total env steps of the experiment (reset transitions included)"""
    learning_rate: float = 3e-4
    """the learning rate of the optimizer"""
    num_envs: int = 16
    """the number of parallel game environments"""
    num_steps: int = 64
    """the number of steps to run in each environment per policy rollout"""
    anneal_lr: bool = True
    """toggle learning rate annealing for policy and value networks"""
    gamma: float = 1.0
    """the discount factor gamma (1: the return depends on the episode's total cost only)"""
    gae_lambda: float = 0.95
    """the lambda for the general advantage estimation"""
    num_minibatches: int = 4
    """the number of mini-batches"""
    update_epochs: int = 4
    """the K epochs to update the policy"""
    norm_adv: bool = True
    """toggles advantages normalization"""
    clip_coef: float = 0.2
    """the surrogate clipping coefficient"""
    clip_vloss: bool = True
    """toggles whether or not to use a clipped loss for the value function, as per the paper"""
    ent_coef: float = 0.01
    """coefficient of the entropy (over legal actions)"""
    vf_coef: float = 0.5
    """coefficient of the value function"""
    max_grad_norm: float = 0.5
    """the maximum norm for the gradient clipping"""
    target_kl: float | None = None
    """the target KL divergence threshold"""

    # to be filled in runtime
    batch_size: int = 0
    """the batch size (computed in runtime)"""
    minibatch_size: int = 0
    """the mini-batch size of a full rollout (computed in runtime; reset transitions are left out)"""
    num_iterations: int = 0
    """the number of iterations (computed in runtime)"""


DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "checkpoints" / "ppo_generalist.pt"
"""The shipped generalist (trained on ``VertexElim-Random-v0``; see docs/ppo.md)."""

SESSION_FIELDS = ("resume", "total_timesteps", "torch_threads", "cuda", "save_interval", "eval_interval", "output_dir")
"""Arguments that may differ when a run is resumed; every other one is the checkpoint's."""


def make_env(args: Args) -> gym.vector.VectorEnv:
    """The JAX-backed vector env of ``args.env_id`` (``gym.make_vec``, Gymnasium 1.x next-step autoreset)."""
    kwargs = {"reward_scaling": args.reward_scaling}
    if args.band is not None:
        kwargs["band"] = args.band
    if args.capacity is not None:
        kwargs["capacity"] = args.capacity
    envs = gym.make_vec(args.env_id, num_envs=args.num_envs, **kwargs)
    if envs.metadata.get("autoreset_mode") != AutoresetMode.NEXT_STEP:
        raise ValueError(f"{args.env_id} does not declare next-step autoreset; this script relies on it")
    if not isinstance(envs.single_action_space, gym.spaces.Discrete):
        raise TypeError(f"only discrete action spaces are supported, {args.env_id} has {envs.single_action_space}")
    return envs


def log_rewards(paid: np.ndarray, rewards: np.ndarray, resetting: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The telescoping log rewards of one vector-env step (see ``Args.log_return``).

    Args:
        paid: ``[B] float``: each episode's cost so far in reward units (minus its return so far).
        rewards: ``[B] float``: the env's rewards (``<= 0``).
        resetting: ``[B] bool``: the step was a reset transition (a new episode starts at cost 0).

    Returns:
        ``(log rewards [B], paid after the step [B])``; an episode's log rewards sum to
        ``-log1p(its total scaled cost)``; reset transitions get 0.
    """
    after = np.where(resetting, 0.0, paid - rewards)
    return np.where(resetting, 0.0, np.log1p(paid) - np.log1p(after)), after


def compute_advantages(
    rewards: torch.Tensor,
    values: torch.Tensor,
    terminations: torch.Tensor,
    truncations: torch.Tensor,
    next_value: torch.Tensor,
    gamma: float,
    gae_lambda: float,
) -> torch.Tensor:
    """GAE (Schulman et al. 2016, "High-Dimensional Continuous Control Using Generalized Advantage
    Estimation") over a rollout stored with Gymnasium 1.x next-step autoreset.

    Row ``t`` holds the observation an action was taken in, its value, the reward and whether that
    step ended the episode. After an episode ends at ``t``, row ``t + 1`` is the env's reset
    transition (its observation is the episode's final one, its reward 0); the caller leaves it out
    of the loss. A termination has no future value; after a truncation the value of row ``t + 1``
    (the final observation) bootstraps the return. The recursion never crosses an episode end, so
    no advantage mixes two episodes.

    Args:
        rewards, values, terminations, truncations: ``[T, B] float`` (flags are 0/1).
        next_value: ``[B] float``: the value of the observation after the rollout.
        gamma: discount; gae_lambda: GAE's lambda.

    Returns:
        ``[T, B]`` advantages (returns are ``advantages + values``).
    """
    advantages = torch.zeros_like(rewards)
    last_advantage = torch.zeros_like(next_value)
    for t in reversed(range(rewards.shape[0])):
        next_values = next_value if t == rewards.shape[0] - 1 else values[t + 1]
        delta = rewards[t] + gamma * next_values * (1.0 - terminations[t]) - values[t]
        episode_continues = (1.0 - terminations[t]) * (1.0 - truncations[t])
        advantages[t] = last_advantage = delta + gamma * gae_lambda * episode_continues * last_advantage
    return advantages


def layer_init(layer: nn.Linear, std: float = np.sqrt(2), bias_const: float = 0.0) -> nn.Linear:
    """Orthogonal weights and constant biases (the "37 implementation details of PPO" blog, detail #2)."""
    torch.nn.init.orthogonal_(layer.weight, std)
    torch.nn.init.constant_(layer.bias, bias_const)
    return layer


# --------------------------------------------------------------------------------------------- network
CPU = torch.device("cpu")
_PADDING, _INTERMEDIATE, _ELIMINATED = (VERTEX_FEATURE_NAMES.index(n) for n in ("is_padding", "is_intermediate", "eliminated"))
_FLAG_COLUMNS = 6  # the first six vertex features are 0/1 flags; the others are logs of sizes and degrees
_LOG_FEATURE_SCALE = 10.0  # log features are divided by this (log2 of a vertex size is at most 10)
NUM_TOKEN_FEATURES = len(VERTEX_FEATURE_NAMES) + 3
"""Token inputs: the vertex features, the topological position, the fraction of intermediates
eliminated and ``log1p(remaining intermediates) / 4``."""


def obs_to_torch(obs: dict[str, np.ndarray], device: torch.device) -> dict[str, torch.Tensor]:
    """Copy an observation batch (``edges [B, N, N] uint8``, ``vertices [B, N, F] float32``,
    ``action_mask [B, N] int8``) to torch (``action_mask`` becomes bool)."""
    return {
        "edges": torch.tensor(np.asarray(obs["edges"]), dtype=torch.uint8, device=device),
        "vertices": torch.tensor(np.asarray(obs["vertices"]), dtype=torch.float32, device=device),
        "action_mask": torch.tensor(np.asarray(obs["action_mask"]), dtype=torch.bool, device=device),
    }


class MaskedCategorical(Categorical):
    """A categorical over the legal actions only: illegal logits are replaced by the dtype's
    minimum, so they have probability exactly 0 when sampling and in the loss, and the entropy
    sums over legal actions only (Huang & Ontañón 2020, "A Closer Look at Invalid Action Masking
    in Policy Gradient Algorithms", arXiv 2006.14171).

    Args:
        logits: ``[B, N] float``.
        mask: ``[B, N] bool``: True = legal; every row needs at least one legal action.
    """

    def __init__(self, logits: torch.Tensor, mask: torch.Tensor):
        if not bool(mask.any(dim=-1).all()):
            raise ValueError("every row of the action mask needs at least one legal action")
        self.mask = mask
        super().__init__(logits=logits.masked_fill(~mask, torch.finfo(logits.dtype).min))

    def entropy(self) -> torch.Tensor:
        p_log_p = torch.where(self.mask, self.probs * self.logits, torch.zeros_like(self.logits))
        return -p_log_p.sum(-1)


class Graphs(NamedTuple):
    """A batch of observed graphs flattened into one graph of ``V`` present vertices and ``E`` edges
    (``B`` graphs of capacity ``N``; padding slots and eliminated vertices, which have no edges
    left, are dropped).

    Attributes:
        slot: ``[V] long``: flat index ``b * N + v`` of each present vertex in the ``[B, N]`` batch.
        graph: ``[V] long``: the graph ``b`` of each present vertex.
        source, target: ``[E] long``: the present-vertex indices of each edge ``source -> target``.
        code: ``[E] long``: the structure code of each edge.
        in_count, out_count: ``[V, 1] float``: predecessors and successors of each vertex (at least 1).
        size: ``[B, 1] float``: present vertices of each graph (at least 1).
    """

    slot: torch.Tensor
    graph: torch.Tensor
    source: torch.Tensor
    target: torch.Tensor
    code: torch.Tensor
    in_count: torch.Tensor
    out_count: torch.Tensor
    size: torch.Tensor


def flatten_graphs(edges: torch.Tensor, present: torch.Tensor) -> Graphs:
    """The :class:`Graphs` of ``edges [B, N, N]`` codes with present vertices ``present [B, N] bool``.

    Raises:
        ValueError: if an edge touches a vertex that is not present.
    """
    capacity = present.shape[1]
    flat_present = present.reshape(-1)
    slot = flat_present.nonzero().squeeze(-1)
    vertex_of_slot = torch.cumsum(flat_present.long(), 0) - 1
    b, s, t = edges.nonzero(as_tuple=True)
    source_slot, target_slot = b * capacity + s, b * capacity + t
    if not bool((flat_present[source_slot] & flat_present[target_slot]).all()):
        raise ValueError("an edge touches a padding slot or an eliminated vertex")
    source, target = vertex_of_slot[source_slot], vertex_of_slot[target_slot]
    ones = torch.ones(len(source), device=edges.device)
    in_count = torch.zeros(len(slot), device=edges.device).index_add_(0, target, ones).clamp(min=1)[:, None]
    out_count = torch.zeros(len(slot), device=edges.device).index_add_(0, source, ones).clamp(min=1)[:, None]
    size = present.sum(-1, keepdim=True).float().clamp(min=1)
    return Graphs(slot, slot // capacity, source, target, edges[b, s, t].long(), in_count, out_count, size)


def segment_mean(x: torch.Tensor, graphs: Graphs) -> torch.Tensor:
    """``[B, D]``: the mean of the vertex rows ``x [V, D]`` of each graph."""
    return x.new_zeros((graphs.size.shape[0], x.shape[1])).index_add_(0, graphs.graph, x) / graphs.size


class MessagePassing(nn.Module):
    """One residual round of message passing along the edges in both directions, plus a global context.

    Every vertex sends ``relu(W x + e(code))`` to its successors and ``relu(W' x + e'(code))`` to its
    predecessors, where ``e`` embeds the edge's structure code through
    :func:`elimgym.tables.code_features` (a size-independent description, so codes rare in training
    still get a sensible message). Each vertex then updates from the mean message of its
    predecessors, the mean message of its successors and the mean of its graph's vertices.
    Gathers use ``index_select`` (its gradient is an ``index_add_``, several times faster on CPU
    than the ``index_put_`` that plain indexing needs), both directions share one matmul, and the
    edge embedding is applied to the gathered code features (a matmul whose gradient needs no
    scatter into the 148-row code table).
    """

    def __init__(self, width: int):
        super().__init__()
        num_code_features = code_features().shape[1]
        self.width = width
        self.norm = nn.LayerNorm(width)
        self.to_neighbours = nn.Linear(width, 2 * width)
        self.edge_embedding = nn.Linear(num_code_features, 2 * width)
        self.update = nn.Sequential(nn.Linear(4 * width, width), nn.GELU(), nn.Linear(width, width))

    def forward(self, x: torch.Tensor, graphs: Graphs, code_table: torch.Tensor) -> torch.Tensor:
        """``x [V, D]`` -> ``[V, D]``."""
        h = self.norm(x)
        to_successors, to_predecessors = self.to_neighbours(h).split(self.width, -1)
        to_edge_successor, to_edge_predecessor = self.edge_embedding(code_table.index_select(0, graphs.code)).split(self.width, -1)
        down = F.relu(to_successors.index_select(0, graphs.source) + to_edge_successor)
        up = F.relu(to_predecessors.index_select(0, graphs.target) + to_edge_predecessor)
        from_predecessors = torch.zeros_like(h).index_add_(0, graphs.target, down) / graphs.in_count
        from_successors = torch.zeros_like(h).index_add_(0, graphs.source, up) / graphs.out_count
        context = segment_mean(h, graphs).index_select(0, graphs.graph)
        return x + self.update(torch.cat([h, from_predecessors, from_successors, context], -1))


class Agent(nn.Module):
    """Actor-critic message-passing network over vertex tokens; no parameter depends on the graph size.

    Each present vertex (not padding, not eliminated) is a token (its observation features, its
    topological position and two per-game features); :class:`MessagePassing` rounds exchange
    information along the edges, whose structure codes condition the messages. Padding slots and
    eliminated vertices (which have no edges left) are dropped before the network runs, so they
    cost nothing: the network's work shrinks as the game goes on. Actor: one logit per vertex. Critic: an MLP on the mean and max of
    each graph's tokens. Shared trunk, separate heads (CleanRL's Atari agent shares its trunk too).

    The critic predicts the expected remaining cost ``r >= 0`` (in reward units) and returns the
    value ``-r`` or, with ``log_return``, ``log1p(paid) - log1p(paid + r)``, where ``paid`` is the
    episode's cost so far (``obs["paid"]``, ``[B] float``; the value of a log return depends on it).

    Observations are dicts of torch tensors (:func:`obs_to_torch`).
    """

    def __init__(self, width: int = 32, depth: int = 3, log_return: bool = True):
        super().__init__()
        self.config = {"width": width, "depth": depth, "log_return": log_return}
        self.log_return = log_return
        scale = torch.ones(len(VERTEX_FEATURE_NAMES))
        scale[_FLAG_COLUMNS:] = _LOG_FEATURE_SCALE
        self.register_buffer("feature_scale", scale)
        self.register_buffer("code_table", torch.from_numpy(code_features()))
        self.embed = layer_init(nn.Linear(NUM_TOKEN_FEATURES, width))
        self.blocks = nn.ModuleList(MessagePassing(width) for _ in range(depth))
        self.final_norm = nn.LayerNorm(width)
        self.actor = nn.Sequential(layer_init(nn.Linear(width, width)), nn.Tanh(), layer_init(nn.Linear(width, 1), std=0.01))
        self.critic = nn.Sequential(layer_init(nn.Linear(2 * width, width)), nn.Tanh(), layer_init(nn.Linear(width, 1), std=1.0))

    def _tokens(self, obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, Graphs]:
        """``(tokens [V, D], graphs)`` for the ``V`` present (real, not eliminated) vertices of the batch."""
        vertices = obs["vertices"]
        real = vertices[..., _PADDING] < 0.5
        intermediate = vertices[..., _INTERMEDIATE] > 0.5
        eliminated = vertices[..., _ELIMINATED] > 0.5
        graphs = flatten_graphs(obs["edges"], real & ~eliminated)
        capacity = real.shape[1]
        last_index = (real.sum(-1, keepdim=True).float() - 1).clamp(min=1)
        position = torch.arange(capacity, device=vertices.device) / last_index
        remaining = (intermediate & ~eliminated).sum(-1, keepdim=True).float()
        eliminated_fraction = 1.0 - remaining / intermediate.sum(-1, keepdim=True).clamp(min=1)
        per_game = torch.cat([eliminated_fraction, torch.log1p(remaining) / 4.0], -1)
        features = torch.cat(
            [
                vertices.reshape(-1, vertices.shape[-1]).index_select(0, graphs.slot) / self.feature_scale,
                position.reshape(-1, 1).index_select(0, graphs.slot),
                per_game.index_select(0, graphs.graph),
            ],
            -1,
        )
        x = self.embed(features)
        for block in self.blocks:
            x = block(x, graphs, self.code_table)
        return self.final_norm(x), graphs

    def _value(self, tokens: torch.Tensor, graphs: Graphs, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        peak = tokens.new_full((graphs.size.shape[0], tokens.shape[1]), torch.finfo(tokens.dtype).min)
        peak = peak.scatter_reduce(0, graphs.graph[:, None].expand_as(tokens), tokens, "amax", include_self=False)
        remaining = F.softplus(self.critic(torch.cat([segment_mean(tokens, graphs), peak], -1)).squeeze(-1))
        if not self.log_return:
            return -remaining
        if "paid" not in obs:
            raise ValueError('a log-return critic needs obs["paid"], each episode\'s cost so far in reward units')
        return torch.log1p(obs["paid"]) - torch.log1p(obs["paid"] + remaining)

    def _distribution(self, tokens: torch.Tensor, graphs: Graphs, action_mask: torch.Tensor) -> MaskedCategorical:
        logits = tokens.new_zeros(action_mask.numel()).index_put((graphs.slot,), self.actor(tokens).squeeze(-1))
        return MaskedCategorical(logits.view(action_mask.shape), action_mask)

    def get_value(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """``[B]`` state values."""
        return self._value(*self._tokens(obs), obs)

    def get_action_and_value(
        self, obs: dict[str, torch.Tensor], action: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(action [B], log_prob [B], entropy [B], value [B])``; samples an action unless given."""
        tokens, graphs = self._tokens(obs)
        distribution = self._distribution(tokens, graphs, obs["action_mask"])
        if action is None:
            action = distribution.sample()
        return action, distribution.log_prob(action), distribution.entropy(), self._value(tokens, graphs, obs)

    def get_greedy_action(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """``[B]`` the most probable legal action."""
        tokens, graphs = self._tokens(obs)
        return self._distribution(tokens, graphs, obs["action_mask"]).logits.argmax(-1)


# ------------------------------------------------------------------------------------------ evaluation
_observe_batch = jax.jit(jax.vmap(lambda state: to_layout(game.observe(state))))
_step_batch = jax.jit(jax.vmap(lambda state, action: game.step(state, action)[0]))


@torch.no_grad()
def play_greedy(agent: Agent, pool: GraphPool, batch_size: int = 32, device: torch.device = CPU) -> tuple[np.ndarray, np.ndarray]:
    """Play every graph of ``pool`` with the greedy policy.

    Graphs are played in batches of similar sizes (``batch_size`` games per batch) with the
    pure JAX game, so the exact cost comes out.

    Returns:
        ``(costs [G] int64, orders [G, N] int32)``: each graph's total multiplications and its
        elimination order (then -1).
    """
    agent.eval()
    by_size = np.argsort([g.num_vertices for g in pool.graphs], kind="stable")
    costs = np.zeros(len(pool), np.int64)
    orders = np.zeros((len(pool), pool.capacity), np.int32)
    for start in range(0, len(pool), batch_size):
        chunk = by_size[start : start + batch_size]
        index = np.concatenate([chunk, np.full(min(batch_size, len(pool)) - len(chunk), chunk[-1])])
        state = jax.tree_util.tree_map(operator.itemgetter(index), pool.initial)
        for _ in range(pool.capacity + 1):  # every step eliminates one vertex of each unfinished game
            if bool(np.all(np.asarray(state.terminated))):
                break
            action = agent.get_greedy_action(obs_to_torch(_observe_batch(state).as_dict(), device))
            state = _step_batch(state, np.asarray(action.cpu(), np.int32))
        else:
            raise RuntimeError(f"greedy play did not finish the graphs of pool {pool.name!r}")
        costs[chunk] = np.asarray(game.total_cost(state), np.int64).reshape(-1)[: len(chunk)]
        orders[chunk] = np.asarray(state.order)[: len(chunk)]
    return costs, orders


def evaluation_pool(args: Args, envs: gym.vector.VectorEnv) -> GraphPool:
    """The graphs the greedy policy is evaluated on during training: the env's own graph for task
    envs; ``args.eval_graphs`` graphs spread over ``args.eval_split`` for random-graph envs."""
    if "split" not in gym.spec(args.env_id).kwargs:
        return envs.unwrapped.pool
    split = split_pool(args.eval_split, args.band)
    chosen = np.unique(np.linspace(0, len(split) - 1, min(args.eval_graphs, len(split))).round().astype(int))
    return GraphPool.from_graphs([split.graphs[k] for k in chosen], name=f"{split.name}[{len(chosen)}]")


def greedy_metrics(costs: np.ndarray, baselines: np.ndarray) -> dict[str, float]:
    """Summary of greedy costs ``[G]`` against ``baselines [G, 3]`` (forward, reverse, Markowitz)."""
    forward, reverse, markowitz = baselines.T
    return {
        "greedy_cost": float(costs.mean()),
        "greedy_cost_over_markowitz": float(np.mean(costs / np.maximum(markowitz, 1))),
        "greedy_beats_markowitz": float(np.mean(costs < markowitz)),
        "greedy_beats_forward_and_reverse": float(np.mean(costs < np.minimum(forward, reverse))),
        "greedy_ties_or_beats_forward_and_reverse": float(np.mean(costs <= np.minimum(forward, reverse))),
    }


def load_agent(path: str | os.PathLike, device: torch.device = CPU) -> tuple[Agent, dict]:
    """The trained :class:`Agent` of a checkpoint (in eval mode) and the checkpoint's arguments."""
    checkpoint = torch.load(path, map_location=device, weights_only=False)
    agent = Agent(**checkpoint["network"]).to(device)
    agent.load_state_dict(checkpoint["model"])
    return agent.eval(), checkpoint["args"]


class GreedySolver:
    """The greedy policy of a checkpoint as an :mod:`agents.evaluate` agent (``name``, ``solve``)."""

    def __init__(self, path: str | os.PathLike = DEFAULT_CHECKPOINT):
        self.agent, _ = load_agent(path)
        self.name = "ppo (greedy)"

    def solve(self, graphs: Sequence[LCG]) -> list[list[int]]:
        """One complete elimination order per graph (played together, padded to the largest)."""
        _, orders = play_greedy(self.agent, GraphPool.from_graphs(graphs))
        return [order[order >= 0].tolist() for order in orders]


# -------------------------------------------------------------------------------------- checkpointing
class Progress(NamedTuple):
    """Where a run stands (saved in every checkpoint).

    Attributes:
        global_step: env steps so far.
        iteration: PPO iterations so far.
        elapsed_s: training seconds so far, over every session of the run.
        best_greedy: the lowest greedy cost / Markowitz of an evaluation so far (saved as ``best.pt``).
    """

    global_step: int = 0
    iteration: int = 0
    elapsed_s: float = 0.0
    best_greedy: float = math.inf


def save_checkpoint(path: str, agent: Agent, optimizer: torch.optim.Optimizer, args: Args, run_name: str, progress: Progress) -> None:
    """Write model, optimizer, progress, RNG states and arguments (atomically)."""
    checkpoint = {
        "model": agent.state_dict(),
        "network": agent.config,
        "optimizer": optimizer.state_dict(),
        **progress._asdict(),
        "run_name": run_name,
        "args": dataclasses.asdict(args),
        "env_id": args.env_id,
        "versions": {"elimgym": elimgym.__version__, "torch": torch.__version__, "gymnasium": gym.__version__},
        "rng": {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()},
    }
    torch.save(checkpoint, path + ".tmp")
    os.replace(path + ".tmp", path)


def restore_checkpoint(checkpoint: dict, agent: Agent, optimizer: torch.optim.Optimizer) -> Progress:
    """Load a checkpoint's model, optimizer and RNG states; returns its :class:`Progress`."""
    agent.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    random.setstate(checkpoint["rng"]["python"])
    np.random.set_state(checkpoint["rng"]["numpy"])
    torch.set_rng_state(checkpoint["rng"]["torch"])
    return Progress(*(checkpoint[name] for name in Progress._fields))


def resumed_args(cli: Args, saved: dict) -> Args:
    """The checkpoint's arguments, with the command line's :data:`SESSION_FIELDS`.

    Raises:
        ValueError: if the command line sets another argument to a value that differs from both
            its default and the checkpoint's.
    """
    defaults = Args()
    for field in dataclasses.fields(Args):
        value = getattr(cli, field.name)
        if field.name in SESSION_FIELDS or field.name in ("batch_size", "minibatch_size", "num_iterations"):
            continue
        if value != getattr(defaults, field.name) and value != saved[field.name]:
            raise ValueError(f"--{field.name.replace('_', '-')} {value!r} conflicts with the resumed run's {saved[field.name]!r}")
    return Args(**{**saved, **{name: getattr(cli, name) for name in SESSION_FIELDS}})


CSV_FIELDS = (
    "iteration", "global_step", "time_s", "steps_per_s", "learning_rate", "episodes", "trained_steps", "episodic_return",
    "episodic_cost", "cost_over_markowitz", "greedy_cost", "greedy_cost_over_markowitz", "greedy_beats_markowitz",
    "greedy_beats_forward_and_reverse", "greedy_ties_or_beats_forward_and_reverse", "value_loss", "policy_loss",
    "entropy", "approx_kl", "clipfrac", "grad_norm", "explained_variance",
)  # fmt: skip
"""Columns of ``metrics.csv`` (one row per iteration; greedy columns only on evaluation rows;
``trained_steps``: the iteration's transitions that entered the loss, reset transitions excluded)."""


def plot_learning_curve(csv_path: str, png_path: str, reference: dict[str, float], title: str, several_graphs: bool) -> None:
    """Draw ``metrics.csv`` as a PNG: the cost of the training episodes and of the greedy policy
    relative to Markowitz against env steps and against wall-clock minutes (``reference`` adds
    horizontal lines, e.g. forward and reverse over Markowitz) and, with ``several_graphs``
    (the policy is evaluated on a set of graphs), the fraction of them where it wins."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    train = [r for r in rows if r["cost_over_markowitz"]]
    greedy = [r for r in rows if r["greedy_cost_over_markowitz"]]
    fig, axes = plt.subplots(1, 3 if several_graphs else 2, figsize=(16 if several_graphs else 11, 4))
    for ax, x_key, x_label, scale in ((axes[0], "global_step", "env steps", 1.0), (axes[1], "time_s", "wall-clock minutes", 60.0)):
        if train:
            ax.plot(
                [float(r[x_key]) / scale for r in train],
                [float(r["cost_over_markowitz"]) for r in train],
                label="sampled training episodes",
                color="tab:blue",
                alpha=0.6,
            )
        if greedy:
            ax.plot(
                [float(r[x_key]) / scale for r in greedy],
                [float(r["greedy_cost_over_markowitz"]) for r in greedy],
                "o-",
                label="greedy policy",
                color="tab:red",
            )
        ax.axhline(1.0, color="black", linestyle="--", label="Markowitz")
        for (name, value), color in zip(reference.items(), ("tab:green", "tab:purple")):
            ax.axhline(value, color=color, linestyle=":", label=name)
        ax.set(xlabel=x_label, ylabel="cost / Markowitz cost (mean over graphs)", title=title)
        ax.legend(fontsize=8)
    if several_graphs:
        steps = [float(r["global_step"]) for r in greedy]
        axes[2].plot(steps, [float(r["greedy_beats_markowitz"]) for r in greedy], "o-", label="greedy < Markowitz")
        axes[2].plot(steps, [float(r["greedy_beats_forward_and_reverse"]) for r in greedy], "s-", label="greedy < min(forward, reverse)")
        axes[2].plot(
            steps, [float(r["greedy_ties_or_beats_forward_and_reverse"]) for r in greedy], "^:", label="greedy <= min(forward, reverse)"
        )
        axes[2].set(xlabel="env steps", ylabel="fraction of evaluation graphs", ylim=(-0.02, 1.02), title="greedy policy wins")
        axes[2].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)


def train(args: Args) -> Path:
    """Run (or, with ``args.resume``, continue) a PPO experiment; returns its run directory.

    The CleanRL script's body, in a function so that tests can run it in-process.
    """
    # --------------------------------------------------------------------------------- boilerplate
    checkpoint = None
    if args.resume is not None:
        checkpoint = torch.load(args.resume, weights_only=False)
        args = resumed_args(args, checkpoint["args"])
    args.batch_size = int(args.num_envs * args.num_steps)
    args.minibatch_size = int(args.batch_size // args.num_minibatches)
    args.num_iterations = args.total_timesteps // args.batch_size
    run_name = checkpoint["run_name"] if checkpoint else f"{args.env_id}__{args.exp_name}__{args.seed}__{int(time.time())}"
    run_dir = os.path.join(args.output_dir, run_name)
    os.makedirs(run_dir, exist_ok=True)
    csv_path, checkpoint_path = os.path.join(run_dir, "metrics.csv"), os.path.join(run_dir, "checkpoint.pt")

    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(run_dir)
    writer.add_text(
        "hyperparameters",
        "|param|value|\n|-|-|\n" + "\n".join(f"|{key}|{value}|" for key, value in vars(args).items()),
    )

    # TRY NOT TO MODIFY: seeding
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.backends.cudnn.deterministic = args.torch_deterministic
    torch.set_num_threads(args.torch_threads)
    device = torch.device("cuda" if torch.cuda.is_available() and args.cuda else "cpu")

    # env setup
    envs = make_env(args)
    eval_pool = evaluation_pool(args, envs)
    eval_baselines = eval_pool.baselines
    forward_ratio, reverse_ratio = (eval_baselines[:, :2] / np.maximum(eval_baselines[:, 2:], 1)).mean(0)
    reference_lines = {f"forward ({forward_ratio:.2f})": forward_ratio, f"reverse ({reverse_ratio:.2f})": reverse_ratio}

    agent = Agent(args.width, args.depth, args.log_return).to(device)
    optimizer = torch.optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5)
    global_step, start_iteration, elapsed_before, best_greedy = (
        restore_checkpoint(checkpoint, agent, optimizer) if checkpoint else Progress()
    )
    if checkpoint is not None:
        print(f"resumed {run_name} at iteration {start_iteration}, global_step {global_step}")
    if not os.path.exists(csv_path):
        with open(csv_path, "w", newline="") as f:
            csv.DictWriter(f, CSV_FIELDS).writeheader()
    if checkpoint is None:  # the untrained policy, as the learning curve's starting point (iteration 0)
        initial = {"iteration": 0, "global_step": 0, "time_s": 0.0, **greedy_metrics(play_greedy(agent, eval_pool, device=device)[0], eval_baselines)}
        agent.train()
        for key in (k for k in initial if k.startswith("greedy_")):
            writer.add_scalar(f"charts/{key}", initial[key], 0)
        with open(csv_path, "a", newline="") as f:
            csv.DictWriter(f, CSV_FIELDS).writerow(initial)
        print(f"untrained policy: greedy cost/Markowitz {initial['greedy_cost_over_markowitz']:.3f}")

    # ALGO Logic: Storage setup
    capacity = envs.single_action_space.n
    obs_edges = torch.zeros((args.num_steps, args.num_envs, capacity, capacity), dtype=torch.uint8, device=device)
    obs_vertices = torch.zeros((args.num_steps, args.num_envs) + envs.single_observation_space["vertices"].shape, device=device)
    obs_masks = torch.zeros((args.num_steps, args.num_envs, capacity), dtype=torch.bool, device=device)
    obs_paid = torch.zeros((args.num_steps, args.num_envs), device=device)
    actions = torch.zeros((args.num_steps, args.num_envs), dtype=torch.long, device=device)
    logprobs = torch.zeros((args.num_steps, args.num_envs), device=device)
    rewards = torch.zeros((args.num_steps, args.num_envs), device=device)
    terminations = torch.zeros((args.num_steps, args.num_envs), device=device)
    truncations = torch.zeros((args.num_steps, args.num_envs), device=device)
    values = torch.zeros((args.num_steps, args.num_envs), device=device)
    # Gymnasium 1.x next-step autoreset: the step after an episode ends ignores the action and only
    # returns the next episode's first observation. That transition is not a real step: it is
    # stored (so the buffers stay rectangular) but left out of the loss.
    real_steps = torch.zeros((args.num_steps, args.num_envs), dtype=torch.bool, device=device)

    # TRY NOT TO MODIFY: start the game
    start_time, start_step = time.time(), global_step
    next_obs, _ = envs.reset(seed=args.seed + start_iteration * args.num_envs)
    autoreset = np.zeros(args.num_envs, dtype=bool)  # the env's next step is a reset transition
    episode_return = np.zeros(args.num_envs)
    paid = np.zeros(args.num_envs)  # each episode's cost so far, in reward units
    next_obs = {**obs_to_torch(next_obs, device), "paid": torch.tensor(paid, dtype=torch.float32, device=device)}

    for iteration in range(start_iteration + 1, args.num_iterations + 1):
        # Annealing the rate if instructed to do so (the "37 implementation details" blog, detail #4).
        if args.anneal_lr:
            frac = 1.0 - (iteration - 1.0) / args.num_iterations
            optimizer.param_groups[0]["lr"] = frac * args.learning_rate

        episodes: list[tuple[float, int, int]] = []  # (return, cost, Markowitz cost) of each finished episode
        for step in range(args.num_steps):
            global_step += args.num_envs
            obs_edges[step], obs_vertices[step], obs_masks[step] = next_obs["edges"], next_obs["vertices"], next_obs["action_mask"]
            obs_paid[step] = next_obs["paid"]
            real_steps[step] = torch.from_numpy(~autoreset)

            # ALGO LOGIC: action logic
            with torch.no_grad():
                action, logprob, _, value = agent.get_action_and_value(next_obs)
                values[step] = value
            actions[step] = action
            logprobs[step] = logprob

            # TRY NOT TO MODIFY: execute the game and log data.
            next_obs, reward, termination, truncation, infos = envs.step(action.cpu().numpy())
            train_reward, paid = log_rewards(paid, reward, autoreset)
            rewards[step] = torch.as_tensor(train_reward if args.log_return else reward, dtype=torch.float32, device=device)
            terminations[step] = torch.as_tensor(termination, dtype=torch.float32, device=device)
            truncations[step] = torch.as_tensor(truncation, dtype=torch.float32, device=device)
            next_obs = {**obs_to_torch(next_obs, device), "paid": torch.tensor(paid, dtype=torch.float32, device=device)}
            episode_return += reward
            autoreset = np.logical_or(termination, truncation)
            for i in np.flatnonzero(autoreset):
                episodes.append((episode_return[i], int(infos["cost"][i]), int(infos["baselines"]["markowitz"][i])))
            episode_return[autoreset] = 0.0

        # bootstrap value if not done; GAE over the rollout (see `compute_advantages`)
        with torch.no_grad():
            next_value = agent.get_value(next_obs)
            advantages = compute_advantages(rewards, values, terminations, truncations, next_value, args.gamma, args.gae_lambda)
            returns = advantages + values

        # flatten the batch, keeping the real steps only
        keep = real_steps.reshape(-1)
        b_obs = {
            "edges": obs_edges.reshape((-1, capacity, capacity))[keep],
            "vertices": obs_vertices.reshape((-1,) + obs_vertices.shape[2:])[keep],
            "action_mask": obs_masks.reshape((-1, capacity))[keep],
            "paid": obs_paid.reshape(-1)[keep],
        }
        b_logprobs = logprobs.reshape(-1)[keep]
        b_actions = actions.reshape(-1)[keep]
        b_advantages = advantages.reshape(-1)[keep]
        b_returns = returns.reshape(-1)[keep]
        b_values = values.reshape(-1)[keep]

        # Optimizing the policy and value network
        num_samples = int(keep.sum())
        minibatch_size = max(1, -(-num_samples // args.num_minibatches))
        b_inds = np.arange(num_samples)
        clipfracs, grad_norms = [], []
        for epoch in range(args.update_epochs):
            np.random.shuffle(b_inds)
            for start in range(0, num_samples, minibatch_size):
                mb_inds = b_inds[start : start + minibatch_size]
                mb_obs = {key: value[mb_inds] for key, value in b_obs.items()}
                _, newlogprob, entropy, newvalue = agent.get_action_and_value(mb_obs, b_actions[mb_inds])
                logratio = newlogprob - b_logprobs[mb_inds]
                ratio = logratio.exp()

                with torch.no_grad():
                    # calculate approx_kl http://joschu.net/blog/kl-approx.html
                    old_approx_kl = (-logratio).mean()
                    approx_kl = ((ratio - 1) - logratio).mean()
                    clipfracs += [((ratio - 1.0).abs() > args.clip_coef).float().mean().item()]

                mb_advantages = b_advantages[mb_inds]
                if args.norm_adv and len(mb_inds) > 1:  # the "37 implementation details" blog, detail #7
                    mb_advantages = (mb_advantages - mb_advantages.mean()) / (mb_advantages.std() + 1e-8)

                # Policy loss: the clipped surrogate objective (Schulman et al. 2017, PPO paper, eq. 7)
                pg_loss1 = -mb_advantages * ratio
                pg_loss2 = -mb_advantages * torch.clamp(ratio, 1 - args.clip_coef, 1 + args.clip_coef)
                pg_loss = torch.max(pg_loss1, pg_loss2).mean()

                # Value loss (clipped as in the PPO implementation; the "37 details" blog, detail #9)
                if args.clip_vloss:
                    v_loss_unclipped = (newvalue - b_returns[mb_inds]) ** 2
                    v_clipped = b_values[mb_inds] + torch.clamp(newvalue - b_values[mb_inds], -args.clip_coef, args.clip_coef)
                    v_loss_clipped = (v_clipped - b_returns[mb_inds]) ** 2
                    v_loss = 0.5 * torch.max(v_loss_unclipped, v_loss_clipped).mean()
                else:
                    v_loss = 0.5 * ((newvalue - b_returns[mb_inds]) ** 2).mean()

                # Entropy bonus over the legal actions (detail #10; masked as in Huang & Ontañón 2020)
                entropy_loss = entropy.mean()
                loss = pg_loss - args.ent_coef * entropy_loss + v_loss * args.vf_coef

                optimizer.zero_grad()
                loss.backward()
                grad_norms.append(float(nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)))  # detail #11
                optimizer.step()

            if args.target_kl is not None and approx_kl > args.target_kl:
                break

        y_pred, y_true = b_values.cpu().numpy(), b_returns.cpu().numpy()
        var_y = np.var(y_true)
        explained_var = np.nan if var_y == 0 else 1 - np.var(y_true - y_pred) / var_y

        # TRY NOT TO MODIFY: record rewards for plotting purposes
        elapsed = time.time() - start_time
        steps_per_second = int((global_step - start_step) / elapsed)
        row = {
            "iteration": iteration,
            "global_step": global_step,
            "time_s": round(elapsed_before + elapsed, 1),
            "steps_per_s": steps_per_second,
            "learning_rate": optimizer.param_groups[0]["lr"],
            "episodes": len(episodes),
            "trained_steps": num_samples,
            "value_loss": v_loss.item(),
            "policy_loss": pg_loss.item(),
            "entropy": entropy_loss.item(),
            "approx_kl": approx_kl.item(),
            "clipfrac": float(np.mean(clipfracs)),
            "grad_norm": float(np.mean(grad_norms)),
            "explained_variance": explained_var,
        }
        if episodes:
            returns_, costs_, markowitz_ = (np.array(column, np.float64) for column in zip(*episodes))
            row.update(
                episodic_return=returns_.mean(),
                episodic_cost=costs_.mean(),
                cost_over_markowitz=float(np.mean(costs_ / np.maximum(markowitz_, 1))),
            )
        if iteration % args.eval_interval == 0 or iteration == args.num_iterations:
            eval_costs, _ = play_greedy(agent, eval_pool, device=device)
            agent.train()
            row.update(greedy_metrics(eval_costs, eval_baselines))
            if row["greedy_cost_over_markowitz"] < best_greedy:  # model selection on the evaluation graphs
                best_greedy = row["greedy_cost_over_markowitz"]
                progress = Progress(global_step, iteration, elapsed_before + time.time() - start_time, best_greedy)
                save_checkpoint(os.path.join(run_dir, "best.pt"), agent, optimizer, args, run_name, progress)
        for key in ("episodic_return", "episodic_cost", "cost_over_markowitz", "learning_rate", "steps_per_s") + tuple(
            k for k in row if k.startswith("greedy_")
        ):
            if key in row:
                writer.add_scalar(f"charts/{key}", row[key], global_step)
        for key in ("value_loss", "policy_loss", "entropy", "approx_kl", "clipfrac", "grad_norm", "explained_variance"):
            writer.add_scalar(f"losses/{key}", row[key], global_step)
        writer.add_scalar("losses/old_approx_kl", old_approx_kl.item(), global_step)
        with open(csv_path, "a", newline="") as f:
            csv.DictWriter(f, CSV_FIELDS).writerow(row)
        greedy_note = f", greedy cost/Markowitz {row['greedy_cost_over_markowitz']:.3f}" if "greedy_cost" in row else ""
        cost_note = f", sampled cost/Markowitz {row['cost_over_markowitz']:.3f}" if episodes else ""
        print(f"iteration {iteration}/{args.num_iterations}, global_step={global_step}, SPS: {steps_per_second}{cost_note}{greedy_note}")

        if iteration % args.save_interval == 0 or iteration == args.num_iterations:
            progress = Progress(global_step, iteration, elapsed_before + time.time() - start_time, best_greedy)
            save_checkpoint(checkpoint_path, agent, optimizer, args, run_name, progress)
            plot_learning_curve(
                csv_path, os.path.join(run_dir, "curve.png"), reference_lines, f"{args.env_id} ({eval_pool.name})", len(eval_pool) > 1
            )

    if start_iteration >= args.num_iterations:
        print(f"nothing to do: the run already reached iteration {start_iteration} of {args.num_iterations}")
    envs.close()
    writer.close()
    return Path(run_dir)


if __name__ == "__main__":
    train(tyro.cli(Args))

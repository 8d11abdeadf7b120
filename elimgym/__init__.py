"""elimgym: cross-country vertex elimination as a reinforcement-learning game.

The functional JAX game lives in :mod:`elimgym.game` (``init``/``step``/``observe``/
``legal_action_mask``, re-exported here); classical orders in :mod:`elimgym.policies`; the exact
host-side reference in :mod:`elimgym.reference`; the cost model in :mod:`elimgym.cost`; the Jacobian
executor in :mod:`elimgym.executor` (``jacobian``/``verify``, re-exported here); heuristics, search,
exact DP and lower bounds in :mod:`elimgym.solvers`. Importing elimgym
registers the ``VertexElim-*`` Gymnasium ids (:mod:`elimgym.envs`).
"""

from elimgym import cost, game, policies, reference
from elimgym.game import GameState, Observation, encode, init, legal_action_mask, observe, step, total_cost
from elimgym.executor import Verification, count_multiplications, jacobian, trace_for, verify
from elimgym.orders import Order, OrderError
from elimgym.reference import IllegalAction
from elimgym.envs import registration as _registration  # noqa: F401 (imported to register the VertexElim-* ids)

__version__ = "0.1.0"

__all__ = [
    "game",
    "cost",
    "policies",
    "reference",
    "GameState",
    "Observation",
    "encode",
    "init",
    "step",
    "observe",
    "legal_action_mask",
    "total_cost",
    "Order",
    "OrderError",
    "jacobian",
    "trace_for",
    "verify",
    "Verification",
    "count_multiplications",
    "IllegalAction",
]

"""The common result type of every solver."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphs.lcg import LCG

from elimgym.orders import Order

__all__ = ["SolverResult"]


@dataclass(frozen=True)
class SolverResult:
    """What a solver found.

    Attributes:
        method: the solver's name (``"markowitz"``, ``"beam"``, ``"exact"``, ...).
        cost: exact multiplications of :attr:`order`.
        order: the complete elimination order (vertex indices).
        seconds: wall-clock time the solver took.
        optimal: whether :attr:`cost` is proven optimal.
        lower_bound: a proven lower bound on the optimum, if the solver produced one.
        info: solver-specific statistics (JSON-serialisable).
    """

    method: str
    cost: int
    order: tuple[int, ...]
    seconds: float
    optimal: bool = False
    lower_bound: int | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def to_order(self, graph: LCG) -> Order:
        """The order as an :class:`~elimgym.orders.Order` of ``graph`` (validated)."""
        return Order.for_graph(graph, self.order, cost=self.cost, method=self.method)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "cost": int(self.cost),
            "seconds": round(float(self.seconds), 3),
            "optimal": bool(self.optimal),
            "lower_bound": None if self.lower_bound is None else int(self.lower_bound),
            "order": [int(v) for v in self.order],
            "info": self.info,
        }

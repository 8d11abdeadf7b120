"""The Jacobian executor: compute Jacobians by executing any vertex-elimination order.

Usage::

    import jax, jax.numpy as jnp
    from elimgym.executor import jacobian, trace_for, verify

    def f(x, W):
        return jnp.tanh(W @ x)

    x, W = jnp.ones(4), jnp.ones((3, 4))
    J = jax.jit(jacobian(f, "markowitz"))(x, W)          # like jax.jacrev(f)(x, W): shape (3, 4)
    graph = trace_for(f, x, W)                             # the LCG whose vertex ids orders use
    print(verify(f, list(reversed(graph.intermediates)), x, W))

See ``docs/executor.md``.
"""

from elimgym.executor.counting import CountingError, jaxpr_multiplications
from elimgym.executor.jacobian import count_multiplications, elimination_program, jacobian
from elimgym.executor.ordering import NAMED_ORDERS, OrderSpec, markowitz_order, resolve_order
from elimgym.executor.program import EliminationProgram, ProductStep, build_program
from elimgym.executor.tracing import trace_for
from elimgym.executor.verify import Verification, default_tolerance, verify

__all__ = [
    "jacobian",
    "trace_for",
    "verify",
    "Verification",
    "default_tolerance",
    "count_multiplications",
    "jaxpr_multiplications",
    "CountingError",
    "elimination_program",
    "EliminationProgram",
    "ProductStep",
    "build_program",
    "resolve_order",
    "markowitz_order",
    "OrderSpec",
    "NAMED_ORDERS",
]

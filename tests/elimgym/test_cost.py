"""Tests of the structured cost model (elimgym.cost): product structures, plans and counts."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from graphs.structure import Structure, all_structures
from elimgym.cost import IncompatibleStructures, product

P = Structure.parse


@pytest.mark.parametrize(
    "a, b, shapes, cost, result",
    [
        ("<-:[]", "<-:[]", ((), (), ()), 1, "<-:[]"),  # scalar dense x dense
        ("<-:1", "<-:[]", ((), (), ()), 0, "<-:[]"),  # copy is free
        ("<-:-1", "<-:-1", ((), (), ()), 0, "<-:1"),  # sign flips compose
        ("i<-i:[i]", "i<-i:[i]", ((5,), (5,), (5,)), 5, "i<-i:[i]"),  # diag x diag
        ("i<-j:[ij]", "i<-j:[ij]", ((2,), (3,), (4,)), 24, "i<-j:[ij]"),  # dense matrices
        ("i<-i:[i]", "i<-ij:[j]", ((3,), (3,), (3, 4)), 12, "i<-ij:[ij]"),  # diag scaling of d(Wx)/dW
        ("<-i:1", "i<-i:[i]", ((), (4,), (4,)), 0, "<-i:[i]"),  # sum of a diagonal: additions only
        ("<-i:1", "i<-:1", ((), (4,), ()), 0, "<-:[]"),  # sum of a broadcast: the constant 4
        ("<-i:[]", "i<-:1", ((), (4,), ()), 1, "<-:[]"),  # ... scaled once if the value is general
        ("ij<-ji:1", "ij<-ij:[ij]", ((3, 2), (2, 3), (2, 3)), 0, "ij<-ji:[ij]"),  # transpose is free
    ],
)
def test_product__hand_counted_costs(a, b, shapes, cost, result):
    """Products of common partials cost what a hand count says and have the expected structure."""
    plan = product(P(a), P(b))
    assert plan.cost(*shapes) == cost
    assert plan.result == P(result)


def test_product__rank_mismatch_is_an_error():
    """Multiplying d s/d v by d v/d p with disagreeing ranks of v is refused."""
    with pytest.raises(IncompatibleStructures, match="cannot multiply"):
        product(P("i<-j:[ij]"), P("<-:[]"))


def _execute(plan, va, vb, sizes):
    """Run a product plan with NumPy einsum exactly as the executor must."""
    a_spec = "".join(c for c in plan.a_spec if c not in plan.a_reduce)
    b_spec = "".join(c for c in plan.b_spec if c not in plan.b_reduce)
    if not plan.a.value.is_unit:
        va = np.einsum(f"{plan.a_spec}->{a_spec}", va)
    if not plan.b.value.is_unit:
        vb = np.einsum(f"{plan.b_spec}->{b_spec}", vb)
    if plan.a.value.is_unit and plan.b.value.is_unit:
        out = np.asarray(float(plan.a.value.sign * plan.b.value.sign))
    elif plan.a.value.is_unit:
        out = plan.a.value.sign * np.einsum(f"{b_spec}->{plan.out_spec}", vb)
    elif plan.b.value.is_unit:
        out = plan.b.value.sign * np.einsum(f"{a_spec}->{plan.out_spec}", va)
    else:
        out = np.einsum(f"{a_spec},{b_spec}->{plan.out_spec}", va, vb)
    for c in plan.factor_labels:
        out = out * sizes[c]
    return out


@given(st.sampled_from(all_structures()), st.sampled_from(all_structures()), st.integers(0, 2**31 - 1))
def test_product__plan_reproduces_the_dense_product(a, b, seed):
    """For every compatible pair, running the plan gives d s/d p = (d s/d v)(d v/d p) exactly."""
    if a.source_rank != b.target_rank:
        return
    rng = np.random.default_rng(seed)
    n = 3
    s_shape, v_shape, p_shape = (n,) * a.target_rank, (n,) * a.source_rank, (n,) * b.source_rank
    va = rng.normal(size=a.value_shape(s_shape, v_shape))
    vb = rng.normal(size=b.value_shape(v_shape, p_shape))
    plan = product(a, b)
    sizes = {c: n for c in plan.label_axes}
    vr = _execute(plan, va, vb, sizes)
    expected = np.tensordot(a.dense(s_shape, v_shape, va), b.dense(v_shape, p_shape, vb), axes=a.source_rank)
    np.testing.assert_allclose(plan.result.dense(s_shape, p_shape, vr), expected, atol=1e-12)
    # The count is the einsum's: product of the sizes of all labels of the two multiplied values.
    if plan.multiplies:
        kept = set(plan.a_spec) - set(plan.a_reduce) | set(plan.b_spec) - set(plan.b_reduce)
        main = n ** len(kept)
    else:
        main = 0
    scale = int(np.prod(vr.shape)) if plan.factor_labels and not (a.value.is_unit and b.value.is_unit) else 0
    assert plan.cost(s_shape, v_shape, p_shape) == main + scale


@st.composite
def compatible_pairs_with_shapes(draw):
    """Two multipliable structures and vertex shapes that satisfy their ties (sizes 1 to 3)."""
    a = draw(st.sampled_from(all_structures()))
    b = draw(st.sampled_from([s for s in all_structures() if s.target_rank == a.source_rank]))
    size = st.integers(1, 3)
    s_shape = tuple(draw(size) for _ in range(a.target_rank))
    v_shape = tuple(s_shape[i] if i >= 0 else draw(size) for i in (a.target.index(k) if k in a.target else -1 for k in range(a.source_rank)))
    p_shape = tuple(v_shape[i] if i >= 0 else draw(size) for i in (b.target.index(k) if k in b.target else -1 for k in range(b.source_rank)))
    return a, b, s_shape, v_shape, p_shape


@given(compatible_pairs_with_shapes(), st.integers(0, 2**31 - 1))
def test_product__costs_use_the_right_axis_sizes(case, seed):
    """With unequal axis sizes, the plan still reproduces the dense product and its cost formula."""
    a, b, s_shape, v_shape, p_shape = case
    a.check_shapes(s_shape, v_shape)
    b.check_shapes(v_shape, p_shape)
    rng = np.random.default_rng(seed)
    va = rng.normal(size=a.value_shape(s_shape, v_shape))
    vb = rng.normal(size=b.value_shape(v_shape, p_shape))
    plan = product(a, b)
    label_sizes = {c: plan.size(c, s_shape, v_shape, p_shape) for c in plan.label_axes}
    vr = _execute(plan, va, vb, label_sizes)
    expected = np.tensordot(a.dense(s_shape, v_shape, va), b.dense(v_shape, p_shape, vb), axes=a.source_rank)
    np.testing.assert_allclose(plan.result.dense(s_shape, p_shape, vr), expected, atol=1e-12)
    main = 0
    if plan.multiplies:
        kept = set(plan.a_spec) - set(plan.a_reduce) | set(plan.b_spec) - set(plan.b_reduce)
        main = int(np.prod([label_sizes[c] for c in kept]))
    scale = int(np.prod(vr.shape)) if plan.factor_labels and not (a.value.is_unit and b.value.is_unit) else 0
    assert plan.cost(s_shape, v_shape, p_shape) == main + scale

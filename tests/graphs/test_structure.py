"""Tests of graphs.structure: notation, codes, dense materialisation, join and embed."""

import itertools

import numpy as np
import pytest
from hypothesis import given, strategies as st

from graphs.structure import (
    NUM_CODES,
    Structure,
    StructureError,
    Value,
    all_structures,
    embed,
    join,
)

SHAPES = {0: (), 1: (3,), 2: (3, 3)}


def test_structure__every_code_round_trips_through_notation():
    """Each enumerated structure has a unique code and survives str -> parse."""
    structures = all_structures()
    assert len(structures) == NUM_CODES - 1 == len(set(structures))
    for s in structures:
        assert Structure.parse(str(s)) == s
        assert Structure.from_code(s.code) == s


def test_structure__parse_names_the_problem():
    """Malformed notation raises StructureError with the offending text."""
    for bad, fragment in [
        ("ij<-ij", "cannot parse"),
        ("ii<-i:1", "repeats"),
        ("i<-j:[k]", "name no axis"),
        ("i<-i:2", "value must be"),
        ("ij<-ij:1x", "value must be"),
        ("i<-i:[]", None),
    ]:
        if fragment is None:
            Structure.parse(bad)
            continue
        with pytest.raises(StructureError, match=fragment):
            Structure.parse(bad)


def test_structure__unit_value_cannot_vary():
    """A copy (+-1) cannot have dense or varying axes."""
    with pytest.raises(StructureError, match="unit value"):
        Structure.parse("i<-j:1").__class__((-1,), (-1,), (False,), Value.ONE)


def test_structure__check_shapes_rejects_tied_size_mismatch():
    """A tie between axes of different sizes is rejected with both sizes named."""
    s = Structure.parse("i<-i:[i]")
    s.check_shapes((4,), (4,))
    with pytest.raises(StructureError, match="size 4.*size 5"):
        s.check_shapes((4,), (5,))
    with pytest.raises(StructureError, match="ranks"):
        s.check_shapes((4, 1), (4,))


def test_structure__dense_of_known_partials():
    """dense() gives the textbook Jacobians of transpose, broadcast, sum and matvec."""
    t = Structure.parse("ij<-ji:1").dense((2, 3), (3, 2))
    expected = np.zeros((2, 3, 3, 2))
    for i, j in itertools.product(range(2), range(3)):
        expected[i, j, j, i] = 1
    np.testing.assert_array_equal(t, expected)
    b = Structure.parse("ij<-j:1").dense((2, 3), (3,))
    np.testing.assert_array_equal(b, np.broadcast_to(np.eye(3), (2, 3, 3)))
    np.testing.assert_array_equal(Structure.parse("<-i:1").dense((), (4,)), np.ones(4))
    x = np.arange(3.0)
    mv = Structure.parse("i<-ij:[j]").dense((2,), (2, 3), x)
    np.testing.assert_array_equal(mv, np.einsum("ik,j->ikj", np.eye(2), x))


@given(st.sampled_from(all_structures()), st.sampled_from(all_structures()), st.integers(0, 2**31 - 1))
def test_join__coarsens_both_operands_exactly(a, b, seed):
    """embed(V, s, join(s, t)) materialises to the same dense Jacobian as (V, s) for both operands."""
    if (a.target_rank, a.source_rank) != (b.target_rank, b.source_rank):
        with pytest.raises(StructureError):
            join(a, b)
        return
    rng = np.random.default_rng(seed)
    ts, ss = SHAPES[a.target_rank], SHAPES[a.source_rank]
    joined = join(a, b)
    assert joined == join(b, a)
    assert join(joined, a) == joined
    for s in (a, b):
        v = rng.normal(size=s.value_shape(ts, ss))
        w = np.asarray(embed(v, s, joined, ts, ss))
        np.testing.assert_allclose(joined.dense(ts, ss, w), s.dense(ts, ss, v))


def test_embed__refuses_a_refinement():
    """Embedding a dense partial into a diagonal structure is refused."""
    with pytest.raises(StructureError, match="coarsening"):
        embed(np.ones((3, 3)), Structure.parse("i<-j:[ij]"), Structure.parse("i<-i:[i]"), (3,), (3,))

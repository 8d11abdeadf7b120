"""Tests of graphs.lcg (validation, renumbering, padding) and graphs.io (file format)."""

import json

import numpy as np
import pytest
from hypothesis import given

from graphs import io
from graphs.examples import EXAMPLES
from graphs.lcg import LCG, CapacityError, GraphError, PaddedGraph, Role, Vertex
from graphs.structure import Structure
from graphs.trace import trace
from tests.strategies import scalar_dags

P = Structure.parse
I, M, O = Role.INPUT, Role.INTERMEDIATE, Role.OUTPUT


def small_graph() -> LCG:
    r"""x -> a -> y with a second path x -> y.

        x(3) --diag--> a(3) --sum--> y()
          \______________dense_____/
    """
    vertices = (Vertex(I, (3,), "x"), Vertex(M, (3,), "a"), Vertex(O, (), "y"))
    return LCG(vertices, {(0, 1): P("i<-i:[i]"), (1, 2): P("<-i:1"), (0, 2): P("<-i:[i]")}, "small")


@pytest.mark.parametrize(
    "vertices, edges, message",
    [
        ((Vertex(I, ()), Vertex(O, ())), {(0, 5): P("<-:[]")}, "dangling: target vertex 5"),
        ((Vertex(I, ()), Vertex(O, ())), {(1, 0): P("<-:[]")}, "points into input"),
        ((Vertex(I, ()), Vertex(O, ()), Vertex(M, ())), {(1, 2): P("<-:[]")}, "leaves output"),
        ((Vertex(I, (3,)), Vertex(O, (4,))), {(0, 1): P("i<-i:[i]")}, "shape mismatch"),
        ((Vertex(I, ()), Vertex(M, ()), Vertex(M, ()), Vertex(O, ())), {(1, 2): P("<-:[]"), (2, 1): P("<-:[]")}, "cycle: 1 -> 2 -> 1"),
        ((Vertex(I, ()), Vertex(M, ()), Vertex(M, ()), Vertex(O, ())), {(2, 1): P("<-:[]")}, "goes backwards"),
        ((Vertex(M, ()), Vertex(I, ())), {}, "comes after"),
        ((Vertex(I, ()), Vertex(O, ())), {(0, 0): P("<-:[]")}, "self-loop|points into input"),
    ],
)
def test_lcg__invalid_graphs_name_the_problem(vertices, edges, message):
    """Each violated invariant raises GraphError naming the offending edge or vertex."""
    with pytest.raises(GraphError, match=message):
        LCG(vertices, edges)


def test_vertex__rank_above_two_is_rejected():
    """Rank-3 vertices are rejected with the supported ranks named."""
    with pytest.raises(GraphError, match="rank 3"):
        Vertex(I, (2, 2, 2), "t")


def test_lcg__from_edges_renumbers_topologically():
    """Vertices given in any order are renumbered inputs-first and topologically."""
    vertices = [Vertex(O, (), "y"), Vertex(M, (), "a"), Vertex(I, (), "x")]
    g = LCG.from_edges(vertices, {(2, 1): "<-:[]", (1, 0): "<-:[]"})
    assert [v.name for v in g.vertices] == ["x", "a", "y"]
    assert set(g.edges) == {(0, 1), (1, 2)}


def test_lcg__pad_and_decode_round_trip():
    """pad() then to_lcg() gives back the same graph (up to names)."""
    g = small_graph()
    padded = g.pad(8)
    assert padded.edges.shape == (8, 8) and padded.edges.dtype == np.int16
    assert padded.roles.tolist() == [1, 2, 3, 0, 0, 0, 0, 0]
    assert padded.to_lcg().fingerprint() == g.fingerprint()
    with pytest.raises(CapacityError, match="3 vertices but the capacity is 2"):
        g.pad(2)
    assert isinstance(padded, PaddedGraph)


def test_lcg__pickles_and_copies():
    """LCGs survive pickle and deepcopy (vector envs and subprocess workers need it)."""
    import copy
    import pickle

    g = small_graph()
    assert pickle.loads(pickle.dumps(g)) == g
    assert copy.deepcopy(g) == g


def test_io__round_trip_is_exact(tmp_path):
    """Saving and loading reproduces vertices, edges, names and metadata exactly."""
    for name, (f, args) in EXAMPLES.items():
        g = trace(f, *args)
        path = tmp_path / f"{name}.json"
        io.save(g, path)
        loaded = io.load(path)
        assert loaded == g
        assert loaded.fingerprint() == g.fingerprint()


@given(scalar_dags(max_vertices=10, unit_fraction=0.3))
def test_io__round_trip_random_graphs(g):
    """Random LCGs survive to_dict -> from_dict unchanged."""
    assert io.from_dict(json.loads(json.dumps(io.to_dict(g)))) == g


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.update(version=99), "unsupported version 99"),
        (lambda d: d.update(format="other"), "not an elimgym graph"),
        (lambda d: d["edges"].append([0, 9, "<-:[]"]), "dangling"),
        (lambda d: d["edges"].append([0, 2, "<-:[]"]), "duplicate edge 0->2"),
        (lambda d: d["edges"].__setitem__(0, [0, 1, "i<-i:[q]"]), "edge 0 .*name no axis"),
        (lambda d: d["vertices"][0].update(role="boss"), "vertex 0: unknown role"),
        (lambda d: d["vertices"][1].update(shape=[3, "x"]), "vertex 1: shape must be"),
        (lambda d: d["edges"].append([2, 1, "<-i:1"]), "leaves output|cycle|backwards"),
        (lambda d: d.pop("edges"), "missing or malformed 'edges'"),
    ],
)
def test_io__malformed_files_name_the_problem(tmp_path, mutate, message):
    """Loading validates and the error names the file and the offending entry."""
    data = io.to_dict(small_graph())
    mutate(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(io.GraphFormatError, match=message) as err:
        io.load(path)
    assert "bad.json" in str(err.value)


def test_io__not_json_is_reported(tmp_path):
    """A file that is not JSON raises GraphFormatError, not a bare decode error."""
    path = tmp_path / "junk.json"
    path.write_text("{not json")
    with pytest.raises(io.GraphFormatError, match="not valid JSON"):
        io.load(path)

"""Tests of graphs.interchange: edge-list JSON and the reference VertexGame layout."""

import json

import numpy as np
import pytest
from hypothesis import given

from graphs import io
from graphs.interchange import (
    InterchangeError,
    from_edge_list,
    from_vertexgame,
    load_edge_list,
    load_vertexgame,
    save_edge_list,
    save_vertexgame,
    to_edge_list,
    to_vertexgame,
)
from graphs.lcg import Role
from graphs.splits import split_graphs
from graphs.structure import Structure
from graphs.tasks import TASKS, get_task
from tests.strategies import scalar_dags

DENSE, COPY = Structure.parse("<-:[]"), Structure.parse("<-:1")


# ------------------------------------------------------------------------------ edge list
@pytest.mark.parametrize("name", sorted(TASKS))
def test_edge_list__round_trip_of_every_task_is_exact(name, tmp_path):
    """Export then import through a file reproduces the task graph exactly (names and metadata too)."""
    graph = TASKS[name].graph()
    path = tmp_path / "graph.json"
    save_edge_list(graph, path)
    assert io.to_dict(load_edge_list(path)) == io.to_dict(graph)


def test_edge_list__round_trip_of_split_graphs_is_exact():
    """Random graphs of every band survive the edge-list round trip."""
    for graph in split_graphs("validation")[::15]:
        assert io.to_dict(from_edge_list(to_edge_list(graph))) == io.to_dict(graph)


def test_edge_list__minimal_hand_written_file_infers_roles_shapes_and_dense_partials():
    """String ids in any order; roles, shapes and structures default as documented."""
    data = {
        "vertices": [{"id": "y"}, {"id": "x"}, {"id": "h", "shape": [3]}, {"id": "w", "shape": [3]}],
        "edges": [
            {"source": "h", "target": "y"},
            {"source": "x", "target": "h"},
            {"source": "w", "target": "h", "structure": "a<-a:[a]"},
        ],
    }
    graph = from_edge_list(data)
    names = [v.name for v in graph.vertices]
    assert names == ["x", "w", "h", "y"]
    assert [v.role for v in graph.vertices] == [Role.INPUT, Role.INPUT, Role.INTERMEDIATE, Role.OUTPUT]
    assert str(graph.edges[(0, 2)]) == "a<-:[a]" and str(graph.edges[(1, 2)]) == "a<-a:[a]"
    assert str(graph.edges[(2, 3)]) == "<-a:[a]"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "expected a JSON object"),
        ({"vertices": []}, "missing or malformed 'edges'"),
        ({"format": "dot", "vertices": [], "edges": []}, "format is 'dot'"),
        ({"version": 9, "vertices": [], "edges": []}, "unsupported edge-list version 9"),
        ({"vertices": [{"id": 1}, {"id": 1}], "edges": []}, "duplicate vertex id 1"),
        ({"vertices": [{"name": "a"}], "edges": []}, "vertex entry 0: expected an object with an integer or string 'id'"),
        ({"vertices": [{"id": 0}], "edges": [{"source": 0, "target": 5}]}, "edge entry 0: target 5 is not a vertex id"),
        ({"vertices": [{"id": 0}, {"id": 1}], "edges": [{"source": 0, "target": 1, "structure": "bad"}]}, "edge 0 -> 1: cannot parse"),
        ({"vertices": [{"id": 0, "role": "sink"}], "edges": []}, "vertex 0: unknown role 'sink'"),
        ({"vertices": [{"id": 0, "shape": [2, "x"]}], "edges": []}, "shape must be a list of integers"),
        (
            {"vertices": [{"id": 0, "role": "intermediate"}, {"id": 1, "role": "intermediate"}], "edges": [{"source": 0, "target": 1}, {"source": 1, "target": 0}]},
            "cycle",
        ),
        ({"vertices": [{"id": 0}, {"id": 1, "shape": [2]}], "edges": [{"source": 0, "target": 1, "structure": "<-:1"}]}, "shape mismatch"),
    ],
)
def test_edge_list__malformed_input_raises_naming_the_entry(data, message):
    """Malformed files raise an InterchangeError that names the offending entry."""
    with pytest.raises(InterchangeError, match=message):
        from_edge_list(data, "graph.json")


def test_load_edge_list__invalid_json_names_the_file(tmp_path):
    """A file that is not JSON raises with the file name."""
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(InterchangeError, match="broken.json: not valid JSON"):
        load_edge_list(path)


# ----------------------------------------------------------------------------- VertexGame
def _hand_built_array() -> np.ndarray:
    """Two inputs, four vertices, one output (v4), v2 already eliminated::

        i1 --dense--> v1 --copy--> v3 --dense--> v4 (output)
        i2 --dense--> v3            v1 --dense--> v4
    """
    n_in, n_v = 2, 4
    array = np.zeros((5, n_in + n_v + 1, n_v), np.int32)
    array[0, 0, :3] = (n_in, n_v - 1, 1)
    array[1, 0, [1, 3]] = 1  # v2 eliminated, v4 masked as an output (as the reference does)
    array[2, 0, 3] = 1  # v4 is the output
    array[3, 0, 0] = 2  # order so far: v2

    def edge(row: int, column: int, code: int) -> None:
        array[:, row, column] = (code, 1, 1, 1, 1)

    edge(1, 0, 1)  # i1 -> v1
    edge(2, 2, 1)  # i2 -> v3
    edge(n_in + 1, 2, -1)  # v1 -> v3 (copy)
    edge(n_in + 1, 3, 1)  # v1 -> v4
    edge(n_in + 3, 3, 1)  # v3 -> v4
    return array


def test_from_vertexgame__hand_built_array():
    """Roles, names, structures and the dropped eliminated vertex follow the documented rules."""
    graph = from_vertexgame(_hand_built_array(), "hand")
    assert [v.name for v in graph.vertices] == ["i1", "i2", "v1", "v3", "v4"]
    assert [v.role for v in graph.vertices] == [Role.INPUT, Role.INPUT, Role.INTERMEDIATE, Role.INTERMEDIATE, Role.OUTPUT]
    assert dict(graph.edges) == {(0, 2): DENSE, (1, 3): DENSE, (2, 3): COPY, (2, 4): DENSE, (3, 4): DENSE}
    assert graph.metadata["vertexgame_order"] == [2] and graph.metadata["vertexgame_output_copies"] == []


def test_from_vertexgame__output_with_successors_gets_a_copy_vertex():
    """An output that feeds another vertex becomes an intermediate plus an output copy."""
    array = _hand_built_array()
    array[2, 0, 0] = 1  # v1 is also an output, but it has successors
    array[0, 0, :3] = (2, 2, 2)
    graph = from_vertexgame(array)
    copy = next(k for k, v in enumerate(graph.vertices) if v.name == "v1'")
    v1 = next(k for k, v in enumerate(graph.vertices) if v.name == "v1")
    assert graph.vertices[copy].role is Role.OUTPUT and graph.vertices[v1].role is Role.INTERMEDIATE
    assert graph.edges[(v1, copy)] == COPY and graph.metadata["vertexgame_output_copies"] == [1]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda a: a.__setitem__((0, 3, 2), 2), r"edge v1 -> v3 has sparsity code 2"),
        (lambda a: a.__setitem__((1, 1, 0), 3), r"edge i1 -> v1 has target/source shapes \[3, 1\]/\[1, 1\]"),
        (lambda a: a.__setitem__((slice(None), 3, 1), (1, 1, 1, 1, 1)), r"vertex v2 is marked eliminated .* still has edge v1 -> v2"),
        (lambda a: a.__setitem__((0, 0, 0), 3), r"header channel 0 is \[3, 3, 1\]"),
        (lambda a: a.__setitem__((3, 0, 1), 1), r"channel 3 lists vertex 1 as eliminated"),
    ],
)
def test_from_vertexgame__unsupported_or_inconsistent_arrays_raise(edit, message):
    """Other codes, non-scalar shapes, eliminated vertices with edges and bad headers are refused."""
    array = _hand_built_array()
    edit(array)
    with pytest.raises(InterchangeError, match=message):
        from_vertexgame(array, source="game.npy")


def test_from_vertexgame__wrong_shape_or_dtype_raise():
    """The array must be an integer array of shape (5, n_in + n_v + 1, n_v)."""
    with pytest.raises(InterchangeError, match="expected an array of shape"):
        from_vertexgame(np.zeros((4, 3, 2), np.int32))
    with pytest.raises(InterchangeError, match="integer array"):
        from_vertexgame(_hand_built_array().astype(np.float32))


@given(scalar_dags(max_vertices=14, unit_fraction=0.4))
def test_vertexgame__export_import_round_trip_of_scalar_graphs(graph):
    """Scalar graphs with dense and copy edges survive to_vertexgame -> from_vertexgame."""
    array = to_vertexgame(graph)
    assert array.dtype == np.int32 and array.shape == (5, graph.num_vertices + 1, graph.num_vertices - len(graph.inputs))
    back = from_vertexgame(array)
    assert back.fingerprint() == graph.fingerprint()


def test_vertexgame__file_round_trip_and_export_refusals(tmp_path):
    """Through a .npy file; graphs with non-scalar vertices or negated copies are refused with the reason."""
    graph = from_vertexgame(_hand_built_array(), "hand")
    path = tmp_path / "hand.npy"
    save_vertexgame(graph, path)
    assert load_vertexgame(path).fingerprint() == graph.fingerprint()
    with pytest.raises(InterchangeError, match="exact for scalar graphs only"):
        to_vertexgame(get_task("RoeFlux_3d").graph())
    with pytest.raises(InterchangeError, match=r"structure <-:-1 which the VertexGame layout cannot express"):
        to_vertexgame(get_task("RoeFlux_1d").graph())
    (tmp_path / "junk.npy").write_text("nothing")
    with pytest.raises(InterchangeError, match="junk.npy: not a readable .npy array"):
        load_vertexgame(tmp_path / "junk.npy")
    assert json.loads(json.dumps(dict(graph.metadata)))["vertexgame_order"] == [2]

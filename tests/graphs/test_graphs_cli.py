"""Tests of ``elimgym graphs ...`` and of graphs.draw (the drawing behind ``show --png``)."""

import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from elimgym.cli import main
from graphs import io
from graphs.draw import draw_graph, layout, render_rgb
from graphs.interchange import load_edge_list, load_vertexgame
from graphs.splits import SPLITS, split_graphs
from graphs.tasks import TASKS, get_task
from tests.graphs.test_interchange import _hand_built_array

DOCS = Path(__file__).resolve().parents[2] / "docs" / "tasks.md"


def test_graphs_list__json_lists_tasks_and_split_sizes(capsys):
    """``list --json`` gives every task's sizes and every split band's graph count and ranges."""
    assert main(["graphs", "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = {row["name"]: row for row in data["tasks"]}
    assert set(rows) == set(TASKS)
    roe = get_task("RoeFlux_1d").graph()
    assert rows["RoeFlux_1d"] == {
        "name": "RoeFlux_1d",
        "id": "VertexElim-RoeFlux-v0",
        "inputs": 6,
        "intermediates": len(roe.intermediates),
        "outputs": 3,
        "vertices": roe.num_vertices,
        "edges": roe.num_edges,
    }
    heldout_small = next(r for r in data["splits"] if (r["split"], r["band"]) == ("heldout", "small"))
    graphs = split_graphs("heldout", "small")
    assert heldout_small["graphs"] == len(graphs)
    assert heldout_small["vertices"] == [min(g.num_vertices for g in graphs), max(g.num_vertices for g in graphs)]
    assert sum(r["graphs"] for r in data["splits"]) == sum(len(split_graphs(s)) for s in SPLITS)


def test_graphs_list__tables(capsys):
    """The plain listing names the held-out split as evaluation-only."""
    assert main(["graphs", "list"]) == 0
    out = capsys.readouterr().out
    assert "VertexElim-RandomG-v0" in out and "heldout: final evaluation only" in out


def test_graphs_show__task_summary_and_png(capsys, tmp_path):
    """``show`` prints the summary, id and reference; ``--png`` writes a PNG image."""
    png = tmp_path / "robot.png"
    assert main(["graphs", "show", "RobotArm", "--png", str(png)]) == 0
    out = capsys.readouterr().out
    assert get_task("RobotArm_6DOF").graph().summary() in out
    assert "VertexElim-RobotArm-v0" in out and "Denavit" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_graphs_show__split_graph_and_unknown_name(capsys):
    """A split graph is found by name (with its band and seed); an unknown name is an error."""
    graph = split_graphs("validation", "medium")[0]
    assert main(["graphs", "show", graph.name]) == 0
    out = capsys.readouterr().out
    assert graph.summary() in out and f"seed: {graph.metadata['seed']}" in out
    with pytest.raises(SystemExit, match="neither a task"):
        main(["graphs", "show", "no-such-graph"])


def test_graphs_import_vertexgame__writes_an_elimgym_graph(tmp_path, capsys):
    """``import-vertexgame FILE.npy --out F`` converts; a refused array exits 1 with the reason."""
    source, out = tmp_path / "game.npy", tmp_path / "game.json"
    np.save(source, _hand_built_array())
    assert main(["graphs", "import-vertexgame", str(source), "--out", str(out)]) == 0
    graph = io.load(out)
    assert graph.name == "game" and [v.name for v in graph.vertices] == ["i1", "i2", "v1", "v3", "v4"]
    bad = _hand_built_array()
    bad[0, 1, 0] = 4
    np.save(source, bad)
    assert main(["graphs", "import-vertexgame", str(source), "--out", str(out)]) == 1
    assert "sparsity code 4" in capsys.readouterr().err


def test_graphs_export_and_import_edge_list(tmp_path, capsys):
    """Export to every format and import the edge list back; an inexpressible export exits 1."""
    graph = get_task("Perceptron").graph()
    edges, native, back = tmp_path / "p.edges.json", tmp_path / "p.json", tmp_path / "back.json"
    assert main(["graphs", "export", "Perceptron", "--format", "edge-list", "--out", str(edges)]) == 0
    assert main(["graphs", "export", "Perceptron", "--out", str(native)]) == 0
    assert io.to_dict(load_edge_list(edges)) == io.to_dict(graph) == io.to_dict(io.load(native))
    assert main(["graphs", "import-edge-list", str(edges), "--out", str(back)]) == 0
    assert io.to_dict(io.load(back)) == io.to_dict(graph)
    vertexgame = tmp_path / "hand.npy"
    np.save(tmp_path / "source.npy", _hand_built_array())
    assert main(["graphs", "import-vertexgame", str(tmp_path / "source.npy"), "--out", str(native)]) == 0
    assert main(["graphs", "export", str(native), "--format", "vertexgame", "--out", str(vertexgame)]) == 0
    assert load_vertexgame(vertexgame).fingerprint() == io.load(native).fingerprint()
    assert main(["graphs", "export", "Perceptron", "--format", "vertexgame", "--out", str(vertexgame)]) == 1
    assert "exact for scalar graphs only" in capsys.readouterr().err


def test_graphs_docs__tasks_page_is_up_to_date(tmp_path):
    """docs/tasks.md equals what ``elimgym graphs docs`` writes (costs from the reference eliminator,
    which the JAX game matches exactly)."""
    assert main(["graphs", "docs", "--costs", "reference", "--check", "--out", str(DOCS)]) == 0, (
        "docs/tasks.md is stale: run `elimgym graphs docs`"
    )
    stale = tmp_path / "tasks.md"
    stale.write_text("old\n")
    assert main(["graphs", "docs", "--costs", "reference", "--check", "--out", str(stale)]) == 1


# ----------------------------------------------------------------------------------- draw
def test_draw_graph__returns_a_figure_with_eliminated_vertices_and_into_given_axes():
    """draw_graph returns a Figure, marks eliminated vertices, and draws into a caller's axes."""
    graph = get_task("PropaneCombustion").graph()
    figure = draw_graph(graph, eliminated=graph.intermediates[:3], title="propane")
    assert isinstance(figure, Figure) and figure.axes[0].get_title() == "propane"
    labels = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert "eliminated" in labels and "input" in labels
    host = Figure()
    ax = host.add_subplot(1, 1, 1)
    assert draw_graph(graph, ax=ax) is host


def test_layout__inputs_left_outputs_right_and_edges_point_right():
    """Every edge goes to a column further right; outputs share the last column."""
    graph = get_task("g").graph()
    positions = layout(graph)
    assert all(positions[t, 0] > positions[s, 0] for s, t in graph.edges)
    assert len({positions[k, 0] for k in graph.outputs}) == 1
    assert positions[list(graph.inputs), 0].max() == 0


def test_render_rgb__gives_an_rgb_image():
    """render_rgb rasterises the drawing to [H, W, 3] uint8 (for the env's rgb_array render)."""
    image = render_rgb(get_task("Perceptron").graph(), eliminated=(8, 9))
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert image.min() < 128 < image.max()

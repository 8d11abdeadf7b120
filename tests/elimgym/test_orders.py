"""Tests of elimination orders bound to their graph (elimgym.orders)."""

import json

import pytest

from graphs.examples import EXAMPLES
from graphs.trace import trace
from elimgym.orders import Order, OrderError, check_order


@pytest.fixture(scope="module")
def graph():
    f, args = EXAMPLES["scalar"]
    return trace(f, *args)


def test_check_order__names_the_offending_vertex(graph):
    """Unknown, non-intermediate, repeated and missing vertices are each reported by id."""
    a, b, c = graph.intermediates
    with pytest.raises(OrderError, match="vertex 99 does not exist"):
        check_order(graph, [a, b, 99])
    with pytest.raises(OrderError, match=f"vertex {graph.inputs[0]} .* is an input"):
        check_order(graph, [graph.inputs[0], a, b, c])
    with pytest.raises(OrderError, match=f"vertex {graph.outputs[0]} .* is an output"):
        check_order(graph, [a, b, c, graph.outputs[0]])
    with pytest.raises(OrderError, match=f"vertex {a} is eliminated twice"):
        check_order(graph, [a, b, a, c])
    with pytest.raises(OrderError, match=f"misses 1 intermediate.*{c}"):
        check_order(graph, [a, b])
    with pytest.raises(OrderError, match="2.5 is not an integer"):
        check_order(graph, [2.5, b, c])
    assert check_order(graph, [c, b, a]) == (c, b, a)


def test_order__detects_another_graph(graph):
    """An order made for one graph is refused on a different graph, naming both fingerprints."""
    order = Order.for_graph(graph, graph.intermediates, method="forward")
    order.check(graph)
    f, args = EXAMPLES["elementwise"]
    other = trace(f, *args)
    with pytest.raises(OrderError, match="was made for graph 'scalar_example'"):
        order.check(other)


def test_order__file_round_trip_and_errors(graph, tmp_path):
    """Orders survive save/load; wrong format, version or vertices are reported."""
    order = Order.for_graph(graph, reversed(graph.intermediates), cost=7, method="reverse")
    path = tmp_path / "o.json"
    order.save(path)
    assert Order.load(path) == order
    data = json.loads(path.read_text())
    for mutate, message in [
        (lambda d: d.update(version=2), "unsupported order file version 2"),
        (lambda d: d.update(format="x"), "not an elimgym order"),
        (lambda d: d.update(vertices=[1, "a"]), "list of integers"),
        (lambda d: d.pop("fingerprint"), "missing 'fingerprint'"),
    ]:
        bad = dict(data)
        mutate(bad)
        path.write_text(json.dumps(bad))
        with pytest.raises(OrderError, match=message):
            Order.load(path)

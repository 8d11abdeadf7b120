"""Tests of ``elimgym verify TASK|EXAMPLE|FILE --order FILE|NAME``."""

from __future__ import annotations

from pathlib import Path

import pytest

from elimgym import reference
from elimgym.cli import main
from elimgym.executor import trace_for
from elimgym.orders import Order
from graphs import io
from graphs.examples import EXAMPLES
from graphs.generators import GeneratorParams, random_graph


def _example_order(name: str, path: Path) -> Path:
    f, args = EXAMPLES[name]
    graph = trace_for(f, *args, argnums=tuple(range(len(args))))
    vertices = reference.reverse_order(graph)
    Order.for_graph(graph, vertices, cost=reference.play(graph, vertices)[0], method="reverse").save(path)
    return path


def test_verify_command__named_order_on_an_example_passes(capsys: pytest.CaptureFixture) -> None:
    """A built-in example with a named order prints PASS and the counts, and exits 0."""
    assert main(["verify", "matvec", "--order", "markowitz"]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "multiplications performed 24, cost model 24" in out


def test_verify_command__order_file_passes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """An order file made for the example's graph is accepted."""
    assert main(["verify", "scalar", "--order", str(_example_order("scalar", tmp_path / "o.json"))]) == 0
    assert "PASS" in capsys.readouterr().out


def test_verify_command__stale_order_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """An order made for another graph is refused with the fingerprints in the message."""
    assert main(["verify", "matvec", "--order", str(_example_order("scalar", tmp_path / "o.json"))]) == 2
    assert "fingerprint" in capsys.readouterr().err


def test_verify_command__graph_file_without_a_function_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A traced graph saved to a file carries no function: the command says so."""
    f, args = EXAMPLES["scalar"]
    io.save(trace_for(f, *args, argnums=(0, 1)), tmp_path / "g.json")
    assert main(["verify", str(tmp_path / "g.json"), "--order", "forward"]) == 2
    assert "holds no function" in capsys.readouterr().err


def test_verify_command__random_graph_file_rebuilds_its_function(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A graph from the random generator is verified through its rebuilt function."""
    io.save(random_graph(GeneratorParams(kind="scalar", num_vertices=(12, 12)), seed=5), tmp_path / "r.json")
    assert main(["verify", str(tmp_path / "r.json"), "--order", "reverse"]) == 0
    assert "PASS" in capsys.readouterr().out


def test_verify_command__unknown_order_name_exits_2(capsys: pytest.CaptureFixture) -> None:
    """An --order that is neither a file nor a known name is refused."""
    assert main(["verify", "matvec", "--order", "sideways"]) == 2
    assert "sideways" in capsys.readouterr().err

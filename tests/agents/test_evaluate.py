"""Tests of the shared evaluation CLI (agents.evaluate) with stand-in agents."""

from __future__ import annotations

import json

import pytest

from graphs.splits import split_graphs

from elimgym import reference
from elimgym.orders import OrderError

from agents import evaluate
from agents.evaluate import AgentEntry, GraphResult, evaluate_agent, summarise


def _graphs(count: int = 3):
    return [g for g in split_graphs("train", "small") if g.num_vertices <= 16][:count]


class _OrderAgent:
    """Plays a fixed rule: reverse mode, or an order that skips a vertex (illegal for evaluation)."""

    def __init__(self, broken: bool = False):
        self.name = "broken" if broken else "reverse-agent"
        self.broken = broken

    def solve(self, graphs):
        orders = [reference.reverse_order(g) for g in graphs]
        return [o[1:] for o in orders] if self.broken else orders


def test_evaluate_agent__costs_match_reference_and_baselines():
    """The agent's cost is the reference cost of its order; the classical costs are those of the reference orders."""
    graphs = _graphs()
    results = evaluate_agent(_OrderAgent(), [(g, "small") for g in graphs], search_budget=None, log=lambda _: None)
    for graph, result in zip(graphs, results):
        assert result.agent == reference.play(graph, reference.reverse_order(graph))[0] == result.reverse
        assert result.forward == reference.play(graph, reference.forward_order(graph))[0]
        assert result.markowitz == reference.play(graph, reference.markowitz_order(graph))[0]
        assert result.search is None


def test_evaluate_agent__rejects_incomplete_order():
    """An agent that leaves a vertex uneliminated makes the evaluation fail with an OrderError."""
    with pytest.raises(OrderError):
        evaluate_agent(_OrderAgent(broken=True), [(g, "small") for g in _graphs(1)], search_budget=None, log=lambda _: None)


def test_summarise__fractions_and_ratios():
    """Beat fractions and mean ratios are computed against min(forward, reverse, Markowitz) per group."""
    rows = [
        GraphResult("a", "small", 10, agent=8, forward=10, reverse=12, markowitz=11, search=9, search_method="x"),
        GraphResult("b", "small", 10, agent=10, forward=10, reverse=20, markowitz=10, search=10, search_method="x"),
        GraphResult("c", "large", 90, agent=30, forward=20, reverse=40, markowitz=25, search=None, search_method=None),
    ]
    summary = summarise(rows)
    assert summary["small"]["graphs"] == 2
    assert summary["small"]["agent_beats"] == 0.5 and summary["small"]["agent_at_most"] == 1.0
    assert summary["small"]["agent_ratio"] == pytest.approx((0.8 + 1.0) / 2)
    assert summary["small"]["search_ratio"] == pytest.approx((0.9 + 1.0) / 2)
    assert summary["small"]["agent_beats_search"] == 0.5
    assert summary["large"]["agent_ratio"] == pytest.approx(1.5) and summary["large"]["search_ratio"] is None


def test_main__prints_tables_and_writes_json(monkeypatch, tmp_path, capsys):
    """The CLI with a registered stand-in agent prints the band and task tables and writes per-graph JSON."""
    graphs = _graphs(2)
    monkeypatch.setitem(evaluate.AGENTS, "stand-in", AgentEntry(lambda checkpoint, settings: _OrderAgent(), None, "reverse mode"))
    monkeypatch.setattr(evaluate, "collect_graphs", lambda split, limit, tasks: [(graphs[0], "small"), (graphs[1], "task")])
    out = tmp_path / "eval.json"
    assert evaluate.main(["--agent", "stand-in", "--split", "validation", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "validation split (1 graphs)" in printed and "benchmark tasks" in printed and graphs[1].name in printed
    record = json.loads(out.read_text())
    assert record["agent"] == "reverse-agent" and len(record["graphs"]) == 2
    assert record["summary"]["small"]["agent_at_most"] in (0.0, 1.0)
    assert {g["group"] for g in record["graphs"]} == {"small", "task"}



def test_spread_subset__even_spread_with_both_ends():
    """--limit picks indices spread evenly over a band, first and last included, all when the limit is large."""
    assert evaluate.spread_subset(90, 6) == [0, 18, 36, 53, 71, 89]
    assert evaluate.spread_subset(5, 1) == [0]
    assert evaluate.spread_subset(3, 10) == [0, 1, 2] == evaluate.spread_subset(3, None)
    with pytest.raises(ValueError, match="--limit"):
        evaluate.spread_subset(10, 0)


def test_collect_graphs__limit_samples_every_generator_kind():
    """A limited held-out subset holds `limit` graphs per band and all three generator kinds of each band."""
    graphs = evaluate.collect_graphs("heldout", 6, tasks=False)
    assert len(graphs) == 18
    for band in ("small", "medium", "large"):
        names = [g.name for g, group in graphs if group == band]
        assert len(names) == 6 and {name.split("-")[2] for name in names} == {"scalar", "vector", "mixed"}

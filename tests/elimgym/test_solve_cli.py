"""End-to-end tests of ``elimgym solve`` and ``elimgym bench`` (run in-process)."""

from __future__ import annotations

import json

import pytest

from graphs import io

from elimgym import cli
from elimgym.commands import bench
from elimgym.commands.common import resolve_target
from elimgym.orders import Order


@pytest.fixture(autouse=True)
def _no_persistent_jax_cache(monkeypatch):
    """Keep the commands from turning on JAX's on-disk compilation cache inside the test run."""
    monkeypatch.setenv("ELIMGYM_JAX_CACHE", "")


def test_solve__prints_table_saves_and_verifies_the_best_order(tmp_path, capsys):
    """``elimgym solve scalar`` prints the heuristics, the bound and the gap (0: its bound proves
    Markowitz optimal, so no search runs), saves an order file that checks against the graph,
    verifies it with the executor and writes the JSON report."""
    out, report = tmp_path / "best.json", tmp_path / "report.json"
    code = cli.main(["solve", "scalar", "--budget", "2", "--quiet", "--out", str(out), "--json", str(report)])
    text = capsys.readouterr().out
    assert code == 0
    for word in ("forward", "reverse", "markowitz", "vlr", "min_fill", "greedy_cost", "lower bound", "0 (optimal)"):
        assert word in text
    assert "executor check: passed" in text
    graph = resolve_target("scalar").graph
    order = Order.load(out)
    order.check(graph)
    data = json.loads(report.read_text())
    assert data["best"]["cost"] == order.cost == 6
    assert data["lower_bound"] <= data["best"]["cost"] <= data["baseline"]
    assert data["verification"] == "passed"
    assert cli.main(["verify", "scalar", "--order", str(out)]) == 0
    assert "PASS" in capsys.readouterr().out


def test_solve__unknown_method_exits_with_the_valid_names():
    """A misspelt method stops the command with a message listing the methods."""
    with pytest.raises(SystemExit, match="unknown method.*beam"):
        cli.main(["solve", "scalar", "--methods", "beem"])


def test_bench__checkpoints_resumes_and_keeps_the_best_order(tmp_path, monkeypatch, capsys):
    """The bench writes results.md/.csv/.json and an order file per task, skips finished tasks
    when rerun, and never replaces a saved order by a costlier one."""
    monkeypatch.setattr(bench, "TASKS", {"scalar": None})
    docs, orders = tmp_path / "docs", tmp_path / "orders"
    args = ["bench", "--budget", "1", "--quiet", "--no-verify", "--docs", str(docs), "--orders", str(orders)]
    assert cli.main(args) == 0
    results = json.loads((docs / "results.json").read_text())
    assert results["tasks"]["scalar"]["best"]["cost"] == 6
    assert "| scalar |" in (docs / "results.md").read_text()
    assert (docs / "results.csv").read_text().splitlines()[1].startswith("scalar,")
    saved = Order.load(orders / "scalar.json")
    assert saved.cost == 6
    capsys.readouterr()
    assert cli.main(args) == 0
    assert "already solved" in capsys.readouterr().out
    graph = resolve_target("scalar").graph
    Order.for_graph(graph, saved.vertices, cost=1, method="pretend").save(orders / "scalar.json")
    assert cli.main(args + ["--force"]) == 0
    assert Order.load(orders / "scalar.json").cost == 1


def test_solve__graph_file_with_a_start_order(tmp_path, capsys):
    """A graph file (no function behind it) is solved from a given start order; the executor
    check is reported as impossible rather than skipped silently, and a start order of another
    graph is refused."""
    graph = resolve_target("scalar").graph
    path, start, out = tmp_path / "g.json", tmp_path / "start.json", tmp_path / "out.json"
    io.save(graph, path)
    Order.for_graph(graph, list(graph.intermediates), cost=7, method="forward").save(start)
    code = cli.main(["solve", str(path), "--budget", "1", "--quiet", "--start", str(start), "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0 and "given" in text and "executor check: no function" in text
    assert Order.load(out).cost == 6
    other = resolve_target("elementwise").graph
    Order.for_graph(other, list(other.intermediates), method="forward").save(start)
    with pytest.raises(SystemExit, match="another graph|graph changed"):
        cli.main(["solve", str(path), "--budget", "1", "--quiet", "--start", str(start), "--out", str(out)])


@pytest.mark.parametrize(
    "argv, message",
    [
        (["solve", "NoSuchTask"], "neither a task"),
        (["solve", "scalar", "--budget", "-1"], "--budget must be"),
        (["solve", "RoeFlux_1d", "--methods", "markowitz,exact"], "too large for the exact DP: an independent part has 92"),
        (["bench", "--budget", "-5"], "--budget must be"),
        (["bench", "--tasks", "NoSuchTask"], "unknown task"),
    ],
)
def test_commands__bad_input_exits_with_a_clear_message(argv, message, tmp_path):
    """Unknown tasks, negative budgets and an exact DP on a graph too large for it stop the
    command with a message naming the problem."""
    extra = ["--docs", str(tmp_path), "--orders", str(tmp_path)] if argv[0] == "bench" else ["--out", str(tmp_path / "o.json")]
    with pytest.raises(SystemExit, match=message):
        cli.main(argv + extra)


@pytest.mark.slow
def test_solve__a_task_end_to_end_and_verify_accepts_the_order(tmp_path, capsys):
    """``elimgym solve PropaneCombustion``: the static bound proves Markowitz (29) optimal, the
    executor check passes, and ``elimgym verify`` accepts the saved order."""
    out = tmp_path / "propane.json"
    assert cli.main(["solve", "PropaneCombustion", "--budget", "5", "--quiet", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "0 (optimal)" in text and "executor check: passed" in text
    assert Order.load(out).cost == 29
    assert cli.main(["verify", "PropaneCombustion", "--order", str(out)]) == 0


def test_bench__stopped_dp_is_reported_as_a_bound_not_as_a_method():
    """In results.md a DP that stopped without improving its start (new entries: ``dp``; older
    ones: an ``exact`` method costing what its start cost) is described as certifying a bound,
    never listed as a method that found an order."""
    def entry(with_dp_field: bool) -> dict:
        methods = {m: {"cost": c, "optimal": False, "seconds": 0.1, "lower_bound": None, "info": {}}
                   for m, c in (("forward", 324), ("reverse", 204), ("markowitz", 233), ("anneal", 161))}
        dp = {"cost": 161, "optimal": False, "seconds": 7.4, "lower_bound": 36, "info": {"layers": 3, "parts": [2, 92]}}
        if not with_dp_field:
            methods["exact"] = dp
        return {"intermediates": 94, "best": {"cost": 161, "method": "anneal"}, "gain": 0.21, "published_gain": 0.121,
                "target_met": True, "lower_bound": 36, "gap": 0.776, "seconds": 231.0, "budget": 180.0,
                "methods": methods, **({"dp": dp} if with_dp_field else {})}

    for with_dp_field in (True, False):
        text = bench.render_markdown({"RoeFlux_1d": entry(with_dp_field)}, "elimgym bench")
        assert "exact DP stopped after 7 s" in text and "certifying the bound 36" in text
        assert "exact 161" not in text and "anneal 161" in text

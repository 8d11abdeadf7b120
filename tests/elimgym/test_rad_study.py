"""Checkpoints, resumable training and control runs, the report writer and the CLI."""

import dataclasses
import json
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from elimgym.cli import main
from elimgym.rad import control, layers
from elimgym.rad.checkpoint import CheckpointStore
from elimgym.rad.control import ControlRun, optimize
from elimgym.rad.data import load_digits
from elimgym.rad.models import Model
from elimgym.rad.pde import ReactionDiffusion, StorageScheme
from elimgym.rad.report import write_report
from elimgym.rad.sampling import Sampler
from elimgym.rad.study import QUICK, StudyConfig, run_study, summarize, with_overrides
from elimgym.rad.training import TrainingRun, train


def test_checkpoint_store__round_trip_and_mismatch(tmp_path):
    """States (PRNG keys included) and results round-trip; a state of another shape is refused."""
    store = CheckpointStore(tmp_path)
    state = {"w": jnp.arange(3.0), "key": jax.random.key(4)}
    store.save_state("run-1", state, {"step": 7})
    restored, meta = store.load_state("run-1", state)
    assert meta == {"step": 7}
    np.testing.assert_array_equal(restored["w"], state["w"])
    np.testing.assert_array_equal(jax.random.key_data(restored["key"]), jax.random.key_data(state["key"]))
    with pytest.raises(ValueError, match="another configuration"):
        store.load_state("run-1", {"w": jnp.zeros(3)})
    store.save_result("run-1", [1, 2])
    assert store.load_result("run-1") == [1, 2] and store.load_result("missing") is None
    with pytest.raises(ValueError, match="bad checkpoint name"):
        store.save_result("../escape", 1)
    assert CheckpointStore(None).load_result("run-1") is None


class _Interrupt(Exception):
    pass


def _interrupting(tmp_path, saves_before_interrupt):
    store = CheckpointStore(tmp_path)
    original = store.save_state
    count = {"n": 0}

    def save_state(name, state, meta):
        original(name, state, meta)
        count["n"] += 1
        if count["n"] == saves_before_interrupt:
            raise _Interrupt

    store.save_state = save_state
    return store


def _tiny_init(key):
    k1, k2 = jax.random.split(key)
    return {"dense1": {"W": jax.random.normal(k1, (64, 8)) * 0.1, "b": jnp.zeros(8)}, "dense2": {"W": jax.random.normal(k2, (8, 10)) * 0.3, "b": jnp.zeros(10)}}


def _tiny_logits(params, x, key, sampler):
    z = x @ params["dense1"]["W"] + params["dense1"]["b"]
    return layers.relu_dense(z, params["dense2"]["W"], params["dense2"]["b"], key, sampler)


TINY_MODEL = Model("tiny", "flat", ("dense1", "dense2"), _tiny_init, _tiny_logits)


def test_train__resumes_an_interrupted_run_exactly(tmp_path):
    """A run interrupted after its first checkpoint resumes to the uninterrupted run's curve."""
    data = load_digits()
    args = (data.x_train[:200], data.y_train[:200], data.x_test[:50], data.y_test[:50])
    run = TrainingRun(TINY_MODEL, Sampler("different", 0.5), batch=16, steps=20, eval_every=10)
    reference = train(run, *args)
    with pytest.raises(_Interrupt):
        train(run, *args, _interrupting(tmp_path, 1))
    resumed = train(run, *args, CheckpointStore(tmp_path))
    assert [h["step"] for h in resumed] == [0, 10, 20]
    np.testing.assert_allclose([h["train_loss"] for h in resumed], [h["train_loss"] for h in reference], rtol=1e-6)
    with pytest.raises(ValueError, match="multiple of eval_every"):
        TrainingRun(TINY_MODEL, Sampler(), batch=16, steps=25, eval_every=10)


def test_optimize__resumes_and_reports_exact_losses(tmp_path):
    """The control run resumes after an interruption; its losses decrease from L(0)."""
    run = ControlRun(ReactionDiffusion(grid=4, steps=10), StorageScheme(0.25), iterations=6, lr=0.2, checkpoint_every=3)
    reference = optimize(run)
    with pytest.raises(_Interrupt):
        optimize(run, _interrupting(tmp_path, 1))
    resumed = optimize(run, CheckpointStore(tmp_path))
    np.testing.assert_allclose(resumed["loss"], reference["loss"], rtol=1e-6)
    assert len(resumed["loss"]) == 7 and resumed["loss"][-1] < resumed["loss"][0]


def _fake_results():
    variance = []
    for method, keep, batch, mse in [("exact", 1.0, 128, 1.0), ("different", 0.1, 128, 3.0), ("reduced-batch", 0.1, 20, 6.0)]:
        for layer in ("dense1", "dense2"):
            variance.append({"model": "mlp", "point": "init", "layer": layer, "method": method, "keep": keep, "batch": batch,
                             "residual_bytes": 1000 * batch * keep, "memory_fraction": keep, "mse": mse, "mse_stderr": 0.1})
    memory = [
        {"model": "mlp-digits", "method": "exact", "keep": 1.0, "batch": 1024, "residual_bytes": 800, "compiled_temp_bytes": 900, "residual_saving": 1.0, "compiled_saving": 1.0},
        {"model": "mlp-digits", "method": "different", "keep": 0.1, "batch": 1024, "residual_bytes": 100, "compiled_temp_bytes": 600, "residual_saving": 8.0, "compiled_saving": 1.5},
        {"model": "pde32x32x300", "method": "sampled", "keep": 0.005, "batch": 1, "residual_bytes": 5, "compiled_temp_bytes": 50, "residual_saving": 160.0, "compiled_saving": 20.0, "stored_fraction": 0.006},
    ]
    pde = [{"keep": k, "iteration": i, "loss": loss} for k, losses in [(1.0, [2.0, 1.0]), (0.005, [2.0, 1.05])] for i, loss in enumerate(losses)]
    training = [{"model": "mlp", "method": "exact", "keep": 1.0, "batch": 128, "residual_bytes": 800, "step": s, "train_loss": 1 / (s + 1), "test_accuracy": 0.9} for s in (0, 10)]
    unbiased = {"a": {"statistic": 1.0, "p_value": 0.5, "unbiased": True, "num_samples": 256, "num_projections": 4, "alpha": 1e-3,
                      "relative_bias": 0.01, "relative_std_error": 0.01, "expected": "unbiased", "as_expected": True}}
    return {"config": dataclasses.asdict(QUICK), "memory": memory, "unbiased": unbiased, "variance": variance, "training": training, "pde": pde}


def test_summarize_and_write_report__tables_targets_and_files(tmp_path):
    """The summary computes MSE ratios against the equal-memory baseline and the targets; the
    report writes CSVs, figures and a markdown page that lists them."""
    results = _fake_results()
    summary = summarize(results)
    assert summary["mse_ratio_vs_reduced_batch"]["mlp/init/dense2/different@0.1"] == 0.5
    assert summary["targets"]["mlp_residual_saving>=5x_at_0.1"] is True
    assert summary["targets"]["mlp_mse_below_reduced_batch_at_0.1"] == {"different": True}
    assert summary["pde_final_loss_ratio"]["keep0.005"] == pytest.approx(1.05)
    assert summary["targets"]["pde_99%_saved_within_10%"] is True
    written = write_report(results, summary, tmp_path)
    page = (tmp_path / "rad_quick_results.md").read_text()
    assert "| mlp/init/dense2 | 0.50 |" in page and "rad_quick_pde_loss.png" in page
    assert "Variance: models mlp, samplers different, active-wor, keep fractions 1, 0.3, 0.1" in page
    assert all(p.exists() for p in written)
    assert json.loads((tmp_path / "rad" / "rad_quick_summary.json").read_text())["targets"] == summary["targets"]


def test_cli__rad_study_rejects_unknown_parts(capsys):
    """`elimgym rad study --parts` names the valid parts when given a wrong one."""
    with pytest.raises(SystemExit, match="unknown parts"):
        main(["rad", "study", "--parts", "memory,speed", "--no-checkpoints"])


@pytest.mark.slow
def test_cli__quick_study_reaches_the_targets(tmp_path):
    """`elimgym rad study --quick` runs every part and reports the targets as reached."""
    done = subprocess.run(
        [sys.executable, "-m", "elimgym.cli", "rad", "study", "--quick", "--out", str(tmp_path), "--checkpoint-dir", str(tmp_path / "ck")],
        capture_output=True, text=True, check=True,
    )
    summary = json.loads(done.stdout)
    targets = summary["targets"]
    assert targets["mlp_residual_saving>=5x_at_0.1"] and targets["estimators_pass"] and targets["controls_fail"]
    assert targets["pde_99%_saved_within_10%"] and targets["mlp_mse_below_reduced_batch_at_0.1"]["active-wor"]
    assert (tmp_path / "rad_quick_results.md").exists()



def test_run_study__a_rerun_resumes_from_the_checkpoints(tmp_path, monkeypatch):
    """A second run of the study with the same checkpoint folder returns the saved results without computing anything."""
    config = StudyConfig(name="tiny", pde=ReactionDiffusion(grid=4, steps=10), pde_keeps=(1.0, 0.25), pde_iterations=4)
    first = run_study(config, CheckpointStore(tmp_path), parts=("pde",), log=lambda line: None)
    assert sorted({r["keep"] for r in first["pde"]}) == [0.25, 1.0] and len(first["pde"]) == 2 * 5

    def recompute(*args):
        raise AssertionError("the rerun recomputed a finished control run")

    monkeypatch.setattr(control, "_compiled_step", recompute)
    again = run_study(config, CheckpointStore(tmp_path), parts=("pde",), log=lambda line: None)
    assert again["pde"] == first["pde"]
    with pytest.raises(ValueError, match="unknown study parts"):
        run_study(config, CheckpointStore(tmp_path), parts=("speed",))


def test_with_overrides__replaces_models_labels_points_and_refuses_unknown_ones():
    """CLI overrides change the variance and training setup; unknown names are refused by name."""
    config = with_overrides(QUICK, models=("rnn",), labels=("same", "projection"), points=("trained",))
    assert (config.models, config.train_models, config.labels, config.points) == (("rnn",), ("rnn",), ("same", "projection"), ("trained",))
    assert with_overrides(QUICK) == QUICK
    assert with_overrides(QUICK, models=("cnn", "rnn"), train_models=("mlp",)).train_models == ("mlp",)
    with pytest.raises(SystemExit, match="unknown model 'vit'"):
        main(["rad", "study", "--models", "mlp,vit", "--no-checkpoints"])
    with pytest.raises(ValueError, match="sampler label"):
        with_overrides(QUICK, labels=("sparse",))
    with pytest.raises(ValueError, match="points"):
        with_overrides(QUICK, points=("final",))

"""Measured memory: residual reports, the MLP target, and the compiled programs."""

import jax
import jax.numpy as jnp
import pytest

from elimgym.rad.data import FORMATS, load_digits
from elimgym.rad.layers import EXACT, recurrent
from elimgym.rad.memory import residual_report
from elimgym.rad.memory_study import (
    checkpointed_stack_loss,
    mlp_rows,
    stack_hidden,
    stack_loss,
    stack_params,
)
from elimgym.rad.models import MODELS
from elimgym.rad.sampling import Sampler
from elimgym.rad.variance import equal_memory_batch, residual_bytes


def test_residual_report__separates_arguments_constants_and_computed_values():
    """Arguments and constants are reported apart from computed residuals; keys count 8 bytes."""
    const = jnp.arange(4.0)

    def f(x, key):
        noise = jax.random.normal(key, (4,))
        return jnp.sum(jnp.sin(x) * const * x + noise * x)

    report = residual_report(f, jnp.ones(4), jax.random.key(0))
    origins = {r.origin for r in report.residuals}
    assert "argument" in origins and "computed" in origins
    assert report.computed_bytes == sum(r.nbytes for r in report.residuals if r.origin == "computed") > 0
    xs, key = jnp.ones((2, 3, 4)), jax.random.key(0)
    sampled_rnn = lambda Wh: jnp.sum(recurrent(xs, jnp.ones((4, 8)), Wh, jnp.zeros(8), key, Sampler("different", 0.5)))
    keys = [r for r in residual_report(sampled_rnn, jnp.eye(8)).residuals if "key" in r.dtype]
    assert [(r.shape, r.nbytes) for r in keys] == [((3,), 24)]
    assert "computed in total" in report.table()


def test_mlp__keep_point_one_saves_at_least_five_times_the_residual_memory():
    """The digits MLP at keep 0.1 stores >= 5x fewer residual bytes than the lean exact baseline."""
    model = MODELS["mlp"]
    data = load_digits()
    x, y = jnp.asarray(data.x_train[:256]), jnp.asarray(data.y_train[:256])
    params = model.init(jax.random.key(0))
    exact = residual_bytes(model, params, x, y, EXACT, 256)
    for label in ("same", "active-wor", "projection"):
        assert exact / residual_bytes(model, params, x, y, Sampler.from_label(label, 0.1), 256) >= 5.0
    reduced = equal_memory_batch(model, params, x, y, Sampler("different", 0.1), 256)
    assert 256 / 8 < reduced < 256 / 5


def test_compiled_memory__sampling_shrinks_a_deep_mlp_program():
    """XLA's temp memory of a 6x256 MLP gradient at keep 0.1 is well below the exact program's."""
    rows = mlp_rows((64,) + (256,) * 6 + (10,), 512, [0.1], ["different"])
    exact, sampled = rows
    assert sampled["residual_saving"] > 6
    assert sampled["compiled_temp_bytes"] < 0.7 * exact["compiled_temp_bytes"]


def test_checkpointed_stack_loss__keeps_gradients_exact_and_stores_less():
    """Segment checkpointing gives the same gradients and stores fewer residual bytes."""
    params = stack_params((8, 16, 16, 16, 16, 16, 3), jax.random.key(0))
    x, y = jax.random.normal(jax.random.key(1), (5, 8)), jnp.array([0, 1, 2, 0, 1])
    plain = jax.jit(jax.grad(lambda p: stack_loss(p, x, y, jax.random.key(2))))(params)
    segmented = jax.jit(jax.grad(lambda p: checkpointed_stack_loss(p, x, y, 2)))(stack_hidden(params))
    first, hidden, last = segmented
    assert jnp.allclose(first["W"], plain[0]["W"], rtol=1e-5, atol=1e-6) and jnp.allclose(last["W"], plain[-1]["W"], rtol=1e-5, atol=1e-6)
    for i, layer in enumerate(plain[1:-1]):
        assert jnp.allclose(hidden["W"][i], layer["W"], rtol=1e-5, atol=1e-6)
    full = residual_report(lambda p: stack_loss(p, x, y, jax.random.key(2)), params).computed_bytes
    remat = residual_report(lambda p: checkpointed_stack_loss(p, x, y, 2), stack_hidden(params)).computed_bytes
    assert remat < full
    with pytest.raises(ValueError, match="divide"):
        checkpointed_stack_loss(stack_hidden(params), x, y, 3)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_models__sampled_residuals_shrink_for_every_model(name):
    """MLP, CNN and RNN store at least 4x fewer residual bytes at keep 0.1 than exactly."""
    model = MODELS[name]
    data = load_digits()
    x = jnp.asarray(FORMATS[model.input_format](data.x_train[:64]))
    y = jnp.asarray(data.y_train[:64])
    params = model.init(jax.random.key(0))
    ratio = residual_bytes(model, params, x, y, EXACT, 64) / residual_bytes(model, params, x, y, Sampler("different", 0.1), 64)
    assert ratio >= 4.0

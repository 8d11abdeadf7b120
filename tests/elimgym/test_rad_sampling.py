"""Samplers of randomized AD: exact expectations by enumeration, bit packing, labels."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from elimgym.rad.sampling import (
    Sampler,
    compress,
    pack_bits,
    reconstruct,
    sample_indices,
    scatter,
    unpack_bits,
)

X = jnp.array([[0.5, -1.0, 2.0], [0.0, 3.0, 0.0], [0.0, 0.0, 0.0]], jnp.float32)  # [B=3, D=3]
RELU_X = jnp.maximum(X, 0.0)  # what "active" samplers see: a ReLU output
ACTIVE = RELU_X > 0


def _mean_over_rows(row_options, x=X):
    """Average of scatter() over every combination of per-row (idx, weight, probability)."""
    total = np.zeros(x.shape)
    for combination in itertools.product(*row_options):
        idx = jnp.array([c[0] for c in combination], jnp.int32)
        weight = jnp.array([[c[1]] for c in combination], jnp.float32)
        probability = np.prod([c[2] for c in combination])
        values = jnp.take_along_axis(x, idx, axis=1)
        total += probability * np.asarray(scatter(values, idx, weight, 3))
    return total


def test_scatter__same_sample_with_replacement_is_unbiased():
    """Averaging over all 9 ordered draws of 2 shared indices out of 3 gives back x exactly."""
    total = np.zeros(X.shape)
    for idx in itertools.product(range(3), repeat=2):
        idx = jnp.array(idx, jnp.int32)
        total += np.asarray(scatter(X[:, idx], idx, jnp.float32(3 / 2), 3)) / 9
    np.testing.assert_allclose(total, X, atol=1e-6)


@pytest.mark.parametrize("rescale, expected_factor", [(True, 1.0), (False, 2 / 3)])
def test_scatter__different_sample_expectation(rescale, expected_factor):
    """Per-example draws with weight D/k average to x; without the rescaling to (k/D) x."""
    weight = 3 / 2 if rescale else 1.0
    options = [[(idx, weight, 1 / 9) for idx in itertools.product(range(3), repeat=2)]] * 3
    np.testing.assert_allclose(_mean_over_rows(options), expected_factor * np.asarray(X), atol=1e-6)


def test_scatter__active_sampling_is_unbiased():
    """Drawing among each row's active units with weight nnz/k (0 for empty rows) averages to relu(x)."""
    options = []
    for row in np.asarray(ACTIVE):
        active = list(np.flatnonzero(row))
        if not active:
            options.append([((0, 0), 0.0, 1.0)])
            continue
        draws = list(itertools.product(active, repeat=2))
        options.append([(idx, len(active) / 2, 1 / len(draws)) for idx in draws])
    np.testing.assert_allclose(_mean_over_rows(options, RELU_X), RELU_X, atol=1e-6)


def test_scatter__active_without_replacement_is_unbiased():
    """Uniform subsets of min(k, nnz) active units, padded with an inactive index, average to relu(x)."""
    options = []
    for row in np.asarray(ACTIVE):
        active = list(np.flatnonzero(row))
        inactive = [i for i in range(3) if i not in active] or [0]
        if not active:
            options.append([((inactive[0], inactive[0]), 0.0, 1.0)])
            continue
        picks = min(2, len(active))
        subsets = list(itertools.combinations(active, picks))
        padded = [tuple(s) + (inactive[0],) * (2 - picks) for s in subsets]
        options.append([(idx, len(active) / picks, 1 / len(subsets)) for idx in padded])
    np.testing.assert_allclose(_mean_over_rows(options, RELU_X), RELU_X, atol=1e-6)


def test_reconstruct__rademacher_projection_is_unbiased():
    """Averaging (x R) R^T over all 2^6 sign matrices R (entries +-1/sqrt(2)) gives back x."""
    sampler = Sampler("projection", 2 / 3)
    total = np.zeros(X.shape)
    for signs in itertools.product([-1.0, 1.0], repeat=6):
        R = jnp.array(signs, jnp.float32).reshape(3, 2) / np.sqrt(2.0)
        total += np.asarray((X @ R) @ R.T) / 64
    np.testing.assert_allclose(total, X, atol=1e-6)
    key = jax.random.key(3)
    assert compress(sampler, key, X).shape == (3, 2)
    assert reconstruct(sampler, key, compress(sampler, key, X), 3).shape == (3, 3)


@pytest.mark.parametrize("label", ["same", "different", "active", "different-wor", "active-wor"])
def test_sample_indices__weights_and_ranges(label):
    """Indices lie in range (and on active units for 'active'); weights follow the documented rule."""
    sampler = Sampler.from_label(label, 2 / 3)
    idx, weight = sample_indices(sampler, jax.random.key(1), 3, 3, ACTIVE)
    nnz = np.asarray(ACTIVE).sum(axis=1)
    assert np.all((np.asarray(idx) >= 0) & (np.asarray(idx) < 3))
    if label == "same":
        assert idx.shape == (2,) and float(weight) == pytest.approx(1.5)
    elif label.startswith("different"):
        assert idx.shape == (3, 2)
        np.testing.assert_allclose(weight, np.full((3, 1), 1.5))
        if label.endswith("wor"):
            assert all(len(set(row)) == 2 for row in np.asarray(idx).tolist())
    else:
        picks = np.full(3, 2) if label == "active" else np.minimum(nnz, 2)
        np.testing.assert_allclose(weight[:, 0], np.where(nnz > 0, nnz / np.maximum(picks, 1), 0.0))
        if label == "active":
            for row, (active_row, count) in enumerate(zip(np.asarray(ACTIVE), nnz)):
                if count:
                    assert all(active_row[i] for i in np.asarray(idx)[row])


def test_compress__reconstruct_round_trip_is_consistent():
    """reconstruct(compress(x)) scatters exactly the stored values at the regenerated indices."""
    sampler = Sampler("different", 2 / 3)
    key = jax.random.key(7)
    stored = compress(sampler, key, X)
    idx, weight = sample_indices(sampler, key, 3, 3)
    np.testing.assert_allclose(stored, jnp.take_along_axis(X, idx, axis=1))
    np.testing.assert_allclose(reconstruct(sampler, key, stored, 3), scatter(stored, idx, weight, 3))


def test_pack_bits__round_trip_uses_one_bit_per_unit():
    """Packing a [5, 19] mask gives uint8 [5, 3]; unpacking restores it."""
    mask = jax.random.bernoulli(jax.random.key(0), 0.4, (5, 19))
    packed = pack_bits(mask)
    assert packed.dtype == jnp.uint8 and packed.shape == (5, 3)
    np.testing.assert_array_equal(unpack_bits(packed, 19), mask)


def test_sampler__labels_round_trip_and_bad_input_raises():
    """Every label parses back to the same sampler; bad kinds, flags and keeps raise ValueError."""
    for label in ["exact", "same", "different-wor", "active-wor-unscaled", "projection-unscaled"]:
        assert Sampler.from_label(label, 0.5).label == label
    assert Sampler("different", 0.1).count(256) == 26 and Sampler("exact").count(256) == 256
    for bad in ["sparse", "different-fast", "different-wor-wor"]:
        with pytest.raises(ValueError, match="label"):
            Sampler.from_label(bad, 0.5)
    with pytest.raises(ValueError, match="keep"):
        Sampler("different", 0.0)
    with pytest.raises(ValueError, match="ReLU bits"):
        sample_indices(Sampler("active", 0.5), jax.random.key(0), 3, 3)

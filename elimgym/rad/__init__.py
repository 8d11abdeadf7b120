"""Randomized automatic differentiation (after Oktay et al., ICLR 2021): unbiased gradient
estimators that store less for the backward pass, with measured memory and variance.

* :mod:`~elimgym.rad.paths`: path sampling on a traced LCG (Bauer's formula, Monte Carlo).
* :mod:`~elimgym.rad.layers`: dense, convolution and recurrent layers (``jax.custom_vjp``) that
  store a random fraction of their input and 1-bit ReLU derivatives;
  :mod:`~elimgym.rad.sampling` holds the samplers.
* :mod:`~elimgym.rad.pde`: reaction-diffusion control with a random fraction of each field stored.
* :mod:`~elimgym.rad.unbiased`: :func:`check_unbiased`, a Hotelling T^2 test;
  :mod:`~elimgym.rad.suite`: every estimator and negative control on small problems.
* :mod:`~elimgym.rad.memory`: residual bytes and compiled memory, measured.
* :mod:`~elimgym.rad.study` (``elimgym rad study``): variance, training and PDE studies.
"""

from elimgym.rad.layers import (
    EXACT,
    conv2d,
    dense,
    recurrent,
    relu,
    relu_conv2d,
    relu_dense,
)
from elimgym.rad.memory import (
    CompiledMemory,
    ResidualReport,
    compiled_memory,
    residual_report,
)
from elimgym.rad.paths import (
    LinearizedGraph,
    accumulate,
    exact_expectation,
    flat_jacobian,
    path_sample_jacobian,
)
from elimgym.rad.pde import (
    ReactionDiffusion,
    StorageScheme,
    checkpointed_loss,
    exact_loss,
    rad_gradient,
    rad_loss,
)
from elimgym.rad.sampling import Sampler
from elimgym.rad.unbiased import UnbiasednessTest, check_unbiased

__all__ = [
    "EXACT",
    "CompiledMemory",
    "LinearizedGraph",
    "ReactionDiffusion",
    "ResidualReport",
    "Sampler",
    "StorageScheme",
    "UnbiasednessTest",
    "accumulate",
    "check_unbiased",
    "checkpointed_loss",
    "compiled_memory",
    "conv2d",
    "dense",
    "exact_expectation",
    "exact_loss",
    "flat_jacobian",
    "path_sample_jacobian",
    "rad_gradient",
    "rad_loss",
    "recurrent",
    "relu",
    "relu_conv2d",
    "relu_dense",
    "residual_report",
]

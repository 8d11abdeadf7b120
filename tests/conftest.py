"""Shared test configuration.

* Hypothesis profiles: 25 examples by default, ``HYPOTHESIS_PROFILE=thorough`` for 300.
* JAX's persistent compilation cache (in the system temp directory), so that identical programs
  jitted by different tests, or by a re-run, are compiled once.
"""

import os
import tempfile

import jax
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("thorough", parent=settings.get_profile("default"), max_examples=300)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

jax.config.update("jax_compilation_cache_dir", os.path.join(tempfile.gettempdir(), "elimgym-test-jax-cache"))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)

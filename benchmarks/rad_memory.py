"""Measured memory of randomized-AD gradients per keep-fraction (residual bytes and XLA's compiled
temp memory), against the exact baseline and gradient checkpointing.

    python benchmarks/rad_memory.py [--quick] [--json FILE]

Prints one table (all numbers measured: ``jax.ad_checkpoint`` residuals and
``jax.jit(...).lower(...).compile().memory_analysis()``) and, with ``--json FILE``, writes it as JSON.
"""

from __future__ import annotations

import argparse
import json
import time

import jax

from elimgym.rad import memory_study
from elimgym.rad.pde import ReactionDiffusion

KEEPS = (0.8, 0.5, 0.3, 0.1, 0.05)
LABELS = ("same", "different", "active", "active-wor", "projection")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only keep 0.1 and the 'different' sampler")
    parser.add_argument("--json", metavar="FILE", default=None, help="write the rows as JSON to FILE")
    args = parser.parse_args()
    keeps, labels = ((0.1,), ("different",)) if args.quick else (KEEPS, LABELS)
    start = time.perf_counter()
    rows = memory_study.mlp_rows((64, 256, 256, 10), 1024, keeps, labels, stock=True, name="mlp-digits")
    rows += memory_study.mlp_rows((64,) + (512,) * 13 + (10,), 1024, keeps, labels[:2], segments=(2, 3, 4, 6), name="mlp-13x512")
    if not args.quick:
        rows += memory_study.model_rows("cnn", 256, keeps, labels[:2])
        rows += memory_study.model_rows("rnn", 256, keeps, labels[:2])
    rows += memory_study.pde_rows(ReactionDiffusion(), (0.1, 0.03, 0.01, 0.005), segments=(10, 20, 30))
    print(memory_study.format_table(rows))
    print(f"\n{jax.default_backend()} backend, {time.perf_counter() - start:.0f} s; savings are against the lean exact baseline of each model")
    if args.json:
        with open(args.json, "w") as file:
            json.dump({"backend": jax.default_backend(), "jax": jax.__version__, "rows": rows}, file, indent=1)


if __name__ == "__main__":
    main()

"""Fixed train / validation / held-out splits of random graphs, in size bands.

Every graph of a split is a random program of :mod:`graphs.generators` traced into an LCG; its
seed and generator parameters are in its metadata, so the function behind it can be rebuilt
(:func:`graphs.generators.function_from_metadata`). The graphs are stored in
``graphs/data/splits/<split>.json.gz`` (jaxprs change between JAX versions, so the stored graphs,
not the seeds, are the benchmark); ``python -m graphs.splits build`` rewrites them and the tests
check that regenerating from the stored seeds reproduces them.

Splits never share a seed: the seed of graph ``k`` of kind ``kind`` in band ``band`` of split
``split`` is ``SEED_BASES[split] + 100_000 * band index + 10_000 * kind index + k``.

**The held-out split is for final evaluation only.** Training and model selection use
``"train"`` and ``"validation"``; no function of this package reads ``"heldout"`` unless that
name is passed explicitly.

=============  ==================================  ======================================
band           vertices (inputs + intermediates    graphs per kind (scalar, vector, mixed)
               + outputs)                          train / validation / heldout
=============  ==================================  ======================================
``small``      10 - 40                             120 / 15 / 30
``medium``     41 - 80                             120 / 15 / 30
``large``      81 - 128                            120 / 15 / 30
=============  ==================================  ======================================

That is 1080 train, 135 validation and 270 held-out graphs.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from graphs import io
from graphs.generators import KINDS, GeneratorParams, random_graph, regenerate
from graphs.lcg import LCG

__all__ = [
    "SPLITS",
    "BANDS",
    "BAND_VERTICES",
    "GRAPHS_PER_KIND",
    "SEED_BASES",
    "SPLIT_DATA_DIR",
    "SPLIT_DIMS",
    "SplitError",
    "band_of",
    "split_params",
    "split_seed",
    "generate_split",
    "split_graphs",
    "split_path",
    "save_split",
    "main",
]

SPLITS = ("train", "validation", "heldout")
"""The split names. ``"heldout"`` is for final evaluation only."""

BANDS = ("small", "medium", "large")
"""The size bands, smallest first."""

BAND_VERTICES = {"small": (10, 40), "medium": (41, 80), "large": (81, 128)}
"""Band -> inclusive range of the number of vertices (128 is the game's default capacity)."""

GRAPHS_PER_KIND = {"train": 120, "validation": 15, "heldout": 30}
"""Split -> number of graphs of each kind in each band."""

SEED_BASES = {"train": 1_000_000, "validation": 2_000_000, "heldout": 3_000_000}
"""Split -> first seed; the splits' seed ranges are disjoint."""

SPLIT_DATA_DIR = Path(__file__).resolve().parent / "data" / "splits"
"""Directory of the stored splits."""

SPLIT_DIMS = (2, 3, 4, 6, 8, 12, 16)
"""Axis sizes of the vectors and matrices of split graphs (so at most 256 entries per vertex)."""

SPLIT_FORMAT = "elimgym-split"
SPLIT_FORMAT_VERSION = 1
_INPUTS = {"scalar": (2, 12), "vector": (1, 5), "mixed": (2, 8)}  # kind -> range of inputs
_OUTPUTS = {"scalar": (1, 8), "vector": (1, 4), "mixed": (1, 6)}  # kind -> range of outputs


class SplitError(ValueError):
    """An unknown split or band, a graph outside every band, or a malformed split file."""


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise SplitError(f"unknown split {split!r}; the splits are {SPLITS}")


def _check_band(band: str) -> None:
    if band not in BANDS:
        raise SplitError(f"unknown band {band!r}; the bands are {BANDS}")


def band_of(graph: LCG) -> str:
    """The size band of ``graph`` by its number of vertices.

    Raises:
        SplitError: the graph has more vertices than the largest band allows (128) or fewer
            than the smallest (10).
    """
    n = graph.num_vertices
    for band in BANDS:
        low, high = BAND_VERTICES[band]
        if low <= n <= high:
            return band
    raise SplitError(
        f"graph {graph.name!r} has {n} vertices, outside every band "
        f"({', '.join(f'{b}: {lo}-{hi}' for b, (lo, hi) in BAND_VERTICES.items())})"
    )


def split_params(band: str, kind: str) -> GeneratorParams:
    """The generator parameters of the graphs of ``kind`` in ``band`` (the same for every split)."""
    _check_band(band)
    if kind not in KINDS:
        raise SplitError(f"unknown kind {kind!r}; the kinds are {KINDS}")
    low_inputs, high_inputs = _INPUTS[kind]
    vertices = BAND_VERTICES[band]
    inputs = (low_inputs, min(high_inputs, vertices[0] // 2))  # at least half the vertices are ops
    return GeneratorParams(kind=kind, num_inputs=inputs, num_vertices=vertices, num_outputs=_OUTPUTS[kind], dims=SPLIT_DIMS)


def split_seed(split: str, band: str, kind: str, k: int) -> int:
    """The seed of graph ``k`` of ``kind`` in ``band`` of ``split``."""
    _check_split(split)
    _check_band(band)
    if not 0 <= k < GRAPHS_PER_KIND[split]:
        raise SplitError(f"split {split!r} has {GRAPHS_PER_KIND[split]} graphs per kind and band; index {k} is out of range")
    return SEED_BASES[split] + 100_000 * BANDS.index(band) + 10_000 * KINDS.index(kind) + k


def _entries(split: str) -> Iterator[tuple[str, str, int]]:
    for band in BANDS:
        for kind in KINDS:
            for k in range(GRAPHS_PER_KIND[split]):
                yield band, kind, k


def generate_split(split: str) -> list[LCG]:
    """Draw and trace every graph of ``split`` now (with this JAX version): bands, then kinds."""
    _check_split(split)
    graphs = []
    for band, kind, k in _entries(split):
        graph = random_graph(split_params(band, kind), split_seed(split, band, kind, k), name=f"{split}-{band}-{kind}-{k:03d}")
        graphs.append(LCG(graph.vertices, dict(graph.edges), graph.name, {**dict(graph.metadata), "split": split, "band": band}))
    return graphs


def split_path(split: str) -> Path:
    """The file that stores ``split``."""
    _check_split(split)
    return SPLIT_DATA_DIR / f"{split}.json.gz"


def save_split(split: str, graphs: Sequence[LCG]) -> Path:
    """Write ``graphs`` as the stored ``split`` (gzipped JSON); returns the path."""
    path = split_path(split)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "format": SPLIT_FORMAT,
        "version": SPLIT_FORMAT_VERSION,
        "split": split,
        "graphs": [io.to_dict(g) for g in graphs],
    }
    text = json.dumps(data, separators=(",", ":"))
    with gzip.GzipFile(path, "wb", mtime=0) as fh:  # mtime=0: identical content, identical file
        fh.write(text.encode())
    return path


@functools.lru_cache(maxsize=None)
def _load_split(split: str) -> tuple[LCG, ...]:
    path = split_path(split)
    if not path.exists():
        raise FileNotFoundError(f"split {split!r} is not stored at {path}; run `python -m graphs.splits build`")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, dict) or data.get("format") != SPLIT_FORMAT or data.get("version") != SPLIT_FORMAT_VERSION:
        raise SplitError(f"{path}: not an elimgym split file of version {SPLIT_FORMAT_VERSION}")
    if data.get("split") != split or not isinstance(data.get("graphs"), list):
        raise SplitError(f"{path}: expected the graphs of split {split!r}")
    return tuple(io.from_dict(entry, f"{path}: graph {k}") for k, entry in enumerate(data["graphs"]))


def split_graphs(split: str, band: str | None = None) -> list[LCG]:
    """The stored graphs of ``split`` (``"train"``, ``"validation"`` or ``"heldout"``), all bands
    or only ``band``; loaded once per process.

    Raises:
        SplitError: unknown split or band.
    """
    _check_split(split)
    if band is not None:
        _check_band(band)
    graphs = _load_split(split)
    return [g for g in graphs if band is None or g.metadata.get("band") == band]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m graphs.splits build [SPLIT ...]`` rewrites the stored splits;
    ``python -m graphs.splits check [SPLIT ...]`` regenerates them and compares."""
    parser = argparse.ArgumentParser(prog="python -m graphs.splits", description="Build or check the stored graph splits.")
    parser.add_argument("action", choices=("build", "check"))
    parser.add_argument("splits", nargs="*", default=list(SPLITS), help=f"splits (default: all of {SPLITS})")
    args = parser.parse_args(argv)
    status = 0
    for split in args.splits:
        if args.action == "build":
            graphs = generate_split(split)
            print(f"{split}: {len(graphs)} graphs -> {save_split(split, graphs)}")
            continue
        mismatches = [g.name for g in split_graphs(split) if _differs(g, regenerate(g))]
        print(f"{split}: {len(mismatches)} of {len(split_graphs(split))} graphs differ from their regeneration {mismatches[:5]}")
        status |= bool(mismatches)
    return status


def _differs(stored: LCG, fresh: LCG) -> bool:
    return stored.fingerprint() != fresh.fingerprint() or [v.name for v in stored.vertices] != [v.name for v in fresh.vertices]


if __name__ == "__main__":
    sys.exit(main())

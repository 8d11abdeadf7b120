"""Tests of graphs.splits: names, sizes, bands, disjoint seeds, and reproducibility from seeds."""

import numpy as np
import pytest

from graphs import io
from graphs.generators import KINDS, MAX_MAGNITUDE, program_from_metadata, regenerate
from graphs.lcg import LCG, Role, Vertex
from graphs.splits import (
    BAND_VERTICES,
    BANDS,
    GRAPHS_PER_KIND,
    SPLITS,
    SplitError,
    band_of,
    generate_split,
    split_graphs,
    split_seed,
)
from graphs.structure import Structure
from tests.graphs.test_generators import evaluate_with_numpy


def _chain(num_vertices: int) -> LCG:
    vertices = [Vertex(Role.INPUT, ())] + [Vertex(Role.INTERMEDIATE, ())] * (num_vertices - 2) + [Vertex(Role.OUTPUT, ())]
    dense = Structure.parse("<-:[]")
    return LCG(tuple(vertices), {(k, k + 1): dense for k in range(num_vertices - 1)}, f"chain{num_vertices}")


def test_splits__names_and_sizes():
    """Three explicit split names; train >= 1000 graphs, held-out >= 200, every band and kind present."""
    assert SPLITS == ("train", "validation", "heldout") and BANDS == ("small", "medium", "large")
    sizes = {split: len(split_graphs(split)) for split in SPLITS}
    assert sizes == {split: GRAPHS_PER_KIND[split] * len(BANDS) * len(KINDS) for split in SPLITS}
    assert sizes["train"] >= 1000 and sizes["heldout"] >= 200
    for split in SPLITS:
        for band in BANDS:
            graphs = split_graphs(split, band)
            assert {g.metadata["params"]["kind"] for g in graphs} == set(KINDS)
            assert all(g.metadata["split"] == split and band_of(g) == band for g in graphs)


def test_splits__seeds_and_names_are_disjoint_and_graphs_fit_the_capacity():
    """No seed or name appears twice across all splits; every graph has at most 128 vertices."""
    graphs = [g for split in SPLITS for g in split_graphs(split)]
    seeds = [g.metadata["seed"] for g in graphs]
    names = [g.name for g in graphs]
    assert len(set(seeds)) == len(seeds) and len(set(names)) == len(names)
    assert max(g.num_vertices for g in graphs) <= 128
    assert all(all(v.size <= 1024 for v in g.vertices) for g in graphs)
    assert split_seed("heldout", "large", "mixed", 0) == split_graphs("heldout", "large")[2 * GRAPHS_PER_KIND["heldout"]].metadata["seed"]


@pytest.mark.parametrize("split", SPLITS)
def test_split__regenerating_from_stored_seeds_reproduces_stored_graphs(split):
    """The first graph of each band and kind re-traces from its stored seed to the stored graph."""
    per_kind = GRAPHS_PER_KIND[split]
    graphs = split_graphs(split)
    for stored in graphs[::per_kind]:
        fresh = regenerate(stored)
        assert fresh.fingerprint() == stored.fingerprint(), (
            f"{stored.name} no longer regenerates identically (a JAX or generator change?); "
            f"rebuild the splits with `python -m graphs.splits build` only if the change is intended"
        )
        assert [v.name for v in fresh.vertices] == [v.name for v in stored.vertices]


def test_band_of__bands_by_vertex_count_and_rejects_oversized_graphs():
    """band_of uses the documented vertex ranges and names the problem outside them."""
    for band, (low, high) in BAND_VERTICES.items():
        assert band_of(_chain(low)) == band and band_of(_chain(high)) == band
    with pytest.raises(SplitError, match="129 vertices, outside every band"):
        band_of(_chain(129))


def test_split_graphs__unknown_split_or_band_raise():
    """Unknown names raise SplitError listing the valid ones."""
    with pytest.raises(SplitError, match="unknown split 'test'"):
        split_graphs("test")
    with pytest.raises(SplitError, match="unknown band 'huge'"):
        split_graphs("train", "huge")
    with pytest.raises(SplitError, match="out of range"):
        split_seed("validation", "small", "scalar", GRAPHS_PER_KIND["validation"])


@pytest.mark.slow
@pytest.mark.parametrize("split", SPLITS)
def test_split__every_stored_graph_regenerates_exactly_and_evaluates_finitely(split):
    """All graphs: regenerating the whole split gives the stored files; every program's outputs
    are finite and within MAX_MAGNITUDE (evaluated in float64 NumPy)."""
    stored = split_graphs(split)
    fresh = generate_split(split)
    assert [io.to_dict(g)["edges"] for g in fresh] == [io.to_dict(g)["edges"] for g in stored]
    assert [g.fingerprint() for g in fresh] == [g.fingerprint() for g in stored]
    for graph in stored:
        for value in evaluate_with_numpy(program_from_metadata(graph.metadata)):
            assert np.all(np.isfinite(value)) and np.all(np.abs(value) <= MAX_MAGNITUDE), graph.name

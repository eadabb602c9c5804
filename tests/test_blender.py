"""Sources and the (thin) blend: registry, provenance, de-duplication, edge cases."""
import numpy as np
import pytest

from blender.blend import blend
from blender.sources import SOURCES, make_sources
from lens.types import Candidate, SourceQuery


def test_blend_dedupes_and_keeps_every_provenance():
    cands = [Candidate("a", 0.5, "visual", {"rank": 2}), Candidate("b", 0.9, "visual", {"rank": 1}),
             Candidate("a", 0.7, "object", {"rank": 1})]
    out = blend(cands, k=10)
    assert [i.item_id for i in out] == ["b", "a"]
    a = out[1]
    assert a.score == 0.7 and a.sources == ["visual", "object"] and len(a.provenance) == 2


def test_blend_cuts_and_handles_empty():
    assert blend([], 5) == []
    assert len(blend([Candidate(str(i), i, "visual") for i in range(10)], 3)) == 3
    assert blend([Candidate("a", 1, "visual")], 0) == []
    with pytest.raises(ValueError, match="k -1"):
        blend([], -1)


def test_a_candidate_weighs_by_how_surely_its_evidence_belongs_to_the_item():
    cands = [Candidate("a", 0.8, "object", {}, weight=0.5), Candidate("b", 0.6, "visual")]
    out = blend(cands, 2, {"visual": 0.5, "object": 0.5})
    assert [i.item_id for i in out] == ["b", "a"] and out[1].per_source["object"] == pytest.approx(0.4)
    assert out[1].provenance[0]["weight"] == 0.5 and "weight" not in out[0].provenance[0]
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="weight of item 'a'"):
            blend([Candidate("a", 0.8, "object", weight=bad)], 1)


def test_ties_are_deterministic():
    out = blend([Candidate("b", 1.0, "visual"), Candidate("a", 1.0, "visual")], 2)
    assert [i.item_id for i in out] == ["a", "b"]


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_source_on_an_empty_and_a_filled_catalog(name, lens_factory):
    lens = lens_factory()
    (source,) = make_sources([name], lens.catalog)
    query = SourceQuery(np.ones(lens.embedder.dim, np.float32) / np.sqrt(lens.embedder.dim))
    assert source.search(query, 5) == []
    vecs = np.random.default_rng(0).normal(size=(4, lens.embedder.dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    # each item: a title naming it (text), one crop with its own vector (object)
    words = ["red dress", "navy boots", "green lamp", "teal striped scarf"]
    lens.catalog.add([{"id": f"i{n}", "title": words[n], "crops": [{"id": f"i{n}#0", "box": [0, 0, 9, 9]}]}
                      for n in range(4)], vecs, [f"i{n}#0" for n in range(4)], vecs)
    query = SourceQuery(vecs[2], annotations=[{"text": "green lamp", "kind": "category", "score": 1.0}])
    hits = source.search(query, 2)
    assert hits[0].item_id == "i2" and hits[0].source == name and hits[0].provenance["rank"] == 1


def test_unknown_source_lists_valid(lens_factory):
    with pytest.raises(ValueError, match=r"sources 'colour': unknown \(valid: object, text, visual\)"):
        make_sources(["colour"], lens_factory().catalog)

"""Retrieval sources over a catalog built directly from vectors: visual, object; filters on both."""
import numpy as np
import pytest

from blender.sources import SOURCES, make_sources
from lens.catalog import Catalog, crop_id
from lens.types import Filters
from lens.types import SourceQuery

DIM = 16


def unit(rng, n=1):
    v = rng.normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
def catalog(config_factory):
    """3 scenes with 2 crops each, 2 products; scene s1 holds a red bag crop."""
    rng = np.random.default_rng(0)
    config = config_factory("default")
    cat = Catalog.open(config, {"name": "test", "dim": DIM})
    items, vectors, crop_ids, crop_vectors = [], [], [], []
    for s in ("s0", "s1", "s2"):
        crops = [{"id": crop_id(s, n), "box": [10 * n, 0, 10 * n + 50, 50], "label": "bag" if n else "top",
                  **({"score": 0.7} if n else {})} for n in range(2)]
        items.append({"id": s, "kind": "scene", "crops": crops,
                      "understanding": {"signals": {"skin_tone_ranges": [int(s[1]) + 1], "colors": ["red"]}}})
        vectors.append(unit(rng)[0])
        crop_ids += [c["id"] for c in crops]
        crop_vectors.append(unit(rng, 2))
    for p, colour in (("p0", "red"), ("p1", "navy")):
        items.append({"id": p, "kind": "product", "category": "bag", "color": colour})
        vectors.append(unit(rng)[0])
    cat.add(items, np.stack(vectors), crop_ids, np.concatenate(crop_vectors))
    return cat


def test_every_source_is_registered_and_unknown_names_list_them(catalog):
    assert {"visual", "object"} <= set(SOURCES)
    with pytest.raises(ValueError, match="valid: .*visual"):
        make_sources(["visul"], catalog)


def test_object_source_returns_the_scene_of_the_matching_crop(catalog):
    (obj,) = make_sources(["object"], catalog)
    query_vec = catalog.objects.vector("s1#1")
    hits = obj.search(SourceQuery(query_vec, [0, 0, 5, 5]), k=3)
    assert hits[0].item_id == "s1" and hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert hits[0].provenance["crop"] == "s1#1" and hits[0].provenance["box"] == [10, 0, 60, 50]
    assert hits[0].provenance["label"] == "bag" and hits[0].provenance["via"] == "box"
    assert hits[0].weight == 0.7                    # the matched crop's detection score
    assert all(h.weight == (0.7 if h.provenance["crop"].endswith("#1") else 1.0) for h in hits)  # none: 1
    assert len({h.item_id for h in hits}) == len(hits) <= 3          # grouped by scene
    assert all(h.item_id.startswith("s") for h in hits)             # products have no crops


def test_object_source_probes_every_query_crop(catalog):
    (obj,) = make_sources(["object"], catalog)
    far = -catalog.objects.vector("s2#0")
    query = SourceQuery(far, None, [(catalog.objects.vector("s2#0"), [0, 0, 9, 9], "top")])
    hit = obj.search(query, k=1)[0]
    assert hit.item_id == "s2" and hit.provenance["via"] == "crop 1" and hit.weight == 1.0   # no crop score


def test_object_source_probes_the_whole_image_only_when_it_is_one_object(catalog):
    (obj,) = make_sources(["object"], catalog)
    vec = catalog.objects.vector("s1#1")
    assert obj.search(SourceQuery(vec), k=1)[0].provenance["via"] == "image"       # a product photo
    cluttered = SourceQuery(vec, one_object=False)
    assert obj.search(cluttered, k=3) == []                           # no crop, no object to look for
    cluttered.crops = [(catalog.objects.vector("s2#0"), [0, 0, 9, 9], "top")]
    hits = obj.search(cluttered, k=3)
    assert hits and {h.provenance["via"] for h in hits} == {"crop 1"}


def test_filters_restrict_every_source(catalog):
    from blender.filters import allowed_ids

    allowed = allowed_ids(catalog, Filters.parse({"skin_tone_range": [2, 3]}))
    assert allowed == {"s1", "s2"}
    for source in make_sources(["visual", "object"], catalog):
        hits = source.search(SourceQuery(catalog.visual.vector("s0")), 10, allowed)
        assert hits and {h.item_id for h in hits} <= {"s1", "s2"}
    assert allowed_ids(catalog, Filters.parse({"color": "navy", "category": "bag"})) == {"p1"}
    assert allowed_ids(catalog, Filters()) is None
    obj = make_sources(["object"], catalog)[0]
    crops = obj.crops_of(allowed)
    assert crops is obj.crops_of(allowed) and crops and all(c.split("#")[0] in allowed for c in crops)
    catalog.delete("s1")                                               # the signal index follows changes
    assert allowed_ids(catalog, Filters.parse({"skin_tone_range": 2})) == set()
    left = obj.crops_of(allowed_ids(catalog, Filters.parse({"skin_tone_range": [2, 3]})))
    assert left and all(c.startswith("s2#") for c in left)           # s2's crops only, s1's are gone


def test_empty_catalog_sources_return_nothing(config_factory):
    cat = Catalog.open(config_factory("default"), {"name": "test", "dim": DIM})
    sources = make_sources(["visual", "object"], cat)
    assert len(sources) == 2
    for source in sources:
        assert source.search(SourceQuery(np.ones(DIM, np.float32) / 4), 5) == []


def test_matched_crops_details_are_read_once_until_the_catalog_changes(catalog, monkeypatch):
    (obj,) = make_sources(["object"], catalog)
    reads = []
    items = catalog.items
    monkeypatch.setattr(catalog, "items", lambda ids: reads.append(list(ids)) or items(ids))
    query = SourceQuery(catalog.objects.vector("s1#1"), [0, 0, 5, 5])
    first = obj.search(query, k=3)
    again = obj.search(query, k=3)
    assert len(reads) == 1 and [h.provenance for h in again] == [h.provenance for h in first]
    again[0].provenance["box"][0] = 999                 # a caller's change stays in its own answer
    assert obj.search(query, k=3)[0].provenance["box"] == [10, 0, 60, 50] and len(reads) == 1
    s1 = catalog.items(["s1"])[0]
    s1["crops"][1]["box"] = [11, 1, 61, 51]
    catalog.add([s1], np.stack([catalog.visual.vector("s1")]), ["s1#1"], np.stack([catalog.objects.vector("s1#1")]))
    assert obj.search(query, k=3)[0].provenance["box"] == [11, 1, 61, 51]    # a new version: read again

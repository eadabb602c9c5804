"""Calibration, adaptive ratios, weighted fusion and the diversity stage over a small catalog."""
import numpy as np
import pytest

from blender.blend import blend
from blender.calibrate import Calibration, calibration_for, fit
from blender.diversify import bucket_filters, diversify
from blender.filters import Filters
from blender.ratios import RULES, plan
from blender.sources import Candidate, make_sources
from lens.catalog import Catalog, crop_id
from lens.config import SurfaceConfig

DIM = 16


@pytest.fixture
def catalog(config_factory):
    """40 scenes: one crop each, skin tone range i % 4 + 1, and a cluster of 10 near-duplicates
    (all range 1) around s0."""
    rng = np.random.default_rng(0)
    cat = Catalog.open(config_factory("default"), {"name": "test", "dim": DIM})
    base = rng.normal(size=DIM)
    vectors = []
    for i in range(40):
        v = base + 0.05 * rng.normal(size=DIM) if i < 10 else rng.normal(size=DIM)
        vectors.append(v / np.linalg.norm(v))
    vectors = np.array(vectors, np.float32)
    items = [{"id": f"s{i}", "kind": "scene", "crops": [{"id": crop_id(f"s{i}", 0), "box": [0, 0, 9, 9]}],
              "understanding": {"signals": {"skin_tone_ranges": [1 if i < 10 else i % 4 + 1],
                                            "colors": ["red" if i % 2 else "navy"]},
                                "annotations": [{"text": "dress", "kind": "category", "score": 0.9}]}}
             for i in range(40)]
    cat.add(items, vectors, [crop_id(f"s{i}", 0) for i in range(40)], vectors)
    return cat


def test_calibration_is_a_cdf_and_is_stored(catalog):
    sources = {s.name: s for s in make_sources(["visual", "object"], catalog)}
    cal = fit(catalog, sources, queries=20)
    assert set(cal.knots) == {"visual", "object"}
    for name, knots in cal.knots.items():
        assert knots == sorted(knots)
        assert cal.score(name, knots[0] - 1) == 0.0 and cal.score(name, knots[-1] + 1) == 1.0
    assert cal.score("unknown-source", 1.7) == 1.0
    stored = calibration_for(catalog, sources)
    assert Calibration.from_dict(catalog.store.get_meta("calibration")).knots == stored.knots


@pytest.mark.parametrize("understanding, crops, box, plain, rule", [
    ({}, [], True, False, "box"),
    ({"quality": {"score": 0.2}}, [], False, False, "text"),
    ({"annotations": [{"kind": "ocr", "text": "NIKE AIR", "score": 0.95}]}, [], False, False, "text"),
    ({}, [{"score": 0.9}, {"score": 0.8}, {"score": 0.3}], False, False, "objects"),
    ({}, [{"score": 0.9}], False, True, "product"),
    ({}, [{"score": 0.9}], False, False, "default"),
])
def test_ratio_rules(understanding, crops, box, plain, rule):
    mix = plan(understanding, crops, box, ["visual", "object", "text"], plain)
    assert mix.rule == rule and mix.reason
    assert tuple(mix.ratios[s] for s in ("visual", "object", "text")) == pytest.approx(RULES[rule], abs=1e-3)
    assert sum(plan(understanding, crops, box, ["visual"], plain).ratios.values()) == pytest.approx(1.0)


def test_fusion_rewards_agreement_and_rejects_nan():
    cands = [Candidate("a", 0.9, "visual"), Candidate("b", 0.8, "visual"), Candidate("b", 0.8, "object")]
    out = blend(cands, 2, {"visual": 0.5, "object": 0.5})
    assert [i.item_id for i in out] == ["b", "a"] and out[0].per_source == {"visual": 0.8, "object": 0.8}
    with pytest.raises(ValueError, match="score of item 'x' is nan"):
        blend([Candidate("x", float("nan"), "visual")], 1)


def test_buckets_stay_within_the_query_filter():
    assert [sorted(f.skin_tone_range) for f in bucket_filters(Filters())] == [[1], [2], [3], [4]]
    only = bucket_filters(Filters.parse({"skin_tone_range": [2, 4], "color": "red"}))
    assert [sorted(f.skin_tone_range) for f in only] == [[2], [4]] and all(f.color == {"red"} for f in only)


def test_diversity_spreads_skin_tone_ranges(catalog):
    (visual,) = make_sources(["visual"], catalog)
    hits = visual.search(type("Q", (), {"vector": catalog.visual.vector("s0"), "box": None})(), 40)
    items = blend(hits, 40)
    plain = items[:10]
    diverse = diversify(catalog, items, 10, SurfaceConfig(theta=0.6))
    ranges = lambda page: {catalog.store.get(i.item_id)["understanding"]["signals"]["skin_tone_ranges"][0]
                           for i in page}
    assert len(ranges(plain)) == 1                     # the near-duplicate cluster is all range 1
    assert len(ranges(diverse)) >= 3 and diverse[0].item_id == plain[0].item_id
    assert [i.item_id for i in diversify(catalog, items, 10, SurfaceConfig(theta=0.0))] == \
        [i.item_id for i in plain]

"""Calibration, adaptive ratios, weighted fusion and the diversity stage over a small catalog."""
import numpy as np
import pytest

from blender.blend import blend
from blender.calibrate import Calibration, calibration_for, fit
from blender.dimensions import RELEVANCE_BUDGET, choose, dcg, people_dimensions
from blender.diversify import bucket_filters, diversify
from blender.dpp import DiversityFeatures
from blender.ratios import RULES, plan
from blender.sources import make_sources
from lens.catalog import Catalog, crop_id
from lens.config import SurfaceConfig
from lens.types import Filters
from lens.types import Candidate

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
    raws = np.linspace(-0.5, 1.5, 41)
    for name in ("visual", "object", "unknown-source"):       # the vectorised form blend() uses
        assert cal.scores(name, raws).tolist() == pytest.approx([cal.score(name, r) for r in raws])
    stored = calibration_for(catalog, sources)
    assert Calibration.from_dict(catalog.store.get_meta("calibration")).knots == stored.knots


@pytest.mark.parametrize("understanding, crops, box, plain, rule", [
    ({}, [], True, False, "box"),
    ({"quality": {"score": 0.2}}, [], False, False, "text"),
    ({"annotations": [{"kind": "ocr", "text": "NIKE AIR", "score": 0.95}]}, [], False, False, "text"),
    ({}, [{"score": 0.9}, {"score": 0.8}, {"score": 0.3}], False, False, "objects"),
    ({}, [{"score": 0.9}], False, True, "product"),
    ({}, [{"score": 0.9}], False, False, "default"),
    # the demo's sample sweater: a top, a second top inside it, the region proposer's box around both
    ({}, [{"score": 0.86, "box": [31, 77, 241, 195]}, {"score": 0.76, "box": [115, 77, 230, 184]},
          {"score": 0.71, "box": [12, 60, 236, 209]}], False, True, "product"),
    ({}, [{"score": 0.9, "box": [0, 0, 50, 50]}, {"score": 0.8, "box": [60, 0, 110, 50]}], False, True, "objects"),
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
    assert [i.item_id for i in diversify(catalog, items, 10, SurfaceConfig(theta=0.0, min_ranges=0))] == \
        [i.item_id for i in plain]                     # theta 0 and no floor: the relevance order
    floor = diversify(catalog, items, 10, SurfaceConfig(theta=0.0))     # the floor holds at theta 0 too
    assert len(ranges(floor)) == 3 and [i.item_id for i in floor][:8] == [i.item_id for i in plain][:8]


def _categorised(catalog):
    """s0-s9 products ("hat" for s0-s6, "bag" s7-s9); s10 a scene whose crop is labelled hat."""
    records = catalog.items([f"s{i}" for i in range(40)])
    for i, record in enumerate(records):
        if i < 10:
            record["category"] = "hat" if i < 7 else "bag"
    records[10]["crops"][0]["label"] = "hat"
    catalog.store.put_many(records)
    catalog.version += 1


def test_query_category_votes_over_visual_neighbours_and_prefers_a_confident_head(catalog):
    from blender.blend import BlendedItem
    from blender.category import query_category

    _categorised(catalog)
    items = [BlendedItem(f"s{i}", 1.0, ["visual"], per_source={"visual": 1.0 - i / 100}) for i in range(12)]
    found = query_category(catalog, items)
    hats = sum(1.0 - i / 100 for i in range(7))
    assert (found.name, found.via) == ("hat", "visual neighbours")
    assert found.confidence == pytest.approx(hats / (hats + sum(1.0 - i / 100 for i in range(7, 10))))
    head = {"categories": [{"kind": "category", "name": "Bag", "score": 0.8}]}
    assert query_category(catalog, items, head).to_dict() == {"name": "bag", "confidence": 0.8,
                                                              "via": "category head", "strength": 0.8}
    assert found.confidence > 0.5 and found.strength == found.confidence     # a majority lifts by its share
    unsure = {"categories": [{"kind": "category", "name": "bag", "score": 0.3}]}
    assert query_category(catalog, items, unsure).name == "hat"          # below HEAD_MIN: the vote
    assert query_category(catalog, [BlendedItem("s20", 1.0, ["object"], per_source={"object": 1.0})]) is None


def test_lift_raises_items_holding_the_category_scenes_through_their_crop_labels(catalog):
    from blender.blend import BlendedItem
    from blender.category import QueryCategory, lift

    _categorised(catalog)
    items = [BlendedItem(i, s, ["visual"]) for i, s in (("s20", 0.9), ("s10", 0.5), ("s8", 0.45), ("s3", 0.4))]
    same, n = lift(catalog, [BlendedItem(i.item_id, i.score, i.sources) for i in items],
                   QueryCategory("hat", 0.8, "visual neighbours"), 0.0)
    assert n == 0 and [i.item_id for i in same] == ["s20", "s10", "s8", "s3"]        # boost 0: off
    lifted, n = lift(catalog, items, QueryCategory("hat", 0.8, "category head"), 0.5)
    assert n == 2 and [i.item_id for i in lifted] == ["s10", "s20", "s3", "s8"]     # s10 by its crop label
    assert lifted[0].score == pytest.approx(0.5 + 0.4)
    assert lift(catalog, items, None, 0.5)[1] == 0 and lift(catalog, [], None, 0.5) == ([], 0)


@pytest.mark.parametrize("share, strength", [(0.3, 0.0), (0.49, 0.0), (0.5, 0.5), (0.75, 0.75), (1.0, 1.0)])
def test_a_split_vote_lifts_nothing_and_a_majority_by_its_share(catalog, share, strength):
    from blender.blend import BlendedItem
    from blender.category import QueryCategory, lift

    _categorised(catalog)
    vote = QueryCategory("hat", share, "visual neighbours")
    assert vote.strength == pytest.approx(strength)
    items = [BlendedItem(i, s, ["visual"]) for i, s in (("s20", 0.9), ("s3", 0.4))]
    lifted, n = lift(catalog, items, vote, 0.5)
    assert n == (1 if strength > 0 else 0)
    assert {i.item_id: i.score for i in lifted}["s3"] == pytest.approx(0.4 + 0.5 * strength)
    assert QueryCategory("hat", share, "category head").strength == share    # a head: its own score


def _cands(source, ids):
    from lens.types import Candidate
    return [Candidate(i, 1.0 - n / 100, source) for n, i in enumerate(ids)]


def test_distinct_drops_crops_nested_in_a_surer_one():
    from blender.ratios import NESTED, distinct

    outer, inner = {"score": 0.7, "box": [0, 0, 100, 100]}, {"score": 0.9, "box": [10, 10, 60, 60]}
    beside, loose = {"score": 0.8, "box": [100, 0, 200, 100]}, {"score": 0.5}
    assert distinct([outer, inner, beside, loose]) == [inner, beside, loose]   # outer holds inner: one thing
    half = {"score": 0.6, "box": [50, 50, 150, 150]}                             # a quarter inside outer
    assert distinct([outer, half]) == [outer, half] and NESTED > 0.25
    assert distinct([]) == []


def test_text_agreement_is_the_share_of_text_hits_the_visual_source_also_found():
    from blender.ratios import AGREE_TEXT, AGREE_VISUAL, text_agreement

    visual = _cands("visual", [f"v{i}" for i in range(AGREE_VISUAL + 5)])
    text = _cands("text", ["v0", "v3", f"v{AGREE_VISUAL + 1}"] + [f"t{i}" for i in range(AGREE_TEXT)])
    # of the text's best AGREE_TEXT: v0 and v3 are on the visual page, v21 is past it, the t's nowhere
    assert text_agreement(visual + text) == pytest.approx(2 / AGREE_TEXT)
    assert text_agreement(visual + _cands("text", ["v1", "v1", "v2"])) == 1.0       # distinct items
    assert text_agreement(visual) is None and text_agreement(text) is None and text_agreement([]) is None


def test_weigh_text_scales_the_text_weight_and_renormalises():
    from blender.ratios import plan, weigh_text

    mix = plan({}, [], False, ["visual", "object", "text"])               # default 0.5 / 0.3 / 0.2
    half = weigh_text(mix, 0.5)
    assert half.ratios == pytest.approx({"visual": 0.5 / 0.9, "object": 0.3 / 0.9, "text": 0.1 / 0.9}, abs=1e-4)
    assert half.rule == "default" and "agree 50%" in half.reason
    assert weigh_text(mix, 0.0).ratios["text"] == 0.0 and weigh_text(mix, 1.0).ratios == mix.ratios
    assert weigh_text(mix, None) is mix
    no_text = plan({}, [], False, ["visual"])
    assert weigh_text(no_text, 0.3) is no_text
    with pytest.raises(ValueError, match="text agreement 1.5"):
        weigh_text(mix, 1.5)


def test_text_lead_is_the_text_sources_best_over_second_scaled_and_capped():
    from blender.calibrate import Calibration
    from blender.ratios import text_lead
    from lens.types import Candidate

    text = [Candidate("a", 0.9, "text"), Candidate("a", 0.5, "text"), Candidate("b", 0.86, "text"),
            Candidate("c", 0.2, "text"), Candidate("v", 0.99, "visual")]      # a's best counts; visual not
    assert text_lead(text, None, 0.08) == pytest.approx(0.5)
    assert text_lead(text, None, 0.02) == 1.0                                  # capped
    calibrated = Calibration({"text": [0.0, 0.88, 1.0]})                       # 0.9 -> 0.58, 0.86 -> 0.49
    assert text_lead(text, calibrated, 0.18) == pytest.approx((0.5 + 0.5 * 2 / 12 - 0.5 * 0.86 / 0.88) / 0.18)
    assert text_lead(text, None, 0.0) is None                                  # off
    assert text_lead(text[:2] + text[4:], None, 0.1) is None                   # one text item: nothing to lead
    assert text_lead([], None, 0.1) is None
    with pytest.raises(ValueError, match="blend.text_lead -0.1"):
        text_lead(text, None, -0.1)


def test_weigh_text_multiplies_agreement_and_lead():
    from blender.ratios import plan, weigh_text

    mix = plan({}, [], False, ["visual", "object", "text"])               # default 0.5 / 0.3 / 0.2
    both = weigh_text(mix, 0.5, 0.5)
    assert both.ratios["text"] == pytest.approx(0.05 / 0.85, abs=1e-4)
    assert weigh_text(mix, None, 0.5).ratios == weigh_text(mix, 0.5).ratios
    assert "single out" in both.reason and "agree 50%" in both.reason
    assert weigh_text(mix, None, None) is mix
    with pytest.raises(ValueError, match="text lead 2"):
        weigh_text(mix, None, 2.0)


def test_a_negative_text_lead_fails_naming_the_key(config_factory):
    from lens.pipeline.facade import Lens

    with pytest.raises(ValueError, match="blend.text_lead"):
        Lens.from_config(config_factory("demo", "blend.text_lead=-1"))


def test_ensure_ranges_tops_up_the_page_and_is_a_noop_when_met():
    from blender.diversify import ensure_ranges

    skin = [None, 1, 1, None, 2, 3, 3, 4]
    relevance = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.2, 0.4, 0.1])
    assert ensure_ranges([0, 1, 4, 5], skin, relevance, 3) == [0, 1, 4, 5]          # 3 shown: unchanged
    # ranges 1 only: range 2 (best 0.5) replaces the least relevant spare (item 3, no person), then
    # range 3 (its best is item 6) replaces item 2 (range 1 twice); range 4 is not needed for 3
    assert ensure_ranges([0, 1, 2, 3], skin, relevance, 3) == [0, 1, 6, 4]
    assert ensure_ranges([0, 1, 2, 3], skin, relevance, 0) == [0, 1, 2, 3]          # 0: off
    assert ensure_ranges([1, 4], skin, relevance, 3) == [1, 4]                      # nothing spare to replace
    assert ensure_ranges([0, 3], [None, None, None, 2], relevance[:4], 3) == [0, 3]   # pool has 1 range: shown
    with pytest.raises(ValueError, match="blend min_ranges -1"):
        diversify(None, [], 5, SurfaceConfig(min_ranges=-1))


def test_people_dimensions_follow_the_query_and_its_candidates(catalog, config_factory, tmp_path):
    person = {"skin_tones": [{"status": "ok", "range": 2}]}
    abstained = {"skin_tones": [{"status": "unknown", "range": None}]}
    assert people_dimensions(catalog, person, [])[0] is True
    on, why = people_dimensions(catalog, abstained, _cands("visual", [f"s{i}" for i in range(20)]))
    assert on and why == "100% of the candidates show people"        # every fixture scene has one
    assert people_dimensions(catalog, abstained, []) == (False, "no candidates")
    bare = Catalog.open(config_factory("default"), {"name": "bare", "dim": DIM}, tmp_path / "bare")
    bare.add([{"id": f"p{i}", "kind": "product"} for i in range(30)], np.eye(30, DIM, dtype=np.float32))
    on, why = people_dimensions(bare, abstained, _cands("visual", [f"p{i}" for i in range(30)]))
    assert not on and why == "no person in the photo, 0% of the candidates show people"


def _cluster_features(n=30, dup=6):
    """The first ``dup`` items are near-duplicates, the rest all different (unit vectors)."""
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(n, DIM))
    vectors[:dup] = vectors[0] + 0.01 * rng.normal(size=(dup, DIM))
    return DiversityFeatures.from_items(vectors, [None] * n, [None] * n, [None] * n)


@pytest.mark.parametrize("scores, spread", [
    (np.r_[np.linspace(1.0, 0.95, 6), np.full(24, 0.1)], False),    # the best items look alike: keep them
    (np.r_[np.full(6, 0.5), np.full(24, 0.5)], True),               # a tie: spreading costs nothing
])
def test_visual_spread_applies_only_where_it_costs_no_relevance(scores, spread):
    feats, surface = _cluster_features(), SurfaceConfig(theta=0.7, w_color=0.0)
    z = (scores - scores.mean()) / (scores.std() or 1.0)
    page, decision = choose(z, feats, 6, surface, (False, "no person"))
    assert ("visual" in decision.dimensions) is spread
    assert decision.reason.startswith("people off: no person")
    if spread:
        assert sum(i < 6 for i in page) < 6                      # the duplicates were spread out
    else:
        assert page == list(range(6)) and "visual off (would cost" in decision.reason
    assert dcg(z, page) >= (1 - RELEVANCE_BUDGET) * dcg(z, list(np.argsort(-scores)[:6])) - 1e-9


def test_a_close_second_is_not_spread_away_when_every_hit_scores_near_the_top():
    """A trained embedding's hits all score near 1: moving a near-duplicate second item down costs
    little of the raw scores' DCG but much of the relevance above the pool's mean, so no spread."""
    feats, surface = _cluster_features(n=30, dup=2), SurfaceConfig(theta=0.7, w_color=0.0)
    scores = np.r_[1.0, 0.99, np.linspace(0.97, 0.9, 28)]
    z = (scores - scores.mean()) / scores.std()
    page, decision = choose(z, feats, 5, surface, (False, "no person"))
    assert page[:2] == [0, 1] and "visual" not in decision.dimensions
    raw_cost = 1 - dcg(scores, [0, *range(2, 6)]) / dcg(scores, list(range(5)))
    assert raw_cost < RELEVANCE_BUDGET                          # what the raw scores would have allowed


def test_without_people_no_range_floor_and_no_skin_dimension(catalog):
    (visual,) = make_sources(["visual"], catalog)
    hits = visual.search(type("Q", (), {"vector": catalog.visual.vector("s0"), "box": None})(), 40)
    items, report = blend(hits, 40), {}
    page = diversify(catalog, items, 10, SurfaceConfig(theta=0.6), report, (False, "test"))
    assert "skin_tone" not in report["dimensions"] and "body_type" not in report["dimensions"]
    assert report["diversity_reason"].startswith("people off: test")
    with_people = diversify(catalog, items, 10, SurfaceConfig(theta=0.6), {}, (True, ""))
    ranges = lambda p: {catalog.store.get(i.item_id)["understanding"]["signals"]["skin_tone_ranges"][0] for i in p}
    assert len(ranges(with_people)) >= 3 and len(ranges(page)) < len(ranges(with_people))

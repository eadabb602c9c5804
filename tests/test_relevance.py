"""The relevance floor (blend.min_relevance): no padding with unrelated items; loose ones only if asked."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from blender.blend import BlendedItem
from blender.relevance import NO_CLOSE, SAMPLE, Background, check_settings, relevance, split
from lens.config import load_config
from lens.index.vectors import VectorIndex
from lens.manifest import read_items
from lens.pipeline.indexing import CatalogWriter, IndexMapper, run_indexing
from tests.conftest import IMAGENET
from web.app import create_app


WEIGHT = 0.8        # blend.background_weight in these tests
# configs/default.yaml's floor, fitted to ImageNet cosines (the demo's is the unified embedding's)
DEFAULT_FLOOR = [f"blend.{key}={getattr(load_config('default').blend, key)}"
                 for key in ("min_relevance", "background_weight")]


def _item(name, *evidence):
    """A blended item found with ``(source, raw score, background)`` entries."""
    provenance = [{"source": s, "score": raw, **({} if back is None else {"background": back})}
                  for s, raw, back in evidence]
    return BlendedItem(name, 0.5, [s for s, _, _ in evidence], provenance)


def test_split_judges_the_image_evidence_over_the_query_background():
    items = [_item("a", ("visual", 0.75, 0.5)),                       # 0.75 - 0.4 = 0.35: close
             _item("b", ("visual", 0.58, 0.5)),                       # 0.18: below 0.3
             _item("c", ("text", 1.0, None), ("object", 0.71, 0.5)),  # the object crop carries it
             _item("d", ("text", 1.0, None))]                         # text alone is never close
    assert relevance(items[0], WEIGHT) == pytest.approx(0.75 - WEIGHT * 0.5)
    cut = split(items, 0.3, WEIGHT)
    assert [i.item_id for i in cut.close] == ["a", "c"] and [i.item_id for i in cut.below] == ["b", "d"]
    assert [i.item_id for i in split(items, 0.0, WEIGHT).close] == ["a", "b", "c", "d"]
    assert split([], 0.3, WEIGHT).report(0.3, 0, WEIGHT)["message"] == NO_CLOSE
    assert cut.report(0.3, 0, WEIGHT) == {"min_relevance": 0.3, "background_weight": WEIGHT, "close": 2,
                                          "below_floor": 2, "loose_shown": 0, "message": ""}


def test_an_object_hit_is_as_close_as_its_crop_is_sure():
    sure = _item("sure", ("object", 0.71, 0.5))                        # 0.31: close
    doubtful = _item("doubtful", ("object", 0.71, 0.5))
    doubtful.provenance[0]["weight"] = 0.5                             # a crop the detector doubts: 0.155
    assert relevance(doubtful, WEIGHT) == pytest.approx(0.5 * relevance(sure, WEIGHT))
    assert [i.item_id for i in split([sure, doubtful], 0.3, WEIGHT).close] == ["sure"]


def test_background_is_the_mean_cosine_with_a_fixed_sample_and_follows_changes():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(SAMPLE + 40, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = VectorIndex(8)
    index.add([f"i{n}" for n in range(len(vectors))], vectors)
    background = Background()
    q = vectors[:2]
    first = background(index, q)
    assert first.shape == (2,) and np.allclose(first, background(index, q))        # the same sample
    assert abs(first[0] - float((vectors @ q[0]).mean())) < 0.05                   # near the full mean
    for n in range(len(vectors)):            # every sampled id removed, the same count added back
        index.remove(f"i{n}")
    index.add([f"j{n}" for n in range(len(vectors))], vectors)
    assert np.allclose(background(index, q), first, atol=0.05)
    assert background(VectorIndex(8), q).tolist() == [0.0, 0.0]


@pytest.mark.parametrize("floor, loose, weight, key", [(1.0, 5, 0.6, "blend.min_relevance"),
                                                       (-0.1, 5, 0.6, "blend.min_relevance"),
                                                       (0.3, -1, 0.6, "blend.loose"),
                                                       (0.3, 5, -0.1, "blend.background_weight"),
                                                       (0.3, 5, 2.5, "blend.background_weight")])
def test_bad_settings_name_the_key(floor, loose, weight, key):
    with pytest.raises(ValueError, match=key):
        check_settings(floor, loose, weight)


@pytest.fixture(scope="module")
def floored(small_catalog, models, tmp_path_factory):
    """A Lens over 60 synthetic products with the default floor."""
    from lens.pipeline.facade import Lens

    folder = tmp_path_factory.mktemp("floor")
    config = load_config("demo", ["models.detector_checkpoint=", "models.category_head=", "models.pattern_head=",
                                  "text.model=none", f"catalog.path={folder / 'catalog'}", *DEFAULT_FLOOR, IMAGENET])
    lens = Lens.from_config(config, models=models)
    products = [i for i in read_items(small_catalog) if i.get("kind") == "product"][:60]
    run_indexing(products, IndexMapper.from_lens(lens), CatalogWriter(lens.catalog), progress=False)
    return lens, products


def _noise(seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (224, 224, 3), dtype=np.uint8)


def test_a_catalog_photo_is_close_and_noise_is_not(floored):
    lens, products = floored
    own = lens(products[3]["image"], k=5, sources=["visual"])
    assert own.results[0]["id"] == products[3]["id"] and own.blend["relevance"]["message"] == ""
    noise = lens(_noise(), k=5, sources=["visual"])
    assert noise.results == [] and noise.blend["relevance"]["message"] == NO_CLOSE
    assert noise.blend["relevance"]["below_floor"] > 0
    loose = lens(_noise(), k=5, sources=["visual"], loose=True)
    assert 1 <= len(loose.results) <= lens.config.blend.loose
    assert all(r["loose"] for r in loose.results) and [r["rank"] for r in loose.results] == \
        list(range(1, len(loose.results) + 1))
    assert loose.blend["relevance"]["loose_shown"] == len(loose.results)


def test_the_api_takes_loose_and_refuses_a_bad_value(floored):
    lens, _ = floored
    app = create_app(lens=lens)
    app.testing = True
    client = app.test_client()
    png = io.BytesIO()
    Image.fromarray(_noise(1)).save(png, "PNG")
    body = client.post("/api/v1/lens", data={"image": (io.BytesIO(png.getvalue()), "n.png"), "sources": "visual",
                                             "loose": "on"}).get_json()
    assert body["results"] and all(r["loose"] for r in body["results"])
    assert body["blend"]["relevance"]["message"] == NO_CLOSE
    assert body["blend"]["relevance"]["background_weight"] == lens.config.blend.background_weight
    bad = client.post("/api/v1/lens", data={"image": (io.BytesIO(png.getvalue()), "n.png"), "loose": "maybe"})
    assert bad.status_code == 400 and "field 'loose'" in bad.get_json()["error"]


def test_a_search_of_no_image_source_is_not_floored(floored):
    """The floor judges image evidence: asked for text results alone, the page keeps them."""
    lens, products = floored
    page = lens(_noise(), k=5, sources=["text"], text=products[3]["title"])
    assert page.results and not any(r.get("loose") for r in page.results)
    assert page.blend["relevance"]["min_relevance"] == 0.0 and page.blend["relevance"]["message"] == ""
    floored_page = lens(_noise(), k=5, sources=["visual", "text"], text=products[3]["title"])
    assert floored_page.blend["relevance"]["min_relevance"] == lens.config.blend.min_relevance


def test_text_from_the_photo_weighs_by_its_agreement_and_user_text_does_not(floored):
    from blender.ratios import RULES, SOURCES

    lens, products = floored
    page = lens(products[5]["image"], k=10)
    agreement, lead, ratios = page.blend["text_agreement"], page.blend["text_lead"], page.blend["ratios"]
    assert 0.0 <= agreement <= 1.0 and 0.0 <= lead <= 1.0 and sum(ratios.values()) == pytest.approx(1.0, abs=1e-3)
    raw = dict(zip(SOURCES, RULES[page.blend["rule"]]))
    assert ratios["text"] / ratios["visual"] == pytest.approx(agreement * lead * raw["text"] / raw["visual"], abs=1e-3)
    typed = lens(products[5]["image"], k=10, text=products[5]["title"])
    assert typed.blend["text_agreement"] is None and typed.blend["text_lead"] is None
    assert "agree" not in typed.blend["reason"] and "single out" not in typed.blend["reason"]
    raw = dict(zip(SOURCES, RULES[typed.blend["rule"]]))
    assert typed.blend["ratios"]["text"] / typed.blend["ratios"]["visual"] == pytest.approx(raw["text"] / raw["visual"])


def test_a_people_free_catalog_gets_no_people_dimensions_and_says_why(floored):
    """Issue 20.6: skin tone and body type diversity, and the range bucket searches, only where the
    query or its candidates show people; the response says which dimensions ran and why."""
    lens, products = floored
    page = lens(products[5]["image"], k=10)
    assert page.blend["diversity"] is True and page.results
    assert not {"skin_tone", "body_type"} & set(page.blend["dimensions"])
    assert set(page.blend["dimensions"]) <= {"visual", "color"}
    assert page.blend["diversity_reason"].startswith("people off: no person in the photo, 0% of the candidates")
    assert "source.buckets" not in page.timings_ms                     # no bucket searches
    off = lens(products[5]["image"], k=10, diversity=False)
    assert off.blend["diversity"] is False and "dimensions" not in off.blend

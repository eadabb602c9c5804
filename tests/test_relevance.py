"""The relevance floor (blend.min_relevance): no padding with unrelated items; loose ones only if asked."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from blender.blend import BlendedItem
from blender.calibrate import Calibration
from blender.relevance import NO_CLOSE, check_settings, split
from lens.manifest import read_items
from lens.pipeline.indexing import CatalogWriter, IndexMapper, run_indexing
from web.app import create_app

CALIBRATION = Calibration({"visual": [0.1, 0.5, 0.9], "object": []}, 100)


def _item(name, **per_source):
    return BlendedItem(name, max(per_source.values()), list(per_source), per_source=per_source)


def test_split_keeps_the_close_and_passes_uncalibrated_sources():
    items = [_item("a", visual=0.8), _item("b", visual=0.2), _item("c", object=0.01), _item("d", visual=0.29)]
    cut = split(items, 0.3, CALIBRATION)
    assert [i.item_id for i in cut.close] == ["a", "c"]          # c: object has no calibration to judge by
    assert [i.item_id for i in cut.below] == ["b", "d"]
    assert [i.item_id for i in split(items, 0.0, CALIBRATION).close] == ["a", "b", "c", "d"]
    assert split([], 0.3, CALIBRATION).report(0.3, 0)["message"] == NO_CLOSE
    assert cut.report(0.3, 0) == {"min_relevance": 0.3, "close": 2, "below_floor": 2, "loose_shown": 0,
                                  "message": ""}


@pytest.mark.parametrize("floor, loose, key", [(1.0, 5, "blend.min_relevance"), (-0.1, 5, "blend.min_relevance"),
                                               (0.3, -1, "blend.loose")])
def test_bad_settings_name_the_key(floor, loose, key):
    with pytest.raises(ValueError, match=key):
        check_settings(floor, loose)


@pytest.fixture(scope="module")
def floored(small_catalog, models, tmp_path_factory):
    """A Lens over 60 synthetic products (calibrated) with the floor at 0.3."""
    from lens.config import load_config
    from lens.pipeline.facade import Lens

    folder = tmp_path_factory.mktemp("floor")
    config = load_config("demo", ["models.detector_checkpoint=", "models.category_head=", "models.pattern_head=",
                                  "text.model=none", f"catalog.path={folder / 'catalog'}", "blend.min_relevance=0.3"])
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
    bad = client.post("/api/v1/lens", data={"image": (io.BytesIO(png.getvalue()), "n.png"), "loose": "maybe"})
    assert bad.status_code == 400 and "field 'loose'" in bad.get_json()["error"]

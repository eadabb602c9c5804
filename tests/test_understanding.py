"""Query understanding (thin): colours, lighting, quality, categories, degenerate images."""
import cv2
import numpy as np
import pytest
import skimage.data

from lens.palette import NAMED_COLORS, hex_to_rgb
from lens.taxonomy import coarse_of
from lens.understanding import QueryUnderstanding, color_name, salient_colors
from skimage.color import rgb2lab
from tests.conftest import solid_image


@pytest.mark.parametrize("name", ["red", "navy", "green", "mustard", "pink", "black"])
def test_dominant_colour_of_a_product_on_white(name):
    img = solid_image(hex_to_rgb(NAMED_COLORS[name]))
    colors = salient_colors(img)
    assert colors[0].name == name and colors[0].weight > 0.9


def test_palette_names_map_to_themselves():
    for name, hx in NAMED_COLORS.items():
        lab = rgb2lab(np.array([[hex_to_rgb(hx)]], float) / 255)[0, 0]
        assert color_name(lab) == name


def test_weights_sum_to_one_on_a_real_photo():
    colors = salient_colors(skimage.data.coffee())
    assert 1 <= len(colors) <= 5
    assert sum(c.weight for c in colors) == pytest.approx(1.0, abs=1e-3)


def test_lighting_and_blur_move_the_right_way():
    q = QueryUnderstanding()
    img = skimage.data.astronaut()
    dim = (img * 0.4).astype(np.uint8)
    blurred = cv2.GaussianBlur(img, (0, 0), 3)
    assert q(dim).lighting["brightness"] < q(img).lighting["brightness"]
    assert q(blurred).quality["sharpness"] < q(img).quality["sharpness"]
    assert q(np.zeros((64, 64, 3), np.uint8)).lighting["low_light"]


@pytest.mark.parametrize("shape", [(5, 5, 3), (1, 300, 3), (64, 64, 3)])
def test_degenerate_images_give_valid_results(shape):
    for fill in (0, 255):
        result = QueryUnderstanding()(np.full(shape, fill, np.uint8))
        assert result.width == shape[1]
        assert isinstance(result.to_dict()["colors"], list)


def test_categories_from_imagenet(embedder):
    q = QueryUnderstanding(class_names=embedder.categories)
    vectors, logits = embedder.embed_and_classify([skimage.data.coffee()])
    result = q(skimage.data.coffee(), vectors[0], logits[0])
    imagenet = [c for c in result.categories if c["kind"] == "imagenet"]
    assert imagenet[0]["name"] == "espresso"
    assert any(c["kind"] == "coarse" and c["name"] == "food" for c in result.categories)


@pytest.mark.parametrize("imagenet, coarse", [
    ("coffee mug", "kitchen"), ("table lamp", "lighting"), ("running shoe", "shoes"),
    ("sunglasses, dark glasses, shades", "accessories"), ("folding chair", "furniture"),
    ("vase", "decor"), ("miniskirt, mini", "bottoms"), ("tabby, tabby cat", "other"),
])
def test_taxonomy(imagenet, coarse):
    assert coarse_of(imagenet) == coarse


def test_results_are_cached_by_image_hash(monkeypatch):
    import lens.understanding as u

    calls = []
    real = u.salient_colors
    monkeypatch.setattr(u, "salient_colors", lambda rgb, k: calls.append(1) or real(rgb, k))
    q = QueryUnderstanding(cache_size=2)
    img = skimage.data.coffee()
    first = q(img)
    first.colors.clear()                      # callers cannot corrupt the cache
    assert q(img.copy()).colors and len(calls) == 1
    q(skimage.data.chelsea())
    q(skimage.data.rocket())                  # evicts coffee (least recently used)
    q(img)
    assert len(calls) == 4

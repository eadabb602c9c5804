"""Query understanding (thin): colours, lighting, quality, categories, degenerate images."""
import cv2
import numpy as np
import pytest
import skimage.data

from lens.palette import NAMED_COLORS, hex_to_rgb
from lens.taxonomy import coarse_of, coarse_scores
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
@pytest.mark.parametrize("fill, name", [(0, "black"), (255, "white")])
def test_degenerate_images_give_valid_results(shape, fill, name):
    result = QueryUnderstanding()(np.full(shape, fill, np.uint8)).to_dict()
    assert (result["width"], result["height"]) == (shape[1], shape[0])
    assert any(f"uniform image (all {name})" in n for n in result["notes"]), result["notes"]
    if min(shape[:2]) < 8:                    # too small to measure: nothing made up
        assert result["colors"] == [] and result["quality"] == {} and result["lighting"] == {}
        assert any("too small for colours and quality" in n for n in result["notes"]), result["notes"]
    else:                                     # one flat colour, measured as that
        assert [(c["name"], c["weight"]) for c in result["colors"]] == [(name, 1.0)]
        assert result["lighting"]["brightness"] == float(fill == 255)
        assert result["quality"]["sharpness"] == 0.0


def test_categories_from_imagenet(embedder):
    q = QueryUnderstanding(class_names=embedder.categories)
    vectors, logits = embedder.embed_and_classify([skimage.data.coffee()])
    result = q(skimage.data.coffee(), vectors[0], logits[0])
    imagenet = [c for c in result.categories if c["kind"] == "imagenet"]
    assert imagenet[0]["name"] == "espresso"
    assert any(c["kind"] == "coarse" and c["name"] == "food" for c in result.categories)



def test_coarse_scores_sum_each_class_once(embedder):
    names = embedder.categories
    probs = np.random.default_rng(0).dirichlet(np.ones(len(names)))
    scores = coarse_scores(probs, names)
    for coarse in scores:
        expected = sum(p for p, n in zip(probs, names) if coarse_of(n) == coarse)
        assert scores[coarse] == pytest.approx(expected, abs=1e-9)
    assert sum(scores.values()) == pytest.approx(1.0)


def test_an_object_crop_gets_only_what_a_crop_is_used_for(embedder):
    """people=False (an object crop): colours, categories, annotations; no lighting, quality, text
    or notes (the whole image has them) and no people signals."""
    q = QueryUnderstanding(class_names=embedder.categories)
    vectors, logits = embedder.embed_and_classify([skimage.data.coffee()])
    crop = q(skimage.data.coffee(), vectors[0], logits[0], people=False).to_dict()
    whole = q(skimage.data.coffee(), vectors[0], logits[0]).to_dict()
    assert crop["colors"] == whole["colors"] and crop["categories"] == whole["categories"]
    assert crop["annotations"] and crop["lighting"] == {} and crop["quality"] == {} and crop["text"] == []
    assert whole["lighting"] and whole["quality"]

@pytest.mark.parametrize("imagenet, coarse", [
    ("coffee mug", "kitchen"), ("table lamp", "lighting"), ("running shoe", "shoes"),
    ("sunglasses, dark glasses, shades", "accessories"), ("folding chair", "furniture"),
    ("vase", "decor"), ("miniskirt, mini", "bottoms"), ("tabby, tabby cat", "other"),
    ("cowboy boot", "shoes"), ("backpack, back pack, knapsack", "bags"),
    # keywords are whole words: cup, hat, rug, plate, desk inside other words do not count
    ("porcupine, hedgehog", "other"), ("hatchet", "other"), ("thatch, thatched roof", "other"),
    ("rugby ball", "other"), ("breastplate, aegis, egis", "other"), ("desktop computer", "other"),
])
def test_taxonomy(imagenet, coarse):
    assert coarse_of(imagenet) == coarse


def test_results_are_cached_by_image_hash(monkeypatch):
    import lens.understanding as u

    calls, reads = [], []
    real = u.salient_colors
    monkeypatch.setattr(u, "salient_colors", lambda rgb, *args: calls.append(1) or real(rgb, *args))
    q = QueryUnderstanding(cache_size=2, reader=lambda rgb: reads.append(1) or [{"text": "SALE", "score": 0.9}])
    img = skimage.data.coffee()
    first = q(img)
    first.colors.clear()                      # callers cannot corrupt the cache
    again = q(img.copy())
    assert again.colors and again.text == [{"text": "SALE", "score": 0.9}]
    assert len(calls) == 1 and len(reads) == 1                # OCR too is read once per image
    q(skimage.data.chelsea())
    q(skimage.data.rocket())                  # evicts coffee (least recently used)
    q(img)
    assert len(calls) == 4 and len(reads) == 4


# ---- issue 3: lighting, quality and colours against the synthetic ground truth ----

@pytest.fixture(scope="module")
def product_records():
    from lens.synth.spec import make_product

    return [make_product(0, i) for i in range(24)]


@pytest.fixture(scope="module")
def scene_rgb():
    from lens.synth.scene import render_scene

    img, _ = render_scene(0, 1, 60)
    return np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)


def _lit(rgb, kind, strength):
    from lens.synth.perturb import apply_lighting

    return np.clip(apply_lighting(rgb.astype(np.float32) / 255, kind, strength) * 255 + 0.5,
                   0, 255).astype(np.uint8)


@pytest.mark.parametrize("which", ["product", "scene", "astronaut"])
def test_lighting_moves_monotonically_with_the_synthetic_parameters(which, product_records, scene_rgb):
    from lens.synth import render_product_view
    from lens.understanding.lighting import lighting

    base = {"product": lambda: render_product_view(product_records[3], None, 1),
            "scene": lambda: scene_rgb, "astronaut": skimage.data.astronaut}[which]()
    strengths = [0.0, 0.33, 0.66, 1.0]
    dims = [lighting(_lit(base, "dim", s)) for s in strengths]
    brights = [lighting(_lit(base, "bright", s)) for s in strengths]
    dim, bright = [d["brightness"] for d in dims], [b["brightness"] for b in brights]
    warm = [lighting(_lit(base, "warm", s))["color_temperature_k"] for s in strengths]
    cool = [lighting(_lit(base, "cool", s))["color_temperature_k"] for s in strengths]
    none = lighting(base)
    assert dim == sorted(dim, reverse=True) and dim[-1] < none["brightness"]
    assert bright == sorted(bright) and bright[0] > none["brightness"]
    assert warm == sorted(warm, reverse=True) and warm[-1] < none["color_temperature_k"]
    assert cool == sorted(cool) and cool[-1] > none["color_temperature_k"]
    assert lighting(_lit(base, "warm", 1.0))["cast_b"] > lighting(_lit(base, "cool", 1.0))["cast_b"]
    assert lighting(_lit(base, "warm", 1.0))["cast"] == "warm"
    assert lighting(_lit(base, "cool", 1.0))["cast"] == "cool"
    assert lighting((base * 0.12).astype(np.uint8))["low_light"] and not none["low_light"]
    contrast = [d["contrast"] for d in dims]                 # dimming compresses L*
    assert contrast == sorted(contrast, reverse=True) and contrast[-1] < contrast[0] - 0.02, contrast
    dark = [d["clipped_dark"] for d in dims]
    assert dark == sorted(dark), dark
    clipped = [b["clipped_bright"] for b in brights]          # brightening clips more highlights
    assert clipped == sorted(clipped) and clipped[-1] > clipped[0], clipped
    flags = [lighting((base * f).astype(np.uint8))["low_light"] for f in (1.0, 0.5, 0.25, 0.12, 0.05)]
    assert flags == sorted(flags) and flags[-1], flags      # once dark enough, darker stays low light


@pytest.mark.parametrize("which", ["scene", "astronaut", "coffee", "chelsea"])
def test_quality_is_monotonic_in_blur_noise_and_jpeg(which, scene_rgb):
    from lens.synth.perturb import jpeg_roundtrip
    from lens.understanding.quality import quality

    base = scene_rgb if which == "scene" else getattr(skimage.data, which)()
    rng = np.random.default_rng(0)
    blur = [quality(cv2.GaussianBlur(base, (0, 0), s) if s else base) for s in (0, 1, 2, 4)]
    noise = [quality(np.clip(base + rng.normal(0, s, base.shape), 0, 255).astype(np.uint8))
             for s in (0, 4, 10, 20)]
    jpeg = [quality(jpeg_roundtrip(base, q)) for q in (95, 60, 30, 10)]
    for series, key, direction in [(blur, "sharpness", -1), (noise, "noise_sigma", 1),
                                   (jpeg, "blockiness", 1)]:
        values = [q[key] for q in series]
        assert values == sorted(values, reverse=direction < 0), (key, values)
    for series in (blur, noise, jpeg):
        scores = [q["score"] for q in series]
        # non-increasing up to 0.001: a slight blur also smooths a photo's own
        # JPEG grid, worth a few ten-thousandths while sharpness is saturated
        assert all(a >= b - 1e-3 for a, b in zip(scores, scores[1:])), scores
        assert 0 <= scores[-1] < scores[0] - 0.1 and scores[0] <= 1, scores


def test_colour_evaluation_meets_the_goal_on_a_small_set(product_records):
    from lens.evaluation.colors import color_figures

    figures = color_figures(product_records, seed=1, progress=False)
    assert figures["products"] == 24
    for condition in ("none", "dim", "warm", "cool"):
        assert figures[f"{condition} name"] >= 0.85, figures
    assert figures["all name"] >= 0.85 and figures["all dE<=10"] >= 0.85, figures


# ---- issue 3: every mode and size in the bad-input list gives a valid result ----

def _encoded(mode: str) -> bytes:
    import io

    from PIL import Image

    rgb = skimage.data.astronaut()[::4, ::4]
    if mode == "I;16":
        img = Image.fromarray(rgb[..., 0].astype(np.uint16) * 257)
    elif mode == "RGBA":
        img = Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)]), "RGBA")
    else:
        img = Image.fromarray(rgb).convert(mode)
    buf = io.BytesIO()
    img.save(buf, format="TIFF" if mode in ("CMYK", "I;16") else "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("mode", ["L", "CMYK", "I;16", "P", "RGBA", "LA"])
def test_every_decoded_mode_is_understood(mode):
    from lens.imageio import load_image

    result = QueryUnderstanding()(load_image(_encoded(mode)))
    assert result.colors and result.lighting and 0 <= result.quality["score"] <= 1


@pytest.mark.parametrize("shape, fill", [((20, 20, 3), 128), ((31, 400, 3), 90), ((64, 64, 3), 0),
                                         ((64, 64, 3), 255), ((2, 2, 3), 30)])
def test_tiny_black_and_white_images_abstain_with_reasons(shape, fill):
    result = QueryUnderstanding()(np.full(shape, fill, np.uint8)).to_dict()
    notes = result["notes"]
    assert any("uniform image" in n for n in notes), notes             # every one is flat
    assert any("under 32 px" in n for n in notes) == (min(shape[:2]) < 32), notes
    if min(shape[:2]) < 8:
        assert result["colors"] == [] and result["annotations"] == [] and result["quality"] == {}
        assert any("too small for colours and quality" in n for n in notes), notes
    else:                                     # one colour; nothing sharp, so no quality score
        assert len(result["colors"]) == 1 and result["colors"][0]["weight"] == 1.0
        assert result["annotations"] == [{"text": result["colors"][0]["name"], "kind": "color", "score": 1.0}]
        assert result["quality"]["sharpness"] == 0.0 and result["quality"]["score"] == 0.0


def test_over_50_megapixels_is_understood():
    huge = np.full((7200, 7200, 3), 238, np.uint8)        # 51.8 MP, a studio-white backdrop
    huge[3000:4000, 3000:5000] = (200, 30, 40)
    result = QueryUnderstanding()(huge)
    assert result.colors[0].name == "red" and result.quality["megapixels"] > 50


@pytest.fixture(scope="module")
def people_layer():
    """The whole layer as a query runs it: skin tone and body type on (OCR off: it is slow)."""
    from lens.understanding.body import BodyTypeEstimator
    from lens.understanding.ocr import TextReader
    from lens.understanding.skin import SkinToneEstimator

    body = BodyTypeEstimator()
    yield QueryUnderstanding(reader=TextReader("off"), skin=SkinToneEstimator(), body=body)
    body.close()


def _bad_inputs():
    from lens.imageio import load_image

    astro = skimage.data.astronaut()[::2, ::2]
    out = {mode: load_image(_encoded(mode)) for mode in ("L", "CMYK", "I;16", "P", "RGBA", "LA")}
    out.update({"grey 2-D array": astro[..., 0], "16-bit array": astro.astype(np.uint16) * 257,
                "float RGBA array": np.dstack([astro / 255.0, np.ones(astro.shape[:2])]),
                "20 px": np.full((20, 20, 3), 128, np.uint8), "31 x 400 px": astro[:31],
                "all black": np.zeros((240, 320, 3), np.uint8),
                "all white": np.full((240, 320, 3), 255, np.uint8)})
    return out


BAD = _bad_inputs()


@pytest.mark.parametrize("name", list(BAD))
def test_every_bad_input_gets_a_valid_result_with_reasons(people_layer, name):
    result = people_layer(BAD[name]).to_dict()
    h, w = BAD[name].shape[:2]
    assert (result["width"], result["height"]) == (w, h)
    assert result["skin_tones"] and result["body_types"]            # an answer or an abstention each
    for signal in result["skin_tones"] + result["body_types"]:
        assert signal["status"] in ("ok", "unknown")
        assert signal["status"] == "ok" or signal["reason"], signal
    if min(h, w) < 32:
        assert any("under 32 px" in n for n in result["notes"]), result["notes"]
        assert all(s["status"] == "unknown" for s in result["skin_tones"] + result["body_types"])
    if name.startswith("all "):
        assert any("uniform image" in n for n in result["notes"]), result["notes"]
        assert result["lighting"]["low_light"] == (name == "all black")
    if name in ("L", "I;16", "grey 2-D array"):                       # no colour: no skin tone
        assert all(s["status"] == "unknown" for s in result["skin_tones"])


@pytest.mark.parametrize("index", [0, 6, 12, 14])           # portraits at MST 5, 9, 4 and 10
def test_skin_is_not_a_salient_colour(people_layer, index):
    from lens.synth.scene import render_scene
    from lens.understanding.skin import MST_LAB

    img, rec = render_scene(0, index, 60)
    rgb = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
    skin = [MST_LAB[p["mst"] - 1] for p in rec["people"] if p["face_box"]]

    def skin_weight(result):        # colours within CIE76 15 of a person's skin (lighting moves it)
        return sum(c.weight for c in result.colors if min(np.linalg.norm(np.array(c.lab) - s) for s in skin) < 15)

    without = skin_weight(QueryUnderstanding()(rgb))
    with_faces = people_layer(rgb)
    assert with_faces.skin_tones and with_faces.skin_tones[0]["status"] == "ok"
    assert without > 0.04 and skin_weight(with_faces) < 0.5 * without, (without, with_faces.colors)


def test_per_image_remembers_by_the_array_object_and_hands_out_read_only_arrays():
    import gc

    from lens.imageio import is_uniform
    from lens.pixels import per_image, thumbnail

    calls = []
    photo = np.random.default_rng(0).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    first = per_image(photo, "k", lambda: calls.append(1) or np.zeros(3))
    assert per_image(photo, "k", lambda: calls.append(1) or np.ones(3)) is first and calls == [1]
    assert not first.flags.writeable
    assert per_image(photo.copy(), "k", lambda: calls.append(1) or np.ones(3))[0] == 1.0    # another array
    small = thumbnail(photo, 128)
    assert small.shape == (96, 128, 3) and thumbnail(photo, 128) is small and not small.flags.writeable
    tiny = np.zeros((20, 30, 3), np.uint8)
    assert thumbnail(tiny, 128) is tiny and tiny.flags.writeable           # small enough: the caller's own
    assert not is_uniform(photo) and is_uniform(tiny)
    del photo, first, small
    gc.collect()
    for _ in range(5):      # new arrays may take the freed id: the weak reference tells them apart
        assert is_uniform(np.zeros((300, 400, 3), np.uint8))

"""Body type: synthetic full-body people per range, abstentions, degenerate images, figures."""
import numpy as np
import pytest
import skimage.data

from lens.understanding.body import RANGES, BodyType, BodyTypeEstimator, classify
from lens.understanding.body_eval import body_type_figures, figures_from_pairs, match

SEED, PRODUCTS = 0, 24
# Chin-cropped on-model scenes of render_scene(0, i, 24), two per range, that the
# estimator gets right with confidence >= 0.5 (its recall is ~0.5, see body_eval).
FULL_BODY = {"slim": (268, 448), "straight": (292, 304), "curvy": (172, 352), "full": (28, 388)}


@pytest.fixture(scope="module")
def estimator():
    est = BodyTypeEstimator()
    yield est
    est.close()


def scene(index: int) -> tuple[np.ndarray, dict]:
    from lens.synth.scene import render_scene

    img, rec = render_scene(SEED, index, PRODUCTS)
    return (img * 255 + 0.5).astype(np.uint8), rec


@pytest.mark.parametrize("name, index", [(n, i) for n, pair in FULL_BODY.items() for i in pair])
def test_full_body_person_gets_their_range(estimator, name, index):
    rgb, rec = scene(index)
    assert [p["framing"] for p in rec["people"]] == ["full_body"] and rec["people"][0]["body_type"] == name
    (result,) = estimator(rgb)
    assert result.status == "ok" and result.name == name and RANGES[result.range] == name
    assert 0.0 < result.confidence <= 1.0
    assert all(0.08 < r < 0.8 for r in (result.shoulder_ratio, result.waist_ratio, result.hip_ratio))
    assert result.person_box is not None
    from lens.boxes import Box
    assert Box(*result.person_box).iou(Box(*rec["people"][0]["box"])) > 0.6


def test_two_people_side_by_side_each_get_a_range(estimator):
    from lens.boxes import Box

    rgb, rec = scene(106)                     # two chin-cropped people: slim (left), straight (right)
    results = estimator(rgb)
    assert [r.name for r in results] == [p["body_type"] for p in rec["people"]] == ["slim", "straight"]
    for r, p in zip(results, rec["people"]):
        assert Box(*r.person_box).iou(Box(*p["box"])) > 0.6


@pytest.mark.parametrize("index", [0, 12])
def test_waist_up_portrait_abstains(estimator, index):
    rgb, rec = scene(index)
    assert rec["people"][0]["framing"] == "portrait"
    results = estimator(rgb)
    assert results and all(r.status == "unknown" and r.range is None for r in results)
    assert any("torso not fully visible" in r.reason for r in results)


def test_no_person_is_one_unknown(estimator):
    assert [(r.status, r.reason) for r in estimator(skimage.data.coffee())] == [("unknown", "no person")]


@pytest.mark.parametrize("image", [
    np.zeros((480, 640, 3), np.uint8), np.full((480, 640, 3), 255, np.uint8),
    np.full((20, 20, 3), 128, np.uint8), np.zeros((0, 0, 3), np.uint8), np.zeros((8, 500, 3), np.uint8),
    np.zeros((64, 64), np.uint8), np.zeros((64, 64, 4), np.float32), "not an array",
    np.random.default_rng(0).integers(0, 256, (3000, 200, 3), dtype=np.uint8)])
def test_degenerate_images_never_raise(estimator, image):
    results = estimator(image)
    assert results and all(isinstance(r, BodyType) for r in results)
    assert all(r.status == "unknown" and r.reason for r in results)


def test_grayscale_as_rgb_person_is_valid(estimator):
    rgb, _ = scene(FULL_BODY["full"][0])
    grey = np.repeat(rgb.mean(2, keepdims=True).astype(np.uint8), 3, axis=2)
    results = estimator(grey)
    assert results and all(r.status in ("ok", "unknown") for r in results)
    assert all((r.status == "ok") == (r.range in RANGES) for r in results)


def test_to_dict_holds_no_landmarks_or_identity(estimator):
    rgb, _ = scene(FULL_BODY["curvy"][0])
    d = estimator(rgb)[0].to_dict()
    assert set(d) == {"status", "reason", "range", "name", "shoulder_ratio", "waist_ratio", "hip_ratio",
                      "confidence", "person_box"}
    assert all(v is None or isinstance(v, (str, int, float)) or (k == "person_box" and len(v) == 4)
               for k, v in d.items())


def test_classify_boundaries():
    assert classify(0.35, 0.30, 0.33)[0] == 4
    assert classify(0.28, 0.20, 0.30)[0] == 3
    assert classify(0.27, 0.20, 0.21)[0] == 1
    assert classify(0.30, 0.24, 0.26)[0] == 2
    assert classify(0.3251, 0.2, 0.2)[1] < 0.01 < classify(0.40, 0.2, 0.2)[1] == 1.0


def test_figures_from_handmade_pairs():
    pairs = [(1, 1, True), (1, 1, True), (1, 2, True), (1, None, True),   # slim: 2 of 4 right, 1 abstain
             (2, 2, True), (2, 1, True),                                  # straight: 1 of 2
             (3, 3, True), (4, None, True),                               # curvy right, full abstains
             (2, None, False), (3, None, False), (4, 4, False)]           # partial torso: 2 of 3 abstain
    f = figures_from_pairs(pairs)
    assert f["confusion (rows true 1-4; cols 1-4, unknown)"] == [
        [2, 1, 0, 0, 1], [1, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 1]]
    assert f["slim precision"] == pytest.approx(2 / 3, abs=1e-4) and f["slim recall"] == 0.5
    assert f["slim F1"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5), abs=1e-4)
    assert f["straight precision"] == 0.5 and f["straight recall"] == 0.5 and f["straight support"] == 2
    assert f["curvy precision"] == 1.0 and f["full recall"] == 0.0 and f["full abstain"] == 1.0
    assert f["slim abstain"] == 0.25 and f["abstain, full body"] == 0.25
    assert f["abstain, torso not fully visible"] == pytest.approx(2 / 3, abs=1e-4)
    assert f["accuracy, full body (alongside per-range)"] == 0.5
    assert f["recall gap (best - worst range)"] == 1.0
    assert "body type recall by skin tone range" not in f        # no skin tones recorded


def test_body_type_recall_is_reported_per_skin_tone_range():
    pairs = [(1, 1, True, 1), (2, None, True, 1), (3, 3, True, 4), (4, 4, True, 4),
             (2, 2, False, 2)]                                   # partial torso: not counted
    assert figures_from_pairs(pairs)["body type recall by skin tone range"] == {
        "1": {"recall": 0.5, "support": 2}, "4": {"recall": 1.0, "support": 2}}


def test_body_type_figures_match_estimates_by_box():
    def fake(rgb):
        return [BodyType("ok", "", 3, "curvy", 0.3, 0.2, 0.3, 0.9, [100, 10, 200, 400]),
                BodyType("unknown", "torso not fully visible (cut by the frame bottom)", person_box=[300, 0, 400, 480])]

    people = [{"box": [102, 12, 198, 398], "range": 3, "torso_visible": True},
              {"box": [300, 5, 400, 480], "range": 1, "torso_visible": False},
              {"box": [500, 0, 600, 300], "range": 2, "torso_visible": True}]
    sample = {"image": np.zeros((480, 640, 3), np.uint8), "people": people}
    assert match(people, fake(None)) == [3, None, None]
    f = body_type_figures(fake, [sample])
    assert f["curvy recall"] == 1.0 and f["straight recall"] == 0.0 and f["straight abstain"] == 1.0
    assert f["abstain, torso not fully visible"] == 1.0

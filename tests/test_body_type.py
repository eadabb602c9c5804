"""Body type: synthetic full-body people per range, abstentions, degenerate images, figures."""
import numpy as np
import pytest
import skimage.data

from lens.evaluation.body_type import body_type_figures, figures_from_pairs, match
from lens.understanding.body import RANGES, BodyType, BodyTypeEstimator, classify

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


def test_given_person_boxes_are_measured_when_segmentation_misses(estimator):
    from lens.boxes import Box

    rgb, rec = scene(4)       # a wide 'full' figure the selfie segmentation does not see
    (person,) = rec["people"]
    assert person["framing"] == "full_body" and person["body_type"] == "full"
    assert [(r.status, r.reason) for r in estimator(rgb)] == [("unknown", "no person")]
    (result,) = [r for r in estimator(rgb, [Box(*person["box"])]) if r.status == "ok"]   # a detector's box
    assert result.name == "full" and Box(*result.person_box).iou(Box(*person["box"])) > 0.6


def test_candidates_add_given_boxes_that_are_new_people():
    from detection.pose import candidates, given_boxes
    from lens.boxes import Box

    own = [(Box(10, 0, 110, 300), False)]
    given = given_boxes([[12, 2, 108, 298],                       # the same person: dropped
                         Box(200, 100, 300, 480),                 # a new one, head in frame, cut at the bottom
                         [400, 0, 400, 300]], scale=1.0)          # empty: ignored
    assert len(given) == 2
    out = candidates(own, given, height=480, max_people=3)
    assert out == [(Box(200, 100, 300, 480), True), (Box(10, 0, 110, 300), False)]   # largest first
    assert candidates(own, given, 480, max_people=1) == out[:1]
    assert given_boxes([[0, 0, 100, 200]], scale=0.5) == [Box(0, 0, 50, 100)]
    from lens.types import Detection

    rcnn, own = (Detection(Box(0, 0, 100, 200), "person", 0.9, source) for source in ("rcnn", "people"))
    assert given_boxes([rcnn, own]) == [Box(0, 0, 100, 200)]     # the people detector's: our own candidates


def test_a_garment_photo_is_not_a_person(estimator, monkeypatch):
    import lens.understanding.body as body
    from lens.synth.render import product_photo
    from lens.synth.spec import make_product

    rec = make_product(0, 29)                 # a dress on a plain backdrop: pose fits it like a torso
    assert rec["category"] == "dress"
    rgb = product_photo(rec["render"])
    assert [(r.status, r.reason) for r in estimator(rgb)] == [("unknown", "no person")]
    monkeypatch.setattr(body, "_stands_on_feet", lambda *args: True)   # without the feet check
    monkeypatch.setattr(body, "has_head", lambda *args: True)           # nor the head check
    assert any(r.status == "ok" for r in estimator(rgb))


def test_figures_report_outfits_and_false_body_types():
    def fake(rgb):
        if rgb.mean() > 100:                  # a people-free image given a body type
            return [BodyType("ok", "", 2, "straight", 0.3, 0.2, 0.2, 0.5, [0, 0, 10, 10])]
        if rgb.mean() > 10:                   # one given none
            return [BodyType("unknown", "no person")]
        return [BodyType("ok", "", 1, "slim", 0.25, 0.18, 0.2, 0.9, [0, 0, 100, 400])]

    dark, light = np.zeros((480, 640, 3), np.uint8), np.full((480, 640, 3), 200, np.uint8)
    grey = np.full((480, 640, 3), 50, np.uint8)
    person = {"box": [0, 0, 100, 400], "range": 1, "torso_visible": True, "outfit": "trousers"}
    samples = [{"image": dark, "kind": "scene", "people": [person]},
               {"image": dark, "kind": "scene", "people": [{**person, "range": 3, "outfit": "dress"}]},
               {"image": light, "kind": "product", "people": []},
               {"image": grey, "kind": "product", "people": []},
               {"image": light, "kind": "scene", "people": []}]
    f = body_type_figures(fake, samples)
    assert f["body type recall by lower-body garment"] == {
        "dress": {"recall": 0.0, "support": 1}, "trousers": {"recall": 1.0, "support": 1}}
    assert f["false body types, product photos"] == 0.5      # the light one
    assert f["false body types, scenes without people"] == 1.0


def test_synthetic_body_set_records_outfits_and_negatives(tmp_path):
    import json

    from lens.evaluation.body_type import synthetic_body_set

    person = {"box": [0, 0, 10, 40], "body_type": "curvy", "framing": "full_body", "skin_tone_range": 2}
    lines = [{"id": "s0", "kind": "scene", "image": "scenes/s0.jpg", "people": [person],
              "objects": [{"category": "top", "worn_by": 0}, {"category": "skirt", "worn_by": 0},
                          {"category": "vase", "worn_by": None}]},
             {"id": "s1", "kind": "scene", "image": "scenes/s1.jpg", "people": [], "objects": []},
             {"id": "p0", "kind": "product", "image": "products/p0.jpg", "category": "dress"}]
    (tmp_path / "manifest.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    samples = synthetic_body_set(tmp_path)
    assert [(s["kind"], len(s["people"])) for s in samples] == [("scene", 1), ("scene", 0), ("product", 0)]
    assert samples[0]["people"][0]["outfit"] == "skirt" and samples[0]["people"][0]["range"] == 3
    assert len(synthetic_body_set(tmp_path, negatives=False)) == 1


def test_portrait_candidates_abstain_before_pose():
    """A candidate reaching the frame bottom with its head in frame needs no pose (~18 ms)."""
    from lens.boxes import Box
    from lens.understanding.body import _torso_cut

    prob = np.zeros((480, 640), np.float32)
    prob[30:, 200:400] = 1.0                                  # head top at 30 px, cut by the bottom
    box = Box(200, 30, 400, 480)
    assert _torso_cut(prob, box, cut=False, given=False)
    assert not _torso_cut(prob, box, cut=False, given=True)   # a detector's box: pose decides
    chin = prob.copy()
    chin[:30, 270:330] = 0.3                                  # a faint neck running off the top
    assert not _torso_cut(chin, box, cut=False, given=False)
    assert not _torso_cut(prob, Box(200, 30, 400, 470), cut=False, given=False)   # feet in frame
    assert _torso_cut(prob, Box(200, 100, 400, 480), cut=True, given=True)        # head well inside


@pytest.mark.parametrize("shoulders, neck, fits", [(0.05, 0.40, True), (0.05, 0.47, True), (0.125, 0.40, True),
                                                    (0.05, 0.52, False), (0.16, 0.40, False)])
def test_pose_fit_admits_real_people_with_hair_on_their_shoulders(shoulders, neck, fits):
    """CCP's real people: the neck rows (hair included) reach 0.49 of the shoulder width."""
    from lens.understanding.body import _pose_fits

    d, shoulder_y, soles = 400.0, 100, 500
    points = np.zeros((33, 4))
    points[[11, 12], 1] = shoulder_y + shoulders * d
    points[[23, 24], 1] = shoulder_y + 0.40 * d
    points[[27, 28], 1] = soles - 0.10 * d
    upper = np.array([neck * 100.0] * 10 + [100.0] * 30)
    assert bool(_pose_fits(points, upper, 10, shoulder_y, d, soles)) is fits


def _central_width_row_by_row(row, cx):
    """The row-at-a-time rule central_widths replaced: the run at or nearest to cx, leftmost on a tie."""
    d = np.diff(np.concatenate([[0], row.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    if not len(starts):
        return 0
    i = int(np.maximum(starts - cx, cx - ends + 1).clip(0).argmin())
    return int(ends[i] - starts[i])


@pytest.mark.parametrize("seed", range(6))
def test_central_widths_match_the_row_by_row_rule(seed):
    from lens.understanding.body import central_widths

    rng = np.random.default_rng(seed)
    rows = rng.random((40, 57)) < rng.uniform(0.1, 0.9)        # runs of every length, empty rows too
    rows[::7] = False
    rows[3] = True                                              # a full row
    for cx in (0, 13, 28, 56):
        assert central_widths(rows, cx).tolist() == [_central_width_row_by_row(r, cx) for r in rows]
    assert central_widths(np.zeros((0, 9), bool), 4).shape == (0,)
    tie = np.array([[1, 1, 0, 0, 0, 0, 0, 1, 1, 1]], bool)      # two runs 3 columns from cx = 4
    assert central_widths(tie, 4).tolist() == [2] == [_central_width_row_by_row(tie[0], 4)]

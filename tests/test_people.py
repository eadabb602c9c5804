"""People and garment regions from segmentation + pose (detection/people.py, detection/pose.py)."""
import json

import numpy as np
import pytest
import skimage.data

from detection.people import PeopleDetector, garment_end
from lens.boxes import Box
from lens.imageio import load_image

GARMENT = {"top": "upper_body", "dress": "upper_body", "trousers": "lower_body", "skirt": "lower_body"}


@pytest.fixture(scope="module")
def people():
    return PeopleDetector.from_config()


def test_astronaut_person_and_upper_body(people):
    found = people(skimage.data.astronaut())
    labels = [d.label for d in found]
    assert labels.count("person") == 1 and "upper_body" in labels
    person = next(d for d in found if d.label == "person").box
    upper = next(d for d in found if d.label == "upper_body").box
    assert person.area > 0.3 * 512 * 512                 # she fills most of the frame
    assert upper.y1 > 150 and upper.height > 100          # below the face, the space suit
    assert all(0 <= d.score <= 1 and d.source == "people" for d in found)


@pytest.mark.parametrize("image", [np.zeros((64, 64, 3), np.uint8), np.full((300, 200, 3), 255, np.uint8),
                                   np.zeros((20, 20, 3), np.uint8)])
def test_nobody_in_blank_or_tiny_images(people, image):
    assert people(image) == []


def test_no_person_in_a_product_photo(people):
    assert [d for d in people(skimage.data.coffee()) if d.label == "person"] == []


def test_garment_end_follows_shading_and_stops_at_a_hem():
    rows = np.zeros((200, 3), np.float32)
    rows[:120] = [[150 - 0.3 * y, 120, 180] for y in range(120)]    # a shaded yellow top
    rows[120:] = [60, 128, 100]                                   # dark trousers
    assert abs(garment_end(rows, 10, 200, 5) - 120) <= 5
    assert garment_end(rows[:110], 10, 110, 5) == 110               # no edge: runs to the end


def test_people_and_garments_on_synthetic_scenes(people, small_catalog):
    """Person boxes match the ground truth; upper-body boxes overlap the worn top or dress."""
    rows = [json.loads(line) for line in open(small_catalog / "manifest.jsonl")]
    scenes = [r for r in rows if r["kind"] == "scene" and r.get("people")]
    person_iou, upper_iou = [], []
    for scene in scenes:
        found = people(load_image(small_catalog / scene["image"]))
        for person in scene["people"]:
            truth = Box(*person["box"])
            person_iou.append(max([d.box.iou(truth) for d in found if d.label == "person"], default=0))
        for obj in scene["objects"]:
            if obj.get("worn_by") is not None and GARMENT.get(obj["category"]) == "upper_body":
                upper_iou.append(max([d.box.iou(Box(*obj["box"])) for d in found
                                      if d.label == "upper_body"], default=0))
    assert len(person_iou) >= 10
    assert np.mean(np.array(person_iou) >= 0.5) >= 0.7
    assert np.mean(np.array(upper_iou) >= 0.3) >= 0.5


def _pose(nose_y: float, shoulder_y: float = 100.0, shoulders=(80.0, 120.0)) -> np.ndarray:
    """33 landmarks [x, y, visibility, presence], all visible, nose at (100, ``nose_y``)."""
    points = np.ones((33, 4))
    points[:, :2] = 100.0
    points[0, :2] = 100.0, nose_y
    points[11, :2], points[12, :2] = (shoulders[1], shoulder_y), (shoulders[0], shoulder_y)
    return points


def test_a_pose_is_a_person_with_a_face_at_its_nose_or_a_head_cut_by_the_frame():
    from detection.pose import has_head

    box = Box(60.0, 50.0, 140.0, 300.0)                  # starts well below the frame's top
    face = Box(90.0, 65.0, 110.0, 90.0)
    assert has_head(_pose(78.0), box, 400, [face])       # the nose in a face, above the shoulders
    assert not has_head(_pose(78.0), box, 400, [])       # no face
    assert not has_head(_pose(78.0), box, 400, [Box(0.0, 0.0, 20.0, 20.0)])     # a face elsewhere
    assert not has_head(_pose(98.0), box, 400, [Box(90.0, 85.0, 110.0, 110.0)])  # nose at the shoulders
    assert not has_head(_pose(78.0), box, 400, [face], confirm=lambda f: False)   # the mesh finds no face
    assert has_head(_pose(78.0), box, 400, [face], confirm=lambda f: f == face)
    cut = Box(60.0, 0.0, 140.0, 300.0)                   # head cut off: shoulders right under the top
    assert has_head(_pose(-5.0, shoulder_y=30.0), cut, 400, [])
    assert not has_head(_pose(-5.0, shoulder_y=80.0), cut, 400, [])   # room for a head that is not there
    assert not has_head(_pose(12.0, shoulder_y=30.0), cut, 400, [])   # a nose in the frame, yet no face


def test_the_face_mesh_confirms_a_face_and_not_a_blank():
    from detection.face_mesh import confirmed
    from detection.faces import FaceDetector

    rgb = skimage.data.astronaut()
    faces = FaceDetector()(rgb)
    assert faces and confirmed(rgb, faces[0].box)
    assert not confirmed(np.full_like(rgb, 128), faces[0].box)
    assert not confirmed(rgb, Box(0.0, 0.0, 3.0, 3.0))          # too small to mesh


@pytest.mark.parametrize("path", [
    "val/Fruit/Apple/Granny-Smith/Granny-Smith_003.jpg", "val/Fruit/Apple/Pink-Lady/Pink-Lady_003.jpg",
    "val/Fruit/Apple/Royal-Gala/Royal-Gala_003.jpg", "val/Fruit/Avocado/Avocado_001.jpg"])
def test_no_people_in_produce(people, path):
    """Pose and segmentation found a "person" with garment boxes in each of these before poses
    needed a head (a third of Grocery's in-store photos had garment boxes)."""
    from tests.conftest import real_dataset

    assert people(load_image(real_dataset("grocery") / "dataset" / path)) == []


def test_a_real_street_photo_keeps_its_person_and_garments(people):
    from tests.conftest import real_dataset

    labels = [d.label for d in people(load_image(real_dataset("ccp") / "photos" / "0161.jpg"))]
    assert labels.count("person") == 1 and "upper_body" in labels


@pytest.mark.parametrize("seed", range(3))
def test_row_colours_are_the_windowed_medians(seed):
    """The histogram medians equal np.median of each window, NaN on rows with < 3 mask pixels and
    above ``start``; windows at the bottom edge are cut short."""
    from detection.people import _row_colours

    rng = np.random.default_rng(seed)
    h, w, window, start = 120, 60, 7, 10
    lab = rng.integers(0, 256, (h, w, 3)).astype(np.float32)
    mask = rng.random((h, w)) < 0.4
    mask[50:53] = False
    mask[53, :2] = True                     # two pixels: too few for a row of its own
    got = _row_colours(lab, mask, 5, 50, window, start)
    for y in range(h):
        inside = mask[y, 5:50]
        if y < start or inside.sum() < 3:
            assert np.isnan(got[y]).all(), y
        else:
            rows = mask[y:y + window, 5:50]
            np.testing.assert_array_equal(got[y], np.median(lab[y:y + window, 5:50][rows], 0))


def _garment_end_by_row(colours, start, stop, gap, persist=0):
    """garment_end as it was written before it was vectorised: one row at a time (the reference)."""
    from detection.people import GARMENT_DE

    def dist(a, b):
        return 0.0 if np.isnan(a).any() or np.isnan(b).any() else float(np.linalg.norm(a.astype(np.float64) - b))

    y = start + gap
    while y < stop - gap:
        if dist(colours[y - gap], colours[y]) > GARMENT_DE:
            y = max(range(y, min(stop - gap, y + gap)), key=lambda r: dist(colours[r - gap], colours[r]))
            above, below = colours[y - gap], colours[y:min(stop, y + persist)]
            far = [dist(above, c) > GARMENT_DE for c in below if not np.isnan(c).any()]
            if not far or np.mean(far) >= 0.8:
                return y
            y += gap
        y += 1
    return stop


@pytest.mark.parametrize("seed", range(20))
def test_garment_end_matches_the_row_by_row_walk(seed):
    rng = np.random.default_rng(seed)
    h = int(rng.integers(20, 200))
    blocks = int(rng.integers(1, 6))           # garments of one colour each, top to bottom
    colours = np.repeat(rng.uniform(0, 255, (blocks, 3)), h // blocks + 1, 0)[:h].astype(np.float32)
    colours += rng.normal(0, 4, colours.shape).astype(np.float32)
    colours[rng.random(h) < 0.1] = np.nan
    gap, persist = int(rng.integers(2, 8)), int(rng.integers(0, 20))
    start, stop = int(rng.integers(0, h // 2)), h
    assert garment_end(colours, start, stop, gap, persist) == _garment_end_by_row(colours, start, stop, gap, persist)

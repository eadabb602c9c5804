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

"""The thin detection stage: mediapipe faces, foreground regions, cross-detector NMS."""
import cv2
import numpy as np
import pytest
import skimage.data

from detection.pipeline import DetectionPipeline, merge
from detection.regions import RegionProposer
from lens.boxes import Box
from lens.config import DetectionConfig
from lens.models import ModelStore
from lens.types import Detection


@pytest.fixture(scope="module")
def pipeline():
    return DetectionPipeline.from_config(DetectionConfig(), ModelStore())


def test_face_on_a_real_photo(pipeline):
    faces = [d for d in pipeline(skimage.data.astronaut()) if d.label == "face"]
    assert len(faces) == 1
    box = faces[0].box
    assert 150 < box.x1 < 200 and 50 < box.y1 < 100 and box.width > 80
    assert set(faces[0].keypoints) >= {"left_eye", "right_eye", "nose_tip"}


def test_no_faces_no_objects(pipeline):
    found = pipeline(skimage.data.coffee())
    people = {"face", "person", "upper_body", "lower_body", "footwear"}
    assert not people & {d.label for d in found}, found        # a cup on a busy table: nobody in it
    if "ObjectDetector" not in pipeline.names:                 # only COCO weights may name the cup
        assert found == []                                     # regions abstain on the busy table
    assert pipeline(np.full((200, 200, 3), 255, np.uint8)) == []


@pytest.mark.parametrize("shape", [(3, 3, 3), (10, 500, 3), (2000, 3000, 3)])
def test_tiny_and_huge_images(pipeline, shape):
    assert pipeline(np.full(shape, 128, np.uint8)) == []      # runs, and finds nothing in flat grey


def test_huge_image_boxes_are_in_its_own_pixels(pipeline):
    canvas = np.full((2000, 3000, 3), 128, np.uint8)            # 6 MP: the detectors work on less
    canvas[232:1768, 732:2268] = cv2.resize(skimage.data.astronaut(), (1536, 1536))   # 3x, offset
    faces = [d.box for d in pipeline(canvas) if d.label == "face"]
    assert len(faces) == 1, faces
    # the 512-px photo's face (test_face_on_a_real_photo) at 3x, plus the offset
    where = Box(178, 83, 273, 178).scale(3)
    where = Box(where.x1 + 732, where.y1 + 232, where.x2 + 732, where.y2 + 232)
    assert faces[0].iou(where) > 0.5, (faces[0], where)


def test_regions_on_a_clean_background():
    img = np.full((300, 300, 3), 250, np.uint8)
    img[30:70, 30:170] = [200, 30, 40]
    img[200:280, 100:200] = [20, 30, 140]
    boxes = sorted(d.box.as_list() for d in RegionProposer()(img))
    assert len(boxes) == 2
    assert boxes[0] == pytest.approx([29.3, 29.3, 169.9, 70.3], abs=2)
    assert boxes[1] == pytest.approx([99.6, 199.2, 200.4, 280.1], abs=2)


def test_regions_abstain_on_busy_background():
    rng = np.random.default_rng(0)
    assert RegionProposer()(rng.integers(0, 255, (200, 200, 3), dtype=np.uint8)) == []


def test_merge_keeps_best_per_label():
    a = Detection(Box(0, 0, 10, 10), "object", 0.9, "x")
    b = Detection(Box(1, 1, 10, 10), "object", 0.5, "y")
    c = Detection(Box(1, 1, 10, 10), "face", 0.5, "faces")
    assert merge([b, a, c]) == [a, c]

"""Crops: limits, cross-detector de-duplication, padding, parents; the preview image."""
import numpy as np
import pytest

from detection.crops import CropLimits, crop_pixels, make_crops
from detection.preview import draw
from lens.boxes import Box
from lens.types import Detection


def det(box, label="bag", score=0.9, source="rcnn"):
    return Detection(Box(*box), label, score, source)


def test_faces_and_people_are_never_cropped():
    crops = make_crops([det((0, 0, 100, 100), "face"), det((0, 0, 200, 300), "person"),
                        det((10, 10, 110, 110), "upper_body", 0.8, "people")], 400, 400)
    assert [c.label for c in crops] == ["upper_body"]


def test_cross_detector_duplicates_keep_the_higher_score():
    crops = make_crops([det((50, 50, 150, 150), "object", 0.6, "regions"),
                        det((52, 48, 150, 152), "handbag", 0.9, "rcnn"),
                        det((200, 200, 300, 300), "object", 0.5, "regions")], 400, 400, parent_id="s1")
    assert [(c.label, c.source) for c in crops] == [("handbag", "rcnn"), ("object", "regions")]
    assert all(c.parent_id == "s1" for c in crops)


@pytest.mark.parametrize("box", [(0, 0, 20, 200), (0, 0, 10, 10), (0, 0, 300, 40)])
def test_small_and_thin_boxes_are_dropped(box):
    assert make_crops([det(box)], 400, 400, CropLimits(min_side=32, max_aspect=4.0)) == []


def test_default_limits_keep_small_real_objects():
    # a worn shoe (90 x 22 px, 4.1:1) and sunglasses (93 x 31) of the synthetic scenes stay
    # searchable; a 12-px speck and a 10:1 strip do not
    kept = make_crops([det((380, 447, 470, 469), "shoe"), det((361, 252, 454, 283), "sunglasses"),
                       det((10, 10, 22, 22)), det((0, 300, 400, 340))], 640, 480)
    assert [c.label for c in kept] == ["shoe", "sunglasses"]


def test_padding_is_clipped_to_the_image():
    (crop,) = make_crops([det((0, 0, 100, 50))], 120, 60, CropLimits(pad=0.1, min_side=8))
    assert crop.detection_box == Box(0, 0, 100, 50)
    assert crop.box == Box(0, 0, 110, 55)
    assert crop_pixels(np.zeros((60, 120, 3), np.uint8), crop).shape == (55, 110, 3)


def test_max_crops_and_bad_sizes():
    many = [det((i * 40, 0, i * 40 + 36, 36), score=1 - i / 100) for i in range(20)]
    assert len(make_crops(many, 1000, 100, CropLimits(max_crops=5))) == 5
    with pytest.raises(ValueError, match="size"):
        make_crops(many, 0, 100)


def test_preview_draws_every_box():
    img = np.zeros((100, 100, 3), np.uint8)
    out = draw(img, [det((10, 10, 60, 60))], make_crops([det((10, 10, 60, 60))], 100, 100))
    assert out.shape == img.shape and out.any() and not img.any()

import numpy as np
import pytest

from lens.boxes import Box, boxes_array, make_box, parse_box


def test_box_geometry():
    b = Box(10, 20, 50, 60)
    assert (b.width, b.height, b.area) == (40, 40, 1600)
    assert b.iou(b) == pytest.approx(1.0)
    assert b.iou(Box(50, 60, 70, 80)) == 0.0
    assert b.to_int() == (10, 20, 50, 60)
    assert Box(0.4, 0.6, 9.2, 9.9).to_int() == (0, 0, 10, 10)
    inner = Box(20, 30, 40, 50)                       # 400 px, wholly inside b
    assert inner.overlap(b) == b.overlap(inner) == 1.0 and b.iou(inner) == pytest.approx(0.25)
    assert b.overlap(Box(40, 20, 80, 60)) == pytest.approx(0.25) and Box(0, 0, 0, 5).overlap(b) == 0.0


def test_parse_and_clip():
    b = parse_box("10, 20, 500, 60", image_size=(100, 100))
    assert b.as_list() == [10, 20, 100, 60]


@pytest.mark.parametrize("text, message", [
    ("1,2,3", "expected 4 numbers"),
    ("a,b,c,d", "expected 4 numbers"),
    ("10,10,5,20", "degenerate"),
    ("10,10,10,20", "degenerate"),
    ("nan,0,5,5", "finite"),
    ("200,200,300,300", "outside the 100x100 image"),
])
def test_bad_boxes_raise_naming_the_box(text, message):
    with pytest.raises(ValueError, match=message) as err:
        parse_box(text, image_size=(100, 100))
    assert text.split(",")[0] in str(err.value)


def test_make_box_without_image():
    assert make_box([0, 0, 1, 1]).area == 1


def test_boxes_array_shape():
    arr = boxes_array([Box(0, 0, 1, 1), Box(1, 1, 2, 3)])
    assert arr.shape == (2, 4) and arr.dtype == np.float32
    assert boxes_array([]).shape == (0, 4)

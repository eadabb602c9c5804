"""Annotations and the OCR gate: real text is read, patterns and photos are not."""
import cv2
import numpy as np
import pytest
import skimage.data

from lens.understanding import QueryUnderstanding
from lens.understanding.annotations import annotations
from lens.understanding.colors import SalientColor
from lens.understanding.ocr import TextReader, likely_text


def _sign(text: str, size=(300, 900)) -> np.ndarray:
    img = np.full((*size, 3), 245, np.uint8)
    cv2.putText(img, text, (40, size[0] // 2 + 30), cv2.FONT_HERSHEY_SIMPLEX, 3, (20, 20, 60), 8)
    return img


def _dots(size=300, step=30) -> np.ndarray:
    img = np.full((size, size, 3), 240, np.uint8)
    for y in range(15, size, step):
        for x in range(15, size, step):
            cv2.circle(img, (x, y), 8, (200, 30, 40), -1)
    return img


def _stripes(size=300) -> np.ndarray:
    img = np.full((size, size, 3), 240, np.uint8)
    img[:, (np.arange(size) // 12) % 2 == 0] = (30, 60, 160)
    return img


@pytest.mark.parametrize("text", ["NIKE AIR", "SUMMER SALE", "Lens 2026"])
def test_gate_sees_text(text):
    assert likely_text(_sign(text))


@pytest.mark.parametrize("maker", [_dots, _stripes, lambda: np.zeros((50, 50, 3), np.uint8),
                                   skimage.data.coffee, skimage.data.chelsea, skimage.data.astronaut])
def test_gate_ignores_patterns_and_photos(maker):
    assert not likely_text(maker())


def test_reader_reads_and_respects_modes():
    words = TextReader("auto")(_sign("NIKE AIR"))
    assert " ".join(w["text"] for w in words).replace(" ", "").upper().startswith("NIKEAIR")
    assert all(len(w["box"]) == 4 and w["score"] >= 0.6 for w in words)
    assert TextReader("off")(_sign("NIKE AIR")) == []
    assert TextReader("auto")(skimage.data.coffee()) == []
    with pytest.raises(ValueError, match="understanding.ocr 'sometimes'"):
        TextReader("sometimes")
    with pytest.raises(ValueError, match="understanding.ocr_side 8"):
        TextReader("auto", side=8)
    small = TextReader("auto", side=480)(_sign("NIKE AIR"))      # a cheaper detector still reads a sign
    assert " ".join(w["text"] for w in small).replace(" ", "").upper().startswith("NIKEAIR")


@pytest.mark.parametrize("size", [(300, 900), (1000, 1400), (200, 260)])
def test_the_text_detector_sees_the_short_side_at_ocr_side_up_or_down(size):
    """understanding.ocr_side: the detector's input has that short side whether the photo is
    larger (scaled down) or smaller (scaled up); the words are read either way."""
    reader = TextReader("always", side=320)
    text = "SALE" if size[1] < 400 else "NIKE AIR"
    words = reader(_sign(text, size))
    assert " ".join(w["text"] for w in words).replace(" ", "").upper().startswith(text.replace(" ", ""))
    seen = reader._engine.text_det.get_preprocess(0).resize(np.zeros((*size, 3), np.uint8)).shape
    assert abs(min(seen[:2]) - 320) <= 16                        # rounded to the network's 32-px grid


def test_annotations_merge_and_threshold():
    out = annotations(
        [SalientColor("red", "#c8202c", 0.7, [0, 0, 0]), SalientColor("white", "#fff", 0.05, [0, 0, 0])],
        [{"kind": "category", "name": "dress", "score": 0.9}, {"kind": "coarse", "name": "dresses", "score": 0.5},
         {"kind": "imagenet", "name": "gown, evening dress", "score": 0.1}],
        [{"kind": "pattern", "name": "stripes", "score": 0.8}],
        [{"text": "RED", "score": 0.95, "box": [0, 0, 1, 1]}])
    texts = {a["text"]: a for a in out}
    assert set(texts) == {"dress", "dresses", "red", "stripes"}
    assert texts["red"]["kind"] == "ocr" and texts["red"]["score"] == 0.95   # best score wins
    assert [a["score"] for a in out] == sorted((a["score"] for a in out), reverse=True)


def test_understanding_carries_text_and_annotations():
    result = QueryUnderstanding(reader=TextReader("auto"))(_sign("SUMMER SALE"))
    assert any(a["kind"] == "ocr" for a in result.annotations)
    assert any(a["kind"] == "color" for a in result.annotations)


def test_crops_skip_ocr_the_whole_image_reads_it():
    q = QueryUnderstanding(reader=TextReader("always"))
    assert q(_sign("SUMMER SALE"), people=False).text == []
    assert q(_sign("SUMMER SALE")).text

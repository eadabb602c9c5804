"""An annotated preview image: detections and crops drawn on the photo (``lens detect --preview``).

Tested in ``tests/test_crops.py``.
"""
from __future__ import annotations

import cv2
import numpy as np

from lens.types import Crop
from lens.types import Detection

COLOURS = {"rcnn": (230, 57, 70), "faces": (42, 157, 143), "people": (233, 196, 106),
           "regions": (69, 123, 157)}          # per detector family, RGB
CROP_COLOUR = (255, 255, 255)


def draw(rgb: np.ndarray, detections: list[Detection], crops: list[Crop] = ()) -> np.ndarray:
    """A copy of ``rgb`` (H x W x 3 uint8) with every detection box, its label and score, and
    each crop's padded box as a thin white outline."""
    out = np.ascontiguousarray(rgb.copy())
    thick = max(1, round(max(out.shape[:2]) / 400))
    for crop in crops:
        x1, y1, x2, y2 = crop.box.to_int()
        cv2.rectangle(out, (x1, y1), (x2 - 1, y2 - 1), CROP_COLOUR, 1)
    for det in detections:
        colour = COLOURS.get(det.source.split(".")[0], (200, 200, 200))
        x1, y1, x2, y2 = det.box.to_int()
        cv2.rectangle(out, (x1, y1), (x2 - 1, y2 - 1), colour, thick + 1)
        text = f"{det.label} {det.score:.2f}"
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thick, thick)
        ty = max(th + 2, y1)
        cv2.rectangle(out, (x1, ty - th - 3), (x1 + tw + 2, ty), colour, -1)
        cv2.putText(out, text, (x1 + 1, ty - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thick, (0, 0, 0), thick)
    return out

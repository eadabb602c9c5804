"""Image quality: blur (variance of the Laplacian at a fixed size), resolution.

Tested in ``tests/test_understanding.py``.
"""
from __future__ import annotations

import cv2
import numpy as np

from lens.understanding.colors import thumbnail
from lens.understanding.lighting import BLUR_SIDE


def quality(rgb: np.ndarray) -> dict:
    """Blur as variance of the Laplacian at 256 px; resolution in megapixels."""
    gray = cv2.cvtColor(thumbnail(rgb, BLUR_SIDE), cv2.COLOR_RGB2GRAY)
    sharpness = float(cv2.Laplacian(gray, cv2.CV_64F).var())
    h, w = rgb.shape[:2]
    return {"sharpness": round(sharpness, 2), "megapixels": round(h * w / 1e6, 4)}



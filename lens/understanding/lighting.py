"""Lighting: brightness, contrast, clipping, low light.

Tested in ``tests/test_understanding.py``.
"""
from __future__ import annotations

import cv2
import numpy as np
from skimage.color import rgb2lab

from lens.understanding.colors import WORK_SIDE, thumbnail

BLUR_SIDE = 256          # measured at a fixed size so scores compare across inputs
LOW_LIGHT_L = 25.0       # mean L* under 25 reads as a dark photo


def lighting(rgb: np.ndarray) -> dict:
    """Brightness (mean L*/100), contrast (std L*/100), clipped shares, low light."""
    gray = cv2.cvtColor(thumbnail(rgb, BLUR_SIDE), cv2.COLOR_RGB2GRAY)
    lum = rgb2lab(thumbnail(rgb, WORK_SIDE))[..., 0]
    return {"brightness": round(float(lum.mean() / 100), 4),
            "contrast": round(float(lum.std() / 100), 4),
            "clipped_dark": round(float((gray <= 5).mean()), 4),
            "clipped_bright": round(float((gray >= 250).mean()), 4),
            "low_light": bool(lum.mean() < LOW_LIGHT_L)}



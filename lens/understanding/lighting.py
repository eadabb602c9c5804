"""Lighting: brightness, contrast, clipping, colour cast, colour temperature, low light.

* ``brightness``: mean CIELAB L* / 100 (0 black .. 1 white).
* ``contrast``: RMS contrast, std of L* / 100.
* ``clipped_dark`` / ``clipped_bright``: share of pixels at 0-5 / 250-255 (grey).
* Illuminant: the mean linear RGB of the brightest 5% of pixels (a robust
  white patch: on product photos that is the white background, on real photos
  highlights), scaled to a maximum of 1.  ``cast_a`` / ``cast_b`` are the
  illuminant's CIELAB a*, b* (0, 0 for neutral light; b* > 0 is yellow-warm).
* ``color_temperature_k``: the illuminant's correlated colour temperature by
  McCamy's formula on its CIE xy chromaticity (sRGB white -> ~6500 K).
* ``cast``: ``warm`` below 5500 K, ``cool`` above 7800 K, else ``neutral``
  (D65 is 6504 K; the band leaves room for camera white-balance drift).
* ``low_light``: mean L* under 25, or the 95th percentile under 45.

Tested in ``tests/test_understanding.py`` (monotonic in the synthetic
lighting parameters).
"""
from __future__ import annotations

import cv2
import numpy as np
from lens.pixels import rgb2lab, thumbnail
from lens.understanding.colors import WORK_SIDE

BLUR_SIDE = 256          # grey statistics at a fixed size so they compare across inputs
LOW_LIGHT_L = 25.0       # mean L* under 25 reads as a dark photo
LOW_LIGHT_P95 = 45.0     # ... or nothing in it is brighter than L* 45
WARM_BELOW_K, COOL_ABOVE_K = 5500.0, 7800.0
# linear sRGB -> CIE XYZ (D65), IEC 61966-2-1
_RGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805],
                        [0.2126, 0.7152, 0.0722],
                        [0.0193, 0.1192, 0.9505]])


def srgb_to_linear(rgb01: np.ndarray) -> np.ndarray:
    return np.where(rgb01 <= 0.04045, rgb01 / 12.92, ((rgb01 + 0.055) / 1.055) ** 2.4)


def illuminant(rgb: np.ndarray) -> np.ndarray:
    """Linear RGB (max 1) of the brightest 5% of pixels of an RGB uint8 image."""
    small = thumbnail(rgb, WORK_SIDE).reshape(-1, 3).astype(np.float64) / 255.0
    lum = small @ np.array([0.2126, 0.7152, 0.0722])
    bright = small[lum >= np.percentile(lum, 95)]
    lin = srgb_to_linear(bright).mean(axis=0)
    return lin / max(lin.max(), 1e-6)


def color_temperature(lin_rgb: np.ndarray) -> float:
    """Correlated colour temperature (K) of a linear RGB colour, McCamy (1992)."""
    X, Y, Z = _RGB_TO_XYZ @ lin_rgb
    total = X + Y + Z
    if total <= 1e-9:
        return 6504.0
    x, y = X / total, Y / total
    n = (x - 0.3320) / (0.1858 - y)
    cct = 449.0 * n ** 3 + 3525.0 * n ** 2 + 6823.3 * n + 5520.33
    return float(np.clip(cct, 1000.0, 25000.0))


def lighting(rgb: np.ndarray) -> dict:
    """The lighting summary of an ``H x W x 3`` uint8 RGB image; see the module docstring."""
    gray = cv2.cvtColor(thumbnail(rgb, BLUR_SIDE), cv2.COLOR_RGB2GRAY)
    lum = rgb2lab(thumbnail(rgb, WORK_SIDE))[..., 0]
    lin = illuminant(rgb)
    gamma = np.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin ** (1 / 2.4) - 0.055)
    cast_lab = rgb2lab(gamma.reshape(1, 1, 3))[0, 0].astype(np.float64)
    cct = color_temperature(lin)
    label = "warm" if cct < WARM_BELOW_K else "cool" if cct > COOL_ABOVE_K else "neutral"
    return {"brightness": round(float(lum.mean() / 100), 4),
            "contrast": round(float(lum.std() / 100), 4),
            "clipped_dark": round(float((gray <= 5).mean()), 4),
            "clipped_bright": round(float((gray >= 250).mean()), 4),
            "cast": label, "cast_a": round(float(cast_lab[1]), 2), "cast_b": round(float(cast_lab[2]), 2),
            "color_temperature_k": round(cct),
            "low_light": bool(lum.mean() < LOW_LIGHT_L or np.percentile(lum, 95) < LOW_LIGHT_P95)}

"""Image quality: blur, noise, JPEG blockiness, resolution and one 0-1 score.

* ``sharpness``: variance of the Laplacian of the grey image resized to 256 px
  on its long side (so it compares across sizes; lower = blurrier).
* ``noise_sigma``: Immerkaer's fast noise estimate (1996) on a centre crop of
  up to 256 px at native resolution, edges (Sobel > 90th percentile) excluded;
  in 0-255 grey levels.
* ``blockiness``: JPEG 8x8 grid strength on the same crop: mean absolute step
  across block boundaries over the mean step inside blocks, minus 1
  (0 for a clean image, ~0.3+ for heavy compression).
* ``megapixels``, ``min_side``.
* ``score`` in 0..1, a weighted geometric mean of four factors::

      s_blur  = min(1, log10(1 + sharpness) / log10(1 + 500))
      s_noise = 1 / (1 + (max(0, noise_sigma - 2.5) / 8)^2)   # sigma 10.5 -> 0.5
      s_jpeg  = 1 / (1 + (blockiness / 0.5)^2)         # blockiness 0.5 (JPEG q~40) -> 0.5
      s_res   = min(1, min_side / 256)
      score   = s_blur^0.4 * s_noise^0.25 * s_jpeg^0.2 * s_res^0.15

  Blur weighs most because it hurts recognition most; resolution least
  because everything is resized to 224 px for embedding anyway.  Noise under
  2.5 grey levels costs nothing: it is invisible, and fine fabric or film
  texture reads as that much.

Tested in ``tests/test_understanding.py`` (monotonic in blur, noise and JPEG
quality on ``skimage.data`` photos and synthetic scenes).
"""
from __future__ import annotations

import cv2
import numpy as np

from lens.pixels import thumbnail
from lens.understanding.lighting import BLUR_SIDE

NOISE_FLOOR = 2.5        # grey levels of noise nobody sees (and texture reads as)
CROP = 256               # noise and blockiness on at most 256x256 native pixels: 65k samples, ~3 ms
_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)


def _center_crop(gray: np.ndarray, side: int) -> np.ndarray:
    h, w = gray.shape
    y0 = max(0, (h - side) // 2) // 8 * 8     # keep the JPEG 8x8 grid aligned
    x0 = max(0, (w - side) // 2) // 8 * 8
    return gray[y0:y0 + side, x0:x0 + side]


def noise_sigma(gray: np.ndarray) -> float:
    """Immerkaer's noise sigma of a grey float image, edges excluded."""
    if min(gray.shape) < 8:
        return 0.0
    response = np.abs(cv2.filter2D(gray, cv2.CV_64F, _IMMERKAER))[1:-1, 1:-1]
    edges = np.hypot(cv2.Sobel(gray, cv2.CV_64F, 1, 0), cv2.Sobel(gray, cv2.CV_64F, 0, 1))[1:-1, 1:-1]
    values = edges.ravel()
    cut = int(0.9 * (values.size - 1))
    flat = edges <= np.partition(values, cut)[cut]      # 90th percentile in O(n)
    if not flat.any():
        return 0.0
    return float(np.sqrt(np.pi / 2) * response[flat].mean() / 6.0)


def blockiness(gray: np.ndarray) -> float:
    """JPEG grid strength: boundary step / interior step - 1 (>= 0)."""
    h, w = gray.shape
    if min(h, w) < 32:
        return 0.0
    dx = np.abs(np.diff(gray, axis=1))
    dy = np.abs(np.diff(gray, axis=0))
    col = np.arange(dx.shape[1])
    row = np.arange(dy.shape[0])
    boundary = np.concatenate([dx[:, col % 8 == 7].ravel(), dy[row % 8 == 7, :].ravel()]).mean()
    inside = np.concatenate([dx[:, col % 8 != 7].ravel(), dy[row % 8 != 7, :].ravel()]).mean()
    return float(max(0.0, boundary / max(inside, 1e-6) - 1.0))


def quality_score(sharpness: float, noise: float, block: float, min_side: int) -> float:
    s_blur = min(1.0, np.log10(1 + sharpness) / np.log10(1 + 500))
    s_noise = 1.0 / (1.0 + (max(0.0, noise - NOISE_FLOOR) / 8.0) ** 2)
    s_jpeg = 1.0 / (1.0 + (block / 0.5) ** 2)
    s_res = min(1.0, min_side / 256.0)
    return float(s_blur ** 0.4 * s_noise ** 0.25 * s_jpeg ** 0.2 * s_res ** 0.15)


def quality(rgb: np.ndarray) -> dict:
    """The quality summary of an ``H x W x 3`` uint8 RGB image; see the module docstring."""
    h, w = rgb.shape[:2]
    small = cv2.cvtColor(thumbnail(rgb, BLUR_SIDE), cv2.COLOR_RGB2GRAY)
    sharpness = float(cv2.Laplacian(small, cv2.CV_64F).var())
    native = _center_crop(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), CROP).astype(np.float64)
    noise, block = noise_sigma(native), blockiness(native)
    return {"sharpness": round(sharpness, 2), "noise_sigma": round(noise, 3),
            "blockiness": round(block, 4), "megapixels": round(h * w / 1e6, 4),
            "min_side": int(min(h, w)),
            "score": round(quality_score(sharpness, noise, block, min(h, w)), 4)}

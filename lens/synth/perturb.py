"""Recorded photo perturbations: lighting, blur, noise and JPEG quality.

A perturbation is a dict ``{"lighting": str, "lighting_strength": s,
"blur_sigma": px, "noise_sigma": 0..255 units, "jpeg_quality": q}``.  About
60 % of items are clean (``CLEAN``); the rest get one or two of the four
kinds.  Formulas (x = sRGB value in 0..1, s = ``lighting_strength`` in 0..1):

* ``dim``:    ``x * f``, ``f = 0.8 - 0.25 s``            (f in 0.55..0.80)
* ``bright``: ``min(1, g * x ** gamma)``, ``g = 1.15 + 0.2 s`` (1.15..1.35),
  ``gamma = 1 + 0.2 s`` (keeps dark colours from washing out)
* ``warm``:   channel gains ``(1 + d, 1 + d / 4, 1 - d)``, ``d = 0.06 + 0.06 s``
* ``cool``:   channel gains ``(1 - d, 1 + d / 8, 1 + d)``, same ``d`` (6..12 %)
* blur: Gaussian, ``sigma`` px; noise: Gaussian, ``sigma`` in 0..255 units,
  seeded; JPEG: one encode/decode at ``jpeg_quality`` (95 = clean).

Order: lighting, blur, noise, JPEG.
"""
from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

LIGHTING: list[str] = ["none", "dim", "bright", "warm", "cool"]
CLEAN: dict = {"lighting": "none", "lighting_strength": 0.0, "blur_sigma": 0.0,
               "noise_sigma": 0.0, "jpeg_quality": 95}
CLEAN_SHARE = 0.6
KINDS = ("lighting", "blur", "noise", "jpeg")


def random_perturbation(rng: np.random.Generator) -> dict:
    """Draw a perturbation: clean with probability 0.6, else one or two kinds."""
    pert = dict(CLEAN)
    if rng.random() < CLEAN_SHARE:
        return pert
    count = 1 if rng.random() < 0.65 else 2
    for kind in rng.choice(KINDS, size=count, replace=False):
        if kind == "lighting":
            pert["lighting"] = str(rng.choice(LIGHTING[1:]))
            pert["lighting_strength"] = round(float(rng.uniform(0.2, 1.0)), 3)
        elif kind == "blur":
            pert["blur_sigma"] = round(float(rng.uniform(0.7, 1.8)), 3)
        elif kind == "noise":
            pert["noise_sigma"] = round(float(rng.uniform(3.0, 9.0)), 3)
        else:
            pert["jpeg_quality"] = int(rng.integers(30, 71))
    return pert


def _validate(pert: dict) -> dict:
    full = {**CLEAN, **pert}
    if full["lighting"] not in LIGHTING:
        raise ValueError(f"perturbation lighting {full['lighting']!r}: expected one of {LIGHTING}")
    if not 0.0 <= float(full["lighting_strength"]) <= 1.0:
        raise ValueError(f"lighting_strength {full['lighting_strength']!r}: expected 0..1")
    if float(full["blur_sigma"]) < 0 or float(full["noise_sigma"]) < 0:
        raise ValueError("blur_sigma and noise_sigma must be >= 0")
    if not 1 <= int(full["jpeg_quality"]) <= 100:
        raise ValueError(f"jpeg_quality {full['jpeg_quality']!r}: expected 1..100")
    return full


def apply_lighting(x: np.ndarray, kind: str, strength: float) -> np.ndarray:
    """Lighting change on float RGB ``x`` (H x W x 3, 0..1); see the module formulas."""
    s = float(strength)
    if kind == "dim":
        return x * (0.8 - 0.25 * s)
    if kind == "bright":
        return np.minimum(1.0, (1.15 + 0.2 * s) * np.power(x, 1 + 0.2 * s))
    d = 0.06 + 0.06 * s
    if kind == "warm":
        return x * np.array([1 + d, 1 + d / 4, 1 - d], np.float32)
    if kind == "cool":
        return x * np.array([1 - d, 1 + d / 8, 1 + d], np.float32)
    return x


def jpeg_roundtrip(rgb: np.ndarray, quality: int) -> np.ndarray:
    """Encode ``rgb`` (H x W x 3 uint8) as JPEG at ``quality`` and decode it again."""
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=int(quality))
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def apply_perturbation(rgb: np.ndarray, perturbation: dict, seed, jpeg: bool = True) -> np.ndarray:
    """Apply ``perturbation`` to ``rgb`` (H x W x 3 uint8) -> H x W x 3 uint8.

    ``seed`` (int or sequence of ints) seeds the noise.  ``jpeg=False`` skips
    the JPEG step (the catalog writer saves the file at that quality instead).
    """
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError("apply_perturbation expects an H x W x 3 uint8 RGB array")
    pert = _validate(perturbation or {})
    x = rgb.astype(np.float32) / 255.0
    x = apply_lighting(x, pert["lighting"], pert["lighting_strength"])
    if pert["blur_sigma"] > 0:
        x = cv2.GaussianBlur(x, (0, 0), float(pert["blur_sigma"]))
    if pert["noise_sigma"] > 0:
        rng = np.random.default_rng(seed)
        x = x + rng.normal(0, pert["noise_sigma"] / 255.0, x.shape).astype(np.float32)
    out = np.clip(x * 255 + 0.5, 0, 255).astype(np.uint8)
    if jpeg and int(pert["jpeg_quality"]) < 95:
        out = jpeg_roundtrip(out, pert["jpeg_quality"])
    return out

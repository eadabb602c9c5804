"""Salient colours: k-means in CIELAB over the lighting-normalised foreground.

1. Foreground: when the border is a backdrop (a studio shot: it changes
   slowly along each edge), the background is what a floating flood fill
   from the border reaches, so a white product on white keeps its interior
   and a studio gradient stays background; otherwise the whole image counts.
2. Lighting normalisation (von Kries, in linear RGB): with a uniform border
   the background is the white reference, and each channel is scaled so it
   reads ``STUDIO_WHITE``; otherwise the brightest 5% of pixels (a robust
   white patch) fix only the chromaticity, with gains limited to 0.75-1.33 so
   a photo without anything white is not re-coloured.
3. Skin is not a colour of the image's things: with face boxes (the skin
   tone estimator's), each face box and, in the person's column below it,
   pixels within ``SKIN_DE`` of that face's own skin colour (neck, arms,
   hands) are left out (:func:`skin_mask`).
4. Up to ``k`` k-means clusters of the foreground in CIELAB; each cluster's
   colour is the mean of its pixels between the 50th and 90th percentile of
   L* (the lit side: shaded edges and specular highlights excluded), named
   by the nearest :data:`lens.palette.NAMED_COLORS` entry by CIEDE2000.

Tested in ``tests/test_understanding.py``; measured on the synthetic
products under every lighting perturbation by ``lens eval colors``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np
from skimage.color import deltaE_ciede2000

from lens.boxes import Box
from lens.palette import NAMED_COLORS, hex_to_rgb, rgb_to_hex
from lens.pixels import foreground_mask, lab2rgb, rgb2lab, thumbnail

_PALETTE_NAMES = list(NAMED_COLORS)
_PALETTE_LAB = rgb2lab(np.array([[hex_to_rgb(h) for h in NAMED_COLORS.values()]],
                                dtype=np.uint8))[0].astype(np.float64)
WORK_SIDE = 128          # colours on a 128-px thumbnail (16k pixels)
MAX_PIXELS = 4096        # k-means on at most 4k of them (evenly strided): ~2 ms, same weights
STUDIO_WHITE = 0.86      # linear value of a studio sweep (~L* 94): what the backdrop should read
GAIN_LIMITS = (0.75, 1.33)   # white-patch chromaticity correction bounds without a backdrop
SKIN_DE = 10.0           # CIE76 to a face's median: that person's neck, arms and hands (shading included)
SKIN_COLUMN = 1.5        # face widths either side of a face where its body's skin may show


@dataclass
class SalientColor:
    name: str
    hex: str
    weight: float
    lab: list[float]


def color_name(lab: np.ndarray) -> str:
    """Nearest palette name of one CIELAB colour, by CIEDE2000."""
    return color_names(np.asarray(lab)[None, :])[0]


def color_names(labs: np.ndarray) -> list[str]:
    """:func:`color_name` of each row of an ``N x 3`` CIELAB array, in one CIEDE2000 call."""
    n, p = len(labs), len(_PALETTE_LAB)
    d = deltaE_ciede2000(np.repeat(labs, p, axis=0), np.tile(_PALETTE_LAB, (n, 1))).reshape(n, p)
    return [_PALETTE_NAMES[i] for i in np.argmin(d, axis=1)]


def _linear(rgb01: np.ndarray) -> np.ndarray:
    return np.where(rgb01 <= 0.04045, rgb01 / 12.92, ((rgb01 + 0.055) / 1.055) ** 2.4)


def _gamma(lin: np.ndarray) -> np.ndarray:
    lin = np.clip(lin, 0, 1)
    return np.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin ** (1 / 2.4) - 0.055)


def normalise_lighting(rgb: np.ndarray, background: np.ndarray | None) -> np.ndarray:
    """Von Kries correction of an RGB uint8 image -> float RGB 0..1; see the module docstring."""
    lin = _linear(rgb.astype(np.float64) / 255.0)
    if background is not None and background.any():
        white = np.median(lin[background], axis=0)
        gains = STUDIO_WHITE / np.maximum(white, 1e-3)
    else:
        flat = lin.reshape(-1, 3)
        lum = flat @ np.array([0.2126, 0.7152, 0.0722])
        patch = flat[lum >= np.percentile(lum, 95)].mean(axis=0)
        gains = np.clip(patch.mean() / np.maximum(patch, 1e-3), *GAIN_LIMITS)
    return _gamma(lin * gains)


def _lit_mean(pixels: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(pixels[:, 0], [50, 90])
    band = pixels[(pixels[:, 0] >= lo) & (pixels[:, 0] <= hi)]
    return (band if len(band) else pixels).mean(axis=0)


def skin_mask(lab: np.ndarray, faces: Sequence[Box]) -> np.ndarray:
    """Skin pixels (H x W bool) of a CIELAB thumbnail given face boxes in its pixels.

    Each face box, plus the pixels in the column ``SKIN_COLUMN`` face widths
    either side of it, from its top down, within ``SKIN_DE`` (CIE76) of the
    median of the box's central half (mostly cheeks and nose).
    """
    h, w = lab.shape[:2]
    skin = np.zeros((h, w), bool)
    for face in faces:
        x1, y1, x2, y2 = face.pad(-0.25).clip(w, h).to_int()
        centre = lab[y1:y2, x1:x2].reshape(-1, 3)
        if len(centre) == 0:
            continue
        c1, top, c2, _ = Box(face.x1 - SKIN_COLUMN * face.width, face.y1,
                             face.x2 + SKIN_COLUMN * face.width, h).clip(w, h).to_int()
        skin[top:, c1:c2] |= np.linalg.norm(lab[top:, c1:c2] - np.median(centre, axis=0), axis=2) < SKIN_DE
        x1, y1, x2, y2 = face.clip(w, h).to_int()
        skin[y1:y2, x1:x2] = True
    return skin


def salient_colors(rgb: np.ndarray, k: int = 5, faces=()) -> list[SalientColor]:
    """Up to ``k`` colours of the foreground with weights summing to 1.

    ``faces``: face boxes ``(x1, y1, x2, y2)`` in ``rgb``'s pixels (e.g. the
    skin tone estimator's); their skin is left out (step 3).
    """
    small = thumbnail(rgb, WORK_SIDE)
    raw = rgb2lab(small)
    mask = foreground_mask(raw)
    lab = rgb2lab(normalise_lighting(small, None if mask is None else ~mask)).astype(np.float32)
    if len(faces):
        s = small.shape[1] / rgb.shape[1]
        keep = ~skin_mask(raw, [Box(*box).scale(s) for box in faces])
        mask = keep if mask is None else mask & keep
    pixels = lab[mask] if mask is not None else lab.reshape(-1, 3)
    if len(pixels) < max(k, 8):
        return []
    pixels = np.ascontiguousarray(pixels[::max(1, len(pixels) // MAX_PIXELS)])
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(0)  # deterministic colours for the same image
    _, labels, _ = cv2.kmeans(pixels, k, None, criteria, 1, cv2.KMEANS_PP_CENTERS)
    return _named(pixels, labels.ravel(), k)


def _named(pixels: np.ndarray, labels: np.ndarray, k: int) -> list[SalientColor]:
    """The k-means clusters named (step 4), clusters of one name merged, heaviest first."""
    clusters = [m for m in (pixels[labels == c] for c in range(k)) if len(m)]
    means = [_lit_mean(m).astype(np.float64) for m in clusters]
    merged: dict[str, list] = {}
    for name, members, mean in zip(color_names(np.array(means)), clusters, means):
        merged.setdefault(name, []).append((members, mean))
    out = []
    for name, groups in merged.items():
        members = np.concatenate([g[0] for g in groups]) if len(groups) > 1 else groups[0][0]
        mean = _lit_mean(members).astype(np.float64) if len(groups) > 1 else groups[0][1]
        rgb_mean = lab2rgb(mean.reshape(1, 1, 3))[0, 0]
        out.append(SalientColor(name, rgb_to_hex(rgb_mean * 255), round(len(members) / len(pixels), 4),
                                [round(float(v), 2) for v in mean]))
    return sorted(out, key=lambda c: -c.weight)

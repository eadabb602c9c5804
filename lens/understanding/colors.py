"""Salient colours: k-means in CIELAB over the foreground, named by CIEDE2000.

Up to ``k`` clusters of the foreground (pixels unlike a uniform border, when
the border is uniform), each with weight, sRGB hex and the nearest name of
:data:`lens.palette.NAMED_COLORS`.  Tested in ``tests/test_understanding.py``.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from skimage.color import deltaE_ciede2000, rgb2lab

from lens.palette import NAMED_COLORS, hex_to_rgb, rgb_to_hex

_PALETTE_NAMES = list(NAMED_COLORS)
_PALETTE_LAB = rgb2lab(np.array([[hex_to_rgb(h) for h in NAMED_COLORS.values()]],
                                dtype=np.float64) / 255.0)[0]
WORK_SIDE = 128          # colours on a 128-px thumbnail: 16k pixels, ~2 ms k-means


@dataclass
class SalientColor:
    name: str
    hex: str
    weight: float
    lab: list[float]


def color_name(lab: np.ndarray) -> str:
    """Nearest palette name of one CIELAB colour, by CIEDE2000."""
    d = deltaE_ciede2000(np.repeat(lab[None, :], len(_PALETTE_LAB), axis=0), _PALETTE_LAB)
    return _PALETTE_NAMES[int(np.argmin(d))]


def thumbnail(rgb: np.ndarray, side: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = side / max(h, w)
    if scale >= 1:
        return rgb
    return cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
                      interpolation=cv2.INTER_AREA)


def foreground_mask(lab: np.ndarray, tol: float = 12.0) -> np.ndarray | None:
    """Pixels unlike a uniform border, or ``None`` when the border is not uniform."""
    border = np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]])
    median = np.median(border, axis=0)
    spread = np.median(np.linalg.norm(border - median, axis=1))
    if spread > tol / 2:
        return None
    mask = np.linalg.norm(lab - median, axis=2) > tol
    return mask if mask.mean() > 0.02 else None


def salient_colors(rgb: np.ndarray, k: int = 5) -> list[SalientColor]:
    """Up to ``k`` colours of the foreground with weights summing to 1."""
    lab = rgb2lab(thumbnail(rgb, WORK_SIDE)).astype(np.float32)
    mask = foreground_mask(lab)
    pixels = lab[mask] if mask is not None else lab.reshape(-1, 3)
    if len(pixels) < k:
        return []
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(0)  # deterministic colours for the same image
    _, labels, centers = cv2.kmeans(pixels, k, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    counts = np.bincount(labels.ravel(), minlength=k).astype(np.float64)
    merged: dict[str, list] = {}
    for center, count in zip(centers, counts):
        name = color_name(center.astype(np.float64))
        entry = merged.setdefault(name, [np.zeros(3), 0.0])
        entry[0] += center * count
        entry[1] += count
    out = []
    for name, (lab_sum, count) in merged.items():
        mean = lab_sum / count
        rgb_mean = cv2.cvtColor(mean.reshape(1, 1, 3).astype(np.float32), cv2.COLOR_Lab2RGB)[0, 0]
        out.append(SalientColor(name, rgb_to_hex(rgb_mean * 255), round(float(count / counts.sum()), 4),
                                [round(float(v), 2) for v in mean]))
    return sorted(out, key=lambda c: -c.weight)



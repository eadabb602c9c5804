"""Anti-aliased mask drawing in normalised coordinates, and the layer record.

Shapes are drawn on an ``S x S`` canvas with coordinates in ``[0, 1]`` (x to
the right, y down).  Every mask is ``S x S`` float32 in ``0..1`` with
anti-aliased edges (OpenCV ``LINE_AA`` at 1/16-pixel precision).
"""
from __future__ import annotations

import cv2
import numpy as np

_SHIFT = 4
_ONE = 1 << _SHIFT


def _pix(pts, size: int) -> np.ndarray:
    """Normalised (N, 2) points -> fixed-point int32 pixel coordinates for OpenCV."""
    return np.round(np.asarray(pts, np.float64) * size * _ONE).astype(np.int32)


def poly(size: int, *polys) -> np.ndarray:
    """Filled polygon(s), each an (N, 2) array of normalised points -> S x S mask."""
    canvas = np.zeros((size, size), np.uint8)
    cv2.fillPoly(canvas, [_pix(p, size) for p in polys], 255, cv2.LINE_AA, shift=_SHIFT)
    return canvas.astype(np.float32) / 255.0


def ellipse(size: int, center, axes, angle: float = 0.0, start: float = 0.0,
            end: float = 360.0) -> np.ndarray:
    """Filled ellipse (or sector) with normalised centre and semi-axes -> S x S mask."""
    pts = ellipse_points(center, axes, angle, start, end)
    if end - start < 360:
        pts = np.vstack([pts, np.asarray(center, np.float64)[None]])
    return poly(size, pts)


def ellipse_points(center, axes, angle: float = 0.0, start: float = 0.0, end: float = 360.0,
                   n: int = 64) -> np.ndarray:
    """(n, 2) points along an ellipse arc (degrees, 0 = +x, clockwise on screen)."""
    t = np.radians(np.linspace(start, end, n))
    x, y = axes[0] * np.cos(t), axes[1] * np.sin(t)
    a = np.radians(angle)
    return np.stack([center[0] + x * np.cos(a) - y * np.sin(a),
                     center[1] + x * np.sin(a) + y * np.cos(a)], 1)


def superellipse_points(center, axes, power: float, n: int = 72) -> np.ndarray:
    """(n, 2) points of ``|x/a|^p + |y/b|^p = 1`` (p = 2: ellipse, larger: squarer)."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    x = axes[0] * np.sign(c) * np.abs(c) ** (2.0 / power)
    y = axes[1] * np.sign(s) * np.abs(s) ** (2.0 / power)
    return np.stack([center[0] + x, center[1] + y], 1)


def stroke(size: int, pts, width: float, closed: bool = False) -> np.ndarray:
    """A polyline of normalised ``width`` (round joins) -> S x S mask."""
    canvas = np.zeros((size, size), np.uint8)
    thick = max(1, round(width * size))
    cv2.polylines(canvas, [_pix(pts, size)], closed, 255, thick, cv2.LINE_AA, shift=_SHIFT)
    return canvas.astype(np.float32) / 255.0


def smooth(pts, iterations: int = 2, closed: bool = True) -> np.ndarray:
    """Chaikin corner cutting: rounder garment and object outlines, (M, 2)."""
    p = np.asarray(pts, np.float64)
    for _ in range(iterations):
        q = np.roll(p, -1, 0) if closed else p[1:]
        a = p if closed else p[:-1]
        cut = np.empty((2 * len(a), 2))
        cut[0::2] = 0.75 * a + 0.25 * q
        cut[1::2] = 0.25 * a + 0.75 * q
        p = cut if closed else np.vstack([p[:1], cut, p[-1:]])
    return p


def mirror(half, cx: float = 0.5) -> np.ndarray:
    """Close a left-half outline (top to bottom) with its mirror image about x = cx."""
    half = np.asarray(half, np.float64)
    right = half[::-1].copy()
    right[:, 0] = 2 * cx - right[:, 0]
    return np.vstack([half, right])


def layer(mat: str, mask: np.ndarray, shade: str = "bulge", r: float = 14.0,
          folds: float = 0.0, gloss: float = 0.0) -> dict:
    """One drawn part: material key, S x S mask, shading mode and its parameters.

    ``mat``: main | plain (main colour, no pattern) | trim | inner | sole | wood
    | metal | dark; ``shade``: bulge (distance-transform dome of radius ``r``
    px) | cyl (cylinder across each row) | flat; ``folds``: vertical fabric
    fold amplitude; ``gloss``: specular strength 0..1.
    """
    return {"mat": mat, "mask": mask, "shade": shade, "r": float(r), "folds": float(folds),
            "gloss": float(gloss)}


def u(rng: np.random.Generator, lo: float, hi: float, nd: int = 4) -> float:
    """A rounded uniform draw (JSON-friendly shape parameters)."""
    return round(float(rng.uniform(lo, hi)), nd)

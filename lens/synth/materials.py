"""Patterns, surface textures and shading for product renders.

All fields are float32 arrays over the S x S canonical canvas.  Patterns give
coverage in ``0..1`` (anti-aliased); textures are multiplicative, mean ~1;
shading is multiplicative, ~1 on a surface facing the viewer (light from the
upper left, ``LIGHT``), darker towards silhouette edges.
"""
from __future__ import annotations

import functools

import cv2
import numpy as np

LIGHT = np.array([-0.42, -0.55, 0.72], np.float32) / np.linalg.norm([-0.42, -0.55, 0.72])
HALF = (LIGHT + np.array([0, 0, 1], np.float32)) / np.linalg.norm(LIGHT + np.array([0, 0, 1]))
AMBIENT = 0.38


@functools.lru_cache(maxsize=4)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    return xs, ys


def _aa(signed: np.ndarray) -> np.ndarray:
    """Signed distance in pixels (positive inside) -> anti-aliased coverage 0..1."""
    return np.clip(signed + 0.5, 0.0, 1.0)


def _bands(coord: np.ndarray, period: float, duty: float, phase: float) -> np.ndarray:
    """Coverage of stripes of width ``duty * period`` repeating every ``period`` px."""
    d = np.mod(coord / period + phase, 1.0)
    inside = np.minimum(d, duty - d)
    outside = np.minimum(d - duty, 1.0 - d)
    return _aa(np.where(d < duty, inside, -outside) * period)


def pattern_fields(params: dict, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(secondary coverage, accent coverage), each S x S float32 0..1.

    stripes: bands ``duty`` (<= 0.30) of the period; dots: discs of radius
    ``radius * period`` (<= 20 % area); check: bands both ways (<= 30 %);
    floral: five-petal rosettes of radius ``1.25 * radius * period`` (<= 21 %)
    with accent-coloured centres.
    """
    kind = params["kind"]
    zero = np.zeros((size, size), np.float32)
    if kind == "solid":
        return zero, zero
    xs, ys = _grid(size)
    a = np.radians(params["angle"])
    uu = xs * np.cos(a) + ys * np.sin(a)
    vv = -xs * np.sin(a) + ys * np.cos(a)
    P, (p0, p1) = params["period"], params["phase"]
    if kind == "stripes":
        return _bands(uu, P, params["duty"], p0), zero
    if kind == "check":
        return np.maximum(_bands(uu, P, params["duty"], p0), _bands(vv, P, params["duty"], p1)), zero
    gv = vv / P + p1
    gu = uu / P + p0 + (0.5 * (np.floor(gv) % 2) if params["stagger"] else 0.0)
    fu, fv = np.mod(gu, 1.0) - 0.5, np.mod(gv, 1.0) - 0.5
    r = np.sqrt(fu * fu + fv * fv) * P
    if kind == "dots":
        return _aa(params["radius"] * P - r), zero
    cell = np.floor(gu) * 12.9898 + np.floor(gv) * 78.233
    rot = np.mod(np.sin(cell) * 43758.5453, 2 * np.pi)
    phi = np.arctan2(fv, fu) + rot
    size = 1.25 * params["radius"] * P
    petal = size * (0.45 + 0.55 * np.abs(np.cos(2.5 * phi)))
    return _aa(petal - r), _aa(0.28 * size - r)


def _blurred_noise(rng: np.random.Generator, size: int, sigma: float) -> np.ndarray:
    """Zero-mean, unit-std smooth noise, S x S float32."""
    n = rng.standard_normal((size, size), dtype=np.float32)
    if sigma > 0:
        n = cv2.GaussianBlur(n, (0, 0), sigma)
    return n / (n.std() + 1e-6)


def texture(finish: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """Multiplicative surface texture (mean ~1, S x S float32) for a material finish."""
    xs, ys = _grid(size)
    fine = _blurred_noise(rng, size, 0.6)
    if finish == "fabric":
        weave = np.sin(xs * 2.03) * np.sin(ys * 2.03)
        return 1 + 0.035 * weave + 0.025 * fine
    if finish == "knit":
        return 1 + 0.06 * np.sin(xs * 1.4) * (0.6 + 0.4 * np.sin(ys * 2.1)) + 0.025 * fine
    if finish == "straw":
        return 1 + 0.07 * np.sin((xs + ys) * 1.1) * np.sin((xs - ys) * 1.1) + 0.03 * fine
    if finish == "satin":
        return 1 + 0.06 * _blurred_noise(rng, size, 9.0) + 0.01 * fine
    if finish in ("felt", "leather"):
        return 1 + 0.045 * _blurred_noise(rng, size, 2.5) + 0.03 * fine
    if finish == "ceramic":
        speck = (rng.random((size, size), dtype=np.float32) > 0.996) * -0.25
        return 1 + 0.015 * fine + speck
    return 1 + 0.008 * fine


def wood_grain(size: int, rng: np.random.Generator) -> np.ndarray:
    """Multiplicative wood grain along y (mean ~1), S x S float32."""
    xs, _ = _grid(size)
    warp = _blurred_noise(rng, size, 6.0) * 3.0
    return 1 + 0.08 * np.sin(xs * 0.9 + warp) + 0.02 * _blurred_noise(rng, size, 0.8)


def _normalise(lam: np.ndarray) -> np.ndarray:
    return (AMBIENT + (1 - AMBIENT) * np.clip(lam, 0, None)) / (AMBIENT + (1 - AMBIENT) * LIGHT[2])


def bulge_shading(mask: np.ndarray, radius: float, gloss: float) -> tuple[np.ndarray, np.ndarray]:
    """(diffuse shade, specular) of a dome raised over the mask's distance transform."""
    inside = (mask > 0.5).astype(np.uint8)
    d = cv2.distanceTransform(inside, cv2.DIST_L2, 3)
    t = 1.0 - np.minimum(d / max(radius, 1.0), 1.0)
    h = radius * np.sqrt(np.clip(1.0 - t * t, 0, 1))
    h = cv2.GaussianBlur(h, (0, 0), 1.0)
    gx = cv2.Sobel(h, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(h, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    norm = np.sqrt(gx * gx + gy * gy + 1.0)
    nx, ny, nz = -gx / norm, -gy / norm, 1.0 / norm
    lam = nx * LIGHT[0] + ny * LIGHT[1] + nz * LIGHT[2]
    spec = gloss * np.clip(nx * HALF[0] + ny * HALF[1] + nz * HALF[2], 0, 1) ** 40
    return _normalise(lam), spec.astype(np.float32)


def cylinder_shading(mask: np.ndarray, gloss: float) -> tuple[np.ndarray, np.ndarray]:
    """(diffuse shade, specular) of a vertical body of revolution: normals turn across each row."""
    inside = mask > 0.5
    w = mask.shape[1]
    any_row = inside.any(1)
    left = np.argmax(inside, 1).astype(np.float32)
    right = (w - np.argmax(inside[:, ::-1], 1)).astype(np.float32)
    cx, half = (left + right) / 2, np.maximum((right - left) / 2, 1.0)
    xs = np.arange(w, dtype=np.float32)[None, :]
    uu = np.clip((xs - cx[:, None]) / half[:, None], -0.999, 0.999)
    uu[~any_row] = 0
    nz = np.sqrt(1 - uu * uu)
    lam = uu * LIGHT[0] + nz * LIGHT[2] - 0.1 * LIGHT[1]
    spec = gloss * np.clip(uu * HALF[0] + nz * HALF[2], 0, 1) ** 60
    return _normalise(lam), spec.astype(np.float32)


def fold_shading(mask: np.ndarray, amplitude: float, rng: np.random.Generator) -> np.ndarray:
    """Multiplicative vertical fabric folds that fan out downwards (mean ~1)."""
    ys_, xs_ = np.nonzero(mask > 0.5)
    if amplitude <= 0 or len(xs_) == 0:
        return np.ones_like(mask)
    h, w = mask.shape
    y0, y1, cx = ys_.min(), ys_.max() + 1, xs_.mean()
    xs = np.arange(w, dtype=np.float32)[None, :]
    ys = np.arange(h, dtype=np.float32)[:, None]
    ty = np.clip((ys - y0) / max(y1 - y0, 1), 0, 1)
    period = rng.uniform(14, 26) * (0.7 + 0.9 * ty)
    phase = rng.uniform(0, 2 * np.pi)
    return 1 + amplitude * np.sin(2 * np.pi * (xs - cx) / period + phase) * (0.4 + 0.6 * ty)

"""Procedural scene surfaces: wood, fabric, concrete, tiles, wallpaper, marble, plaster.

``surface(name, h, w, rng)`` returns an ``h x w x 3`` float32 RGB image in
``0..1``.  Every surface has fine noise and low-frequency variation so it
reads as a photographed material rather than a flat fill.
"""
from __future__ import annotations

import functools

import cv2
import numpy as np

FLOORS = ["wood", "tiles", "concrete", "fabric", "marble"]
WALLS = ["wallpaper", "plaster", "concrete", "tiles", "wood"]
FLATLAY = ["wood", "fabric", "marble", "concrete", "tiles"]

_BASES = {
    "wood": ["#b9905f", "#8a6240", "#d2b48c", "#6e4a2e", "#c9a27a"],
    "fabric": ["#d8c3a0", "#8a8d91", "#b7c4cf", "#c9b8a8", "#9fae9a", "#e3d9cc"],
    "concrete": ["#a3a19c", "#8f8e8a", "#b8b5ae", "#7d7b77"],
    "tiles": ["#e8e4dc", "#cfd8dc", "#d9c6b0", "#a9b9b0", "#f0ebe3"],
    "wallpaper": ["#e9e1d3", "#d7e3e6", "#eadbd8", "#dfe6d6", "#f2ecdc"],
    "marble": ["#ecebe8", "#e2e0dc", "#d9d6d2"],
    "plaster": ["#efe9df", "#e5ddd0", "#dde3e6", "#eee3d6", "#d9d2c5"],
}


@functools.lru_cache(maxsize=8)
def grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Cached (ys, xs) float32 pixel coordinate grids of an h x w image (read-only)."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    ys.flags.writeable = False
    xs.flags.writeable = False
    return ys, xs


def _hex(value: str) -> np.ndarray:
    v = value.lstrip("#")
    return np.array([int(v[i:i + 2], 16) for i in (0, 2, 4)], np.float32) / 255.0


def low_noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Smooth value noise (h x w float32, zero mean, unit std) from a ``cells``-wide grid."""
    gh, gw = max(2, int(cells * h / w) + 2), cells + 2
    grid = rng.standard_normal((gh, gw)).astype(np.float32)
    big = cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
    return (big - big.mean()) / (big.std() + 1e-6)


def _fine(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    return rng.standard_normal((h, w), dtype=np.float32)


def _wood(h, w, rng):
    plank = int(rng.integers(38, 72))
    ys, xs = grid(h, w)
    row = (ys // plank).astype(np.int32)
    offsets = rng.uniform(0, 50, 64).astype(np.float32)
    tones = rng.uniform(0.88, 1.1, 64).astype(np.float32)
    warp = low_noise(rng, h, w, 6) * 4.0
    grain = np.sin((ys + warp * 3) * 0.55 + offsets[row % 64] + np.sin(xs * 0.01 + row) * 2)
    shade = tones[row % 64] * (1 + 0.07 * grain + 0.03 * low_noise(rng, h, w, 40))
    seam = np.clip(np.abs(ys - (row + 0.5) * plank) - plank / 2 + 1.5, 0, 1.5) / 1.5
    joints = (np.abs(((xs + offsets[row % 64] * 9) % 260) - 1) < 1.2)
    return shade * (1 - 0.35 * seam) * (1 - 0.3 * joints)


def _tiles(h, w, rng):
    size = int(rng.integers(44, 90))
    ys, xs = grid(h, w)
    ti, tj = (ys // size).astype(np.int32), (xs // size).astype(np.int32)
    tones = rng.uniform(0.94, 1.05, (h // size + 2, w // size + 2)).astype(np.float32)
    gy, gx = np.minimum(ys % size, size - ys % size), np.minimum(xs % size, size - xs % size)
    grout = np.clip(2.5 - np.minimum(gy, gx), 0, 1)
    return tones[ti, tj] * (1 + 0.02 * low_noise(rng, h, w, 30)) * (1 - 0.22 * grout)


def _wallpaper(h, w, rng):
    ys, xs = grid(h, w)
    period = float(rng.uniform(28, 60))
    if rng.random() < 0.5:
        motif = np.sin(xs * 2 * np.pi / period) > 0.55
    else:
        motif = np.abs(np.sin((xs + ys) * np.pi / period) * np.sin((xs - ys) * np.pi / period)) > 0.7
    motif = cv2.GaussianBlur(motif.astype(np.float32), (0, 0), 0.8)
    return 1 - 0.07 * motif + 0.015 * low_noise(rng, h, w, 20)


def _marble(h, w, rng):
    ys, xs = grid(h, w)
    turb = low_noise(rng, h, w, 5) * 2.2 + low_noise(rng, h, w, 14) * 0.7
    veins = np.abs(np.sin(xs * 0.012 + ys * 0.006 + turb)) ** 0.25
    return 0.86 + 0.14 * veins + 0.02 * low_noise(rng, h, w, 40)


def surface(name: str, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A ``name`` surface, h x w x 3 float32 in 0..1."""
    if name not in _BASES:
        raise ValueError(f"unknown surface {name!r}: expected one of {sorted(_BASES)}")
    base = _hex(str(rng.choice(_BASES[name])))
    if name == "wood":
        tone = _wood(h, w, rng)
    elif name == "tiles":
        tone = _tiles(h, w, rng)
    elif name == "wallpaper":
        tone = _wallpaper(h, w, rng)
    elif name == "marble":
        tone = _marble(h, w, rng)
    elif name == "fabric":
        ys, xs = grid(h, w)
        tone = 1 + 0.05 * np.sin(xs * 1.7) * np.sin(ys * 1.7) + 0.05 * low_noise(rng, h, w, 8)
    elif name == "concrete":
        tone = 1 + 0.06 * low_noise(rng, h, w, 6) + 0.04 * low_noise(rng, h, w, 40)
    else:
        tone = 1 + 0.025 * low_noise(rng, h, w, 5)
    tone = tone + 0.018 * _fine(rng, h, w)
    return np.clip(base[None, None, :] * tone[..., None], 0, 1).astype(np.float32)

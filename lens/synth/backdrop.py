"""Scene backdrops: a room (wall + receding floor) or a flat-lay surface.

``backdrop(layout, w, h, rng)`` returns ``(canvas h x w x 3 float32 0..1,
horizon_y, floor_name, wall_name)``; ``horizon_y`` is 0 and ``wall_name`` is
None for flat-lays.  :func:`key_light` is the scene's key light (brighter
towards the upper-left, soft vignette), multiplied in after everything is
composited.
"""
from __future__ import annotations

import cv2
import numpy as np

from lens.synth.textures import FLATLAY, FLOORS, WALLS, grid, surface


def _floor(name: str, w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """A floor texture seen in perspective: the far edge is compressed 2x horizontally."""
    tex = surface(name, h * 2, w * 2, rng)
    src = np.float32([[0, 0], [w * 2, 0], [w * 1.5, h * 2], [w * 0.5, h * 2]])
    dst = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    m = cv2.getPerspectiveTransform(src, dst)
    floor = cv2.warpPerspective(tex, m, (w, h), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT)
    depth = np.linspace(0.82, 1.0, h, dtype=np.float32)[:, None, None]
    return floor * depth


def backdrop(layout: str, w: int, h: int, rng: np.random.Generator):
    """The empty scene; see the module docstring."""
    if layout == "flatlay":
        name = str(rng.choice(FLATLAY))
        return surface(name, h, w, rng), 0, name, None
    if layout != "room":
        raise ValueError(f"unknown layout {layout!r}: expected room or flatlay")
    horizon = int(rng.uniform(0.44, 0.58) * h)
    floor_name = str(rng.choice(FLOORS))
    wall_name = str(rng.choice([n for n in WALLS if n != floor_name]))
    canvas = np.empty((h, w, 3), np.float32)
    canvas[:horizon] = surface(wall_name, horizon, w, rng)
    canvas[horizon:] = _floor(floor_name, w, h - horizon, rng)
    board = int(rng.integers(6, 14))
    tone = np.float32(rng.choice([0.93, 0.85, 0.45]))
    canvas[horizon - board:horizon] = tone * np.linspace(1.0, 0.88, board, dtype=np.float32)[:, None, None]
    ao = np.exp(-np.arange(h - horizon, dtype=np.float32) / 10.0)[:, None, None]
    canvas[horizon:] *= 1 - 0.25 * ao
    return canvas, horizon, floor_name, wall_name


def key_light(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """The key light's multiplicative gain (h x w float32): from the upper left, soft vignette.

    About 0.8-1.08 across the canvas; the scene records it at each face
    (``light`` of a person) so evaluations can relate errors to it.
    """
    ys, xs = grid(h, w)
    lx, ly = rng.uniform(-0.2, 0.4) * w, rng.uniform(-0.3, 0.2) * h
    dist = np.hypot(xs - lx, ys - ly) / np.hypot(w, h)
    gain = 1.08 - 0.22 * dist
    r = np.hypot(xs / w - 0.5, ys / h - 0.5)
    gain *= 1 - 0.18 * r ** 2
    return gain.astype(np.float32)


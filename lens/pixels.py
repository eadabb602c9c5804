"""Pixel helpers shared by the understanding and the region proposer: CIELAB, thumbnails, backdrops.

:func:`rgb2lab` / :func:`lab2rgb` (OpenCV, D65), :func:`thumbnail` (long side
at most ``side``) and :func:`foreground_mask` (what a studio backdrop's
flood fill does not reach: the object of a product photo).  :func:`per_image`
remembers what was computed from an image array (a photo's understanding asks
for the same 128- and 256-px thumbnails five times: ~3.5 ms of resizing a
street photo, and whether it is one flat colour three times).

Tested in ``tests/test_understanding.py`` and ``tests/test_detection.py``.
"""
from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from typing import Callable, TypeVar

import cv2
import numpy as np

BG_STEP = 3.0            # CIELAB step between neighbouring border pixels of a backdrop
SEED_TOL = 15.0          # a border pixel this close to the border's median colour is backdrop
FILL_STEP = (3, 2, 2)    # flood-fill tolerance to the neighbour in 8-bit L, a, b (~1.2 L*)
RECENT = 16              # results remembered: a photo's thumbnails and checks, its crops', two threads
T = TypeVar("T")
_recent: OrderedDict = OrderedDict()      # (id of the array, key) -> (weak reference to it, result)
_recent_lock = threading.Lock()


def per_image(image: np.ndarray, key, compute: Callable[[], T]) -> T:
    """``compute()``, or its result from an earlier call with this same array object and ``key``
    (the array held weakly, so an id reused by a new array is not a hit).  Arrays handed out are
    read-only: a caller changing one would change it for the others.  An image changed in place
    after a call is not noticed: the analysis step never does that to its images."""
    ident = (id(image), key)
    with _recent_lock:
        hit = _recent.get(ident)
        if hit is not None and hit[0]() is image:
            _recent.move_to_end(ident)
            return hit[1]
    value = compute()
    if isinstance(value, np.ndarray) and value is not image:
        value.setflags(write=False)
    with _recent_lock:
        _recent[ident] = (weakref.ref(image), value)
        while len(_recent) > RECENT:
            _recent.popitem(last=False)
    return value


def rgb2lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (uint8 0..255 or float 0..1, H x W x 3) -> CIELAB float32 (D65); OpenCV, ~6x skimage."""
    x = rgb.astype(np.float32) / 255.0 if rgb.dtype == np.uint8 else rgb.astype(np.float32)
    return cv2.cvtColor(np.ascontiguousarray(x), cv2.COLOR_RGB2Lab)


def lab2rgb(lab: np.ndarray) -> np.ndarray:
    """CIELAB (H x W x 3) -> sRGB float 0..1."""
    return np.clip(cv2.cvtColor(np.ascontiguousarray(lab, dtype=np.float32), cv2.COLOR_Lab2RGB), 0, 1)


def thumbnail(rgb: np.ndarray, side: int) -> np.ndarray:
    """``rgb`` with its long side at most ``side`` (area-averaged; ``rgb`` itself when already
    small enough; read-only otherwise, and remembered: :func:`per_image`)."""
    h, w = rgb.shape[:2]
    scale = side / max(h, w)
    if scale >= 1:
        return rgb
    return per_image(rgb, ("thumbnail", side), lambda: cv2.resize(
        rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA))


def _border(a: np.ndarray) -> np.ndarray:
    return np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])


def _border_is_backdrop(lab: np.ndarray) -> bool:
    """A studio backdrop: each border line changes slowly (gradients allowed), no clutter."""
    lines = [lab[0], lab[-1], lab[:, 0], lab[:, -1]]
    steps = np.concatenate([np.linalg.norm(np.diff(line, axis=0), axis=1) for line in lines])
    return float(np.percentile(steps, 90)) < BG_STEP


def foreground_mask(lab: np.ndarray) -> np.ndarray | None:
    """Pixels the backdrop's flood fill does not reach, or ``None`` if there is no backdrop.

    The fill floats (each pixel is compared with its neighbour, ``FILL_STEP``
    in 8-bit CIELAB units), so smooth studio gradients and soft shadows are
    background while an object's edge stops it.
    """
    if min(lab.shape[:2]) < 8 or not _border_is_backdrop(lab):
        return None
    lab8 = np.clip(np.dstack([lab[..., 0] * 2.55, lab[..., 1] + 128, lab[..., 2] + 128]),
                   0, 255).astype(np.uint8)
    h, w = lab8.shape[:2]
    fill = np.zeros((h + 2, w + 2), np.uint8)
    flags = 4 | cv2.FLOODFILL_MASK_ONLY | (255 << 8)
    seeds = [(x, y) for x in range(0, w, 4) for y in (0, h - 1)] + \
            [(x, y) for y in range(0, h, 4) for x in (0, w - 1)]
    backdrop = np.median(_border(lab), axis=0)
    for x, y in seeds:   # only from backdrop-coloured border pixels: objects may touch the edge
        if fill[y + 1, x + 1] == 0 and np.linalg.norm(lab[y, x] - backdrop) < SEED_TOL:
            cv2.floodFill(lab8, fill, (x, y), 0, FILL_STEP, FILL_STEP, flags)
    mask = fill[1:-1, 1:-1] == 0
    return mask if 0.02 < mask.mean() < 0.98 else None

"""Scene compositing helpers: product cut-outs, pasting with an owner map, shadows.

A scene canvas is ``H x W x 3`` float32 RGB in ``0..1``; the ``owner`` map
(``H x W`` int32) records which element covers each pixel (object index >= 0,
person ``-2 - k``, background ``-1``) so visible boxes and visible fractions
can be measured after compositing.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from lens.files import atomic_write
from lens.synth.materials import bulge_shading
from lens.synth.render import Rendered, render_object
from lens.synth.spec import make_product

BACKGROUND = -1


class Cutout(NamedTuple):
    """A product cropped to its alpha box: rgb h x w x 3 float32, alpha h x w, anchor (x1, y1, x2, y2)
    in crop pixels (the part that fits a body), and the product record."""
    rgb: np.ndarray
    alpha: np.ndarray
    anchor: tuple
    record: dict


_CUTOUT_DIR: list = [None]       # folder of cut-outs written by the product phase, if any


def set_cutout_dir(folder) -> None:
    """Use (and fill) a folder of cached cut-outs; None turns the cache off."""
    _CUTOUT_DIR[0] = None if folder is None else Path(folder)
    cutout.cache_clear()


def make_cutout(record: dict, obj: Rendered) -> Cutout:
    """Crop a render to its alpha box, mirror it like the catalog photo, quantise to 8 bits."""
    size = record["render"]["size"]
    mask = obj.alpha > 0.02
    rows, cols = np.nonzero(mask.any(1))[0], np.nonzero(mask.any(0))[0]
    y1, y2, x1, x2 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    rgb, alpha = obj.rgb[y1:y2, x1:x2], obj.alpha[y1:y2, x1:x2]
    ax1, ay1, ax2, ay2 = (v * size for v in obj.anchor)
    anchor = (ax1 - x1, ay1 - y1, ax2 - x1, ay2 - y1)
    if record["render"]["pose"]["flip"]:
        rgb, alpha = rgb[:, ::-1], alpha[:, ::-1]
        w = x2 - x1
        anchor = (w - anchor[2], anchor[1], w - anchor[0], anchor[3])
    q = np.round(np.dstack([rgb, alpha]) * 255).astype(np.uint8)   # same bits as the cache file
    return _from_rgba(q, tuple(round(float(v), 3) for v in anchor), record)


def _from_rgba(rgba: np.ndarray, anchor: tuple, record: dict) -> Cutout:
    f = rgba.astype(np.float32) / 255.0
    return Cutout(np.ascontiguousarray(f[..., :3]), np.ascontiguousarray(f[..., 3]), anchor, record)


def _cache_path(seed: int, index: int) -> Path | None:
    folder = _CUTOUT_DIR[0]
    return None if folder is None else folder / f"{seed}-p{index:05d}.png"


def save_cutout(seed: int, index: int, cut: Cutout) -> None:
    """Write a cut-out (RGBA PNG, anchor in a text chunk) into the cache folder, atomically."""
    path = _cache_path(seed, index)
    if path is None:
        return
    rgba = np.round(np.dstack([cut.rgb, cut.alpha]) * 255).astype(np.uint8)
    info = PngInfo()
    info.add_text("anchor", json.dumps(list(cut.anchor)))
    atomic_write(path, lambda fh: Image.fromarray(rgba, "RGBA").save(fh, format="PNG", pnginfo=info,
                                                                     compress_level=1), durable=False)   # a cache


@functools.lru_cache(maxsize=512)
def cutout(seed: int, index: int) -> Cutout:
    """Product ``index``'s own render as a :func:`make_cutout` (cache folder, else rendered)."""
    record = make_product(seed, index)
    path = _cache_path(seed, index)
    if path is not None and path.is_file():
        with Image.open(path) as img:
            anchor = tuple(json.loads(img.text["anchor"]))
            return _from_rgba(np.asarray(img.convert("RGBA")), anchor, record)
    return make_cutout(record, render_object(record["render"]))


def scaled(cut: Cutout, sx: float, sy: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The cut-out resized by (sx, sy): (rgb h x w x 3, alpha h x w), at least 2 px each way."""
    sy = sx if sy is None else sy
    h, w = cut.alpha.shape
    size = (max(2, round(w * sx)), max(2, round(h * sy)))
    interp = cv2.INTER_AREA if sx < 1 and sy < 1 else cv2.INTER_LINEAR
    return cv2.resize(cut.rgb, size, interpolation=interp), cv2.resize(cut.alpha, size, interpolation=interp)


def _window(shape, x: int, y: int, h: int, w: int):
    """Clipped destination and source slices for pasting an h x w patch at (x, y)."""
    H, W = shape[:2]
    dx1, dy1, dx2, dy2 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if dx1 >= dx2 or dy1 >= dy2:
        return None
    return (slice(dy1, dy2), slice(dx1, dx2)), (slice(dy1 - y, dy2 - y), slice(dx1 - x, dx2 - x))


def paste(canvas: np.ndarray, owner: np.ndarray, rgb: np.ndarray, alpha: np.ndarray,
          x: int, y: int, label: int) -> None:
    """Alpha-composite an rgb/alpha patch at top-left (x, y); pixels with alpha > 0.5 get ``label``."""
    win = _window(canvas.shape, int(x), int(y), *alpha.shape)
    if win is None:
        return
    dst, src = win
    a = alpha[src][..., None]
    canvas[dst] = canvas[dst] * (1 - a) + rgb[src] * a
    owner[dst][alpha[src] > 0.5] = label


def fill(canvas: np.ndarray, owner: np.ndarray, mask: np.ndarray, color: np.ndarray, label: int,
         radius: float, texture: float = 0.0, rng: np.random.Generator | None = None) -> None:
    """Paint a full-canvas mask (H x W, 0..1) with a shaded colour (dome shading of ``radius`` px)."""
    rows, cols = np.nonzero(mask.any(1))[0], np.nonzero(mask.any(0))[0]
    if len(rows) == 0:
        return
    sl = (slice(max(rows[0] - 2, 0), rows[-1] + 3), slice(max(cols[0] - 2, 0), cols[-1] + 3))
    m = mask[sl]
    shade, spec = bulge_shading(m, radius, 0.08)
    if texture > 0 and rng is not None:
        shade = shade * (1 + texture * rng.standard_normal(m.shape, dtype=np.float32))
    rgb = np.clip(color[None, None, :] * shade[..., None] + spec[..., None], 0, 1)
    paste(canvas[sl], owner[sl], rgb, m, 0, 0, label)


def drop_shadow(canvas: np.ndarray, alpha: np.ndarray, x: int, y: int, dx: float, dy: float,
                sigma: float, strength: float) -> None:
    """Darken the canvas under a blurred copy of ``alpha`` placed at (x + dx, y + dy)."""
    pad = int(3 * sigma) + 2
    big = cv2.copyMakeBorder(alpha, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    soft = cv2.GaussianBlur(big, (0, 0), sigma)
    win = _window(canvas.shape, int(x + dx) - pad, int(y + dy) - pad, *soft.shape)
    if win is None:
        return
    dst, src = win
    canvas[dst] *= (1 - strength * soft[src])[..., None]


def contact_shadow(canvas: np.ndarray, cx: float, bottom: float, width: float, strength: float) -> None:
    """A soft elliptical shadow where an object or a person meets the floor."""
    ax, ay = max(2, int(width / 2)), max(2, int(width * 0.07))
    sigma = max(2.0, width * 0.06)
    pad = int(3 * sigma) + 2
    patch = np.zeros((2 * (ay + pad), 2 * (ax + pad)), np.float32)
    cv2.ellipse(patch, (ax + pad, ay + pad), (ax, ay), 0, 0, 360, 1.0, -1, cv2.LINE_AA)
    patch = cv2.GaussianBlur(patch, (0, 0), sigma)
    win = _window(canvas.shape, int(cx) - ax - pad, int(bottom) - ay - pad, *patch.shape)
    if win is None:
        return
    dst, src = win
    canvas[dst] *= (1 - strength * patch[src])[..., None]


def visible_boxes(owner: np.ndarray, labels) -> dict:
    """{label: (x1, y1, x2, y2, visible pixel count)} of each label in the owner map."""
    out = {}
    for label in labels:
        ys, xs = np.nonzero(owner == label)
        if len(xs):
            out[label] = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1, len(xs))
    return out

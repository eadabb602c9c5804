"""Product rendering: shaded, textured cut-outs and studio product photos.

:func:`render_object` turns a product's ``render`` record into the object
alone on the canonical S x S canvas (float RGB 0..1 + alpha 0..1);
:func:`product_photo` poses it on a light studio gradient with a soft drop
shadow and returns an S x S x 3 uint8 photo.  Everything is a pure function
of the record (textures come from ``render["texture_seed"]``).
"""
from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from lens.palette import hex_to_rgb
from lens.synth.materials import (
    bulge_shading,
    cylinder_shading,
    fold_shading,
    pattern_fields,
    texture,
    wood_grain,
)
from lens.synth.spec import SHAPES
from lens.synth.text import finish_of

TEXTILE = ("main", "plain", "trim", "inner")


class Rendered(NamedTuple):
    """An object render: ``rgb`` S x S x 3 float32 0..1 (not premultiplied), ``alpha`` S x S 0..1,
    ``main_fraction`` (share of visible pixels in the plain main colour) and ``anchor``
    (normalised x1, y1, x2, y2 of the part that fits a body)."""
    rgb: np.ndarray
    alpha: np.ndarray
    main_fraction: float
    anchor: tuple


def rgb01(value: str) -> np.ndarray:
    """``"#rrggbb"`` -> float32 (3,) in 0..1."""
    return np.array(hex_to_rgb(value), np.float32) / 255.0


def _bbox(mask: np.ndarray, pad: int = 2) -> tuple[slice, slice] | None:
    rows, cols = np.nonzero(mask.any(1))[0], np.nonzero(mask.any(0))[0]
    if len(rows) == 0:
        return None
    h, w = mask.shape
    return (slice(max(rows[0] - pad, 0), min(rows[-1] + pad + 1, h)),
            slice(max(cols[0] - pad, 0), min(cols[-1] + pad + 1, w)))


def _shade(lay: dict, m: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(diffuse multiplier, additive specular) for one layer's cropped mask."""
    kind = lay["shade"]
    if kind == "bulge":
        shade, spec = bulge_shading(m, lay["r"], lay["gloss"])
    elif kind == "cyl":
        shade, spec = cylinder_shading(m, lay["gloss"])
    else:
        ty = np.linspace(0, 1, m.shape[0], dtype=np.float32)[:, None] * np.ones_like(m)
        base = {"lens": 0.7 + 0.5 * ty, "inner": 0.62 + 0.35 * ty}.get(kind, 0.85 + 0 * ty)
        shade = base.astype(np.float32)
        tx = np.linspace(0, 1, m.shape[1], dtype=np.float32)[None, :]
        spec = lay["gloss"] * 0.5 * np.exp(-((tx + ty - 0.55) / 0.08) ** 2) if kind == "lens" else 0 * ty
    if lay["folds"] > 0:
        shade = shade * fold_shading(m, lay["folds"], rng)
    return shade, spec


def _albedos(render: dict, size: int, rng: np.random.Generator) -> tuple[dict, np.ndarray]:
    """Per-material albedo (float32 (3,) or S x S x 3) and the plain-main coverage of 'main'."""
    main, sec = rgb01(render["color_hex"]), rgb01(render["secondary_hex"])
    pat = render["pattern"]
    sec_cov, acc_cov = pattern_fields(pat, size)
    printed = main * (1 - sec_cov)[..., None] + sec * sec_cov[..., None]
    printed = printed * (1 - acc_cov)[..., None] + rgb01(pat["accent_hex"]) * acc_cov[..., None]
    shape = render["shape"]
    albedo = {"main": printed, "plain": main, "trim": sec, "inner": main * 0.55,
              "sole": rgb01(shape.get("sole_hex", "#1b1b1b")), "dark": rgb01("#2a2a2a"),
              "wood": rgb01(shape.get("wood_hex", shape.get("leg_hex", "#6e4a2e"))),
              "metal": rgb01(shape.get("metal_hex", shape.get("leg_hex", "#c4c7cc")))}
    return albedo, 1 - np.maximum(sec_cov, acc_cov)


def render_object(render: dict) -> Rendered:
    """Render the object alone on its canonical canvas (see :class:`Rendered`)."""
    size = int(render["size"])
    layers, anchor = SHAPES[render["category"]][1](render["shape"], size)
    rng = np.random.default_rng(render["texture_seed"])
    albedo, plain_main = _albedos(render, size, rng)
    tex = texture(finish_of(render["material"]), size, rng)
    grain = wood_grain(size, rng) if any(lay["mat"] == "wood" for lay in layers) else None
    light = np.linspace(1.05, 0.95, size, dtype=np.float32)[:, None] * np.ones((1, size), np.float32)
    out = np.zeros((size, size, 3), np.float32)
    alpha = np.zeros((size, size), np.float32)
    mainpx = np.zeros((size, size), np.float32)
    for lay in layers:
        box = _bbox(lay["mask"])
        if box is None:
            continue
        m = lay["mask"][box]
        shade, spec = _shade(lay, m, rng)
        mat = lay["mat"]
        surf = tex[box] if mat in TEXTILE else grain[box] if mat == "wood" else 1.0
        alb = albedo[mat][box] if np.ndim(albedo[mat]) == 3 else albedo[mat]
        color = alb * (shade * surf * light[box])[..., None] + (0.9 * spec)[..., None]
        a = m[..., None]
        out[box] = out[box] * (1 - a) + color * a
        alpha[box] = alpha[box] + m * (1 - alpha[box])
        is_main = plain_main[box] if mat == "main" else (1.0 if mat == "plain" else 0.0)
        mainpx[box] = mainpx[box] * (1 - m) + is_main * m
    frac = float(mainpx.sum() / max(alpha.sum(), 1.0))
    straight = out / np.maximum(alpha, 1e-4)[..., None]          # un-premultiply the edges
    return Rendered(np.clip(straight, 0, 1), alpha, frac, tuple(float(v) for v in anchor))


def pose_matrix(alpha: np.ndarray, pose: dict, out_size: int, jitter: dict | None = None) -> np.ndarray:
    """2 x 3 affine map from the canonical canvas into an ``out_size`` photo.

    The object's alpha box is centred, scaled so its longer side is
    ``pose.scale * out_size``, rotated by ``pose.angle`` degrees, shifted by
    ``pose.dx/dy`` (fractions of the photo) and mirrored when ``pose.flip``;
    ``jitter`` (dscale, dangle, ddx, ddy) perturbs the pose slightly.
    """
    j = jitter or {}
    box = _bbox(alpha > 0.05, pad=0)
    if box is None:
        raise ValueError("product render is empty: nothing to pose")
    (ys, xs) = box
    cx, cy = (xs.start + xs.stop) / 2, (ys.start + ys.stop) / 2
    extent = max(xs.stop - xs.start, ys.stop - ys.start)
    scale = pose["scale"] * (1 + j.get("dscale", 0.0)) * out_size / extent
    angle = pose["angle"] + j.get("dangle", 0.0)
    tx = out_size / 2 + (pose["dx"] + j.get("ddx", 0.0)) * out_size
    ty = out_size / 2 + (pose["dy"] + j.get("ddy", 0.0)) * out_size
    rot = cv2.getRotationMatrix2D((0.0, 0.0), angle, scale)
    flip = -1.0 if pose.get("flip") else 1.0
    pre = np.array([[flip, 0, -flip * cx], [0, 1, -cy], [0, 0, 1]], np.float64)
    m = rot @ pre
    m[:, 2] += (tx, ty)
    return m


def studio_background(studio: dict, size: int, rng: np.random.Generator) -> np.ndarray:
    """Light studio sweep: vertical gradient top->bottom, tint, vignette; S x S x 3 float32 0..1."""
    t = np.linspace(0, 1, size, dtype=np.float32)
    col = (studio["top"] + (studio["bottom"] - studio["top"]) * t ** 1.5)[:, None, None]
    bg = (col + np.array(studio["tint"], np.float32)) / 255.0 * np.ones((1, size, 3), np.float32)
    r = np.hypot(*np.meshgrid(t - 0.5, t - 0.5)) / 0.7071
    bg = bg * (1 - studio["vignette"] * r ** 2)[..., None]
    return bg + rng.normal(0, 0.004, (size, size, 1)).astype(np.float32)


def product_photo(render: dict, jitter: dict | None = None, obj: Rendered | None = None) -> np.ndarray:
    """The catalog photo of a product: S x S x 3 uint8 RGB on a studio background."""
    obj = obj or render_object(render)
    size = int(render["size"])
    m = pose_matrix(obj.alpha, render["pose"], size, jitter)
    flags = {"flags": cv2.INTER_LINEAR, "borderMode": cv2.BORDER_CONSTANT, "borderValue": 0}
    prem = cv2.warpAffine(obj.rgb * obj.alpha[..., None], m, (size, size), **flags)
    alpha = cv2.warpAffine(obj.alpha, m, (size, size), **flags)
    studio = render["studio"]
    sh = studio["shadow"]
    rng = np.random.default_rng([render["texture_seed"], 1])
    bg = studio_background(studio, size, rng)
    shift = np.float32([[1, 0, sh["dx"]], [0, 1, sh["dy"]]])
    soft = cv2.GaussianBlur(cv2.warpAffine(alpha, shift, (size, size)), (0, 0), sh["sigma"])
    contact = cv2.GaussianBlur(cv2.warpAffine(alpha, np.float32([[1, 0, 0], [0, 1, 2]]), (size, size)),
                               (0, 0), 2.0)
    bg = bg * (1 - sh["alpha"] * soft - 0.18 * contact)[..., None]
    photo = bg * (1 - alpha[..., None]) + prem
    return np.clip(photo * 255 + 0.5, 0, 255).astype(np.uint8)

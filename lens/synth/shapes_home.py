"""Home product shapes (lamp, chair, mug, vase, cushion, bowl): samplers and drawers.

Same contract as :mod:`lens.synth.shapes_garments`: ``sample_X(rng)`` gives
JSON-friendly parameters, ``draw_X(p, S)`` gives ``(layers, anchor)``.
"""
from __future__ import annotations

import numpy as np

from lens.synth.draw import (
    ellipse,
    ellipse_points,
    layer,
    mirror,
    poly,
    smooth,
    stroke,
    superellipse_points,
    u,
)
from lens.synth.shapes_garments import CX, _pick

METALS = ["#c4c7cc", "#b89b5e", "#3d4145", "#8a8d91"]
WOODS = ["#b9905f", "#6e4a2e", "#d8b98a", "#4a2c1d"]


def sample_lamp(rng) -> dict:
    """Random lamp parameters: style, noun, trim flag and sizes in canvas units (0..1)."""
    shade = _pick(rng, ["drum", "empire", "dome"])
    base = _pick(rng, ["stem", "ceramic", "tripod"])
    top = {"drum": u(rng, .4, .52), "empire": u(rng, .2, .3)}.get(shade, 0.0)
    return {"style": shade, "noun": "table lamp", "shade_style": shade, "base_style": base,
            "shade_top_w": top, "shade_bot_w": u(rng, .5, .66), "shade_h": u(rng, .3, .4),
            "foot_w": u(rng, .14, .22), "base_w": u(rng, .11, .16),
            "metal_hex": _pick(rng, METALS), "wood_hex": _pick(rng, WOODS),
            "trim": base == "ceramic"}


def draw_lamp(p, S):
    """The lamp as layers on an S x S canvas, plus its anchor box (normalised)."""
    y0, yf = .06, .93
    ys = y0 + p["shade_h"]
    tw, bw = p["shade_top_w"] / 2, p["shade_bot_w"] / 2
    layers = []
    if p["base_style"] == "tripod":
        for dx in (-.16, 0.0, .16):
            layers.append(layer("wood", stroke(S, [(CX, ys - .02), (CX + dx, yf)], .016), r=3))
    else:
        layers.append(layer("metal", poly(S, [(CX - .009, ys - .02), (CX + .009, ys - .02),
                                              (CX + .009, yf), (CX - .009, yf)]), shade="cyl", gloss=.7))
        layers.append(layer("metal", ellipse(S, (CX, yf - .015), (p["foot_w"] / 2, .028)), r=5, gloss=.6))
    if p["base_style"] == "ceramic":
        bh, bwid = yf - ys - .1, p["base_w"] / 2
        half = [(CX - bwid * .35, ys + .06), (CX - bwid, ys + .06 + bh * .55), (CX - bwid * .6, yf - .03)]
        layers.append(layer("trim", poly(S, smooth(mirror(half), 2)), shade="cyl", gloss=.5))
    if p["shade_style"] == "dome":
        shade = np.vstack([ellipse_points((CX, ys), (bw, p["shade_h"]), 0, 180, 360, 40)])
    else:
        shade = [(CX - tw, y0), (CX + tw, y0)] + list(ellipse_points((CX, ys), (bw, .025), 0, 0, 180, 20))
    layers.append(layer("main", poly(S, np.asarray(shade)), shade="cyl", folds=.02))
    return layers, (CX - bw, y0, CX + bw, yf)


def sample_chair(rng) -> dict:
    """Random chair parameters: style, noun, trim flag and sizes in canvas units (0..1)."""
    style = _pick(rng, ["armchair", "dining chair", "lounge chair", "accent chair"])
    p = {"style": style, "noun": style, "back_w": u(rng, .44, .58), "back_h": u(rng, .26, .38),
         "back_power": u(rng, 2.5, 6), "seat_h": u(rng, .06, .1), "seat_d": u(rng, .06, .1),
         "leg_h": u(rng, .14, .26), "leg_t": u(rng, .02, .035), "leg_splay": u(rng, 0, .04),
         "leg_mat": _pick(rng, ["wood", "metal"]), "leg_hex": _pick(rng, WOODS + METALS),
         "arms": style in ("armchair", "lounge chair"), "tufted": bool(rng.random() < .3)}
    p["trim"] = p["tufted"]
    return p


def draw_chair(p, S):
    """The chair as layers on an S x S canvas, plus its anchor box (normalised)."""
    yf = .93
    ysb = yf - p["leg_h"]
    sw, bw = p["back_w"] / 2 * 1.05, p["back_w"] / 2
    yst = ysb - p["seat_h"]
    yback = yst - p["seat_d"]
    mat, t = p["leg_mat"], p["leg_t"]
    layers = [layer(mat, stroke(S, [(CX + s * sw * .78, ysb - .02), (CX + s * sw * .8, yf - .05)], t * .9),
                    r=3, gloss=.3) for s in (-1, 1)]
    cy = yback - p["back_h"] / 2 + .02
    back = superellipse_points((CX, cy), (bw, p["back_h"] / 2 + .02), p["back_power"])
    layers.append(layer("main", poly(S, back), r=22, folds=.02))
    if p["tufted"]:
        for gx in (-.5, 0, .5):
            for gy in (-.3, .2):
                layers.append(layer("trim", ellipse(S, (CX + gx * bw, cy + gy * p["back_h"]), (.01, .01)),
                                    r=2, gloss=.3))
    seat = smooth([(CX - bw * .95, yback), (CX + bw * .95, yback), (CX + sw, yst), (CX + sw, ysb),
                   (CX - sw, ysb), (CX - sw, yst)], 2)
    layers.append(layer("main", poly(S, seat), r=12))
    if p["arms"]:
        for s in (-1, 1):
            arm = superellipse_points((CX + s * (sw - .02), (cy + ysb) / 2), (.045, (ysb - cy) / 2), 4)
            layers.append(layer("main", poly(S, arm), r=10))
    for s in (-1, 1):
        leg = [(CX + s * (sw - .03), ysb - .01), (CX + s * (sw - .03 + p["leg_splay"]), yf)]
        layers.append(layer(mat, stroke(S, leg, t), r=4, gloss=.3))
    return layers, (CX - sw - .05, yback - p["back_h"], CX + sw + .05, yf)


def sample_mug(rng) -> dict:
    """Random mug parameters: style, noun, trim flag and sizes in canvas units (0..1)."""
    style = _pick(rng, ["mug", "tall mug", "latte mug", "espresso cup"])
    h = {"tall mug": u(rng, .48, .56), "espresso cup": u(rng, .28, .34)}.get(style, u(rng, .38, .46))
    return {"style": style, "noun": style, "w": u(rng, .4, .5), "h": h, "taper": u(rng, .84, 1.06),
            "handle": u(rng, .11, .17), "handle_t": u(rng, .03, .05), "rim_h": u(rng, .035, .05),
            "trim": False}


def draw_mug(p, S):
    """The mug as layers on an S x S canvas, plus its anchor box (normalised)."""
    cx, w, h = CX - .06, p["w"] / 2, p["h"]
    yt, yb = .5 - h / 2, .5 + h / 2 + .04
    bw = w * p["taper"]
    hs = p["handle"]
    hc = (cx + (w + bw) / 2 - .01, (yt + yb) / 2)
    ring = np.clip(ellipse(S, hc, (hs + p["handle_t"], hs * 1.2 + p["handle_t"]))
                   - ellipse(S, hc, (hs, hs * 1.2)), 0, 1)
    body = np.vstack([[(cx - w, yt), (cx + w, yt)],
                      ellipse_points((cx, yb - p["rim_h"]), (bw, p["rim_h"]), 0, 0, 180, 24)])
    layers = [layer("main", ring, r=5, gloss=.5),
              layer("main", np.maximum(poly(S, body), ellipse(S, (cx, yt), (w, p["rim_h"]))),
                    shade="cyl", gloss=.6),
              layer("inner", ellipse(S, (cx, yt), (w * .92, p["rim_h"] * .75)), shade="flat")]
    return layers, (cx - w, yt - p["rim_h"], hc[0] + hs + p["handle_t"], yb)


def sample_vase(rng) -> dict:
    """Random vase parameters: style, noun, trim flag and sizes in canvas units (0..1)."""
    style = _pick(rng, ["bud vase", "amphora vase", "cylinder vase", "bottle vase", "bulb vase"])
    return {"style": style, "noun": "vase", "height": u(rng, .62, .84), "mouth_w": u(rng, .1, .24),
            "neck_w": u(rng, .08, .2), "neck_t": u(rng, .12, .3), "belly_w": u(rng, .3, .52),
            "belly_t": u(rng, .42, .75), "foot_w": u(rng, .16, .32), "lip": u(rng, 0, .03),
            "trim": False}


def draw_vase(p, S):
    """The vase as layers on an S x S canvas, plus its anchor box (normalised)."""
    yb = .93
    yt = yb - p["height"]
    ts = np.array([0, .03, p["neck_t"], p["belly_t"], .94, 1.0])
    ws = np.array([p["mouth_w"] / 2 + p["lip"], p["mouth_w"] / 2, p["neck_w"] / 2, p["belly_w"] / 2,
                   p["foot_w"] / 2 * 1.08, p["foot_w"] / 2])
    t = np.linspace(0, 1, 60)
    widths = np.interp(t, ts, ws)
    kernel = np.exp(-0.5 * (np.arange(-8, 9) / 3.5) ** 2)
    soft = np.convolve(np.pad(widths, 8, mode="edge"), kernel / kernel.sum(), mode="valid")
    soft[:3] = widths[:3]                                   # keep the lip crisp
    half = np.stack([CX - soft, yt + t * p["height"]], 1)
    body = smooth(mirror(half), 2)
    layers = [layer("main", poly(S, body), shade="cyl", gloss=.6),
              layer("inner", ellipse(S, (CX, yt + .004), (p["mouth_w"] / 2 * .85, .014)), shade="flat")]
    wmax = max(ws)
    return layers, (CX - wmax, yt, CX + wmax, yb)


def sample_cushion(rng) -> dict:
    """Random cushion parameters: style, noun, trim flag and sizes in canvas units (0..1)."""
    style = _pick(rng, ["square cushion", "lumbar cushion", "throw pillow"])
    p = {"style": style, "noun": style, "w": u(rng, .64, .8),
         "h": u(rng, .34, .44) if style == "lumbar cushion" else u(rng, .56, .72),
         "pinch": u(rng, .02, .06), "piping": bool(rng.random() < .45), "button": bool(rng.random() < .3)}
    p["trim"] = p["piping"] or p["button"]
    return p


def draw_cushion(p, S):
    """The cushion as layers on an S x S canvas, plus its anchor box (normalised)."""
    w, h, k = p["w"] / 2, p["h"] / 2, p["pinch"]
    cy = .52
    pts = smooth([(CX - w, cy - h), (CX, cy - h + k), (CX + w, cy - h), (CX + w - k, cy),
                  (CX + w, cy + h), (CX, cy + h - k), (CX - w, cy + h), (CX - w + k, cy)], 3)
    layers = [layer("main", poly(S, pts), r=34, folds=.02)]
    if p["piping"]:
        layers.append(layer("trim", stroke(S, pts, .012, closed=True), r=2))
    if p["button"]:
        layers.append(layer("trim", ellipse(S, (CX, cy), (.018, .018)), r=3, gloss=.3))
    return layers, (CX - w, cy - h, CX + w, cy + h)


def sample_bowl(rng) -> dict:
    """Random bowl parameters: style, noun, trim flag and sizes in canvas units (0..1)."""
    style = _pick(rng, ["serving bowl", "salad bowl", "cereal bowl", "footed bowl"])
    return {"style": style, "noun": style, "w": u(rng, .6, .82), "depth": u(rng, .22, .34),
            "rim_h": u(rng, .07, .12), "foot_w": u(rng, .26, .4),
            "foot_h": u(rng, .04, .07) if style == "footed bowl" else u(rng, .015, .03), "trim": False}


def draw_bowl(p, S):
    """The bowl as layers on an S x S canvas, plus its anchor box (normalised)."""
    w, d, rh = p["w"] / 2, p["depth"], p["rim_h"]
    yr = .5 - d / 2
    body = np.vstack([ellipse_points((CX, yr), (w, d), 0, 0, 180, 40)])
    foot_y = yr + d
    foot = [(CX - p["foot_w"] / 2, foot_y - .03), (CX + p["foot_w"] / 2, foot_y - .03),
            (CX + p["foot_w"] / 2 * 1.05, foot_y + p["foot_h"]), (CX - p["foot_w"] / 2 * 1.05, foot_y + p["foot_h"])]
    layers = [layer("main", poly(S, foot), shade="cyl", gloss=.3),
              layer("main", np.maximum(poly(S, body), ellipse(S, (CX, yr), (w, rh))), shade="cyl", gloss=.55),
              layer("plain", ellipse(S, (CX, yr), (w * .95, rh * .82)), shade="inner", gloss=.2)]
    return layers, (CX - w, yr - rh, CX + w, foot_y + p["foot_h"])


SHAPES = {"lamp": (sample_lamp, draw_lamp), "chair": (sample_chair, draw_chair), "mug": (sample_mug, draw_mug),
          "vase": (sample_vase, draw_vase), "cushion": (sample_cushion, draw_cushion),
          "bowl": (sample_bowl, draw_bowl)}

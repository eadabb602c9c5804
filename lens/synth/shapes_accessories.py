"""Fashion accessory shapes: shoes, bags, hats and sunglasses.

Same contract as :mod:`lens.synth.shapes_garments`: ``sample_X(rng)`` gives
JSON-friendly parameters, ``draw_X(p, S)`` gives ``(layers, anchor)``.
"""
from __future__ import annotations

import numpy as np

from lens.synth.draw import (
    ellipse,
    ellipse_points,
    layer,
    poly,
    smooth,
    stroke,
    superellipse_points,
    u,
)
from lens.synth.shapes_garments import CX, _pick


def sample_shoe(rng) -> dict:
    """Random shoe parameters: style, noun, trim flag and sizes in canvas units (0..1)."""
    style = _pick(rng, ["sneakers", "loafers", "pumps", "ankle boots", "flats"])
    heel = {"pumps": u(rng, .14, .22), "ankle boots": u(rng, .04, .08)}.get(style, u(rng, 0, .02))
    upper = {"ankle boots": u(rng, .42, .52), "sneakers": u(rng, .25, .31), "loafers": u(rng, .2, .24),
             "pumps": u(rng, .15, .19)}.get(style, u(rng, .13, .16))
    sole = ["#f4f4f2", "#efe6cf", "#b9905f"] if style == "sneakers" else ["#1b1b1b", "#4a2c1d", "#6e4a2e"]
    p = {"style": style, "noun": style, "length": u(rng, .72, .84), "heel_h": heel,
         "sole_h": u(rng, .04, .055) if style == "sneakers" else u(rng, .02, .03), "upper_h": upper,
         "toe": u(rng, .6, 1) if style == "pumps" else u(rng, 0, .4), "sole_hex": _pick(rng, sole),
         "laces": style == "sneakers" and bool(rng.random() < .8)}
    p["trim"] = p["laces"]
    return p


def draw_shoe(p, S):
    """The shoe as layers on an S x S canvas, plus its anchor box (normalised)."""
    L, hh, sh, uh = p["length"], p["heel_h"], p["sole_h"], p["upper_h"]
    yg, xh, xt = .7, CX - p["length"] / 2, CX + p["length"] / 2
    heeled = hh > .03
    yb_h, yb_t = yg - hh - sh, yg - sh
    bottom = [(xt - .02, yb_t), (xt - .3 * L, yb_t), (xh + .15 * L, yb_h + (yb_t - yb_h) * .35), (xh, yb_h)]
    toe_h = .09 + .05 * (1 - p["toe"])
    boots, sneakers = p["noun"] == "ankle boots", p["noun"] == "sneakers"
    inst = {"sneakers": .85, "loafers": .62, "pumps": .4, "flats": .45}.get(p["noun"], .55)
    top = [(xh + .01, yb_h - uh), (xh + .3 * L, yb_h - uh * (.95 if boots else .8 if sneakers else .72)),
           (xh + .55 * L, yb_t - uh * inst), (xt - .14 * L, yb_t - toe_h),
           (xt, yb_t - toe_h * (.45 - .3 * p["toe"]))]
    if boots:
        top.insert(2, (xh + .34 * L, yb_t - uh * .62))
    elif sneakers:
        top.insert(2, (xh + .38 * L, yb_h - uh * 1.02))
    upper = smooth(np.vstack([top[::-1], bottom[::-1]]), 2)
    layers = [layer("main", poly(S, upper), r=10, gloss=.25)]
    lining = np.vstack([top[:3], [(x, y + .016) for x, y in top[:3][::-1]]])
    if p["noun"] in ("pumps", "flats", "loafers"):
        layers.append(layer("inner", poly(S, smooth(lining, 1, closed=True)), shade="flat"))
    if heeled:
        sole = stroke(S, [(xh + .01, yb_h + sh / 2), *bottom[::-1][1:], (xt - .005, yb_t - .005)], sh)
        heel = poly(S, [(xh, yb_h + sh), (xh + .085, yb_h + sh), (xh + .07, yg), (xh + .035, yg)])
        layers += [layer("sole", sole, r=3, gloss=.2), layer("sole", heel, r=4, gloss=.3)]
    else:
        sole = poly(S, smooth([(xh, yb_h), (xt - .01, yb_t), (xt + .005, yb_t + sh * .6),
                               (xt - .03, yg), (xh + .02, yg), (xh - .005, yg - sh * .5)], 1))
        layers.append(layer("sole", sole, r=3))
    if p["laces"]:
        for i in range(4):
            x = xh + .36 * L + i * .055
            y = yb_h - uh * .85 + i * .035
            layers.append(layer("trim", stroke(S, [(x - .02, y + .012), (x + .025, y - .008)], .012), r=2))
    return layers, (xh, yb_h - uh, xt, yg)


def sample_bag(rng) -> dict:
    """Random bag parameters: style, noun, trim flag and sizes in canvas units (0..1)."""
    style = _pick(rng, ["tote", "handbag", "clutch", "bucket bag", "crossbody bag"])
    p = {"style": style, "noun": style, "w": u(rng, .6, .75) if style == "clutch" else u(rng, .5, .68),
         "h": u(rng, .24, .32) if style == "clutch" else u(rng, .32, .46),
         "top_ratio": u(rng, 1.04, 1.15) if style == "tote" else u(rng, .8, .96),
         "handle_h": u(rng, .14, .26), "handle_t": u(rng, .022, .038),
         "flap": style in ("handbag", "clutch", "crossbody bag") and bool(rng.random() < .75),
         "handle_trim": bool(rng.random() < .4), "clasp": bool(rng.random() < .6),
         "corner": u(rng, .04, .14)}
    p["trim"] = p["handle_trim"]
    return p


def _rounded(corners, radius: float) -> np.ndarray:
    """Polygon corners -> points cut ``radius`` back along both edges (smooth to round them)."""
    c = np.asarray(corners, np.float64)
    out = []
    for i in range(len(c)):
        prev, cur, nxt = c[i - 1], c[i], c[(i + 1) % len(c)]
        for other in (prev, nxt):
            v = other - cur
            out.append(cur + v / np.linalg.norm(v) * min(radius, np.linalg.norm(v) * .45))
    return np.array(out)


def draw_bag(p, S):
    """The bag as layers on an S x S canvas, plus its anchor box (normalised)."""
    yb = .84
    yt, bw, tw = yb - p["h"], p["w"] / 2, p["w"] * p["top_ratio"] / 2
    body_pts = smooth(_rounded([(CX - tw, yt), (CX + tw, yt), (CX + bw, yb), (CX - bw, yb)], p["corner"]), 2)
    layers = []
    if p["noun"] == "crossbody bag":
        arc = ellipse_points((CX, yt + .02), (tw * .95, yt - .02), 0, 180, 360, 40)
        layers.append(layer("trim" if p["handle_trim"] else "main", stroke(S, arc, .014), r=3))
    elif p["noun"] != "clutch":
        arc = ellipse_points((CX, yt + .01), (tw * .42, p["handle_h"]), 0, 180, 360, 32)
        layers.append(layer("trim" if p["handle_trim"] else "main", stroke(S, arc, p["handle_t"]), r=5))
    body = poly(S, body_pts)
    layers.append(layer("main", body, r=16, gloss=.15))
    if p["flap"]:
        depth = p["h"] * .45
        flap = smooth([(CX - tw, yt), (CX + tw, yt), (CX + tw * .97, yt + depth * .7),
                       (CX, yt + depth), (CX - tw * .97, yt + depth * .7)], 2)
        layers.append(layer("main", poly(S, flap) * body, r=6, gloss=.15))
    if p["noun"] == "bucket bag":
        layers.append(layer("inner", ellipse(S, (CX, yt + .012), (tw * .85, .025)) * body, shade="flat"))
    if p["clasp"]:
        cy = yt + (p["h"] * .45 if p["flap"] else .04)
        layers.append(layer("metal", ellipse(S, (CX, cy), (.022, .016)), r=3, gloss=.8))
    return layers, (CX - max(bw, tw), yt - p["handle_h"], CX + max(bw, tw), yb)


def sample_hat(rng) -> dict:
    """Random hat parameters: style, noun, trim flag and sizes in canvas units (0..1)."""
    style = _pick(rng, ["fedora", "bucket hat", "sun hat", "beanie", "boater"])
    brim = {"fedora": u(rng, .62, .74), "bucket hat": u(rng, .5, .58), "sun hat": u(rng, .8, .92),
            "boater": u(rng, .6, .7), "beanie": 0.0}[style]
    p = {"style": style, "noun": style, "crown_w": u(rng, .34, .44),
         "crown_h": u(rng, .3, .4) if style == "beanie" else u(rng, .18, .3), "brim_w": brim,
         "brim_h": u(rng, .05, .1), "band": bool(rng.random() < .7) and style != "beanie",
         "pinch": u(rng, .03, .06) if style == "fedora" else 0.0,
         "pompom": style == "beanie" and bool(rng.random() < .5)}
    p["trim"] = p["band"] or p["pompom"]
    return p


def draw_hat(p, S):
    """The hat as layers on an S x S canvas, plus its anchor box (normalised)."""
    yb, cw, ch = .64, p["crown_w"] / 2, p["crown_h"]
    top = yb - ch
    layers = []
    if p["brim_w"] > 0:
        bw = p["brim_w"] / 2
        if p["noun"] == "bucket hat":
            brim = smooth([(CX - cw, yb - .03), (CX + cw, yb - .03), (CX + bw, yb + p["brim_h"]),
                           (CX - bw, yb + p["brim_h"])], 2)
            layers.append(layer("main", poly(S, brim), r=6))
        else:
            layers.append(layer("main", ellipse(S, (CX, yb), (bw, p["brim_h"])), r=6))
    crown_pts = [(CX - cw, yb), (CX - cw * .92, top + ch * .25), (CX - cw * .6, top), (CX, top + p["pinch"]),
                 (CX + cw * .6, top), (CX + cw * .92, top + ch * .25), (CX + cw, yb)]
    if p["noun"] == "beanie":
        crown_pts = list(ellipse_points((CX, yb - ch * .35), (cw, ch * .65), 0, 180, 360, 24)) + \
            [(CX + cw, yb), (CX - cw, yb)]
    crown = poly(S, smooth(crown_pts, 2))
    layers.append(layer("main", crown, r=16, folds=.02))
    if p["band"]:
        band = poly(S, [(0, yb - .055), (1, yb - .055), (1, yb - .012), (0, yb - .012)]) * crown
        layers.append(layer("trim", band, r=3))
    if p["noun"] == "beanie":
        layers.append(layer("main", poly(S, [(CX - cw * 1.02, yb - .09), (CX + cw * 1.02, yb - .09),
                                             (CX + cw * 1.02, yb), (CX - cw * 1.02, yb)]), r=6))
        if p["pompom"]:
            layers.append(layer("trim", ellipse(S, (CX, top + .01), (.06, .055)), r=10))
    return layers, (CX - cw, top, CX + cw, yb)


def sample_sunglasses(rng) -> dict:
    """Random sunglasses parameters: style, noun, trim flag and sizes in canvas units (0..1)."""
    style = _pick(rng, ["round", "square", "cat-eye", "aviator", "oversized"])
    power = {"round": u(rng, 2, 2.3), "square": u(rng, 3.5, 5)}.get(style, u(rng, 2.4, 3.2))
    p = {"style": style, "noun": f"{style} sunglasses", "power": power,
         "lens_w": u(rng, .32, .37) if style == "oversized" else u(rng, .26, .33),
         "lens_h": u(rng, .18, .26), "bridge": u(rng, .05, .09), "frame_t": u(rng, .02, .04),
         "lift": u(rng, .03, .06) if style == "cat-eye" else 0.0}
    p["trim"] = False
    return p


def draw_sunglasses(p, S):
    """The sunglasses as layers on an S x S canvas, plus its anchor box (normalised)."""
    layers, frame, lenses = [], np.zeros((S, S), np.float32), np.zeros((S, S), np.float32)
    lw, lh, t = p["lens_w"] / 2, p["lens_h"] / 2, p["frame_t"]
    for s in (-1, 1):
        c = (CX + s * (p["bridge"] / 2 + lw), .5)
        inner = superellipse_points(c, (lw, lh), p["power"])
        outer = superellipse_points(c, (lw + t, lh + t), p["power"])
        for pts in (inner, outer):
            out = (pts[:, 0] - c[0]) * s > 0
            pts[:, 1] -= np.where(out & (pts[:, 1] < c[1]), p["lift"] * np.abs(pts[:, 0] - c[0]) / lw, 0)
            if p["style"] == "aviator":
                pts[:, 1] += np.where(pts[:, 1] > c[1], (pts[:, 1] - c[1]) * .25, 0)
        lens = poly(S, inner)
        lenses = np.maximum(lenses, lens)
        frame = np.maximum(frame, np.clip(poly(S, outer) - lens, 0, 1))
        tx = c[0] + s * (lw + t * .6)
        frame = np.maximum(frame, stroke(S, [(tx, .5 - lh * .6), (tx + s * .05, .5 - lh * .75)], t))
    bridge = ellipse_points((CX, .5 - lh * .2), (p["bridge"] / 2 + t, lh * .35), 0, 200, 340, 12)
    frame = np.maximum(frame, stroke(S, bridge, t * .8))
    layers.append(layer("plain", lenses, shade="lens", gloss=.7))
    layers.append(layer("main", frame, r=3, gloss=.35))
    return layers, (CX - 2 * lw - p["bridge"] / 2, .5 - lh, CX + 2 * lw + p["bridge"] / 2, .5 + lh)


SHAPES = {"shoe": (sample_shoe, draw_shoe), "bag": (sample_bag, draw_bag), "hat": (sample_hat, draw_hat),
          "sunglasses": (sample_sunglasses, draw_sunglasses)}

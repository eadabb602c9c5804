"""Garment shapes (tops, dresses, trousers, skirts): samplers and drawers.

Each category has ``sample_X(rng) -> dict`` (JSON-friendly shape parameters,
with ``style``, ``noun`` and ``trim``) and ``draw_X(p, S) -> (layers,
anchor)``: layers are :func:`lens.synth.draw.layer` records on an S x S
canvas; ``anchor`` is the normalised box ``(x1, y1, x2, y2)`` of the part
that fits the body when worn (shoulders-to-hem, waist-to-hem, hat crown).
"""
from __future__ import annotations

import numpy as np

from lens.synth.draw import ellipse, ellipse_points, layer, poly, smooth, stroke, u

CX = 0.5


def _pick(rng, options):
    return str(options[int(rng.integers(0, len(options)))])


def sample_top(rng) -> dict:
    """Random top parameters: style, noun, trim flag and sizes in canvas units (0..1)."""
    style = _pick(rng, ["t-shirt", "shirt", "blouse", "sweater", "tank top"])
    sleeve = {"tank top": 0.0, "t-shirt": u(rng, .08, .16), "blouse": u(rng, .1, .36),
              "shirt": u(rng, .3, .42), "sweater": u(rng, .36, .44)}[style]
    p = {"style": style, "noun": style, "body_w": u(rng, .36, .5), "length": u(rng, .46, .62),
         "taper": u(rng, .88, 1.12), "sleeve_len": sleeve, "sleeve_angle": u(rng, 16, 34, 2),
         "sleeve_w": u(rng, .1, .15), "neck_w": u(rng, .11, .17), "neck_depth": u(rng, .03, .14),
         "collar": style == "shirt", "cuffs": bool(rng.random() < .4) and sleeve > .05,
         "hem_band": bool(rng.random() < .35), "buttons": style in ("shirt", "blouse") and bool(rng.random() < .7)}
    p["trim"] = bool(p["collar"] or p["cuffs"] or p["hem_band"] or p["buttons"])
    return p


def _neck(p, y0, cx=CX):
    """(body top edge points right->left along the back neck, inner neckline polygon)."""
    nw, nd = p["neck_w"] / 2, p["neck_depth"]
    back = ellipse_points((cx, y0), (nw, .012), 0, 0, 180, 12)
    front = ellipse_points((cx, y0), (nw, nd), 0, 0, 180, 16) if nd < .08 else \
        np.array([(cx + nw, y0), (cx, y0 + nd), (cx - nw, y0)])
    return back, np.vstack([back, front[::-1]])


def _sleeve(shoulder, armpit, angle, length, side):
    d = np.array([side * np.sin(np.radians(angle)), np.cos(np.radians(angle))])
    s, a = np.array(shoulder), np.array(armpit)
    return np.array([s, s + d * length, a + d * length * .8, a]), d


def draw_top(p, S):
    """The top as layers on an S x S canvas, plus its anchor box (normalised)."""
    bw, y0 = p["body_w"] / 2, .5 - p["length"] / 2 - .02
    y1 = y0 + p["length"]
    sw = bw + .01 if p["sleeve_len"] > 0 else bw * .72
    arm_y = y0 + p["sleeve_w"] + .04
    back, inner = _neck(p, y0)
    left = [(CX - sw, y0 + .035), (CX - bw, arm_y), (CX - bw * .96, y0 + p["length"] * .6),
            (CX - bw * p["taper"], y1)]
    right = [(2 * CX - x, y) for x, y in left[::-1]]
    body = np.vstack([back[-1:], left, right, back[:1], back])
    layers = []
    if p["sleeve_len"] > 0:
        for side, pts in ((-1, left), (1, right[::-1])):
            sl, d = _sleeve(pts[0], pts[1], p["sleeve_angle"], p["sleeve_len"], side)
            layers.append(layer("main", poly(S, smooth(sl, 1)), r=9, folds=.03))
            if p["cuffs"]:
                band = np.array([sl[1], sl[2], sl[2] - d * .03, sl[1] - d * .03])
                layers.append(layer("trim", poly(S, band), r=4))
    body_mask = poly(S, smooth(body, 1))
    layers.append(layer("main", body_mask, r=18, folds=.05))
    layers.append(layer("inner", poly(S, inner), shade="flat"))
    if p["collar"]:
        for s in (-1, 1):
            nx = CX + s * p["neck_w"] / 2
            layers.append(layer("trim", poly(S, [(nx, y0), (nx + s * .035, y0 + .025),
                                                  (CX + s * .01, y0 + p["neck_depth"] + .03)]), r=4))
    if p["hem_band"]:
        hx = bw * p["taper"]
        band = [(CX - hx, y1 - .035), (CX + hx, y1 - .035), (CX + hx, y1), (CX - hx, y1)]
        layers.append(layer("trim", poly(S, band) * body_mask, r=4))
    if p["buttons"]:
        for y in np.arange(y0 + p["neck_depth"] + .04, y1 - .03, .07):
            layers.append(layer("trim", ellipse(S, (CX, y), (.009, .009)), r=2, gloss=.4))
    return layers, (CX - bw, y0, CX + bw, y1)


def sample_dress(rng) -> dict:
    """Random dress parameters: style, noun, trim flag and sizes in canvas units (0..1)."""
    style = _pick(rng, ["midi dress", "maxi dress", "mini dress", "wrap dress", "slip dress"])
    hem = {"mini dress": u(rng, .62, .7), "maxi dress": u(rng, .9, .94)}.get(style, u(rng, .76, .86))
    p = {"style": style, "noun": style, "bodice_w": u(rng, .24, .32), "waist_y": u(rng, .32, .4),
         "hem_y": hem, "hem_w": u(rng, .42, .78),
         "sleeve_len": 0.0 if style == "slip dress" or rng.random() < .3 else u(rng, .05, .14),
         "sleeve_angle": u(rng, 18, 32, 2), "neck_w": u(rng, .1, .15), "neck_depth": u(rng, .03, .13),
         "belt": bool(rng.random() < .4)}
    p["trim"] = p["belt"]
    return p


def draw_dress(p, S):
    """The dress as layers on an S x S canvas, plus its anchor box (normalised)."""
    bw, y0, wy, hy = p["bodice_w"] / 2, .06, p["waist_y"], p["hem_y"]
    hw = p["hem_w"] / 2
    back, inner = _neck(p, y0)
    sw = bw if p["sleeve_len"] > 0 else bw * .7
    left = [(CX - sw, y0 + .03), (CX - bw * .95, y0 + .12), (CX - bw * .72, wy),
            (CX - bw * .72 - (hw - bw * .72) * .35, wy + .12), (CX - hw, hy)]
    right = [(2 * CX - x, y) for x, y in left[::-1]]
    hem = ellipse_points((CX, hy), (hw, .025), 0, 180, 0, 12)
    body = smooth(np.vstack([back[-1:], left, hem, right, back[:1], back]), 1)
    dress = poly(S, body)
    layers = []
    if p["sleeve_len"] > 0:
        for side, pts in ((-1, left), (1, right[::-1])):
            sl, _ = _sleeve(pts[0], pts[1], p["sleeve_angle"], p["sleeve_len"], side)
            layers.append(layer("main", poly(S, smooth(sl, 1)), r=8, folds=.03))
    layers += [layer("main", dress, r=16, folds=.08), layer("inner", poly(S, inner), shade="flat")]
    if p["belt"]:
        band = poly(S, [(0, wy - .014), (1, wy - .014), (1, wy + .014), (0, wy + .014)]) * dress
        layers.append(layer("trim", band, r=3))
    return layers, (CX - bw, y0, CX + bw, hy)


def sample_trousers(rng) -> dict:
    """Random trousers parameters: style, noun, trim flag and sizes in canvas units (0..1)."""
    style = _pick(rng, ["trousers", "wide-leg trousers", "slim trousers", "chinos", "culottes"])
    hem = {"wide-leg trousers": u(rng, .19, .25), "slim trousers": u(rng, .11, .14),
           "culottes": u(rng, .2, .26)}.get(style, u(rng, .14, .18))
    p = {"style": style, "noun": style, "waist_w": u(rng, .32, .4), "rise": u(rng, .2, .27),
         "leg_len": u(rng, .5, .56) if style == "culottes" else u(rng, .7, .78), "hem_w": hem,
         "band_trim": bool(rng.random() < .35), "pockets": bool(rng.random() < .6)}
    p["trim"] = p["band_trim"]
    return p


def draw_trousers(p, S):
    """The trousers as layers on an S x S canvas, plus its anchor box (normalised)."""
    w, y0, ll, hw = p["waist_w"] / 2, .1, p["leg_len"], p["hem_w"]
    flare = max(0.0, (hw - .16) * .6)
    left = [(CX - w, y0), (CX - w - .012, y0 + .1), (CX - w - flare, y0 + ll), (CX - w - flare + hw, y0 + ll),
            (CX, y0 + p["rise"])]
    right = [(2 * CX - x, y) for x, y in left[::-1][1:]]
    pants = poly(S, np.vstack([left, right]))
    layers = [layer("main", pants, r=12, folds=.05)]
    band = poly(S, [(CX - w, y0), (CX + w, y0), (CX + w + .003, y0 + .04), (CX - w - .003, y0 + .04)])
    layers.append(layer("trim" if p["band_trim"] else "main", band, r=4))
    layers.append(layer("inner", stroke(S, [(CX, y0 + .045), (CX, y0 + p["rise"] - .02)], .006), shade="flat"))
    if p["pockets"]:
        for s in (-1, 1):
            layers.append(layer("inner", stroke(S, [(CX + s * (w - .1), y0 + .045), (CX + s * w, y0 + .12)],
                                                .005), shade="flat"))
    return layers, (CX - w, y0, CX + w, y0 + ll)


def sample_skirt(rng) -> dict:
    """Random skirt parameters: style, noun, trim flag and sizes in canvas units (0..1)."""
    style = _pick(rng, ["A-line skirt", "pencil skirt", "pleated skirt", "midi skirt", "mini skirt"])
    length = {"mini skirt": u(rng, .34, .42), "midi skirt": u(rng, .55, .65)}.get(style, u(rng, .45, .58))
    hem = {"pencil skirt": u(rng, .34, .4), "pleated skirt": u(rng, .6, .8)}.get(style, u(rng, .5, .74))
    p = {"style": style, "noun": style, "waist_w": u(rng, .3, .36), "length": length, "hem_w": hem,
         "pleats": int(rng.integers(8, 15)) if style == "pleated skirt" else 0,
         "band_trim": bool(rng.random() < .4)}
    p["trim"] = p["band_trim"]
    return p


def draw_skirt(p, S):
    """The skirt as layers on an S x S canvas, plus its anchor box (normalised)."""
    w, hw, y0 = p["waist_w"] / 2, p["hem_w"] / 2, .5 - p["length"] / 2 - .02
    y1 = y0 + p["length"]
    hem = ellipse_points((CX, y1), (hw, .02), 0, 180, 0, 12)
    shape = smooth(np.vstack([[(CX - w, y0), (CX - w - (hw - w) * .25, y0 + .12)], hem,
                              [(CX + w + (hw - w) * .25, y0 + .12), (CX + w, y0)]]), 1)
    skirt = poly(S, shape)
    folds = .16 if p["pleats"] else .07
    layers = [layer("main", skirt, r=14, folds=folds)]
    band = poly(S, [(CX - w, y0), (CX + w, y0), (CX + w + .004, y0 + .04), (CX - w - .004, y0 + .04)])
    layers.append(layer("trim" if p["band_trim"] else "main", band, r=4))
    return layers, (CX - w, y0, CX + w, y1)


SHAPES = {"top": (sample_top, draw_top), "dress": (sample_dress, draw_dress),
          "trousers": (sample_trousers, draw_trousers), "skirt": (sample_skirt, draw_skirt)}

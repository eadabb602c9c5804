"""Scene composition: 2-6 catalog products on a textured backdrop, some worn by people.

:func:`render_scene` builds scene ``index`` from ``np.random.default_rng([seed,
index, 1])`` alone.  Even-numbered scenes have one or two people (see
:mod:`lens.synth.cast` for skin tones, body types, framing and outfits).  Free products avoid people and each
other (at most 12 % overlap), so every object keeps >= 60 % of its pixels; the
recorded box is the visible extent measured from the composited owner map.
"""
from __future__ import annotations

import numpy as np

from lens.synth.backdrop import backdrop, key_light
from lens.synth.cast import person_box, pick_product, plan_people
from lens.synth.compose import (
    BACKGROUND,
    contact_shadow,
    cutout,
    drop_shadow,
    paste,
    scaled,
    visible_boxes,
)
from lens.synth.people import draw_person, wear
from lens.synth.scene_text import describe_scene
from lens.synth import styles
from lens.synth.spec import CATEGORIES, product_look

WIDTH, HEIGHT = 640, 480
MIN_PRODUCTS = 12        # enough for every category a scene draws on (tops, dresses, bottoms...)
SIZES = {"chair": (170, 230), "lamp": (170, 240), "vase": (100, 160), "cushion": (100, 150),
         "bowl": (80, 120), "mug": (70, 100), "bag": (100, 150), "shoe": (80, 120), "hat": (90, 130),
         "sunglasses": (90, 130), "top": (130, 190), "dress": (160, 230), "trousers": (160, 220),
         "skirt": (120, 170)}
FLOOR = {"chair", "lamp", "vase", "cushion", "bowl", "mug", "bag", "shoe"}


def _overlap(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / max(1.0, min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1])))


def _place(rng, cat: str, cut, layout: str, horizon: int, taken: list) -> tuple | None:
    """(x, y, scale) for a free product that overlaps nothing taken by more than 12 %."""
    lo, hi = SIZES[cat] if layout == "room" else (110, 190)
    longest = max(cut.alpha.shape)
    for attempt in range(40):
        size = rng.uniform(lo, hi) * (0.9 ** (attempt // 10))
        if layout == "room" and cat in FLOOR:
            bottom = rng.uniform(horizon + 0.3 * (HEIGHT - horizon), HEIGHT - 4)
            size *= 0.8 + 0.2 * (bottom - horizon) / (HEIGHT - horizon)
        s = size / longest
        h, w = cut.alpha.shape[0] * s, cut.alpha.shape[1] * s
        if layout == "room" and cat in FLOOR:
            y = bottom - h
        elif layout == "room":                  # hung on the wall, hem at most a little below it
            y = rng.uniform(6, max(6.0, horizon + 0.3 * (HEIGHT - horizon) - h))
        else:
            y = rng.uniform(6, HEIGHT - h - 6)
        x = rng.uniform(6, WIDTH - w - 6)
        box = (x, y, x + w, y + h)
        if y >= 2 and all(_overlap(box, t) <= 0.12 for t in taken):
            return x, y, s
    return None


def _free_objects(rng, seed: int, need: int, layout: str, horizon: int, taken: list, n_products: int,
                  used: set, admit=None) -> list[dict]:
    """Up to ``need`` placed products of random categories (index, category, x, y, scale)."""
    out: list[dict] = []
    for _ in range(60):
        if len(out) >= need:
            break
        cat = CATEGORIES[int(rng.integers(0, len(CATEGORIES)))]["name"]
        idx = pick_product(rng, cat, n_products, used, admit)
        if idx is None:
            continue
        cut = cutout(seed, idx)
        spot = _place(rng, cat, cut, layout, horizon, taken)
        if spot is None:
            used.discard(idx)
            continue
        x, y, s = spot
        taken.append((x, y, x + cut.alpha.shape[1] * s, y + cut.alpha.shape[0] * s))
        out.append({"index": idx, "category": cat, "worn_by": None, "x": x, "y": y, "s": s})
    return out


def render_scene(seed: int, index: int, n_products: int, styled: bool = False) -> tuple[np.ndarray, dict]:
    """Render scene ``index``: (H x W x 3 float32 RGB 0..1 before perturbation, record).  ``styled``:
    the scene draws a style (:mod:`lens.synth.styles`) and shows only products it admits."""
    rng = np.random.default_rng([seed, index, 1])
    used: set = set()
    style = styles.draw(seed, index) if styled else None
    admit = (lambda i: styles.admits(style, *product_look(seed, i))) if styled else None
    people = plan_people(rng, seed, index, n_products, used, WIDTH, HEIGHT, admit)
    layout = "room" if people or rng.random() < 0.6 else "flatlay"
    canvas, horizon, floor_name, wall_name = backdrop(layout, WIDTH, HEIGHT, rng)
    owner = np.full((HEIGHT, WIDTH), BACKGROUND, np.int32)
    objects: list[dict] = []
    for k, person in enumerate(people):
        for cat, idx in person["outfit"]:
            for side in ((-1, 1) if cat == "shoe" else (0,)):
                objects.append({"index": idx, "category": cat, "worn_by": k, "side": side})
    worn = len(objects)
    total = max(2, min(6, int(rng.integers(2, 7)) if not people else worn + int(rng.integers(0, 4))))
    taken = [person_box(p["plan"], HEIGHT) for p in people]
    objects += _free_objects(rng, seed, max(0, total - worn), layout, horizon, taken, n_products, used, admit)
    _composite(canvas, owner, objects, people, layout, rng, seed)
    light = key_light(HEIGHT, WIDTH, rng)
    canvas = canvas * light[..., None]
    record = _record(seed, index, objects, people, owner, layout, floor_name, wall_name, light)
    if style is not None:
        record["style"] = style
    return np.clip(canvas, 0, 1), record


def _composite(canvas, owner, objects, people, layout, rng, seed) -> None:
    """Paint free objects and people back to front (by their bottom edge)."""
    items = [("object", i, o["y"] + cutout(seed, o["index"]).alpha.shape[0] * o["s"])
             for i, o in enumerate(objects) if o["worn_by"] is None]
    items += [("person", k, p["plan"]["top"] + p["plan"]["height"]) for k, p in enumerate(people)]
    light_dx, light_dy = rng.uniform(4, 12), rng.uniform(4, 10)
    for kind, k, _bottom in sorted(items, key=lambda t: t[2]):
        if kind == "object":
            o = objects[k]
            rgb, alpha = scaled(cutout(seed, o["index"]), o["s"])
            x, y = round(o["x"]), round(o["y"])
            drop_shadow(canvas, alpha, x, y, light_dx, light_dy, 5 + alpha.shape[0] * 0.03, 0.32)
            if layout == "room" and o["category"] in FLOOR:
                contact_shadow(canvas, x + alpha.shape[1] / 2, y + alpha.shape[0] - 2, alpha.shape[1], 0.45)
            paste(canvas, owner, rgb, alpha, x, y, k)
            o["pixels"] = int((alpha > 0.5).sum())
        else:
            _draw_dressed(canvas, owner, objects, people[k], k, rng, seed)


def _draw_dressed(canvas, owner, objects, person, k, rng, seed) -> None:
    plan = person["plan"]
    contact_shadow(canvas, plan["cx"], plan["top"] + plan["height"] - 4, plan["height"] * 0.42, 0.5)
    geo = draw_person(canvas, owner, plan, -2 - k, rng)
    person["geometry"] = geo
    order = {"top": 0, "dress": 0, "trousers": 1, "skirt": 1, "shoe": 2, "hat": 3}   # tops tucked in
    mine = sorted((i for i, o in enumerate(objects) if o["worn_by"] == k),
                  key=lambda i: order[objects[i]["category"]])
    for i in mine:
        o = objects[i]
        before = (owner == i).sum()
        wear(canvas, owner, geo, cutout(seed, o["index"]), i, side=o["side"] or 1)
        o["pixels"] = int((owner == i).sum() - before)


def _record(seed, index, objects, people, owner, layout, floor_name, wall_name, light) -> dict:
    """The manifest record of a composited scene (visible boxes measured from ``owner``).

    A person's ``light`` is the key light's gain (``light``, H x W) at the
    centre of their face, in frame or not.
    """
    boxes = visible_boxes(owner, range(len(objects)))
    out_objects = []
    for i, o in enumerate(objects):
        if i not in boxes:
            continue
        x1, y1, x2, y2, count = boxes[i]
        out_objects.append({"product_id": f"p{o['index']:05d}", "category": o["category"],
                            "box": [float(x1), float(y1), float(x2), float(y2)], "worn_by": o["worn_by"],
                            "visible": round(min(1.0, count / max(o.get("pixels", count), 1)), 3)})
    out_people = []
    for k, p in enumerate(people):
        labels = [-2 - k] + [i for i, o in enumerate(objects) if o["worn_by"] == k]
        ys, xs = np.nonzero(np.isin(owner, labels))
        plan = p["plan"]
        fb = [round(float(v), 1) for v in p["geometry"]["face_box"]]
        face = [max(fb[0], 0.0), max(fb[1], 0.0), min(fb[2], WIDTH), min(fb[3], HEIGHT)]
        cx = int(np.clip((fb[0] + fb[2]) / 2, 0, WIDTH - 1))
        cy = int(np.clip((fb[1] + fb[3]) / 2, 0, HEIGHT - 1))
        out_people.append({"box": [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)],
                           "face_box": face if plan["framing"] == "portrait" else None,
                           **{key: plan[key] for key in ("mst", "skin_tone_range", "skin_hex", "body_type",
                                                         "shoulder_ratio", "waist_ratio", "hip_ratio",
                                                         "framing", "height", "face_flip")},
                           "light": round(float(light[cy, cx]), 3)})
    sid = f"s{index:05d}"
    rec = {"id": sid, "kind": "scene", "image": f"scenes/{sid}.jpg", "width": WIDTH, "height": HEIGHT,
           "layout": layout, "background": floor_name, "wall": wall_name, "objects": out_objects,
           "people": out_people}
    rec["title"], rec["description"] = describe_scene(seed, rec)
    return rec

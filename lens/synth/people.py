"""People figures: body shapes, Monk-skin-toned skin and a real (re-toned) face.

A person is planned by :func:`plan_person` (JSON-friendly parameters, the
manifest's ``people`` entry) and drawn by :func:`draw_person` onto a scene
canvas (H x W x 3 float32 0..1).  Proportions are stylised (a large head,
the face size is chosen by :mod:`lens.synth.cast`).
:func:`wear` composites a catalog product's own cut-out onto the body:
top/dress from the shoulders, trousers/skirt from the waist, shoes on the
feet (nothing ever covers the face).
"""
from __future__ import annotations

import cv2
import numpy as np

from lens.palette import MST_HEX, hex_to_rgb, mst_range
from lens.synth.compose import Cutout, fill, paste, scaled
from lens.synth.faces import face_asset, retone_head

# Widths relative to the figure's height: shoulders, waist, hips.
BODY_TYPES: dict[str, tuple[float, float, float]] = {
    "slim": (0.21, 0.14, 0.16), "straight": (0.23, 0.19, 0.2),
    "curvy": (0.22, 0.145, 0.26), "full": (0.27, 0.25, 0.29)}
BODY_NAMES = list(BODY_TYPES)
BASE_OUTFIT = ["#3d4145", "#d8c3a0", "#8a8d91", "#2a2a2a", "#efe6cf", "#5b6770"]
WEARABLE = ("top", "dress", "trousers", "skirt", "shoe")
FRAMINGS = ("portrait", "full_body")


def plan_person(rng: np.random.Generator, mst: int, body_type: str, cx: float, height: float,
                top: float, face_height: float, framing: str = "portrait") -> dict:
    """Parameters of one person (pixel units), recorded in the manifest.

    ``height`` is the whole figure (crown to feet) and ``top`` its crown's y,
    which may lie above the frame (``full_body`` framing crops at the chin).
    """
    if body_type not in BODY_TYPES:
        raise ValueError(f"body type {body_type!r}: expected one of {BODY_NAMES}")
    if framing not in FRAMINGS:
        raise ValueError(f"framing {framing!r}: expected one of {FRAMINGS}")
    sh, wa, hi = (r + float(rng.uniform(-0.006, 0.006)) for r in BODY_TYPES[body_type])
    return {"mst": int(mst), "skin_tone_range": mst_range(int(mst)), "skin_hex": MST_HEX[mst - 1],
            "body_type": body_type, "shoulder_ratio": round(sh, 4), "waist_ratio": round(wa, 4),
            "hip_ratio": round(hi, 4), "height": round(float(height), 1), "cx": round(float(cx), 1),
            "top": round(float(top), 1), "face_height": round(float(face_height), 1), "framing": framing,
            "face_flip": bool(rng.random() < 0.5), "arm_angle": round(float(rng.uniform(9, 18)), 2),
            "outfit_hex": str(rng.choice(BASE_OUTFIT))}


def geometry(p: dict) -> dict:
    """Key lines (y), widths and the head placement of a planned person, in scene pixels."""
    asset = face_asset()
    fb = asset["face_box"]
    s = p["face_height"] / (fb[3] - fb[1])
    hh, hw = asset["rgb"].shape[0] * s, asset["rgb"].shape[1] * s
    H, cx, top = p["height"], p["cx"], p["top"]
    hx = cx - hw / 2
    fx1, fx2 = (hw - fb[2] * s, hw - fb[0] * s) if p["face_flip"] else (fb[0] * s, fb[2] * s)
    chin = top + fb[3] * s
    g = {"scale": s, "head": (hx, top, hw, hh), "face_box": [hx + fx1, top + fb[1] * s, hx + fx2, chin],
         "chin": chin, "foot": top + H, "H": H, "cx": cx}
    g["shoulder"] = chin + 0.055 * H
    g["waist"] = g["shoulder"] + 0.19 * H
    g["hip"] = g["waist"] + 0.08 * H
    g["crotch"] = g["hip"] + 0.05 * H
    g["ankle"] = g["foot"] - 0.035 * H
    g["sw"], g["ww"], g["hw"] = (p[k] * H for k in ("shoulder_ratio", "waist_ratio", "hip_ratio"))
    g["head_w"] = (fx2 - fx1) * 1.25
    return g


def _poly(shape, pts) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    cv2.fillPoly(m, [np.round(np.asarray(pts) * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
    return m.astype(np.float32) / 255.0


def _limb(shape, a, b, w1, w2) -> np.ndarray:
    """A tapered limb from point a (width w1) to b (width w2) with a rounded end."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    d = (b - a) / (np.linalg.norm(b - a) + 1e-6)
    n = np.array([-d[1], d[0]])
    m = _poly(shape, [a + n * w1 / 2, b + n * w2 / 2, b - n * w2 / 2, a - n * w1 / 2])
    cv2.circle(m, tuple(int(v) for v in b), int(w2 / 2), 1.0, -1, cv2.LINE_AA)
    return m


def draw_person(canvas: np.ndarray, owner: np.ndarray, p: dict, label: int,
                rng: np.random.Generator) -> dict:
    """Draw the figure (skin, base outfit, head) and return its :func:`geometry`."""
    g = geometry(p)
    shape = canvas.shape[:2]
    H, cx = g["H"], g["cx"]
    skin = np.array(hex_to_rgb(p["skin_hex"]), np.float32) / 255.0
    outfit = np.array(hex_to_rgb(p["outfit_hex"]), np.float32) / 255.0
    for s in (-1, 1):
        hip_x = cx + s * g["hw"] * 0.26
        fill(canvas, owner, _limb(shape, (hip_x, g["hip"]), (hip_x + s * 4, g["ankle"]),
                                  0.1 * H, 0.045 * H), skin, label, 0.04 * H)
        foot = np.zeros(shape, np.float32)
        cv2.ellipse(foot, (int(hip_x + s * (0.035 * H + 4)), int(g["foot"] - 0.02 * H)),
                    (int(0.055 * H), int(0.022 * H)), 0, 0, 360, 1.0, -1, cv2.LINE_AA)
        fill(canvas, owner, foot, outfit * 0.5, label, 6)
        ang = np.radians(p["arm_angle"])
        sx = cx + s * (g["sw"] / 2 - 0.02 * H)
        end = (sx + s * np.sin(ang) * 0.36 * H, g["shoulder"] + 0.01 * H + np.cos(ang) * 0.36 * H)
        fill(canvas, owner, _limb(shape, (sx, g["shoulder"] + 0.01 * H), end, 0.06 * H, 0.04 * H),
             skin, label, 0.03 * H)
    sw, ww, hw = g["sw"] / 2, g["ww"] / 2, g["hw"] / 2
    torso = [(cx - sw * 0.8, g["shoulder"] - 0.01 * H), (cx - sw, g["shoulder"] + 0.02 * H),
             (cx - sw * 0.9, g["shoulder"] + 0.1 * H), (cx - ww, g["waist"]), (cx - hw, g["hip"]),
             (cx - hw * 0.95, g["crotch"]), (cx + hw * 0.95, g["crotch"]), (cx + hw, g["hip"]),
             (cx + ww, g["waist"]), (cx + sw * 0.9, g["shoulder"] + 0.1 * H),
             (cx + sw, g["shoulder"] + 0.02 * H), (cx + sw * 0.8, g["shoulder"] - 0.01 * H)]
    fill(canvas, owner, _poly(shape, torso), outfit, label, 0.06 * H, 0.02, rng)
    neck_w = max(0.07 * H, g["head_w"] * 0.42)
    neck = [(cx - neck_w / 2, g["chin"] - 0.05 * H), (cx + neck_w / 2, g["chin"] - 0.05 * H),
            (cx + neck_w / 2, g["shoulder"] + 0.005 * H), (cx - neck_w / 2, g["shoulder"] + 0.005 * H)]
    fill(canvas, owner, _poly(shape, neck), skin * 0.92, label, neck_w / 2)
    _draw_head(canvas, owner, p, g, label)
    return g


def _draw_head(canvas, owner, p, g, label) -> None:
    """Paste the re-toned astronaut head (face + hair) at the planned size."""
    asset = face_asset()
    rgb = retone_head(p["mst"]).astype(np.float32) / 255.0
    alpha = asset["head"]
    if p["face_flip"]:
        rgb, alpha = rgb[:, ::-1], alpha[:, ::-1]
    hx, top, hw, hh = g["head"]
    size = (round(hw), round(hh))
    rgb = cv2.resize(np.ascontiguousarray(rgb), size, interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(np.ascontiguousarray(alpha), size, interpolation=cv2.INTER_AREA)
    paste(canvas, owner, rgb, alpha, round(hx), round(top), label)


def wear(canvas: np.ndarray, owner: np.ndarray, g: dict, cut: Cutout, label: int,
         side: int = 1) -> None:
    """Composite a product cut-out onto the body ``g`` (see the module docstring).

    ``side`` picks the foot for shoes (-1 left, mirrored; +1 right).
    """
    cat = cut.record["category"]
    ax1, ay1, ax2, ay2 = cut.anchor
    aw = max(ax2 - ax1, 1.0)
    H, cx = g["H"], g["cx"]
    if cat in ("top", "dress"):
        s = g["sw"] * 1.04 / aw
        top_y = g["shoulder"] - 0.015 * H
        sy = s if cat == "dress" else min(s, (g["hip"] - 0.01 * H - top_y) / max(ay2 - ay1, 1.0))
        rgb, alpha = scaled(cut, s, sy)
        x, y = cx - (ax1 + aw / 2) * s, top_y - ay1 * sy
    elif cat == "trousers":
        sx, sy = g["hw"] * 1.1 / aw, (g["ankle"] - g["waist"] + 6) / (0.74 * cut.record["render"]["size"])
        rgb, alpha = scaled(cut, sx, sy)
        x, y = cx - (ax1 + aw / 2) * sx, g["waist"] - ay1 * sy
    elif cat == "skirt":
        s = g["ww"] * 1.2 / aw
        rgb, alpha = scaled(cut, s)
        x, y = cx - (ax1 + aw / 2) * s, g["waist"] - 0.01 * H - ay1 * s
    elif cat == "shoe":
        w = cut.alpha.shape[1]
        s = 0.15 * H / w
        rgb, alpha = scaled(cut, s)
        if cut.record["render"]["pose"]["flip"] != (side < 0):
            rgb, alpha = rgb[:, ::-1], alpha[:, ::-1]
        hip_x = cx + side * g["hw"] * 0.26
        x = hip_x + side * 0.03 * H - alpha.shape[1] / 2
        y = g["foot"] - alpha.shape[0]
    else:
        raise ValueError(f"category {cat!r} cannot be worn (wearable: {', '.join(WEARABLE)})")
    paste(canvas, owner, np.ascontiguousarray(rgb), np.ascontiguousarray(alpha),
          round(x), round(y), label)

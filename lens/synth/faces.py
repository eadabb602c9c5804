"""A real, detectable face for the synthetic people: the astronaut, re-toned.

``skimage.data.astronaut()`` (512 x 512 RGB, shipped inside scikit-image) has
one frontal face.  :func:`face_asset` runs mediapipe's face mesh on it once per
process (cached) and cuts out the head (face and hair) with two masks:

* ``skin``: the face-mesh face oval minus eyes and lips (feathered; brows are
  re-toned with the skin so they stay darker than it),
  the only pixels that :func:`retone_head` changes;
* ``head``: face oval plus hair, the cut-out composited into scenes.

:func:`retone_head` moves the skin's CIELAB mean onto a Monk Skin Tone colour:
``L' = L_t + (L - L_mean) * k`` with ``k = max(L_t / L_mean, 0.9)`` (the
shading is kept and never flattened below 90 % of the photo's own contrast,
so dark faces keep their structure), ``a' = a + (a_t - a_mean)``,
``b' = b + (b_t - b_mean)``.  Eyes, lips, hair and background keep their own
colours (darkening them too makes detectors miss MST-8..10 faces entirely).
Even so, mediapipe's full-range detector needs dark faces large: see
:mod:`lens.synth.cast` for the face sizes the scenes use.
"""
from __future__ import annotations

import functools
import logging

import cv2
import numpy as np
from skimage import data

import lens.console  # noqa: F401 -- before mediapipe loads: quiets its native logs
from lens.palette import MST_HEX, hex_to_rgb

log = logging.getLogger(__name__)

_ASSET: dict | None = None   # set by face_asset() or install_face_asset() (workers)


def _loop(edges) -> list[int]:
    """Order a face-mesh connection set (pairs of landmark ids) into a closed loop."""
    nxt: dict[int, list[int]] = {}
    for a, b in edges:
        nxt.setdefault(a, []).append(b)
        nxt.setdefault(b, []).append(a)
    start = min(nxt)
    loop, prev, cur = [start], None, start
    while True:
        options = [n for n in nxt[cur] if n != prev]
        if not options or options[0] == start:
            break
        prev, cur = cur, options[0]
        loop.append(cur)
        if len(loop) > len(nxt):
            break
    return loop


def _fill(shape: tuple[int, int], points: np.ndarray) -> np.ndarray:
    """Filled polygon mask (uint8 0/255) of ``points`` (N x 2, pixel x,y)."""
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(points * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
    return mask


def _landmarks(rgb: np.ndarray) -> np.ndarray:
    """478 face-mesh landmarks of the one face in ``rgb`` as pixel (x, y), shape (478, 2)."""
    import mediapipe as mp  # heavy: imported only where the mesh is computed
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True,
                                         max_num_faces=1) as mesh:
        result = mesh.process(rgb)
    if not result.multi_face_landmarks:
        raise ValueError("face mesh found no face in the astronaut image")
    h, w = rgb.shape[:2]
    pts = np.array([(p.x * w, p.y * h) for p in result.multi_face_landmarks[0].landmark])
    return np.round(pts * 16) / 16          # 1/16 px: the drawing precision; hides float jitter


def _feature_masks(shape, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(face oval mask, eyes+brows+lips mask), both uint8 0/255 of ``shape``."""
    import mediapipe as mp  # deferred: ~3 s; `lens --help` imports lens.synth, synth workers never need it
    fm = mp.solutions.face_mesh
    oval = _fill(shape, pts[_loop(fm.FACEMESH_FACE_OVAL)])
    feats = np.zeros(shape, np.uint8)
    for edges in (fm.FACEMESH_LEFT_EYE, fm.FACEMESH_RIGHT_EYE):
        feats = np.maximum(feats, _fill(shape, pts[_loop(edges)]))
    ids = sorted({i for e in fm.FACEMESH_LIPS for i in e})
    hull = cv2.convexHull(pts[ids].astype(np.float32))[:, 0, :]
    feats = np.maximum(feats, _fill(shape, hull))
    face_h = pts[:, 1].max() - pts[:, 1].min()
    k = max(3, int(face_h * 0.03)) | 1
    feats = cv2.dilate(feats, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    return oval, feats


def _hair_mask(rgb: np.ndarray, oval: np.ndarray, chin_y: int) -> np.ndarray:
    """Hair around the face: saturated, not-too-bright pixels connected to the face (0/255)."""
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    sat, val = hsv[..., 1].astype(np.float32) / 255, hsv[..., 2].astype(np.float32) / 255
    hair = ((sat > 0.22) & (val < 0.9) & (val > 0.08)).astype(np.uint8) * 255
    hair[int(chin_y * 0.86):] = 0          # nothing below the jaw line: no collar, no suit
    hair = cv2.morphologyEx(hair, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
    seed = cv2.dilate(oval, np.ones((9, 9), np.uint8))
    _, labels = cv2.connectedComponents(np.maximum(hair, oval))
    keep = np.unique(labels[(seed > 0) & (labels > 0)])
    out = np.isin(labels, keep).astype(np.uint8) * 255
    contours, _ = cv2.findContours(out, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(out)
    cv2.drawContours(filled, contours, -1, 255, -1)
    return cv2.morphologyEx(filled, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))


def compute_face_asset() -> dict:
    """Run the face mesh on the astronaut and cut out the head.

    Returns ``{"rgb": h x w x 3 uint8, "skin": h x w float32 0..1, "head": h x w
    float32 0..1, "face_box": [x1, y1, x2, y2] of the face oval in the crop}``.
    """
    img = np.ascontiguousarray(data.astronaut()[..., :3])
    pts = _landmarks(img)
    oval, feats = _feature_masks(img.shape[:2], pts)
    x1, y1 = pts.min(0)
    x2, y2 = pts.max(0)
    fw, fh = x2 - x1, y2 - y1
    cx1, cy1 = int(max(0, x1 - 0.45 * fw)), int(max(0, y1 - 0.65 * fh))
    cx2, cy2 = int(min(512, x2 + 0.45 * fw)), int(min(512, y2 + 0.04 * fh))
    hair = _hair_mask(img, oval, int(y2))
    grown = cv2.dilate(oval, np.ones((7, 7), np.uint8))
    skin = cv2.subtract(grown, np.maximum(feats, hair * (oval == 0)))
    skin = cv2.GaussianBlur(skin.astype(np.float32) / 255, (0, 0), 1.5)
    head = cv2.GaussianBlur(np.maximum(oval, hair).astype(np.float32) / 255, (0, 0), 1.2)
    crop = (slice(cy1, cy2), slice(cx1, cx2))
    return {"rgb": img[crop].copy(), "skin": skin[crop].astype(np.float32),
            "head": head[crop].astype(np.float32),
            "face_box": [float(x1 - cx1), float(y1 - cy1), float(x2 - cx1), float(y2 - cy1)]}


def face_asset() -> dict:
    """The cached head cut-out (see :func:`compute_face_asset`), computed once per process."""
    global _ASSET
    if _ASSET is None:
        _ASSET = compute_face_asset()
        log.debug("face asset computed: crop %s", _ASSET["rgb"].shape)
    return _ASSET


def install_face_asset(asset: dict | None) -> None:
    """Install a face asset computed elsewhere (worker initializer: no mediapipe in workers)."""
    global _ASSET
    if asset is not None:
        _ASSET = asset


def mst_lab(mst: int) -> np.ndarray:
    """CIELAB (L 0..100, a, b) of a Monk Skin Tone value 1..10, shape (3,)."""
    rgb = np.array(hex_to_rgb(MST_HEX[mst - 1]), np.float32)[None, None] / 255.0
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)[0, 0]


@functools.lru_cache(maxsize=16)
def retone_head(mst: int) -> np.ndarray:
    """The astronaut head crop with its skin moved to MST ``mst``: h x w x 3 uint8 RGB."""
    if not 1 <= int(mst) <= 10:
        raise ValueError(f"MST value {mst!r}: expected an integer 1-10")
    asset = face_asset()
    lab = cv2.cvtColor(asset["rgb"].astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    w = asset["skin"]
    core = w > 0.9
    # The mean that becomes the MST colour is taken over the skin's own colour
    # cluster (the gate of lens.evaluation.skin_tone: weighted Lab distance
    # to the median < 12), not the shadowed jaw and hairline too: with those the
    # lit skin came out 3-4 L* above its swatch at MST 4-5, where the re-toned
    # photos read 0.6-1.4 above (measured, issue 3).
    median = np.median(lab[core], axis=0)
    gated = core & (np.linalg.norm((lab - median) * np.array([0.3, 1.0, 1.0], np.float32), axis=2) < 12.0)
    mean = lab[gated if gated.sum() >= 100 else core].mean(0)
    target = mst_lab(int(mst))
    k = max(target[0] / mean[0], 0.9)
    new = lab.copy()
    new[..., 0] = target[0] + (lab[..., 0] - mean[0]) * k
    new[..., 1:] = lab[..., 1:] + (target[1:] - mean[1:])
    new[..., 0] = np.clip(new[..., 0], 0, 100)
    out = cv2.cvtColor(new, cv2.COLOR_LAB2RGB)
    rgb = asset["rgb"].astype(np.float32) / 255.0
    mixed = rgb * (1 - w[..., None]) + np.clip(out, 0, 1) * w[..., None]
    return np.clip(mixed * 255 + 0.5, 0, 255).astype(np.uint8)

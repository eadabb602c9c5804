"""Faces and skin pixels for the skin tone estimator (steps 2-3 of :mod:`lens.understanding.skin`).

BlazeFace detection (full and short range), selfie segmentation for people no
face was found for, their head-crop search, and the face-mesh cheek and
forehead polygons (keypoint discs without a mesh; the mesh itself is
:mod:`detection.face_mesh`, which the people detector's head test shares).  The mediapipe graphs are
created once per process and locked, as they are not re-entrant.  Nothing
here is kept: a caller gets boxes and skin pixels, never landmarks.
"""
from __future__ import annotations

import math
import threading
from typing import ClassVar

import cv2
import numpy as np

import lens.console  # noqa: F401 -- before mediapipe loads: quiets its native logs
from detection.face_mesh import landmarks, mesh_crop
from lens.boxes import Box
from lens.types import Detection

FACE_MIN_SCORE = 0.5        # below mediapipe's own ~0.6 floor: keep every face it reports
PERSON_MIN_SHARE = 0.01     # smaller segmented "people" are not searched for a head

# mediapipe face-mesh landmark polygons (canonical 468-point topology)
FOREHEAD = [104, 69, 108, 151, 337, 299, 333, 334, 296, 336, 9, 107, 66, 105]
RIGHT_CHEEK = [116, 117, 118, 119, 100, 126, 209, 129, 203, 206, 216, 212, 214, 192, 213, 147, 123]
LEFT_CHEEK = [345, 346, 347, 348, 329, 355, 429, 358, 423, 426, 436, 432, 434, 416, 433, 376, 352]


class _Graphs:
    """The process's mediapipe graphs, created on first use; one lock per graph."""

    _lock = threading.Lock()
    _graphs: ClassVar[dict] = {}

    @classmethod
    def run(cls, name: str, rgb: np.ndarray):
        with cls._lock:
            if name not in cls._graphs:
                cls._graphs[name] = (cls._make(name), threading.Lock())
        graph, lock = cls._graphs[name]
        with lock:                        # mediapipe graphs are not re-entrant
            return graph.process(np.ascontiguousarray(rgb))

    @staticmethod
    def _make(name: str):
        import mediapipe as mp  # deferred: ~1-3 s; the graphs are built on a skin tone's first face
        if name in ("full", "short"):
            return mp.solutions.face_detection.FaceDetection(model_selection=int(name == "full"),
                                                             min_detection_confidence=FACE_MIN_SCORE)
        return mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=1)  # landscape: 3 ms

def detect_faces(rgb: np.ndarray, x0: int = 0, y0: int = 0, model: str = "full") -> list[Detection]:
    """BlazeFace (``"full"`` or ``"short"`` range) faces of ``rgb``, offset by (x0, y0)."""
    h, w = rgb.shape[:2]
    out = []
    for det in _Graphs.run(model, rgb).detections or []:
        rel = det.location_data.relative_bounding_box
        box = Box(rel.xmin * w, rel.ymin * h, (rel.xmin + rel.width) * w, (rel.ymin + rel.height) * h)
        box = box.clip(w, h)
        if box.width >= 8 and box.height >= 8:
            kps = {n: (p.x * w + x0, p.y * h + y0) for n, p in
                   zip(("right_eye", "left_eye", "nose_tip", "mouth"), det.location_data.relative_keypoints)}
            out.append(Detection(Box(box.x1 + x0, box.y1 + y0, box.x2 + x0, box.y2 + y0),
                                 "face", float(det.score[0]), "skin_tone", kps))
    return out


def person_probability(small: np.ndarray) -> np.ndarray:
    """Person probability (``small``'s H x W, float 0..1) from selfie segmentation; ``small`` is
    the image at most 256 px a side (the model's input)."""
    mask = _Graphs.run("segment", small).segmentation_mask
    return np.zeros(small.shape[:2], np.float32) if mask is None else mask


def people_without_faces(rgb: np.ndarray, mask: np.ndarray, faces: list[Detection]) -> list[Box]:
    """Boxes (pixels of ``rgb``) of the segmented people (``mask``: :func:`person_probability` of
    a thumbnail of ``rgb``) that no face centre falls in."""
    s = mask.shape[1] / rgb.shape[1]
    _, _, stats, _ = cv2.connectedComponentsWithStats((mask > 0.5).astype(np.uint8))
    boxes = []
    centres = [((f.box.x1 + f.box.x2) / 2, (f.box.y1 + f.box.y2) / 2) for f in faces]
    for x, y, w, h, area in stats[1:]:
        box = Box(x / s, y / s, (x + w) / s, (y + h) / s)
        if area >= PERSON_MIN_SHARE * mask.size and not any(
                box.x1 <= cx <= box.x2 and box.y1 <= cy <= box.y2 for cx, cy in centres):
            boxes.append(box)
    return boxes


def head_faces(rgb: np.ndarray, person: Box) -> list[Detection]:
    """Faces in the head crop of a person box (its top square, 20 % wider than the person).

    Short range first: a head crop is its setting, and it found large dark
    faces the full-range model missed; then full range for small ones.
    """
    h, w = rgb.shape[:2]
    side = min(person.width * 1.2, person.height)
    cx = (person.x1 + person.x2) / 2
    x1, y1, x2, y2 = Box(cx - side / 2, person.y1 - 0.05 * side, cx + side / 2,
                         person.y1 + 0.95 * side).clip(w, h).to_int()
    if min(x2 - x1, y2 - y1) < 16:
        return []
    crop = np.ascontiguousarray(rgb[y1:y2, x1:x2])
    return detect_faces(crop, x1, y1, "short") or detect_faces(crop, x1, y1, "full")


def face_pixels(rgb: np.ndarray, det: Detection) -> tuple[np.ndarray, str]:
    """(N x 3 uint8 skin pixels of one face, method): mesh polygons, else keypoint discs."""
    crop, mask, _box, method = _face_mask(rgb, det)
    return crop[mask > 0], method


def face_mask(rgb: np.ndarray, det: Detection) -> tuple[np.ndarray, str]:
    """(H x W bool over ``rgb``: the pixels :func:`face_pixels` measures, method); for the
    evaluation against true skin masks (``lens eval skin-tone --real``)."""
    crop, mask, (x1, y1, x2, y2), method = _face_mask(rgb, det)
    out = np.zeros(rgb.shape[:2], bool)
    if crop.size:
        out[y1:y2, x1:x2] = cv2.resize(mask, (x2 - x1, y2 - y1), interpolation=cv2.INTER_NEAREST) > 0
    return out, method


def _face_mask(rgb: np.ndarray, det: Detection) -> tuple[np.ndarray, np.ndarray, tuple, str]:
    """(the padded face crop of :func:`detection.face_mesh.mesh_crop`; its uint8 skin mask; the
    crop's box in ``rgb``; method)."""
    crop, (x1, y1, x2, y2) = mesh_crop(rgb, det.box)
    if not crop.size:
        return crop, np.zeros((0, 0), np.uint8), (x1, y1, x2, y2), "face_keypoints"
    s = crop.shape[1] / (x2 - x1)
    mask = np.zeros(crop.shape[:2], np.uint8)
    pts = landmarks(crop)
    if pts is not None:
        for poly in (FOREHEAD, RIGHT_CHEEK, LEFT_CHEEK):
            cv2.fillPoly(mask, [np.round(pts[poly]).astype(np.int32)], 1)
        return crop, mask, (x1, y1, x2, y2), "face_mesh"
    kp, b = det.keypoints, det.box
    rx, ry = kp.get("right_eye", (b.x1 + 0.3 * b.width, b.y1 + 0.4 * b.height))
    lx, ly = kp.get("left_eye", (b.x1 + 0.7 * b.width, b.y1 + 0.4 * b.height))
    my = kp.get("mouth", (0.0, b.y1 + 0.8 * b.height))[1]
    e, ey = max(math.hypot(lx - rx, ly - ry), 4.0), (ry + ly) / 2
    for cx, cy, r in ((rx, (ey + my) / 2, 0.22 * e), (lx, (ey + my) / 2, 0.22 * e),
                      ((rx + lx) / 2, ey - 0.6 * e, 0.25 * e)):
        cv2.circle(mask, (round((cx - x1) * s), round((cy - y1) * s)), max(1, round(r * s)), 1, -1)
    return crop, mask, (x1, y1, x2, y2), "face_keypoints"

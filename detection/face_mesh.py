"""Face mesh on a face box: mediapipe's 468 landmarks, which tell a face from a face-like thing.

BlazeFace fires on apples, peaches and carton prints; the face mesh, run on the face box padded
by ``MESH_PAD`` (downscaled to at most ``MESH_SIDE`` px and gamma-lifted when dark, for the
mesh only), finds landmarks on real faces and rarely elsewhere.  Used by the skin tone's face
checks (:mod:`lens.understanding.skin_faces`: cheek and forehead polygons) and by the people
detector's head test (:func:`detection.pose.has_head`).  One graph per process, locked (mediapipe
graphs are not re-entrant).  Landmarks are returned to the caller and never kept.

Tested in ``tests/test_people.py`` and ``tests/test_skin_tone.py``.
"""
from __future__ import annotations

import math
import threading

import cv2
import numpy as np

import lens.console  # noqa: F401 -- before mediapipe loads: quiets its native logs
from lens.boxes import Box
from lens.pixels import thumbnail

MESH_PAD = 0.5              # of the face box: the mesh's internal detector needs context around the face
MESH_SIDE = 256             # px: mesh crops are downscaled above this (the mesh runs at 192 px)
MIN_CROP = 8                # px: a smaller padded box has no face to mesh
_graph, _lock = None, threading.Lock()


def lift(rgb: np.ndarray, target: float = 0.5) -> np.ndarray:
    """Gamma-lift an image whose median grey is under ``target`` (for detectors only)."""
    grey = float(np.median(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))) / 255.0
    if grey >= target or grey <= 0.01:
        return rgb
    lut = np.clip((np.arange(256) / 255.0) ** (math.log(target) / math.log(grey)) * 255 + 0.5, 0, 255)
    return lut.astype(np.uint8)[rgb]


def mesh_crop(rgb: np.ndarray, box: Box) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """(the face ``box`` of ``rgb`` (H x W x 3 uint8) padded by ``MESH_PAD``, at most ``MESH_SIDE``
    px a side; that crop's pixel box x1, y1, x2, y2 in ``rgb``).  An empty crop when it is under
    ``MIN_CROP`` px."""
    h, w = rgb.shape[:2]
    x1, y1, x2, y2 = box.pad(MESH_PAD).clip(w, h).to_int()
    if min(x2 - x1, y2 - y1) < MIN_CROP:
        return np.zeros((0, 0, 3), np.uint8), (x1, y1, x2, y2)
    return np.ascontiguousarray(thumbnail(rgb[y1:y2, x1:x2], MESH_SIDE)), (x1, y1, x2, y2)


def landmarks(crop: np.ndarray) -> np.ndarray | None:
    """468 x 2 landmark pixels of the face in ``crop`` (a :func:`mesh_crop`), or None (no face)."""
    global _graph
    if not crop.size:
        return None
    with _lock:
        if _graph is None:
            import mediapipe as mp  # deferred: ~1-3 s; built on the first face that needs a mesh

            _graph = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1,
                                                     min_detection_confidence=0.3)
        result = _graph.process(np.ascontiguousarray(lift(crop)))
    if not result.multi_face_landmarks:
        return None
    return np.array([(p.x * crop.shape[1], p.y * crop.shape[0]) for p in result.multi_face_landmarks[0].landmark])


def confirmed(rgb: np.ndarray, box: Box) -> bool:
    """Does the face mesh find a face in the face ``box`` (pixels of ``rgb``)?"""
    return landmarks(mesh_crop(rgb, box)[0]) is not None

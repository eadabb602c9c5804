"""Faces with mediapipe's BlazeFace (bundled in the mediapipe wheel).

:class:`FaceDetector` takes an ``H x W x 3`` uint8 RGB image and returns
:class:`~detection.types.Detection` objects labelled ``face`` with pixel boxes
and six keypoints (eyes, nose tip, mouth, ear tragions).  Identity is never
computed or stored: only boxes, keypoints and scores.

Tested in ``tests/test_detection.py``.
"""
from __future__ import annotations

import logging
import threading

import numpy as np

from lens.boxes import Box
from lens.config import DetectionConfig
from lens.models import ModelStore
from detection.types import Detection

log = logging.getLogger(__name__)
KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth", "right_ear", "left_ear")


class FaceDetector:
    """mediapipe face detection; ``model`` 0 = short range, 1 = full range."""

    def __init__(self, model: int = 1, min_score: float = 0.4):
        import mediapipe as mp

        if model not in (0, 1):
            raise ValueError(f"detection.face_model {model!r}: expected 0 (short) or 1 (full range)")
        self.model, self.min_score = model, min_score
        self._mp = mp.solutions.face_detection.FaceDetection(
            model_selection=model, min_detection_confidence=min_score)
        self._lock = threading.Lock()  # mediapipe graphs are not re-entrant

    @classmethod
    def from_config(cls, config: DetectionConfig, models: ModelStore) -> "FaceDetector":
        models.resolve("face_detection_full" if config.face_model == 1 else "face_detection_short")
        return cls(config.face_model, config.face_min_score)

    def __call__(self, rgb: np.ndarray) -> list[Detection]:
        h, w = rgb.shape[:2]
        if min(h, w) < 16:
            return []
        with self._lock:
            result = self._mp.process(np.ascontiguousarray(rgb))
        out = []
        for det in result.detections or []:
            rel = det.location_data.relative_bounding_box
            box = Box(rel.xmin * w, rel.ymin * h, (rel.xmin + rel.width) * w,
                      (rel.ymin + rel.height) * h).clip(w, h)
            if box.width < 2 or box.height < 2:
                continue
            kps = {name: (p.x * w, p.y * h)
                   for name, p in zip(KEYPOINTS, det.location_data.relative_keypoints)}
            out.append(Detection(box, "face", float(det.score[0]), "faces", kps))
        return out

    def close(self) -> None:
        self._mp.close()

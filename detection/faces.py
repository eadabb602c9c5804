"""Faces with mediapipe's BlazeFace (bundled in the mediapipe wheel).

:class:`FaceDetector` takes an ``H x W x 3`` uint8 RGB image and returns
:class:`~lens.types.Detection` objects labelled ``face`` with pixel boxes
and six keypoints (eyes, nose tip, mouth, ear tragions).  It runs the short
range model (faces within ~2 m: close-ups and selfies), the full range model
(~5 m: the small faces of people in scenes) or both, merged with NMS, keeping
the higher-scoring box; ``source`` says which model found it
(``faces.short`` / ``faces.full``).  Identity is never computed or stored:
only boxes, keypoints and scores.

Tested in ``tests/test_detection.py``.
"""
from __future__ import annotations

import logging
import threading

import numpy as np

import lens.console  # noqa: F401 -- before mediapipe loads: quiets its native logs
from lens.boxes import Box
from lens.config import DetectionConfig
from lens.models import ModelStore
from lens.types import Detection

log = logging.getLogger(__name__)
KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth", "right_ear", "left_ear")


MODELS = {"short": 0, "full": 1}       # mediapipe's model_selection values
MERGE_IOU = 0.5                         # the two models' boxes of one face overlap >= 0.5


class FaceDetector:
    """mediapipe face detection with the ``short`` and/or ``full`` range model."""

    finds_faces = True      # the detection pipeline hands its faces to detectors that take them

    def __init__(self, models: tuple[str, ...] = ("short", "full"), min_score: float = 0.4):
        # deferred: mediapipe takes ~3 s to import; the pipeline imports this module even with faces off
        import mediapipe as mp

        unknown = [m for m in models if m not in MODELS]
        if unknown or not models:
            raise ValueError(f"detection.face_models {unknown or list(models)!r}: "
                             f"expected short, full or both")
        self.models, self.min_score = tuple(models), min_score
        self._graphs = {m: mp.solutions.face_detection.FaceDetection(
            model_selection=MODELS[m], min_detection_confidence=min_score) for m in self.models}
        self._lock = threading.Lock()  # mediapipe graphs are not re-entrant

    @classmethod
    def from_config(cls, config: DetectionConfig, models: ModelStore) -> "FaceDetector":
        names = ("short", "full") if config.face_models == "both" else (config.face_models,)
        for name in names:
            if name in MODELS:
                models.resolve(f"face_detection_{name}")
        return cls(names, config.face_min_score)

    def __call__(self, rgb: np.ndarray) -> list[Detection]:
        """``rgb``: H x W x 3 uint8.  Faces from every model, merged (higher score wins)."""
        h, w = rgb.shape[:2]
        if min(h, w) < 16:
            return []
        found: list[Detection] = []
        for name, graph in self._graphs.items():
            with self._lock:
                result = graph.process(np.ascontiguousarray(rgb))
            found.extend(self._detection(det, w, h, name) for det in result.detections or [])
        kept: list[Detection] = []
        for det in sorted((d for d in found if d is not None), key=lambda d: -d.score):
            if all(det.box.iou(k.box) < MERGE_IOU for k in kept):
                kept.append(det)
        return kept

    @staticmethod
    def _detection(det, w: int, h: int, model: str) -> Detection | None:
        rel = det.location_data.relative_bounding_box
        box = Box(rel.xmin * w, rel.ymin * h, (rel.xmin + rel.width) * w,
                  (rel.ymin + rel.height) * h).clip(w, h)
        if box.width < 2 or box.height < 2:
            return None
        kps = {name: (p.x * w, p.y * h) for name, p in zip(KEYPOINTS, det.location_data.relative_keypoints)}
        return Detection(box, "face", float(det.score[0]), f"faces.{model}", kps)

    def close(self) -> None:
        for graph in self._graphs.values():
            graph.close()

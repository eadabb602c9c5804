"""The detection stage: every configured detector, merged into one list.

:class:`DetectionPipeline` runs the face detector and the region proposer
(and, from issue 4, Faster R-CNN), then removes near-duplicates across
detectors of the same label (IoU above ``NMS_IOU``).

Tested in ``tests/test_detection.py``.
"""
from __future__ import annotations

import logging
from typing import Callable

import numpy as np

from lens.config import DetectionConfig
from lens.models import ModelStore
from detection.types import Detection

log = logging.getLogger(__name__)
NMS_IOU = 0.6   # two boxes of one label overlapping this much are the same object


def merge(detections: list[Detection], iou: float = NMS_IOU) -> list[Detection]:
    """Greedy class-aware NMS across detectors: keep the higher score."""
    kept: list[Detection] = []
    for det in sorted(detections, key=lambda d: -d.score):
        if all(k.label != det.label or k.box.iou(det.box) < iou for k in kept):
            kept.append(det)
    return kept


class DetectionPipeline:
    """Runs detectors on an ``H x W x 3`` uint8 RGB image; see the module docstring."""

    def __init__(self, detectors: list[Callable[[np.ndarray], list[Detection]]]):
        self.detectors = detectors

    @classmethod
    def from_config(cls, config: DetectionConfig, models: ModelStore) -> "DetectionPipeline":
        from detection.faces import FaceDetector
        from detection.regions import RegionProposer

        detectors: list = []
        if config.faces:
            detectors.append(FaceDetector.from_config(config, models))
        if config.regions:
            detectors.append(RegionProposer.from_config(config))
        return cls(detectors)

    def __call__(self, rgb: np.ndarray) -> list[Detection]:
        found: list[Detection] = []
        for detector in self.detectors:
            found.extend(detector(rgb))
        return merge(found)

"""The detection stage: every configured detector, merged into one list.

:class:`DetectionPipeline` runs, on an ``H x W x 3`` uint8 RGB image:

* Faster R-CNN (:mod:`detection.rcnn`): COCO objects with COCO weights, the
  catalog's own classes with a checkpoint from ``lens train-detector``, or both
  (``auto`` with both on disk); off when neither is (``auto`` says so once);
* faces (:mod:`detection.faces`): mediapipe short and full range, ``face``
  with keypoints;
* people and garments (:mod:`detection.people`): ``person``, ``upper_body``,
  ``lower_body``, ``footwear`` from segmentation and pose, given the faces
  found before it (a pose with no face and no head cut by the frame is no person);
* foreground regions (:mod:`detection.regions`): objects on plain backgrounds.

and removes near-duplicates of one label across detectors (greedy NMS at
``NMS_IOU``, higher score wins).  The Faster R-CNNs need nothing from the others, so they run
on a second thread beside them where the process has two cores
(:func:`lens.threads.side_by_side`; a CCP street photo's detection 80 -> 64 ms median on 2 cores).  Crops de-duplicate across labels too
(:mod:`detection.crops`).  Boxes are pixel (x1, y1, x2, y2).

Tested in ``tests/test_detection.py`` and ``tests/test_people.py``.
"""
from __future__ import annotations

import logging
from typing import Callable

import numpy as np

from detection.faces import FaceDetector
from detection.people import PeopleDetector
from detection.pose import PeopleGraphs
from detection.regions import RegionProposer
from lens.config import DetectionConfig
from lens.models import ModelStore
from lens.threads import side_by_side
from lens.types import Detection

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
    def from_config(cls, config: DetectionConfig, models: ModelStore,
                    people_graphs: PeopleGraphs | None = None) -> "DetectionPipeline":
        """``people_graphs``: mediapipe's, shared with body type (the model bundle's)."""
        # deferred: torch takes seconds; lens.pipeline imports this module but builds detectors on first use
        from detection.rcnn import ObjectDetector

        detectors: list = ObjectDetector.all_from_config(config, models)
        if config.faces:
            detectors.append(FaceDetector.from_config(config, models))
        if config.people:
            detectors.append(PeopleDetector.from_config(config, models, people_graphs))
        if config.regions:
            detectors.append(RegionProposer.from_config(config))
        return cls(detectors)

    @property
    def names(self) -> list[str]:
        return [type(d).__name__ for d in self.detectors]

    def __call__(self, rgb: np.ndarray) -> list[Detection]:
        """Every detector's detections, merged; the Faster R-CNNs run beside the rest
        (:func:`lens.threads.side_by_side`): nothing of theirs depends on the others."""
        alone = [d for d in self.detectors if getattr(d, "runs_alone", False)]
        rest = [d for d in self.detectors if not getattr(d, "runs_alone", False)]
        mine, others = side_by_side(lambda: self._run(alone, rgb), lambda: self._run(rest, rgb))
        return merge(mine + others)

    @staticmethod
    def _run(detectors: list, rgb: np.ndarray) -> list[Detection]:
        found: list[Detection] = []
        faces = any(getattr(d, "finds_faces", False) for d in detectors)   # built before the others
        for detector in detectors:
            if faces and getattr(detector, "takes_faces", False):   # e.g. people: a person needs a head
                found.extend(detector(rgb, faces=[d for d in found if d.label == "face"]))
            else:
                found.extend(detector(rgb))
        return found

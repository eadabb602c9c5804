"""Crops: the detected objects the object index and the object search see.

:func:`make_crops` turns detections of one image (pixel x1, y1, x2, y2; see
:mod:`lens.boxes`) into :class:`Crop` records: faces and whole people are
left out (no identity data is ever embedded: a person's garments are cropped
instead), boxes smaller than ``min_side`` or thinner than ``max_aspect`` are
dropped, overlapping boxes from different detectors are de-duplicated
(class-agnostic NMS at ``iou``, the higher score wins: a COCO ``handbag`` and
a foreground region around the same bag are one crop), and each kept box is
padded by ``pad`` of its size on every side (context helps the embedder),
clipped to the image.  Every crop keeps its parent image id and both boxes.

Tested in ``tests/test_crops.py``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lens.boxes import Box
from lens.types import Crop, Detection

NOT_CROPPED = frozenset({"face", "person"})   # identity-bearing: never embedded or indexed


@dataclass(frozen=True)
class CropLimits:
    pad: float = 0.08           # context on each side (see DetectionConfig)
    min_side: int = 16          # shorter sides embed to noise (see DetectionConfig)
    max_aspect: float = 6.0     # thinner strips are not searchable objects
    iou: float = 0.7            # cross-detector duplicates
    max_crops: int = 12         # per image: hotspots stay readable, indexing stays bounded

    @classmethod
    def from_config(cls, config) -> "CropLimits":
        """From a :class:`lens.config.DetectionConfig`."""
        return cls(config.crop_pad, config.crop_min_side, config.crop_max_aspect,
                   config.cross_source_iou, max(1, config.max_detections))


def _usable(box: Box, limits: CropLimits) -> bool:
    short, long = sorted((box.width, box.height))
    return short >= limits.min_side and long <= limits.max_aspect * short


def make_crops(detections: list[Detection], width: int, height: int,
               limits: CropLimits = CropLimits(), parent_id: str | None = None) -> list[Crop]:
    """Crops of one ``width`` x ``height`` image, highest score first; see the module docstring."""
    if width < 1 or height < 1:
        raise ValueError(f"make_crops: image size {width}x{height} must be positive")
    kept: list[Detection] = []
    for det in sorted(detections, key=lambda d: -d.score):
        box = det.box.clip(width, height)
        if det.label in NOT_CROPPED or not _usable(box, limits):
            continue
        if all(box.iou(k.box) < limits.iou for k in kept):
            kept.append(Detection(box, det.label, det.score, det.source))
    return [Crop(parent_id, d.box.pad(limits.pad).clip(width, height), d.box, d.label, d.score, d.source)
            for d in kept[:limits.max_crops]]


def crop_pixels(rgb: np.ndarray, crop: Crop | Box) -> np.ndarray:
    """The ``H' x W' x 3`` pixels of a crop (or box) of ``rgb``, rounded outwards."""
    box = crop.box if isinstance(crop, Crop) else crop
    x1, y1, x2, y2 = box.clip(rgb.shape[1], rgb.shape[0]).to_int()
    return rgb[y1:y2, x1:x2]

"""Foreground regions: objects standing out from a uniform background.

A classical proposal stage for product-style photos: estimate the background
colour from the image border (when the border is uniform), mark pixels that
differ from it in CIELAB, close small gaps, and return one region per
connected component larger than ``min_fraction`` of the image.  On busy
backgrounds it returns nothing (the border is not uniform); the Faster R-CNN
detector (issue 4) covers those.

Tested in ``tests/test_detection.py``.
"""
from __future__ import annotations

import cv2
import numpy as np

from lens.boxes import Box
from lens.config import DetectionConfig
from lens.pixels import foreground_mask, rgb2lab
from lens.types import Detection

WORK_SIDE = 256   # proposals on a 256-px thumbnail: boxes are scaled back


class RegionProposer:
    """Connected foreground components on a uniform background."""

    def __init__(self, min_fraction: float = 0.01, max_regions: int = 8):
        self.min_fraction, self.max_regions = min_fraction, max_regions

    @classmethod
    def from_config(cls, config: DetectionConfig) -> "RegionProposer":
        return cls(config.min_region_fraction, config.max_regions)

    def __call__(self, rgb: np.ndarray) -> list[Detection]:
        h, w = rgb.shape[:2]
        if min(h, w) < 16:
            return []
        scale = min(1.0, WORK_SIDE / max(h, w))
        small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
                           interpolation=cv2.INTER_AREA) if scale < 1 else rgb
        mask = foreground_mask(rgb2lab(small))
        if mask is None:
            return []
        mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        area_min = self.min_fraction * mask.size
        out = []
        for x, y, bw, bh, area in stats[1:count]:
            if area < area_min:
                continue
            box = Box(x / scale, y / scale, (x + bw) / scale, (y + bh) / scale).clip(w, h)
            out.append(Detection(box, "object", float(min(1.0, area / (bw * bh))), "regions"))
        out.sort(key=lambda d: -d.box.area)
        return out[:self.max_regions]

"""The project's one box convention.

A box is ``(x1, y1, x2, y2)`` in **pixel** coordinates of the image it belongs
to: ``x`` grows to the right, ``y`` grows downwards, ``(x1, y1)`` is the
top-left corner and ``(x2, y2)`` the bottom-right corner, exclusive, so the
box covers ``image[y1:y2, x1:x2]`` and its width is ``x2 - x1``.  Coordinates
are floats; crops round outwards.  Every module (detectors, crops, the index,
the API, the UI) uses this convention and converts at its edges.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np


@dataclass(frozen=True)
class Box:
    """A pixel box ``(x1, y1, x2, y2)``; see the module docstring."""

    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)

    def as_list(self) -> list[float]:
        return [round(float(v), 2) for v in (self.x1, self.y1, self.x2, self.y2)]

    def clip(self, width: int, height: int) -> "Box":
        """The part of the box inside a ``width`` x ``height`` image."""
        return Box(min(max(self.x1, 0.0), width), min(max(self.y1, 0.0), height),
                   min(max(self.x2, 0.0), width), min(max(self.y2, 0.0), height))

    def pad(self, fraction: float) -> "Box":
        """Grow each side by ``fraction`` of the box's own width/height."""
        dx, dy = self.width * fraction, self.height * fraction
        return Box(self.x1 - dx, self.y1 - dy, self.x2 + dx, self.y2 + dy)

    def scale(self, factor: float) -> "Box":
        """The same box in an image resized by ``factor``."""
        return Box(self.x1 * factor, self.y1 * factor, self.x2 * factor, self.y2 * factor)

    def to_int(self) -> tuple[int, int, int, int]:
        """Integer slice bounds, rounded outwards."""
        return (int(np.floor(self.x1)), int(np.floor(self.y1)),
                int(np.ceil(self.x2)), int(np.ceil(self.y2)))

    def intersection(self, other: "Box") -> float:
        ix = max(0.0, min(self.x2, other.x2) - max(self.x1, other.x1))
        iy = max(0.0, min(self.y2, other.y2) - max(self.y1, other.y1))
        return ix * iy

    def iou(self, other: "Box") -> float:
        inter = self.intersection(other)
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def overlap(self, other: "Box") -> float:
        """Intersection over the smaller box's area: 1.0 when one box lies inside the other."""
        smaller = min(self.area, other.area)
        return self.intersection(other) / smaller if smaller > 0 else 0.0


def make_box(values: Sequence[float], image_size: tuple[int, int] | None = None,
             name: str = "box") -> Box:
    """Validate ``values`` as a box and return it.

    ``image_size`` is ``(width, height)``; when given, the box must overlap the
    image and is clipped to it.  Raises ``ValueError`` naming the box when it
    has the wrong length, is not finite, is degenerate (zero or negative width
    or height) or lies outside the image.
    """
    try:
        coords = [float(v) for v in values]
    except (TypeError, ValueError):
        raise ValueError(f"{name} {values!r}: expected 4 numbers x1,y1,x2,y2") from None
    if len(coords) != 4:
        raise ValueError(f"{name} {values!r}: expected 4 numbers x1,y1,x2,y2, got {len(coords)}")
    if not all(np.isfinite(coords)):
        raise ValueError(f"{name} {coords}: coordinates must be finite")
    box = Box(*coords)
    if box.width <= 0 or box.height <= 0:
        raise ValueError(f"{name} {box.as_list()}: degenerate, needs x2 > x1 and y2 > y1")
    if image_size is not None:
        w, h = image_size
        clipped = box.clip(w, h)
        if clipped.width < 1 or clipped.height < 1:
            raise ValueError(f"{name} {box.as_list()}: outside the {w}x{h} image")
        box = clipped
    return box


def parse_box(text: str, image_size: tuple[int, int] | None = None) -> Box:
    """Parse ``"x1,y1,x2,y2"`` (the CLI and API form) into a validated box."""
    parts = [p for p in str(text).replace(" ", "").split(",") if p != ""]
    return make_box(parts, image_size, name=f"box '{text}'")


def boxes_array(boxes: Iterable[Box]) -> np.ndarray:
    """Stack boxes into a float32 array of shape (N, 4) in this convention."""
    rows = [(b.x1, b.y1, b.x2, b.y2) for b in boxes]
    return np.asarray(rows, dtype=np.float32).reshape(-1, 4)

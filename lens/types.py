"""The types every stage shares, beside the box convention (:mod:`lens.boxes`).

* :class:`Detection`: one detected region (every detector returns these);
* :class:`Crop`: one object crop of an image (what the object index and the
  object search see; :func:`detection.crops.make_crops` makes them);
* :class:`Filters`: what a search may return (category, colour, skin tone
  range, body type range; OR within a field, AND across);
* :class:`SourceQuery` and :class:`Candidate`: what a retrieval source is asked
  and what it answers; :class:`CatalogSource` is the interface every source
  implements (:mod:`blender.sources` registers them);
* :class:`LensResult`: one lens query's answer.

Every box here is a :class:`lens.boxes.Box`: pixel x1, y1, x2, y2 of the
image it belongs to.  Nothing here imports a model or a framework.

Tested in ``tests/test_boxes.py``, ``tests/test_filters.py`` and through
every stage that passes these along.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections import defaultdict
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from lens.boxes import Box
from lens.palette import NAMED_COLORS

RANGES = (1, 2, 3, 4)       # skin tone and body type ranges (lens/palette.py)


# What made a region: the Faster R-CNN, face detection, pose/segmentation people and garments,
# the region proposer, or a user's box (lens label-crops' labeling.box_sources names these).
CROP_SOURCES = ("rcnn", "faces", "people", "regions", "user")


@dataclass
class Detection:
    """One detected region.

    ``box`` is pixel ``(x1, y1, x2, y2)`` (see :mod:`lens.boxes`); ``score``
    is in 0..1; ``source`` names the detector (``faces``, ``regions``, ...);
    ``keypoints`` are pixel ``(x, y)`` pairs by name where the detector has them.
    """

    box: Box
    label: str
    score: float
    source: str
    keypoints: dict[str, tuple[float, float]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = {"box": self.box.as_list(), "label": self.label,
               "score": round(float(self.score), 4), "source": self.source}
        if self.keypoints:
            out["keypoints"] = {k: [round(x, 1), round(y, 1)] for k, (x, y) in self.keypoints.items()}
        return out


@dataclass(frozen=True)
class Crop:
    """One object crop: ``box`` (padded, what is embedded) and ``detection_box`` in parent pixels."""

    parent_id: str | None
    box: Box
    detection_box: Box
    label: str
    score: float
    source: str

    def to_dict(self) -> dict:
        return {"parent_id": self.parent_id, "box": self.box.as_list(),
                "detection_box": self.detection_box.as_list(), "label": self.label,
                "score": round(float(self.score), 4), "source": self.source}


@dataclass(frozen=True)
class Filters:
    category: frozenset[str] = field(default_factory=frozenset)
    color: frozenset[str] = field(default_factory=frozenset)
    skin_tone_range: frozenset[int] = field(default_factory=frozenset)
    body_type_range: frozenset[int] = field(default_factory=frozenset)

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def to_dict(self) -> dict:
        return {f.name: sorted(getattr(self, f.name)) for f in fields(self) if getattr(self, f.name)}

    @classmethod
    def parse(cls, data: dict | None) -> "Filters":
        """From ``{"category": "dress" | [...], "color": ..., "skin_tone_range": 2 | [...], ...}``."""
        if not data:
            return cls()
        if not isinstance(data, dict):
            raise ValueError(f"filters: expected an object of field -> value(s), got {type(data).__name__}")
        names = [f.name for f in fields(cls)]
        values = {}
        for key, raw in data.items():
            if key not in names:
                raise ValueError(f"filters.{key}: unknown filter (valid: {', '.join(names)})")
            items = raw if isinstance(raw, (list, tuple)) else [raw]
            values[key] = frozenset(_value(key, v) for v in items)
        return cls(**values)

    @classmethod
    def from_pairs(cls, pairs: list[str]) -> "Filters":
        """From CLI ``key=value`` strings (repeatable; comma-separated values)."""
        data: dict[str, list] = defaultdict(list)
        for pair in pairs:
            key, sep, value = pair.partition("=")
            if not sep or not value:
                raise ValueError(f"filter '{pair}': expected key=value, e.g. color=red")
            data[key.strip()].extend(v.strip() for v in value.split(","))
        return cls.parse(dict(data))


def _value(key: str, value) -> str | int:
    if key.endswith("_range"):
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = None
        if number not in RANGES or isinstance(value, bool):
            raise ValueError(f"filters.{key}: {value!r} is not a range (valid: 1, 2, 3, 4)")
        return number
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"filters.{key}: {value!r} must be a non-empty string")
    value = value.strip().lower()
    if key == "color" and value not in NAMED_COLORS:
        raise ValueError(f"filters.color: '{value}' is not a palette colour "
                         f"(valid: {', '.join(sorted(NAMED_COLORS))})")
    return value


@dataclass
class Candidate:
    item_id: str
    score: float                       # the source's raw score (what calibration maps to 0..1)
    source: str
    provenance: dict = field(default_factory=dict)
    # how surely the evidence belongs to the item, 0..1: the blend multiplies the calibrated score
    # by it (the object source: its matched crop's detection score)
    weight: float = 1.0


@dataclass
class SourceQuery:
    """What a source may use: the query vector and the query box (if any)."""

    vector: np.ndarray                 # (dim,) unit vector of the image or box crop
    box: list[float] | None = None     # pixel x1, y1, x2, y2 of the user's box
    # the query image's object crops: (unit vector (dim,), pixel box, label); empty with a box
    crops: list[tuple[np.ndarray, list[float], str]] = field(default_factory=list)
    text: str | None = None            # the user's words for the text source (else: annotations)
    annotations: list[dict] = field(default_factory=list)   # the query image's {"text", "kind", "score"}
    # the photo is itself one object (a product on a backdrop): the object source then also
    # probes the catalog's crops with the whole image (blender/objects.py)
    one_object: bool = True


class CatalogSource(ABC):
    """A source over one catalog: subclasses set ``name`` and define ``search``."""

    name = ""

    def __init__(self, catalog):
        self.catalog = catalog

    @classmethod
    def from_catalog(cls, catalog):
        return cls(catalog)

    @abstractmethod
    def search(self, query: SourceQuery, k: int, allowed: set[str] | None = None) -> list[Candidate]:
        """Up to ``k`` candidates, best first, restricted to ``allowed`` ids when given."""



@dataclass
class LensResult:
    """One lens query's answer (``POST /api/v1/lens``'s body; boxes in original pixels)."""

    image: dict
    regions: list[dict]
    understanding: dict
    results: list[dict]
    query_box: list[float] | None = None
    sources: list[str] = field(default_factory=list)
    timings_ms: dict = field(default_factory=dict)
    filters: dict = field(default_factory=dict)
    blend: dict = field(default_factory=dict)       # ratios, the rule that chose them, its reason, diversity
    embedder: dict = field(default_factory=dict)    # what made the vectors: Embedder.settings() (name, checkpoint)
    complete: dict | None = None    # Complete The Look, when asked: items, classes asked, attention, reason

    def to_dict(self) -> dict:
        return asdict(self)

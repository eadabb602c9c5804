"""Query understanding: what an image shows, as one typed result.

:class:`QueryUnderstanding` computes, for a whole image or a crop:

1. salient colours: up to ``understanding.colors`` k-means clusters in CIELAB
   over the foreground (pixels that differ from a uniform border are kept
   when the border is uniform), each with weight, sRGB hex and the nearest
   name of :data:`lens.palette.NAMED_COLORS` by CIEDE2000;
2. lighting: mean L* brightness, L* contrast, clipped shares, low-light flag;
3. quality: variance of the Laplacian (blur, on a 256-px grey image so it is
   comparable across sizes), resolution;
4. categories: the catalog's own categories from a linear head over the
   embedding (:mod:`~lens.understanding.category_head`, when trained), and
   ImageNet top-k from the embedder's classifier mapped to the coarse
   taxonomy of :mod:`lens.taxonomy`; the pattern from a second head;
5. text: OCR words (:mod:`~lens.understanding.ocr`, when likely);
6. annotations: weak text labels with scores from all of the above
   (:mod:`~lens.understanding.annotations`), for text search;
7. people (whole images, not crops): skin tone per face
   (:mod:`~lens.understanding.skin`) and body type per full-body person
   (:mod:`~lens.understanding.body`), each abstaining with a reason when
   unsure.  They serve representation and diversity only; no identity data
   (no landmarks, crops or embeddings of people) is kept.

Each signal lives in its own module of this package; this one holds the
result type and :class:`QueryUnderstanding`, which runs them all.
Tested in ``tests/test_understanding.py``.
"""
from __future__ import annotations

import copy
import logging
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np

from lens.config import UnderstandingConfig
from lens.imageio import image_hash
from lens.models import ModelStore
from lens.understanding.annotations import annotations
from lens.understanding.category_head import HEAD_FIELDS, CategoryHead
from lens.understanding.categories import categories
from lens.understanding.colors import SalientColor, color_name, foreground_mask, salient_colors
from lens.understanding.lighting import lighting
from lens.understanding.ocr import TextReader
from lens.understanding.quality import quality

log = logging.getLogger(__name__)
__all__ = ["QueryUnderstanding", "Understanding", "SalientColor", "color_name", "foreground_mask",
           "salient_colors", "lighting", "quality", "categories"]


@dataclass
class Understanding:
    width: int
    height: int
    colors: list[SalientColor] = field(default_factory=list)
    lighting: dict = field(default_factory=dict)
    quality: dict = field(default_factory=dict)
    categories: list[dict] = field(default_factory=list)
    patterns: list[dict] = field(default_factory=list)
    text: list[dict] = field(default_factory=list)
    annotations: list[dict] = field(default_factory=list)
    skin_tones: list[dict] = field(default_factory=list)
    body_types: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


class QueryUnderstanding:
    """Computes an :class:`Understanding`; see the module docstring.

    ``class_names`` are the embedder's ImageNet labels (for its logits);
    ``heads`` maps a field (``category``, ``pattern``) to its trained head;
    ``reader`` reads text (OCR).  Results are cached by
    image hash (``cache_size`` entries, least recently used dropped), so the
    same upload or crop is understood once.
    """

    def __init__(self, n_colors: int = 5, top_k: int = 5, class_names: Sequence[str] = (),
                 heads: dict[str, CategoryHead] | None = None, reader: TextReader | None = None,
                 skin=None, body=None, cache_size: int = 256):
        self.n_colors, self.top_k = n_colors, top_k
        self.class_names, self.heads = list(class_names), dict(heads or {})
        self.reader = reader or TextReader("off")
        self.skin, self.body = skin, body     # SkinToneEstimator / BodyTypeEstimator or None
        self.cache_size = cache_size
        self._cache: OrderedDict[str, Understanding] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: UnderstandingConfig, embedder=None,
                    models: ModelStore | None = None) -> "QueryUnderstanding":
        """Build from config; trained heads come from the model store when present."""
        heads = {}
        for field_name, key in HEAD_FIELDS.items():
            path = models.find(key) if models is not None else None
            if path is not None:
                heads[field_name] = CategoryHead.load(
                    path, embedder.settings() if embedder is not None else None)
            elif models is not None and getattr(models.config, key):
                log.warning("%s", str(models.missing(key)))
        skin = body = None
        if config.skin_tone:
            from lens.understanding.skin import SkinToneEstimator

            skin = SkinToneEstimator.from_config(config, models)
        if config.body_type:
            from lens.understanding.body import BodyTypeEstimator

            body = BodyTypeEstimator.from_config(config, models)
        return cls(config.colors, config.categories_top_k, getattr(embedder, "categories", ()),
                   heads, TextReader(config.ocr), skin, body)

    def __call__(self, rgb: np.ndarray, vector: np.ndarray | None = None,
                 logits: np.ndarray | None = None, faces: list | None = None,
                 people: bool = True, image_key: str | None = None) -> Understanding:
        """Understand ``rgb`` (H x W x 3 uint8).

        ``vector``/``logits`` come from the embedder; ``faces`` are face
        detections already made on ``rgb`` (else the skin estimator finds
        them); ``people=False`` skips skin tone, body type and OCR (object
        crops: the whole image's OCR already reads their text); ``image_key``
        is ``image_hash(rgb)`` when the caller already computed it.
        """
        key = f"{image_key or image_hash(rgb)}:{vector is not None}:{logits is not None}:{people}"
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return copy.deepcopy(self._cache[key])
        result = self._compute(rgb, vector, logits, read_text=people)
        if people:
            self._people(rgb, faces, result)
        with self._lock:
            self._cache[key] = copy.deepcopy(result)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return result

    def _compute(self, rgb, vector, logits, read_text: bool = True) -> Understanding:
        h, w = rgb.shape[:2]
        result = Understanding(w, h)
        if min(h, w) < 8:
            result.notes.append(f"image {w}x{h} is too small for colours and quality")
            return result
        result.colors = salient_colors(rgb, self.n_colors)
        result.lighting = lighting(rgb)
        result.quality = quality(rgb)
        if vector is not None and "category" in self.heads:
            result.categories.extend(self.heads["category"].predict(vector))
        if vector is not None and "pattern" in self.heads:
            result.patterns = self.heads["pattern"].predict(vector, top_k=2)
        result.categories.extend(categories(logits, self.class_names, self.top_k))
        result.text = self.reader(rgb) if read_text else []
        result.annotations = annotations(result.colors, result.categories, result.patterns, result.text)
        return result

    def _people(self, rgb: np.ndarray, faces: list | None, result: Understanding) -> None:
        if self.skin is not None:
            result.skin_tones = [t.to_dict() for t in self.skin(rgb, faces)]
        if self.body is not None:
            result.body_types = [b.to_dict() for b in self.body(rgb)]

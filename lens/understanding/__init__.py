"""Query understanding: what an image shows, as one typed result.

:class:`QueryUnderstanding` computes, for a whole image or a crop:

1. salient colours (:mod:`~lens.understanding.colors`): up to
   ``understanding.colors`` k-means clusters in CIELAB over the foreground
   (a flood fill from a uniform border removes a studio backdrop), after von
   Kries normalisation of the backdrop's cast, each with weight, sRGB hex and
   the nearest name of :data:`lens.palette.NAMED_COLORS` by CIEDE2000;
2. lighting (:mod:`~lens.understanding.lighting`): brightness, contrast,
   clipped shares, colour cast (warm / neutral / cool) with a colour
   temperature, low-light flag;
3. quality (:mod:`~lens.understanding.quality`): sharpness (variance of the
   Laplacian at 256 px), noise, JPEG blockiness, resolution and a 0-1 score
   (formula in that module);
4. categories: the catalog's own categories from a linear head over the
   embedding (:mod:`~lens.understanding.category_head`, when trained; with
   ``embedder.name: unified`` its own category and pattern heads unless a
   head file is configured), and
   ImageNet top-k from the embedder's classifier mapped to the coarse
   taxonomy of :mod:`lens.taxonomy`; the pattern from a second head;
5. text: OCR words (:mod:`~lens.understanding.ocr`, when likely);
6. annotations: weak text labels with scores from all of the above
   (:mod:`~lens.understanding.annotations`), for text search;
7. people (whole images, not crops): skin tone per face
   (:mod:`~lens.understanding.skin`) and body type per full-body person
   (:mod:`~lens.understanding.body`; with the person boxes a detector
   already found, as the façade and the index pass them), each abstaining
   with a reason when unsure.  They serve representation and diversity only; no identity data
   (no landmarks, crops or embeddings of people) is kept.

Any image array is accepted (:func:`as_image`: grey, 1/4-channel, 16-bit and
float arrays are converted); whole-image reasons for abstaining (under 32 px
a side, one flat colour) go to ``notes`` (:func:`image_notes`).

Each signal lives in its own module of this package; this one holds the
result type and :class:`QueryUnderstanding`, which runs them all.
Tested in ``tests/test_understanding.py`` (the layer, its bad inputs with
skin tone and body type on), ``tests/test_skin_tone.py``,
``tests/test_body_type.py``, ``tests/test_annotations.py`` and
``tests/test_category_head.py``.
"""
from __future__ import annotations

import copy
import logging
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np

from lens.boxes import Box
from lens.config import UnderstandingConfig
from lens.imageio import MIN_SIDE, image_hash, is_uniform, load_image
from lens.models import ModelStore
from lens.pixels import foreground_mask
from lens.threads import side_by_side
from lens.types import Detection
from lens.understanding.annotations import annotations
from lens.understanding.body import BodyTypeEstimator
from lens.understanding.categories import categories
from lens.understanding.category_head import HEAD_FIELDS, CategoryHead
from lens.understanding.colors import SalientColor, color_name, salient_colors
from lens.understanding.lighting import lighting
from lens.understanding.ocr import TextReader
from lens.understanding.quality import quality
from lens.understanding.skin import SkinToneEstimator

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


def as_image(image) -> np.ndarray:
    """``image`` as H x W x 3 uint8 RGB (arrays in other layouts converted by :func:`lens.imageio.load_image`).

    Raises ``TypeError`` for a non-array and ``ValueError`` for an array that
    is not an image (empty, or not H x W, H x W x 1/3/4).
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(f"understanding: expected an H x W x 3 image array, got {type(image).__name__}")
    if image.size == 0:
        raise ValueError(f"understanding: empty image array of shape {image.shape}")
    if image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8:
        return image
    return load_image(image)


def image_notes(rgb: np.ndarray) -> list[str]:
    """Whole-image reasons some signals abstain: too small for people, or one flat colour."""
    h, w = rgb.shape[:2]
    notes = []
    if min(h, w) < MIN_SIDE:
        notes.append(f"image {w}x{h} is under {MIN_SIDE} px a side: skin tone and body type abstain")
    if is_uniform(rgb):
        mean = float(rgb[::max(1, h // 64), ::max(1, w // 64)].mean())
        kind = "all black" if mean < 8 else "all white" if mean > 247 else "one flat colour"
        notes.append(f"uniform image ({kind}): nothing in it to detect or measure")
    return notes


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
    def from_config(cls, config: UnderstandingConfig, embedder=None, models: ModelStore | None = None,
                    skin=None, body=None) -> "QueryUnderstanding":
        """Build from config; trained heads come from the model store when present; ``skin`` /
        ``body``: estimators already built (the model bundle's), used when the config turns them on."""
        heads = {}
        for field_name, key in HEAD_FIELDS.items():
            path = models.find(key) if models is not None else None
            if path is not None:
                heads[field_name] = CategoryHead.load(
                    path, embedder.settings() if embedder is not None else None)
            elif models is not None and getattr(models.config, key):
                log.warning("%s", str(models.missing(key)))
            elif getattr(embedder, "task_head", None) and embedder.task_head(field_name) is not None:
                heads[field_name] = CategoryHead(*embedder.task_head(field_name), embedder.settings(), field_name)
        if config.skin_tone and skin is None:
            skin = SkinToneEstimator.from_config(config, models)
        if config.body_type and body is None:
            body = BodyTypeEstimator.from_config(config, models)
        skin, body = (skin if config.skin_tone else None), (body if config.body_type else None)
        return cls(config.colors, config.categories_top_k, getattr(embedder, "categories", ()),
                   heads, TextReader(config.ocr, config.ocr_side), skin, body)

    def __call__(self, rgb: np.ndarray, vector: np.ndarray | None = None,
                 logits: np.ndarray | None = None, faces: list | None = None,
                 people: bool = True, image_key: str | None = None,
                 persons: list | None = None) -> Understanding:
        """Understand ``rgb`` (H x W x 3 uint8; grey, 1/4-channel, 16-bit and float arrays are converted).

        ``vector``/``logits`` come from the embedder; ``faces`` are face
        detections already made on ``rgb`` (else the skin estimator finds
        them); ``persons`` are person boxes already found (the detector's
        ``person`` class), measured for body type alongside the estimator's
        own candidates; ``people=False`` is an object crop: only what a crop is used for (its
        colours, categories, pattern and the annotations made of them; issue 22), not skin tone,
        body type, OCR (the whole image's OCR already reads its text), lighting, quality or
        notes (the whole image's); ``image_key`` is ``image_hash(rgb)`` when the caller
        already computed it.
        """
        rgb = as_image(rgb)
        key = f"{image_key or image_hash(rgb)}:{vector is not None}:{logits is not None}:{people}"
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return copy.deepcopy(self._cache[key])
        reads = people and min(rgb.shape[:2]) >= 8 and getattr(self.reader, "mode", "") != "off"
        if reads:                                   # OCR beside the rest (lens.threads.side_by_side)
            text, result = side_by_side(lambda: self.reader(rgb),
                                        lambda: self._measure(rgb, vector, logits, faces, people, persons))
        else:
            text, result = [], self._measure(rgb, vector, logits, faces, people, persons)
        result.text = text
        result.annotations = annotations(result.colors, result.categories, result.patterns, text)
        with self._lock:
            self._cache[key] = copy.deepcopy(result)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return result

    def _measure(self, rgb, vector, logits, faces, people: bool, persons) -> Understanding:
        """Everything but the text: skin tone, colours, categories, lighting, quality, notes, body type."""
        tones = self.skin(rgb, faces) if people and self.skin is not None else []
        result = self._compute(rgb, vector, logits, whole=people,
                               faces=[t.face_box for t in tones if t.face_box])
        if people:
            result.notes += image_notes(rgb)
        result.skin_tones = [t.to_dict() for t in tones]
        if people and self.body is not None:
            result.body_types = [b.to_dict() for b in self.body(rgb, persons, _body_faces(faces, tones, self.skin))]
        return result

    def _compute(self, rgb, vector, logits, whole: bool = True, faces=()) -> Understanding:
        """``whole``: an image (else an object crop: no lighting, quality or text)."""
        h, w = rgb.shape[:2]
        result = Understanding(w, h)
        if min(h, w) < 8:
            result.notes.append(f"image {w}x{h} is too small for colours and quality")
            return result
        result.colors = salient_colors(rgb, self.n_colors, faces)   # skin tone's faces: no skin colours
        if whole:
            result.lighting = lighting(rgb)
            result.quality = quality(rgb)
        if vector is not None and "category" in self.heads:
            result.categories.extend(self.heads["category"].predict(vector))
        if vector is not None and "pattern" in self.heads:
            result.patterns = self.heads["pattern"].predict(vector, top_k=2)
        result.categories.extend(categories(logits, self.class_names, self.top_k))
        return result


def _body_faces(faces: list | None, tones: list, skin) -> list | None:
    """The faces body type checks its people's heads against: the caller's detections, else the
    ones skin tone just found (no second face detection), else None (it finds its own)."""
    if faces is not None or skin is None:
        return faces
    return [Detection(Box(*t.face_box), "face", 1.0, "skin_tone") for t in tones if t.face_box]

"""The one per-image analysis step: decode -> detect -> crop -> embed -> understand.

A query, the indexing mapper and the labelling mapper all run
:meth:`Analyzer.analyze` on a batch of decoded images; what differs between
them is a named :class:`Options` value, not separate code:

* :data:`QUERY`: detect, crop, embed the image (or the user's box) and every
  crop in one batch, understand the image with the detected faces handed to
  skin tone and the detected people to body type, and each crop when
  ``understanding.crops`` is on (the crops on a second thread beside the image where the
  process has two cores: :func:`lens.threads.side_by_side`);
* :data:`INDEX_SCENE`: the same without crop understanding: skin tone and body type measure
  the detected faces as a query does, so a photo indexed and then queried reads the same
  (on 100 CCP street photos the estimator's own face finding gave 16 other range sets) and
  faces are found once (100 CCP photos 164 -> 149 ms each, 100 Grocery photos 106 -> 94 ms);
* :data:`INDEX_PRODUCT`: no detection (a product photo is one object, which
  the visual index already holds);
* :data:`LABEL`: detect and crop only; the labelling mapper embeds the crops
  it still needs with the users' boxes.

Every box is pixel x1, y1, x2, y2 (:mod:`lens.boxes`) of the analysed pixels
(:attr:`ImageAnalysis.rgb`, the working copy); :attr:`Decoded.factor` maps
them back to the original.  Stage timings (ms) land in ``timings``.

Tested in ``tests/test_analysis.py`` and through every caller.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Sequence

import cv2
import numpy as np

from detection.crops import crop_pixels, make_crops
from lens.boxes import Box
from lens.imageio import DEFAULT_MAX_PIXELS, ImageSource, image_hash, load_image
from lens.pipeline.bundle import ModelBundle
from lens.threads import side_by_side
from lens.types import Crop, Detection
from lens.understanding import Understanding


@dataclass(frozen=True)
class Options:
    """What the analysis of one image runs; see the module docstring for the presets."""

    detect: bool = True              # the detection pipeline (off: product photos, a user's box)
    embed: bool = True               # the image's and the crops' vectors in one batch
    understand: bool = True          # the query understanding of the image
    understand_crops: bool = False   # ... and of every object crop (query time: understanding.crops)
    faces_to_skin: bool = True       # skin tone measures the detected faces (else it finds its own)


QUERY = Options(understand_crops=True)
INDEX_SCENE = Options()
INDEX_PRODUCT = Options(detect=False, faces_to_skin=False)
LABEL = Options(embed=False, understand=False)


@dataclass
class Decoded:
    """A decoded image: ``original`` (H x W x 3 uint8), the ``rgb`` working copy and its scale."""

    original: np.ndarray
    rgb: np.ndarray
    factor: float = 1.0              # rgb = original resized by this (<= 1)
    digest: str = ""                 # image_hash(original): result id, cache key, user-crop key
    item_id: str | None = None       # the catalog item it is (its crops' parent id)


@dataclass
class ImageAnalysis:
    """One image analysed (boxes in ``rgb`` pixels); see the module docstring."""

    rgb: np.ndarray
    regions: list[Detection] = field(default_factory=list)
    crops: list[Crop] = field(default_factory=list)
    vector: np.ndarray | None = None          # (dim,) unit vector of the image, or of the box
    logits: np.ndarray | None = None          # the embedder's classifier, where it has one
    crop_vectors: np.ndarray | None = None    # (len(crops), dim)
    crop_logits: np.ndarray | None = None
    understanding: Understanding | None = None
    crop_understandings: list[Understanding] = field(default_factory=list)


def working_copy(rgb: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """``rgb`` resized so its long side is at most ``max_side``, and the factor used."""
    h, w = rgb.shape[:2]
    factor = min(1.0, max_side / max(h, w))
    if factor >= 1.0:
        return rgb, 1.0
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), factor


class Analyzer:
    """Runs the analysis step with one bundle's models; see the module docstring."""

    def __init__(self, models: ModelBundle):
        self.models = models
        self.crop_understanding = models.config.understanding.crops

    def decode(self, image: ImageSource, max_pixels: int | None = None, max_side: int | None = None,
               name: str | None = None, item_id: str | None = None) -> Decoded:
        """Decode any image source (``ValueError`` names it) into a :class:`Decoded`."""
        original = load_image(image, max_pixels or DEFAULT_MAX_PIXELS, name=name)
        rgb, factor = working_copy(original, max_side) if max_side else (original, 1.0)
        return Decoded(original, rgb, factor, image_hash(original), item_id)

    def analyze(self, images: Sequence[Decoded], options: Options | Sequence[Options],
                boxes: Sequence[Box | None] | None = None, timings: dict | None = None) -> list[ImageAnalysis]:
        """Analyse a batch: ``options`` one for all or one per image; ``boxes``: a user's box per image
        (in ``rgb`` pixels; then that region is embedded and understood, and nothing is detected)."""
        each = list(options) if isinstance(options, (list, tuple)) else [options] * len(images)
        boxes = list(boxes) if boxes is not None else [None] * len(images)
        timings = {} if timings is None else timings
        each = [replace(o, detect=False) if b is not None else o for o, b in zip(each, boxes)]
        with _timed(timings, "detect"):
            out = [self._detect(d, o, b) for d, o, b in zip(images, each, boxes)]
        with _timed(timings, "embed"):
            self._embed(out, each, boxes)
        with _timed(timings, "understand"):
            for decoded, analysis, o, box in zip(images, out, each, boxes):
                self._understand(decoded, analysis, o, box)
        return out

    def _detect(self, decoded: Decoded, options: Options, box: Box | None) -> ImageAnalysis:
        rgb = decoded.rgb
        regions = self.models.detector(rgb) if options.detect else []
        return ImageAnalysis(rgb, regions, make_crops(regions, rgb.shape[1], rgb.shape[0], self.models.limits,
                                                      decoded.item_id))

    def _embed(self, out: list[ImageAnalysis], each: list[Options], boxes: list[Box | None]) -> None:
        """Every image (or box) and every crop of the batch through the embedder, in one call."""
        pixels, slots = [], []
        for n, (a, o, box) in enumerate(zip(out, each, boxes)):
            if not o.embed:
                continue
            pixels.append(a.rgb if box is None else crop_pixels(a.rgb, box))
            slots.append((n, -1))
            pixels.extend(crop_pixels(a.rgb, c) for c in a.crops)
            slots.extend((n, i) for i in range(len(a.crops)))
        if not pixels:
            return
        vectors, logits = self.models.embedder.embed_and_classify(pixels)
        for row, (n, i) in enumerate(slots):
            a = out[n]
            if i < 0:
                end = row + 1 + len(a.crops)
                a.vector, a.crop_vectors = vectors[row], vectors[row + 1: end]
                if logits is not None:
                    a.logits, a.crop_logits = logits[row], logits[row + 1: end]

    def _understand(self, decoded: Decoded, a: ImageAnalysis, options: Options, box: Box | None) -> None:
        if not options.understand:
            return
        understand = self.models.understanding
        target = a.rgb if box is None else crop_pixels(a.rgb, box)
        whole = box is None and options.detect
        faces = [r for r in a.regions if r.label == "face"] if whole and options.faces_to_skin else None
        persons = [r for r in a.regions if r.label == "person"] if whole else None
        key = decoded.digest if box is None and decoded.factor == 1.0 and decoded.digest else None
        crops = options.understand_crops and self.crop_understanding
        a.crop_understandings, a.understanding = side_by_side(       # the crops beside the photo
            lambda: self._understand_crops(a) if crops else [],
            lambda: understand(target, a.vector, a.logits, faces, image_key=key, persons=persons))

    def _understand_crops(self, a: ImageAnalysis) -> list[Understanding]:
        logits = a.crop_logits if a.crop_logits is not None else [None] * len(a.crops)
        return [self.models.understanding(crop_pixels(a.rgb, c), v, lg, people=False)
                for c, v, lg in zip(a.crops, a.crop_vectors, logits)]


@contextmanager
def _timed(timings: dict, stage: str):
    start = time.perf_counter()
    yield
    timings[stage] = round(timings.get(stage, 0.0) + (time.perf_counter() - start) * 1000, 2)

"""The lens façade: ``Lens(image) -> LensResult``.

``Lens.__call__`` runs, in order (each part also usable alone):

1. decode: :func:`lens.imageio.load_image` (any mode, EXIF, size guard);
2. detect: :class:`detection.pipeline.DetectionPipeline` -> regions (Faster
   R-CNN objects, faces, people and garments, foreground regions) in pixel
   x1, y1, x2, y2; :func:`detection.crops.make_crops` -> the object crops
   (no faces or whole people; de-duplicated across detectors; padded);
3. embed + classify, in one batch: :class:`lens.embeddings.Embedder` on the
   whole image (or the user's box when one is given) and on every object crop;
4. understand: :class:`lens.understanding.QueryUnderstanding` (colours,
   lighting, quality, categories, patterns, text, annotations) for the query
   and for every object crop (``understanding.crops``);
5. plan: :func:`blender.ratios.plan` -> source ratios from the understanding;
6. retrieve: every chosen source (:mod:`blender.sources`), within the filters
   (:mod:`blender.filters`), plus one search per skin tone range bucket when
   diversifying (:mod:`blender.diversify`);
7. blend: :func:`blender.blend.blend` (calibrated scores, weighted fusion),
   the category lift (:mod:`blender.category`: items holding the query's
   likely category rise), then the DPP re-rank
   (:func:`blender.diversify.diversify`) -> the page, with each item's
   stored metadata.

Models and indexes load once, in :meth:`Lens.from_config`; a ``Lens`` is
safe to share between threads (each model guards itself with a lock).
Per-stage timings (ms) come back in the result.
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from typing import Sequence

import numpy as np

from blender.blend import blend
from blender.calibrate import calibration_for
from blender.category import lift, query_category
from blender.diversify import bucket_allowed, diversify
from blender.filters import allowed_ids
from blender.ratios import plan
from blender.sources import make_sources
from detection.crops import CropLimits, crop_pixels, make_crops
from detection.pipeline import DetectionPipeline
from lens.boxes import Box, make_box
from lens.catalog import Catalog
from lens.config import LensConfig
from lens.embeddings import Embedder, make_embedder
from lens.imageio import ImageSource, image_hash, load_image
from lens.labeling.usercrops import log_user_crop
from lens.models import ModelStore
from lens.types import Filters, LensResult, SourceQuery
from lens.understanding import QueryUnderstanding

log = logging.getLogger(__name__)
RESULT_FIELDS = ("title", "kind", "category", "color", "pattern", "image", "width", "height")


def _working_copy(rgb: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """``rgb`` resized so its long side is at most ``max_side``, and the factor used."""
    import cv2

    h, w = rgb.shape[:2]
    factor = min(1.0, max_side / max(h, w))
    if factor >= 1.0:
        return rgb, 1.0
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), factor


def _in_original(detection, factor: float) -> dict:
    """A detection found on the working copy, with its box in original pixels."""
    out = detection.to_dict()
    if factor != 1.0:
        out["box"] = detection.box.scale(1.0 / factor).as_list()
        if "keypoints" in out:
            out["keypoints"] = {k: [round(x / factor, 1), round(y / factor, 1)]
                                for k, (x, y) in out["keypoints"].items()}
    return out


def _people_in_original(understanding: dict, factor: float, query_box: Box | None) -> dict:
    """Face and person boxes of the (working-copy or box-crop) understanding, in original pixels."""
    dx, dy = (query_box.x1, query_box.y1) if query_box is not None else (0.0, 0.0)
    scale = 1.0 if query_box is not None else 1.0 / factor
    for entry, key in [*((t, "face_box") for t in understanding.get("skin_tones", [])),
                       *((b, "person_box") for b in understanding.get("body_types", []))]:
        if entry.get(key):
            x1, y1, x2, y2 = entry[key]
            entry[key] = Box(x1 * scale + dx, y1 * scale + dy, x2 * scale + dx,
                             y2 * scale + dy).as_list()
    return understanding


def _brief(understanding: dict) -> dict:
    """A crop's understanding without the heavy parts (what the UI shows per hotspot)."""
    return {k: understanding[k] for k in ("colors", "categories", "patterns", "annotations", "quality")}


class Lens:
    """Visual discovery over one catalog; see the module docstring for the steps."""

    def __init__(self, config: LensConfig, embedder: Embedder, detector: DetectionPipeline,
                 understanding: QueryUnderstanding, catalog: Catalog,
                 source_names: Sequence[str] | None = None):
        self.config, self.embedder, self.detector = config, embedder, detector
        self.understanding, self.catalog = understanding, catalog
        names = list(source_names or config.query.sources)
        self.sources = {s.name: s for s in make_sources(names, catalog)}
        self.limits = CropLimits.from_config(config.detection)
        self._calibrated = None     # (catalog version, Calibration)

    @classmethod
    def from_config(cls, config: LensConfig, catalog_dir: str | None = None) -> "Lens":
        models = ModelStore.from_config(config.models)
        embedder = make_embedder(config.embedder, models)
        catalog = Catalog.open(config, embedder.settings(), catalog_dir)
        return cls(config, embedder, DetectionPipeline.from_config(config.detection, models),
                   QueryUnderstanding.from_config(config.understanding, embedder, models), catalog)

    def __call__(self, image: ImageSource, box: Sequence[float] | Box | None = None,
                 k: int | None = None, sources: Sequence[str] | None = None,
                 filters: Filters | dict | None = None, text: str | None = None,
                 diversity: bool | None = None) -> LensResult:
        """Search the catalog with ``image`` (path, bytes, PIL or H x W x 3 array).

        ``box``: pixel x1, y1, x2, y2 of the region to search (then no detection
        runs: the regions came with the first call); ``sources``: a subset of
        the configured ones (default: all); ``filters``: see
        :class:`blender.filters.Filters`; ``text``: the user's words for the
        text source (default: the image's annotations); ``diversity``: DPP
        re-ranking and bucketized candidates (default: ``blend.diversity``).
        """
        timings: dict[str, float] = {}

        @contextmanager
        def timed(stage: str):
            start = time.perf_counter()
            yield
            timings[stage] = round((time.perf_counter() - start) * 1000, 2)

        k = self.config.query.k if k is None else int(k)
        if k < 1:
            raise ValueError(f"k {k}: must be at least 1")
        chosen = self._chosen(sources)
        filters = filters if isinstance(filters, Filters) else Filters.parse(filters)
        with timed("decode"):
            original = load_image(image, self.config.server.max_pixels)
            rgb, factor = _working_copy(original, self.config.query.max_side)
            digest = image_hash(original)                   # once: result id and cache key
        h, w = original.shape[:2]
        query_box = None if box is None else box if isinstance(box, Box) else make_box(box, (w, h))
        log_user_crop(self.config, original, query_box, digest)   # opt-in (labeling.log_user_crops)
        with timed("detect"):
            regions = self.detector(rgb) if query_box is None else []
            crops = make_crops(regions, rgb.shape[1], rgb.shape[0], self.limits)
        target = rgb if query_box is None else crop_pixels(rgb, query_box.scale(factor))
        with timed("embed"):
            vectors, logits = self.embedder.embed_and_classify([target, *(crop_pixels(rgb, c) for c in crops)])
        with timed("understand"):
            understanding, region_dicts = self._understand(target, rgb, regions, crops, vectors, logits,
                                                           factor, digest if query_box is None else None)
        small = self.config.query.region_query_max_fraction * rgb.shape[0] * rgb.shape[1]
        u = understanding.to_dict()
        query = SourceQuery(vectors[0], query_box.as_list() if query_box else None,
                            [(vectors[i], c.box.scale(1.0 / factor).as_list(), c.label)
                             for i, c in enumerate(crops, 1) if c.box.area < small],
                            text=text, annotations=u["annotations"])
        mix = plan(u, [c.to_dict() for c in crops], query_box is not None, chosen,
                   any(r.source == "regions" for r in regions))
        diversity = self.config.blend.diversity if diversity is None else bool(diversity)
        pool: dict = {}
        results = self._retrieve(query, chosen, filters, k, timed, mix, diversity, pool, u)
        timings["total"] = round(sum(timings.values()), 2)
        return LensResult({"width": w, "height": h, "hash": digest},
                          region_dicts, _people_in_original(u, factor, query_box), results,
                          query_box.as_list() if query_box else None, chosen, timings,
                          filters.to_dict(), {**mix.to_dict(), "diversity": diversity, **pool})

    def _chosen(self, sources: Sequence[str] | None) -> list[str]:
        if sources is None or list(sources) == ["all"]:
            return list(self.sources)
        unknown = [s for s in sources if s not in self.sources]
        if unknown or not sources:
            raise ValueError(f"sources {list(sources)}: expected some of {', '.join(self.sources)} or all")
        return list(dict.fromkeys(sources))

    def _understand(self, target, rgb, regions, crops, vectors, logits, factor, digest):
        """The query's understanding and the region dicts (in original pixels), crops understood."""
        logit = (lambda i: None) if logits is None else (lambda i: logits[i])
        faces = [r for r in regions if r.label == "face"] if digest is not None else None
        persons = [r for r in regions if r.label == "person"] if digest is not None else None
        key = digest if digest is not None and factor == 1.0 else None   # target is the decoded image
        understanding = self.understanding(target, vectors[0], logit(0), faces, image_key=key, persons=persons)
        region_dicts = [_in_original(d, factor) for d in regions]
        if not self.config.understanding.crops:
            return understanding, region_dicts
        for i, crop in enumerate(crops, 1):
            u = self.understanding(crop_pixels(rgb, crop), vectors[i], logit(i), people=False)
            at = max(range(len(regions)), key=lambda r: regions[r].box.iou(crop.detection_box))
            region_dicts[at]["crop_box"] = crop.box.scale(1.0 / factor).as_list()
            region_dicts[at]["understanding"] = _brief(u.to_dict())
        return understanding, region_dicts

    def _retrieve(self, query: SourceQuery, chosen: list[str], filters: Filters, k: int, timed,
                  mix, diversity: bool, report: dict, understanding: dict) -> list[dict]:
        """Sources (plus one search per skin tone bucket when diversifying) -> blend -> category
        lift -> DPP -> page; ``report`` receives the query category and the diversity pool's summary."""
        settings = self.config.blend
        with timed("filter"):
            allowed = allowed_ids(self.catalog, filters)
            buckets = bucket_allowed(self.catalog, filters) if diversity else []
        depth = max(k, settings.pool) if diversity else k
        candidates = []
        for name in chosen:
            with timed(f"source.{name}"):
                candidates.extend(self.sources[name].search(query, depth, allowed))
                for bucket in buckets:
                    candidates.extend(self.sources[name].search(query, settings.bucket_k, bucket))
        with timed("blend"):       # diversifying: keep every candidate, bucket ones included
            blended = blend(candidates, len(candidates), mix.ratios, self._calibration())
            category = query_category(self.catalog, blended, understanding)
            blended, lifted = lift(self.catalog, blended, category, settings.category_boost)
            report["category"] = {**category.to_dict(), "lifted": lifted} if category else None
            blended = blended if diversity else blended[:k]
        if diversity:
            with timed("diversity"):
                blended = diversify(self.catalog, blended, k, settings.lens, report)
        return self._page(blended)

    def _calibration(self):
        """The catalog's score calibration for every source, fitted once per catalog version."""
        if self._calibrated is None or self._calibrated[0] != self.catalog.version:
            self._calibrated = (self.catalog.version, calibration_for(self.catalog, self.sources))
        return self._calibrated[1]

    def _page(self, blended) -> list[dict]:
        items = self.catalog.items([b.item_id for b in blended])
        page: list[dict] = []
        for b, item in zip(blended, items):
            if item is None:    # a vector whose store write never finished
                continue
            entry = {"id": b.item_id, "rank": len(page) + 1, "score": round(b.score, 4),
                     "sources": b.sources, "provenance": b.provenance}
            entry.update({f: item[f] for f in RESULT_FIELDS if f in item})
            page.append(entry)
        return page

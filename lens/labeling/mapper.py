"""The labelling job's mapper: one shard of images -> weak labels for their crops.

For each image: the one analysis step (:mod:`lens.pipeline.analysis`,
:data:`~lens.pipeline.analysis.LABEL`: decode, unreadable -> a failure naming
the file; detect; crop), plus the users' boxes for that image (by image hash)
when a user-crop log is given; then every crop of the shard is embedded in one batch,
search the catalog's ``visual`` index among *products* only (a product photo
is a single object, so its category is the crop's; the crop's own parent item
is excluded), and vote (:func:`lens.labeling.weak.weak_label`), with the
categories the image's own title and description name as a prior
(:class:`lens.labeling.textprior.CategoryWords`, learned from the products'
titles; the row records them as ``text_named``).

``reuse_index_crops`` (``label-crops --from-index``): for catalog scenes whose
crops ``lens index`` already stored (boxes in the record, vectors in the
``objects`` index), take those instead of detecting and embedding again --
the same detector and crop limits made them, so only a changed detection
config needs a fresh run.

Tested in ``tests/test_labeling.py``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from detection.crops import crop_pixels
from jobs.shards import Shard
from lens.boxes import Box
from lens.catalog import crop_id
from lens.labeling.textprior import CategoryWords
from lens.labeling.weak import WeakLabelSettings, weak_label
from lens.pipeline.analysis import LABEL, Analyzer
from lens.pipeline.bundle import ModelBundle
from lens.types import Crop

log = logging.getLogger(__name__)


@dataclass
class ShardResult:
    shard_id: str
    crops: list[dict] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)    # id, image, width, height, index
    failures: list[tuple[str, str]] = field(default_factory=list)


def product_records(catalog) -> dict[str, dict]:
    """``id -> {category, title, understanding.annotations}`` of the catalog's indexed products."""
    ids = [i for i in sorted(catalog.store.ids()) if i in catalog.visual]
    out = {}
    for start in range(0, len(ids), 512):
        for record in catalog.items(ids[start:start + 512]):
            if record and record.get("kind") == "product":
                out[record["id"]] = {"category": record.get("category"), "title": record.get("title"),
                                     "understanding": {
                    "annotations": record.get("understanding", {}).get("annotations", [])}}
    return out


class LabelMapper:
    """Detect, crop, embed and weakly label one shard; see the module docstring."""

    def __init__(self, analyzer: Analyzer, catalog, settings: WeakLabelSettings = WeakLabelSettings(),
                 k: int = 10, user_boxes: dict[str, list[list[float]]] | None = None,
                 reuse_index_crops: bool = False):
        self.reuse = reuse_index_crops
        self.analyzer, self.catalog = analyzer, catalog
        self.embedder = analyzer.models.embedder
        self.settings, self.k = settings, k
        self.user_boxes = user_boxes or {}
        self.products = product_records(catalog)
        if not self.products:
            raise ValueError(f"catalog {catalog.directory}: no indexed products to take labels from "
                             f"(index products with a 'category' first)")
        self.words = CategoryWords.from_products(list(self.products.values()))
        self.nameable = self.words.categories

    @classmethod
    def from_models(cls, models: ModelBundle, catalog, user_boxes=None,
                    reuse_index_crops: bool = False) -> LabelMapper:
        """The mapper a bundle implies (its models; settings from its config's ``labeling``)."""
        labeling = models.config.labeling
        return cls(Analyzer(models), catalog, WeakLabelSettings.from_config(labeling), labeling.neighbours,
                   user_boxes, reuse_index_crops)

    def _stored(self, item: dict) -> list[tuple[Crop, object]] | None:
        """``(crop, vector)`` of the crops indexing stored for ``item``; None where any is missing."""
        stored = item.get("crops")
        if not self.reuse or stored is None or not all(c["id"] in self.catalog.objects for c in stored):
            return None
        return [(Crop(item["id"], Box(*c["box"]), Box(*c["detection_box"]), c["label"], c["score"], c["source"]),
                 self.catalog.objects.vector(c["id"])) for c in stored]

    def user_crops_of(self, item: dict, rgb, digest: str) -> list[Crop]:
        """The users' boxes logged for this image (by image hash), as crops of source ``user``."""
        h, w = rgb.shape[:2]
        crops = []
        if self.user_boxes:
            digest = item.get("image_hash") or digest
            for box in self.user_boxes.get(digest, []):
                b = Box(*box).clip(w, h)
                if b.width >= 1 and b.height >= 1:
                    crops.append(Crop(item["id"], b, b, "user", 1.0, "user"))
        return crops

    def __call__(self, shard: Shard) -> ShardResult:
        result = ShardResult(shard.id)
        pending = []                         # (item, crop, pixels or None, stored vector or None)
        for n, item in enumerate(shard.items):
            try:
                decoded = self.analyzer.decode(item["image"], item_id=item["id"])
            except (ValueError, OSError) as exc:
                result.failures.append((item["image"], str(exc)))
                continue
            rgb = decoded.rgb
            result.images.append({"id": item["id"], "image": item["image"], "width": int(rgb.shape[1]),
                                  "height": int(rgb.shape[0]), "index": shard.first_index + n})
            stored = self._stored(item)
            if stored is None:
                crops = self.analyzer.analyze([decoded], LABEL)[0].crops
                pending.extend((item, c, crop_pixels(rgb, c), None) for c in crops)
            else:
                pending.extend((item, c, None, v) for c, v in stored)
            pending.extend((item, c, crop_pixels(rgb, c), None) for c in self.user_crops_of(item, rgb, decoded.digest))
        if pending:
            result.crops = self._label(pending)
        return result

    def _label(self, pending: list) -> list[dict]:
        todo = [n for n, p in enumerate(pending) if p[3] is None]
        fresh = self.embedder.embed([pending[n][2] for n in todo]) if todo else []
        vectors = [p[3] for p in pending]
        for n, v in zip(todo, fresh):
            vectors[n] = v
        vectors = np.stack(vectors).astype(np.float32)
        allowed = set(self.products)
        hits = self.catalog.visual.search(vectors, self.k + 1, allowed)
        out, counters = [], {}
        named: dict[str, set[str]] = {}     # item id -> the categories its text names (once per image)
        for (item, crop, _, _), found in zip(pending, hits):
            neighbours = [(s, self.products[i]) for i, s in found if i != item["id"]][:self.k]
            n = counters[item["id"]] = counters.get(item["id"], -1) + 1
            if item["id"] not in named:
                named[item["id"]] = self.words.named(item.get("title"), item.get("description"))
            label = weak_label(neighbours, self.settings, named[item["id"]], self.nameable)
            out.append({"type": "crop", "crop_id": crop_id(item["id"], n), "item_id": item["id"],
                        "image": item["image"], "box": crop.box.as_list(),
                        "detection_box": crop.detection_box.as_list(), "detector_label": crop.label,
                        "detector_score": round(float(crop.score), 4), "source": crop.source, **label,
                        "text_named": sorted(named[item["id"]]),
                        "neighbours": [[i, round(s, 4)] for i, s in found if i != item["id"]][:5]})
        return out

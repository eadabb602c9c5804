"""``lens index``: a batch job built as reader -> mapper -> writer.

* :func:`read_items` (reader): a manifest (JSONL, or a folder holding
  ``manifest.jsonl``) or a folder of images -> item dicts with ``id`` and an
  absolute ``image`` path, validated line by line.
* :class:`IndexMapper` (mapper): decodes a batch, embeds it, computes the
  query-understanding summary, detects the objects of every non-product item
  (scenes: a product photo is one object, which the visual index already
  holds) and embeds their crops (:mod:`detection.crops`), and returns records
  (with a ``crops`` list) + vectors + crop vectors; unreadable images come
  back as failures naming the file.
* :class:`CatalogWriter` (writer): adds a batch to the catalog (index first,
  then the store), so everything acknowledged survives an interruption, and
  a re-run skips what is already there.

Tested in ``tests/test_indexing.py``.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
from tqdm import tqdm

from detection.crops import CropLimits, crop_pixels, make_crops
from lens.catalog import CROP_SEP, Catalog, crop_id
from lens.embeddings import Embedder
from lens.imageio import image_hash, is_image_path, load_image
from lens.understanding import QueryUnderstanding

log = logging.getLogger(__name__)
REQUIRED_FIELDS = ("id", "image")


def _manifest_items(path: Path) -> Iterator[dict]:
    base = path.parent
    with path.open() as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise ValueError(f"{path}:{lineno}: expected a JSON object")
            for key in REQUIRED_FIELDS:
                if not isinstance(record.get(key), str) or not record[key]:
                    raise ValueError(f"{path}:{lineno}: missing field '{key}'")
            record["image"] = str((base / record["image"]).resolve())
            yield record


def read_items(path: str | Path) -> list[dict]:
    """Items to index from a manifest or an image folder; ``ValueError`` names the problem."""
    path = Path(path)
    if path.is_dir() and (path / "manifest.jsonl").is_file():
        path = path / "manifest.jsonl"
    if path.is_file() and path.suffix in (".jsonl", ".json"):
        items = list(_manifest_items(path))
        if not items:
            raise ValueError(f"{path}: the manifest holds no items")
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and is_image_path(p))
        if not files:
            raise ValueError(f"{path}: no images in this folder")
        items = [{"id": p.relative_to(path).with_suffix("").as_posix(), "image": str(p.resolve()),
                  "title": p.stem.replace("_", " ")} for p in files]
    elif path.is_file():
        raise ValueError(f"{path}: expected a folder of images or a .jsonl manifest")
    else:
        raise ValueError(f"{path}: no such file or folder")
    seen: set[str] = set()
    for item in items:
        if CROP_SEP in str(item["id"]):
            raise ValueError(f"{path}: item id '{item['id']}' must not contain '{CROP_SEP}' "
                             f"(it separates crop ids); rename the file or the id")
        if item["id"] in seen:
            raise ValueError(f"{path}: duplicate item id '{item['id']}'")
        seen.add(item["id"])
    return items


@dataclass
class MappedBatch:
    records: list[dict]
    vectors: np.ndarray
    failures: list[tuple[str, str]] = field(default_factory=list)
    crop_ids: list[str] = field(default_factory=list)
    crop_vectors: np.ndarray | None = None


def summarize(understanding) -> dict:
    """The part of an understanding stored per item (filters, blender, UI)."""
    data = understanding.to_dict()
    return {"colors": [{"name": c["name"], "hex": c["hex"], "weight": c["weight"]}
                       for c in data["colors"]],
            "lighting": data["lighting"], "quality": data["quality"],
            "categories": data["categories"][:6], "patterns": data["patterns"],
            "text": data["text"], "annotations": data["annotations"],
            "skin_tones": data["skin_tones"], "body_types": data["body_types"],
            "signals": signals(data)}


def signals(understanding: dict) -> dict:
    """Per-item filter and diversity signals: the ranges seen, abstentions left out."""
    return {"skin_tone_ranges": sorted({t["range"] for t in understanding.get("skin_tones", [])
                                        if t.get("status") == "ok" and t.get("range")}),
            "body_type_ranges": sorted({b["range"] for b in understanding.get("body_types", [])
                                        if b.get("status") == "ok" and b.get("range")}),
            "colors": [c["name"] for c in understanding.get("colors", []) if c["weight"] >= 0.1]}


class IndexMapper:
    """Decode, embed, understand and detect a batch of items.

    ``detector``: a callable ``rgb -> list[Detection]`` (the façade's
    :class:`detection.pipeline.DetectionPipeline`), or None for no object crops.
    """

    def __init__(self, embedder: Embedder, understanding: QueryUnderstanding, detector=None,
                 limits: CropLimits = CropLimits()):
        self.embedder, self.understanding = embedder, understanding
        self.detector, self.limits = detector, limits

    @classmethod
    def from_lens(cls, lens) -> "IndexMapper":
        """The mapper a :class:`lens.facade.Lens` implies: its embedder, understanding, detector."""
        return cls(lens.embedder, lens.understanding, lens.detector,
                   CropLimits.from_config(lens.config.detection))

    def __call__(self, items: list[dict]) -> MappedBatch:
        images, kept, failures = [], [], []
        for item in items:
            try:
                images.append(load_image(item["image"]))
                kept.append(item)
            except ValueError as exc:
                failures.append((item["image"], str(exc)))
        vectors, logits = self.embedder.embed_and_classify(images)
        records, found = [], []
        for i, (item, rgb) in enumerate(zip(kept, images)):
            # detect first: body type measures the detected people too.  Skin tone finds its own faces
            # here (its thresholds were chosen per range on its own detector), as it always has
            found.append(None if self.detector is None or item.get("kind") == "product" else self.detector(rgb))
            persons = None if found[-1] is None else [d for d in found[-1] if d.label == "person"]
            u = self.understanding(rgb, vectors[i], None if logits is None else logits[i], persons=persons)
            records.append({**item, "width": rgb.shape[1], "height": rgb.shape[0],
                            "image_hash": image_hash(rgb), "understanding": summarize(u)})
        crop_ids, crop_vectors = self._crops(records, images, found)
        return MappedBatch(records, vectors, failures, crop_ids, crop_vectors)

    def _crops(self, records: list[dict], images: list[np.ndarray],
               found: list[list | None]) -> tuple[list[str], np.ndarray | None]:
        """Crop and embed the detected objects of every non-product record (sets ``record["crops"]``)."""
        ids, pixels = [], []
        for record, rgb, detections in zip(records, images, found):
            if detections is None:
                continue
            crops = make_crops(detections, rgb.shape[1], rgb.shape[0], self.limits, record["id"])
            record["crops"] = [{"id": crop_id(record["id"], n), **{k: v for k, v in c.to_dict().items()
                                                                   if k != "parent_id"}}
                               for n, c in enumerate(crops)]
            ids.extend(c["id"] for c in record["crops"])
            pixels.extend(crop_pixels(rgb, c) for c in crops)
        return ids, (self.embedder.embed(pixels) if pixels else None)


class CatalogWriter:
    """Adds mapped batches to a catalog; acknowledged items survive a crash."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    def __call__(self, batch: MappedBatch) -> int:
        self.catalog.add(batch.records, batch.vectors, batch.crop_ids, batch.crop_vectors)
        return len(batch.records)


@dataclass
class IndexReport:
    added: int = 0
    skipped: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"added": self.added, "skipped": self.skipped,
                "failed": [{"file": f, "error": e} for f, e in self.failures]}


def run_indexing(items: list[dict], mapper: IndexMapper, writer: CatalogWriter,
                 batch_size: int = 64, progress: bool = True, update: bool = False) -> IndexReport:
    """Reader output -> mapper -> writer, in batches, skipping what is indexed (unless ``update``:
    then every item is re-indexed, replacing its record, vector and crops)."""
    report = IndexReport()
    todo = items if update else [i for i in items if not writer.catalog.has(i["id"])]
    report.skipped = len(items) - len(todo)
    with tqdm(total=len(todo), desc="indexing", unit="img", disable=not progress) as bar:
        for start in range(0, len(todo), batch_size):
            batch = mapper(todo[start:start + batch_size])
            report.added += writer(batch)
            report.failures.extend(batch.failures)
            bar.update(len(batch.records) + len(batch.failures))
    return report

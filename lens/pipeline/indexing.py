"""``lens index``: a batch job built as reader -> mapper -> writer.

* :func:`lens.manifest.read_items` (reader): a manifest (JSONL, or a folder
  holding ``manifest.jsonl``) or a folder of images -> item dicts with ``id``
  and an absolute ``image`` path, validated line by line.
* :class:`IndexMapper` (mapper): runs the one analysis step
  (:mod:`lens.pipeline.analysis`) on a batch: decode, detect the objects of
  every non-product item (a product photo is one object, which the visual
  index already holds), embed the images and the crops, and the
  understanding summary stored per item; returns records (with a ``crops``
  list) + vectors + crop vectors; unreadable images come back as failures
  naming the file.
* :class:`CatalogWriter` (writer): adds a batch to the catalog (index first,
  then the store), so everything acknowledged survives an interruption, and
  a re-run skips what is already there.

:func:`run_indexing` runs them in this process; :func:`index_items` runs the
mapper on the job runner (:mod:`jobs.runner`, in-process or on Ray actors that
each build their own :class:`~lens.pipeline.bundle.ModelBundle` from the
config) while this process writes the catalog.

Tested in ``tests/test_indexing.py``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from jobs.runner import run_shards
from jobs.shards import make_shards
from lens.catalog import Catalog
from lens.console import progress as progress_bar
from lens.manifest import crop_id
from lens.pipeline.analysis import INDEX_PRODUCT, INDEX_SCENE, Analyzer, ImageAnalysis
from lens.pipeline.bundle import ModelBundle

log = logging.getLogger(__name__)


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
    """Decode, detect, embed and understand a batch of items with the one analysis step.

    Scenes run :data:`~lens.pipeline.analysis.INDEX_SCENE` (their object crops
    are embedded and stored), product photos
    :data:`~lens.pipeline.analysis.INDEX_PRODUCT`; ``detect=False`` treats
    every item as a product (no object crops).
    """

    def __init__(self, analyzer: Analyzer, detect: bool = True):
        self.analyzer, self.detect = analyzer, detect

    @classmethod
    def from_models(cls, models: ModelBundle, detect: bool = True) -> "IndexMapper":
        return cls(Analyzer(models), detect)

    @classmethod
    def from_lens(cls, lens) -> "IndexMapper":
        """The mapper a :class:`lens.pipeline.facade.Lens` implies: its models."""
        return cls(lens.analyzer)

    def __call__(self, items: list[dict]) -> MappedBatch:
        decoded, kept, failures = [], [], []
        for item in items:
            try:
                decoded.append(self.analyzer.decode(item["image"], item_id=item["id"]))
                kept.append(item)
            except ValueError as exc:
                failures.append((item["image"], str(exc)))
        options = [INDEX_SCENE if self.detect and item.get("kind") != "product" else INDEX_PRODUCT
                   for item in kept]
        analyses = self.analyzer.analyze(decoded, options)
        records = [{**item, "width": d.rgb.shape[1], "height": d.rgb.shape[0], "image_hash": d.digest,
                    "understanding": summarize(a.understanding)} for item, d, a in zip(kept, decoded, analyses)]
        dim = self.analyzer.models.embedder.dim
        vectors = np.stack([a.vector for a in analyses]) if analyses else np.zeros((0, dim), np.float32)
        crop_ids, crop_vectors = _crops(records, analyses, options)
        return MappedBatch(records, vectors, failures, crop_ids, crop_vectors)


def _crops(records: list[dict], analyses: list[ImageAnalysis],
           options: list) -> tuple[list[str], np.ndarray | None]:
    """The detected objects of every scene record (sets ``record["crops"]``), their ids and vectors."""
    ids, vectors = [], []
    for record, a, o in zip(records, analyses, options):
        if not o.detect:
            continue
        record["crops"] = [{"id": crop_id(record["id"], n), **{k: v for k, v in c.to_dict().items()
                                                               if k != "parent_id"}}
                           for n, c in enumerate(a.crops)]
        ids.extend(c["id"] for c in record["crops"])
        vectors.extend(a.crop_vectors)
    return ids, (np.stack(vectors).astype(np.float32) if vectors else None)


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
    with progress_bar(total=len(todo), desc="indexing", unit="img", disable=not progress) as bar:
        for start in range(0, len(todo), batch_size):
            batch = mapper(todo[start:start + batch_size])
            report.added += writer(batch)
            report.failures.extend(batch.failures)
            bar.update(len(batch.records) + len(batch.failures))
    return report


def index_catalog(lens, items: list[dict], progress: bool = True, update: bool = False) -> IndexReport:
    """:func:`run_indexing` of ``items`` into ``lens``'s own catalog with its models, in-process
    (the demo, the evaluations, the bench): what is indexed already is skipped."""
    return run_indexing(items, IndexMapper.from_lens(lens), CatalogWriter(lens.catalog),
                        lens.config.embedder.batch_size, progress, update)


class _IndexShardMapper:
    """Picklable factory for Ray workers: an IndexMapper over a shard's items, its models built once
    per actor from the config (no catalog: this process writes it)."""

    def __init__(self, config):
        self.config = config

    def __call__(self):
        mapper = IndexMapper.from_models(ModelBundle(self.config))
        return lambda shard: mapper(shard.items)


def index_items(items: list[dict], lens, engine: str = "local", address: str = "local", workers: int = 2,
                shard_size: int = 64, update: bool = False, progress: bool = True):
    """``lens index`` through :func:`jobs.runner.run_shards`: mappers anywhere, the catalog written
    by this process."""
    report, writer = IndexReport(), CatalogWriter(lens.catalog)
    todo = items if update else [i for i in items if not lens.catalog.has(i["id"])]
    report.skipped = len(items) - len(todo)

    def write(shard, batch):
        report.added += writer(batch)
        report.failures.extend(batch.failures)

    local = IndexMapper.from_lens(lens)
    make = (lambda: (lambda s: local(s.items))) if engine == "local" else _IndexShardMapper(lens.config)
    run_shards(make_shards(todo, shard_size), make, write, engine=engine, address=address,
               workers=workers, progress=progress)
    return report

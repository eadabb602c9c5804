"""The whole ``lens label-crops`` job: reader -> mapper (local or Ray) -> writer, then COCO + report.

:func:`label_crops` is what the command runs; :class:`MapperFactory` builds
the mapper in a Ray worker from the config alone (models and the catalog,
opened read-only: no text index, so nothing is written there).

Tested in ``tests/test_labeling.py``.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from jobs.runner import run_shards
from jobs.shards import make_shards
from lens.catalog import Catalog
from lens.files import atomic_write_text
from lens.labeling.mapper import LabelMapper, product_records
from lens.labeling.reader import catalog_items, source_items
from lens.labeling.weak import category_of
from lens.labeling.writer import ShardWriter, read_rows, write_coco
from lens.pipeline.bundle import ModelBundle
from lens.pipeline.usercrops import read_user_crops
from lens.types import CROP_SOURCES

log = logging.getLogger(__name__)


def open_catalog(config, catalog_dir, models: ModelBundle | None = None):
    """The catalog read-only-ish (its store and vector indexes; text search off) and the bundle."""
    config = dataclasses.replace(config, text=dataclasses.replace(config.text, enabled=False))
    models = ModelBundle(config, reuse=models)
    return Catalog.open(config, models.embedder.settings(), catalog_dir), models


class MapperFactory:
    """Picklable: builds a :class:`LabelMapper` from the config (once per Ray actor)."""

    def __init__(self, config, catalog_dir: str | None, user_boxes: dict | None = None, reuse: bool = False):
        self.config, self.catalog_dir, self.user_boxes, self.reuse = config, catalog_dir, user_boxes, reuse

    def __call__(self):
        catalog, models = open_catalog(self.config, self.catalog_dir)
        return LabelMapper.from_models(models, catalog, self.user_boxes, self.reuse)


@dataclass
class LabelReport:
    shards: int = 0
    skipped_shards: int = 0
    images: int = 0
    crops: int = 0
    confident: int = 0
    boxes: int = 0                  # COCO boxes: the confident crops, one per object
    duplicates: int = 0             # confident crops left out as a surer crop's duplicate or part
    failures: list[dict] = field(default_factory=list)
    coco: str = ""

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "failed": len(self.failures)}


def _items(catalog, source):
    if source:
        return source_items(source)
    items = catalog_items(catalog)
    if not items:
        raise ValueError(f"catalog {catalog.directory}: no indexed scenes to label (run `lens index` first)")
    return items


def label_crops(config, out: str | Path, source: str | None = None, catalog_dir: str | None = None,
                user_crops: str | None = None, min_confidence: float | None = None, engine: str = "local",
                address: str = "local", workers: int = 2, images_root: str | None = None,
                progress: bool = True, mapper_factory=None, from_index: bool = False) -> LabelReport:
    """Label the crops of ``source`` (or the catalog's scenes) into ``out``; see the package docstring."""
    threshold = config.labeling.min_confidence if min_confidence is None else min_confidence
    box_sources = checked_box_sources(config.labeling.box_sources)
    user_boxes = read_user_crops(user_crops) if user_crops else None
    catalog, _ = open_catalog(config, catalog_dir)
    categories = _categories(catalog)
    shards = make_shards(_items(catalog, source), config.labeling.shard_size)
    writer = ShardWriter(out)
    report = LabelReport(shards=len(shards), skipped_shards=sum(writer.done(s) for s in shards))
    factory = mapper_factory or MapperFactory(config, catalog_dir, user_boxes, from_index)
    run_shards(shards, factory, writer, writer.done, engine, address, workers, progress)
    ids = [s.id for s in shards]
    rows = list(read_rows(out, ids))
    report.images = sum(r["type"] == "image" for r in rows)
    report.crops = sum(r["type"] == "crop" for r in rows)
    report.confident = sum(r["type"] == "crop" and r["confidence"] >= threshold for r in rows)
    report.failures = [{"file": r["image"], "error": r["error"]} for r in rows if r["type"] == "failure"]
    root = images_root or os.path.commonpath([r["image"] for r in rows if r["type"] == "image"] or [str(out)])
    root = root if Path(root).is_dir() else str(Path(root).parent)
    path, info = write_coco(out, categories, threshold, root, ids, rows=rows, box_sources=box_sources)
    report.coco, report.boxes, report.duplicates = str(path), info["boxes"], info["duplicates"]
    atomic_write_text(Path(out) / "report.json", json.dumps(report.to_dict(), indent=1))
    return report


def checked_box_sources(sources) -> set[str]:
    """``labeling.box_sources`` as a set; ``ValueError`` naming an unknown source and the valid ones."""
    unknown = [s for s in sources if s not in CROP_SOURCES]
    if unknown or not sources:
        raise ValueError(f"labeling.box_sources {list(sources)}: expected some of {', '.join(CROP_SOURCES)}")
    return set(sources)


def _categories(catalog) -> list[str]:
    """The label set: the catalog products' categories (coarse taxonomy where a product has none)."""
    return sorted({c for r in product_records(catalog).values() if (c := category_of(r))})

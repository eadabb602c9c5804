"""The labelling job's writer: per-shard JSONL (atomic) and a COCO detection dataset.

* :class:`ShardWriter`: ``OUT/labels/<shard id>.jsonl``, one line per crop
  (``"type": "crop"``) or unreadable image (``"type": "failure"``), plus one
  ``"type": "image"`` line per decoded image; written to a temporary file and
  renamed, so a shard file exists only when complete, and a re-run skips it.
* :func:`write_coco`: every finished shard -> ``OUT/coco.json``: the images
  holding at least one crop with ``confidence >= min_confidence`` (an image
  whose objects were all unsure would teach the detector they are
  background), those crops' detection boxes, categories = the catalog's
  product categories (ids from 1, sorted by name).  The unsure crops of
  those images are written too, as ``"iscrowd": 1`` annotations: COCO's
  ignore regions, which ``lens train-detector`` neither learns as objects
  nor as background (:class:`detection.coco.CocoDataset`).  On the seed-0
  catalog 122 of the 199 objects without a confident crop had an unsure
  crop on them (IoU >= 0.5): without these regions they were background.
  One object, one box (:func:`one_box_per_object`): the detector, the
  people boxes and the region proposer often box the same object, so a
  confident crop whose box overlaps a more confident crop *of the same
  label* (IoU > ``DUPLICATE_IOU``, or ``DUPLICATE_INSIDE`` of the smaller
  box inside the other) is left out (``info.duplicates`` counts them).
  On seed 1, 337 of 1,378 confident crops were such duplicates or parts
  (``lens/labeling/README.md``).  ``labeling.box_sources`` names the crop
  sources whose confident crops may become boxes; the others' crops are
  ignore regions (on real photos the pose's footwear boxes are too loose:
  4 of the 72 kept on CCP validation photos lay on a true shoe).

Tested in ``tests/test_labeling.py``.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

from jobs.shards import Shard
from lens.boxes import Box
from lens.files import atomic_write_text
from lens.labeling.mapper import ShardResult


class ShardWriter:
    """Writes finished shards under ``out/labels``; ``done(shard)`` says whether one is there."""

    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.labels = self.out / "labels"

    def path(self, shard_id: str) -> Path:
        return self.labels / f"{shard_id}.jsonl"

    def done(self, shard: Shard) -> bool:
        return self.path(shard.id).is_file()

    def __call__(self, shard: Shard, result: ShardResult) -> int:
        rows = [{"type": "image", **img} for img in result.images] + result.crops
        rows += [{"type": "failure", "image": f, "error": e} for f, e in result.failures]
        atomic_write_text(self.path(result.shard_id), "".join(json.dumps(r) + "\n" for r in rows))
        return len(result.crops)


def read_rows(out: str | Path, shard_ids: list[str] | None = None) -> Iterator[dict]:
    """Every row of the finished shards under ``out/labels`` (only ``shard_ids`` when given)."""
    folder = Path(out) / "labels"
    paths = sorted(folder.glob("*.jsonl")) if shard_ids is None else [folder / f"{s}.jsonl" for s in shard_ids]
    for path in paths:
        if path.is_file():
            with path.open(encoding="utf-8") as fh:
                yield from (json.loads(line) for line in fh if line.strip())


DUPLICATE_IOU = 0.5        # the COCO match threshold: two such boxes would match the same object
# Two same-label boxes, one mostly inside the other, are one object boxed twice (a garment and the
# person's upper-body box around it, a region proposal and the detector's box); the surer stays.
# Keeping the larger instead, seed 1: coverage 0.883 -> 0.808, boxes on no object 0.054 -> 0.129.
DUPLICATE_INSIDE = 0.8


def one_box_per_object(crops: list[dict]) -> tuple[list[dict], int]:
    """``(kept, dropped)``: per image and label, the most confident crop of each overlapping group."""
    kept, dropped = [], 0
    by_image: dict[str, list[dict]] = {}
    for r in crops:
        by_image.setdefault(r["item_id"], []).append(r)
    for rows in by_image.values():
        mine: list[tuple[str, Box]] = []
        for r in sorted(rows, key=lambda r: (-r["confidence"], r["crop_id"])):
            box = Box(*r["detection_box"])
            if any(label == r["label"] and (box.iou(b) > DUPLICATE_IOU or box.overlap(b) >= DUPLICATE_INSIDE)
                   for label, b in mine):
                dropped += 1
                continue
            mine.append((r["label"], box))
            kept.append(r)
    return kept, dropped


def coco_selection(rows: list[dict], min_confidence: float, categories=None, box_sources=None):
    """What the COCO output holds: ``(image rows by id, boxes kept, ignore regions, duplicates left out)``.

    Boxes: confident crops whose ``source`` is in ``box_sources`` (None: any), one per object
    (:func:`one_box_per_object`); ignore regions: the other crops (unsure, or boxed by a
    source whose boxes are too loose to learn from) of images that keep a box.
    ``categories`` (None: any label) limits the crops to those labels.
    """
    images = {r["id"]: r for r in rows if r["type"] == "image"}
    labelled = [r for r in rows if r["type"] == "crop" and r["item_id"] in images
                and (categories is None or r.get("label") in categories)]
    sure = [r for r in labelled if r["confidence"] >= min_confidence
            and (box_sources is None or r.get("source") in box_sources)]
    keep, duplicates = one_box_per_object(sure)
    kept, chosen = {r["item_id"] for r in keep}, {id(r) for r in sure}
    unsure = [r for r in labelled if id(r) not in chosen and r["item_id"] in kept]
    return images, keep, unsure, duplicates


def coco_dict(rows: list[dict], categories: list[str], min_confidence: float, images_root: str | Path,
              box_sources=None) -> dict:
    """The COCO dict of labelled ``rows`` (see the module docstring); file names relative to ``images_root``."""
    cat_id = {name: i for i, name in enumerate(sorted(set(categories)), 1)}
    images, keep, unsure, duplicates = coco_selection(rows, min_confidence, cat_id, box_sources)
    used = sorted({r["item_id"] for r in keep}, key=lambda i: images[i]["index"])
    root = Path(images_root).resolve()
    out = {"info": {"description": "lens label-crops weak labels", "min_confidence": min_confidence,
                    "images_root": str(root), "boxes": len(keep), "ignore_regions": len(unsure),
                    "duplicates": duplicates},
           "images": [{"id": images[i]["index"] + 1, "file_name": os.path.relpath(images[i]["image"], root),
                       "width": images[i]["width"], "height": images[i]["height"], "item_id": i} for i in used],
           "annotations": [], "categories": [{"id": v, "name": k, "supercategory": "product"}
                                             for k, v in cat_id.items()]}
    crowd = {id(r) for r in unsure}
    order = sorted(keep + unsure, key=lambda r: (images[r["item_id"]]["index"], r["crop_id"]))
    for n, r in enumerate(order, 1):
        x1, y1, x2, y2 = r["detection_box"]
        out["annotations"].append({"id": n, "image_id": images[r["item_id"]]["index"] + 1,
                                   "category_id": cat_id[r["label"]], "bbox": [x1, y1, x2 - x1, y2 - y1],
                                   "area": round((x2 - x1) * (y2 - y1), 2),
                                   "iscrowd": int(id(r) in crowd),
                                   "score": r["confidence"], "crop_id": r["crop_id"]})
    return out


def write_coco(out: str | Path, categories: list[str], min_confidence: float, images_root: str | Path,
               shard_ids: list[str] | None = None, name: str = "coco.json", rows: list[dict] | None = None,
               box_sources=None) -> tuple[Path, dict]:
    """Write ``out/<name>`` from the finished shards (or ``rows`` already read from them);
    returns its path and its ``info`` (boxes, ignore regions, duplicates left out)."""
    if not 0.0 <= min_confidence <= 1.0:
        raise ValueError(f"--min-confidence {min_confidence}: expected 0..1")
    rows = list(read_rows(out, shard_ids)) if rows is None else rows
    data = coco_dict(rows, categories, min_confidence, images_root, box_sources)
    path = Path(out) / name
    atomic_write_text(path, json.dumps(data))
    return path, data["info"]

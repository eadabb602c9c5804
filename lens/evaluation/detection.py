"""``lens eval detection --coco VAL.json --images DIR``: are the objects of real photos found?

For every photo of a COCO file (e.g. ``lens data ccp``'s ``val.json``), the configured
detection pipeline runs as indexing and queries run it (the analysis step with ``LABEL``:
every detector, then the crop rules), and per class of the COCO file:

* ``found``: the share of ground-truth boxes that some crop's detection box overlaps with
  IoU >= 0.5 -- a crop is what reaches the object index, so an object not found here is one
  object search cannot find;
* ``found by rcnn``: the same counting only the Faster R-CNN's crops;
* ``AP@0.5`` (and mAP@0.5, mAP@[.5:.95]) of the configured Faster R-CNN, by class name, at
  its internal score threshold (pycocotools; :func:`detection.coco.evaluate`), when it has one;
* ``detect ms``: the pipeline's median and p95 per photo; ``crops per photo`` (what indexing embeds).

Tested in ``tests/test_detection_eval.py``.
"""
from __future__ import annotations

import time
from collections import Counter

import numpy as np

from detection.coco import CocoDataset, evaluate, read_coco
from lens.boxes import Box
from lens.console import progress as progress_bar
from lens.evaluation.common import EvalReport
from lens.pipeline.analysis import LABEL, Analyzer, Decoded
from lens.pipeline.bundle import ModelBundle

FOUND_IOU = 0.5


def _truth(dataset: CocoDataset, index: int) -> list[tuple[str, Box]]:
    names = dataset.coco.labels
    target = dataset.target(index)
    return [(names[int(label)], Box(*box)) for box, label in zip(target["boxes"].tolist(),
                                                                 target["labels"].tolist()) if label > 0]


def found_figures(analyzer: Analyzer, dataset: CocoDataset, limit: int = 0, progress: bool = True) -> dict:
    """Per class: ground-truth boxes, found (any crop), found by the R-CNN's crops; detection ms."""
    total, found, by_rcnn, times, crops = Counter(), Counter(), Counter(), [], []
    indices = range(len(dataset) if not limit else min(limit, len(dataset)))
    for i in progress_bar(indices, desc="detect", disable=not progress):
        rgb = dataset.load_rgb(i)
        start = time.perf_counter()
        (analysis,) = analyzer.analyze([Decoded(rgb, rgb)], LABEL)
        times.append((time.perf_counter() - start) * 1000)
        crops.append(len(analysis.crops))
        for name, box in _truth(dataset, i):
            ious = [(c.detection_box.iou(box), c.source) for c in analysis.crops]
            total[name] += 1
            found[name] += any(iou >= FOUND_IOU for iou, _ in ious)
            by_rcnn[name] += any(iou >= FOUND_IOU and src == "rcnn" for iou, src in ious)
    out = {"photos": len(indices), "crops per photo": round(float(np.mean(crops)), 2) if crops else 0.0}
    for name in dataset.coco.labels[1:]:
        n = total[name]
        out[f"{name}: boxes"] = n
        out[f"{name}: found"] = round(found[name] / n, 4) if n else None
        out[f"{name}: found by rcnn"] = round(by_rcnn[name] / n, 4) if n else None
    out["detect ms median"] = round(float(np.median(times)), 1) if times else None
    out["detect ms p95"] = round(float(np.percentile(times, 95)), 1) if times else None
    return out


def map_figures(models: ModelBundle, dataset: CocoDataset) -> dict:
    """mAP of the configured Faster R-CNN on ``dataset``, matched by class name; {} when it has none."""
    detector = models.object_detector
    if detector is None or not set(detector.labels) & set(dataset.coco.labels[1:]):
        return {}
    m = evaluate(detector, dataset)
    return {"mAP@0.5": m["map_50"], "mAP@[.5:.95]": m["map_50_95"],
            **{f"{name}: AP@0.5": ap for name, ap in m["ap50_per_class"].items()}}


def detection_eval(models: ModelBundle, coco_path: str, images: str, classes: list[str] | None = None,
                   limit: int = 0, progress: bool = True) -> dict:
    """Found rates, mAP and timings on a COCO file; ``classes``: the classes averaged as ``mean``."""
    dataset = CocoDataset(read_coco(coco_path), images)
    if limit:
        dataset.images = dataset.images[:limit]
    figures = {**found_figures(Analyzer(models), dataset, progress=progress), **map_figures(models, dataset)}
    chosen = classes or [n for n in dataset.coco.labels[1:] if figures.get(f"{n}: boxes")]
    for key in ("found", "AP@0.5"):
        values = [figures.get(f"{n}: {key}") for n in chosen]
        if values and all(isinstance(v, float) and v >= 0 for v in values):
            figures[f"mean {key} ({', '.join(chosen)})"] = round(float(np.mean(values)), 4)
    return figures


def detection_command(args, config) -> EvalReport:
    classes = [c for c in (args.classes or "").split(",") if c]
    figures = detection_eval(ModelBundle(config), args.coco, args.images, classes, args.limit)
    return EvalReport(f"detection on {args.coco} ({figures['photos']} photos)", figures)

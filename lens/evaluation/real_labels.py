"""``lens eval labels --truth MANIFEST --labels DIR``: weak labels of real photos against their masks.

The weak-label loop on real photos (issue 19.3): ``lens label-crops`` labels the crops of
photos that carry only tags, voting with a product catalog's categories (for CCP: the
training split's garments, :mod:`lens.datasets.ccp_products`) and the photo's own tags;
``lens train-detector`` then learns from the weak COCO output.  This module measures both
halves on photos that do have true boxes:

* agreement, coverage and boxes on no object of a label-crops output over photos of a
  manifest whose rows carry ``objects`` (``category``, ``box`` pixel x1, y1, x2, y2), e.g.
  ``lens data ccp``'s ``masked-val.jsonl`` (:func:`lens.evaluation.labels.agreement_figures`);
* with ``--compare WEAK.pt --val VAL.json --images DIR``: mAP@0.5 of the configured detector's
  checkpoint (trained on true boxes) next to the weak-label checkpoint on the same held-out
  COCO file, per class, and the gap.

Tested in ``tests/test_labeling.py``.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from detection.coco import CocoDataset, evaluate, read_coco
from detection.rcnn import ObjectDetector
from lens.boxes import Box
from lens.evaluation import labels as synthetic
from lens.evaluation.common import EvalReport
from lens.evaluation.labels import agreement_figures, coco_figures
from lens.labeling.writer import read_rows
from lens.manifest import read_items
from lens.models import ModelStore


def manifest_truth(path: str | Path) -> dict[str, list[tuple[str, Box]]]:
    """``image id -> [(category, box)]`` of a manifest's rows that carry ``objects``."""
    truth = {}
    for item in read_items(path):
        objects = item.get("objects")
        if isinstance(objects, list):
            truth[item["id"]] = [(o["category"], Box(*o["box"])) for o in objects]
    if not truth:
        raise ValueError(f"--truth {path}: no row carries 'objects' (category and box)")
    return truth


def checkpoint_map(config, checkpoint: str, dataset: CocoDataset) -> dict:
    """mAP@0.5 and AP@0.5 per class of the Faster R-CNN checkpoint ``checkpoint`` on ``dataset``."""
    if not Path(checkpoint).is_file():
        raise ValueError(f"detector checkpoint {checkpoint}: no such file")
    models = ModelStore.from_config(dataclasses.replace(config.models, detector_checkpoint=checkpoint))
    detection = dataclasses.replace(config.detection, detector="auto")
    m = evaluate(ObjectDetector.from_config(detection, models), dataset)
    return {"mAP@0.5": m["map_50"], **{f"{n}: AP@0.5": ap for n, ap in m["ap50_per_class"].items()}}


def compare_figures(config, weak: str, val: str, images: str) -> dict:
    """The configured checkpoint (``truth``) and ``weak`` on one COCO file, and the mAP@0.5 gap."""
    truth = config.models.detector_checkpoint
    if not truth:
        raise ValueError("--compare: models.detector_checkpoint (the true-box detector) is not set")
    dataset = CocoDataset(read_coco(val), images)
    figures = {}
    for name, path in (("truth", truth), ("weak", weak)):
        figures.update({f"{name} {k}": v for k, v in checkpoint_map(config, path, dataset).items()})
    figures["mAP@0.5 gap"] = round(figures["truth mAP@0.5"] - figures["weak mAP@0.5"], 4)
    return figures


def real_labels_command(args, config) -> EvalReport:
    """``lens eval labels --truth``: agreement of ``--labels`` on the truth photos; ``--compare``."""
    if not args.labels:
        raise ValueError("--truth: give --labels, a label-crops output over (some of) those photos")
    threshold = config.labeling.min_confidence if args.min_confidence is None else args.min_confidence
    truth = manifest_truth(args.truth)
    rows = list(read_rows(args.labels))
    figures = {**agreement_figures(rows, truth, threshold),
               **coco_figures(rows, truth, threshold, config.labeling.box_sources)}
    if args.compare:
        if not (args.val and args.images):
            raise ValueError("--compare needs --val (a COCO file) and --images (its images root)")
        figures.update(compare_figures(config, args.compare, args.val, args.images))
    return EvalReport(f"labels {args.labels} on {args.truth} (min confidence {threshold})", figures)


def labels_command(args, config) -> EvalReport:
    """``lens eval labels``: real photos with ``--truth``, else the synthetic scenes."""
    return real_labels_command(args, config) if args.truth else synthetic.labels_command(args, config)

"""``lens eval labels``: weak labels against the synthetic ground truth, and the detectors they train.

* Agreement: every crop with ``confidence >= min_confidence`` is matched to
  the ground-truth object box of its scene (objects >= 50 % visible, as in
  :mod:`lens.synth.coco`) with the highest IoU with its detection box; at
  IoU >= 0.5 it *agrees* when its weak label is that object's category.
  ``agreement`` = agreeing / matched confident crops, also per ground-truth
  category.  ``coverage`` = ground-truth objects matched by a confident
  crop / all of them (in the labelled scenes); ``unmatched`` = confident
  crops matching no object (boxes on nothing: they become false boxes).
* ``coco …``: the same figures over the boxes the COCO output keeps
  (:func:`lens.labeling.writer.one_box_per_object`: duplicates and parts of
  a surer same-label box left out) -- what the detector is trained on.
* mAPs (``--train``): two detectors with the same settings, one on the true
  boxes of the ``coco-from-synth`` train scenes, one on the weak COCO output
  restricted to the same scenes, both evaluated on the same held-out val
  scenes.  ``person`` is left out of both (crops never hold whole people).

Tested in ``tests/test_labeling.py`` (agreement on hand-made rows).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

from detection.train import TrainSettings, train
from lens.boxes import Box
from lens.evaluation.common import EvalReport, eval_catalog
from lens.evaluation.indexed import build_eval_lens
from lens.labeling.job import label_crops
from lens.labeling.writer import coco_selection, read_rows
from lens.models import ModelStore
from lens.synth.coco import PERSON, coco_dicts, read_scenes, scene_boxes

log = logging.getLogger(__name__)
MATCH_IOU = 0.5     # the COCO / PASCAL match threshold


def _xyxy(b: list[float]) -> Box:
    return Box(b[0], b[1], b[0] + b[2], b[1] + b[3])


def scene_truth(scenes: list[dict]) -> dict[str, list[tuple[str, Box]]]:
    """``scene id -> [(category, box)]``: the synthetic scenes' objects (``person`` left out)."""
    return {s["id"]: [(c, _xyxy(b)) for c, b in scene_boxes(s) if c != PERSON] for s in scenes}


def agreement_figures(rows: list[dict], truth: dict[str, list[tuple[str, Box]]], min_confidence: float) -> dict:
    """Agreement, per-category agreement, coverage and unmatched share against ``truth``
    (image id -> its objects' ``(category, box)``); see the module docstring."""
    labelled = {r["id"] for r in rows if r["type"] == "image" and r["id"] in truth}
    crops = [r for r in rows if r["type"] == "crop" and r["item_id"] in labelled]
    sure = [r for r in crops if r["confidence"] >= min_confidence]
    matched, agree, per_cat, covered = 0, 0, {}, set()
    for r in sure:
        box = Box(*r["detection_box"])
        best = max(((box.iou(b), n, c) for n, (c, b) in enumerate(truth[r["item_id"]])), default=(0.0, -1, None))
        if best[0] < MATCH_IOU:
            continue
        matched += 1
        agree += r["label"] == best[2]
        covered.add((r["item_id"], best[1]))
        hits = per_cat.setdefault(best[2], [0, 0])
        hits[0] += r["label"] == best[2]
        hits[1] += 1
    objects = sum(len(truth[i]) for i in labelled)
    figures = {"scenes": len(labelled), "crops": len(crops), "confident crops": len(sure),
               "matched crops": matched, "agreement": round(agree / matched, 4) if matched else 0.0,
               "coverage": round(len(covered) / objects, 4) if objects else 0.0,
               "unmatched": round((len(sure) - matched) / len(sure), 4) if sure else 0.0}
    figures.update({f"agreement {c}": round(a / n, 4) for c, (a, n) in sorted(per_cat.items())})
    return figures


def coco_figures(rows: list[dict], truth: dict, min_confidence: float, box_sources=None) -> dict:
    """:func:`agreement_figures` over the crops the COCO output keeps (confident crops of
    ``box_sources``, one per object), keys prefixed ``coco``."""
    images, kept, _, dropped = coco_selection(rows, min_confidence, box_sources=box_sources)
    figures = agreement_figures(list(images.values()) + kept, truth, min_confidence)
    out = {f"coco {k}": figures[k] for k in ("confident crops", "agreement", "coverage", "unmatched")}
    out["coco duplicates left out"] = dropped
    return out


def _with_categories(data: dict, names: list[str]) -> dict:
    """``data`` with categories ``names`` (ids from 1), annotations of other categories dropped."""
    old = {c["id"]: c["name"] for c in data["categories"]}
    new = {n: i for i, n in enumerate(names, 1)}
    anns = [{**a, "category_id": new[old[a["category_id"]]]} for a in data["annotations"]
            if old[a["category_id"]] in new]
    return {**data, "annotations": anns,
            "categories": [{"id": i, "name": n, "supercategory": "product"} for n, i in new.items()]}


def training_sets(folder: Path, weak: dict, out: Path, val_every: int = 5) -> dict[str, Path]:
    """Write ``truth.json``, ``weak.json`` (train scenes only) and ``val.json`` over one category list."""
    train, val = coco_dicts(read_scenes(folder), val_every)
    names = [c["name"] for c in sorted(weak["categories"], key=lambda c: c["id"])]
    root = Path(weak["info"]["images_root"])
    by_file = {str((folder / i["file_name"]).resolve()): i for i in train["images"]}
    images, ids = [], {}
    for img in weak["images"]:
        ref = by_file.get(str((root / img["file_name"]).resolve()))
        if ref is not None:
            images.append(ref)
            ids[img["id"]] = ref["id"]
    anns = [{**a, "image_id": ids[a["image_id"]]} for a in weak["annotations"] if a["image_id"] in ids]
    weak_train = {**weak, "images": images, "annotations": anns}
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, data in (("truth", _with_categories(train, names)), ("weak", weak_train),
                       ("val", _with_categories(val, names))):
        paths[name] = out / f"{name}.json"
        paths[name].write_text(json.dumps(data))
    return paths


def detector_maps(folder: Path, weak_coco: Path, out: Path, epochs: int, models, progress: bool = True) -> dict:
    """mAP@0.5 of a detector trained on the true boxes vs one trained on the weak labels."""
    paths = training_sets(folder, json.loads(Path(weak_coco).read_text()), out)
    figures = {}
    for name in ("truth", "weak"):
        settings = TrainSettings(str(paths[name]), str(folder), val=str(paths["val"]), epochs=epochs,
                                 out=str(out / name))
        metrics = train(settings, models, progress)["metrics"]
        figures[f"mAP@0.5 {name}"] = metrics["map_50"]
        figures[f"train seconds {name}"] = metrics["train_seconds"]
    figures["mAP@0.5 gap"] = round(figures["mAP@0.5 truth"] - figures["mAP@0.5 weak"], 4)
    return figures


def labels_command(args, config) -> EvalReport:
    """``lens eval labels``: label the catalog's scenes (unless ``--labels``), then agreement, coverage
    and, with ``--train``, the mAPs of detectors trained on true and on weak boxes (synthetic
    scenes; real photos: :func:`lens.evaluation.real_labels.labels_command`)."""
    folder = eval_catalog(args)
    threshold = config.labeling.min_confidence if args.min_confidence is None else args.min_confidence
    out = Path(args.labels or folder / "labels")
    if not args.labels:
        lens = build_eval_lens(config, folder)   # index once (products are the label source)
        label_crops(config, out, catalog_dir=str(lens.catalog.directory), min_confidence=threshold,
                    images_root=str(folder), from_index=True)
    rows, truth = list(read_rows(out)), scene_truth(read_scenes(folder))
    figures = {**agreement_figures(rows, truth, threshold),
               **coco_figures(rows, truth, threshold, config.labeling.box_sources)}
    if args.train:
        coco = Path(out) / "coco.json"
        figures.update(detector_maps(folder, coco, out / "train", args.epochs, ModelStore.from_config(config.models)))
    return EvalReport(f"labels on {folder} (min confidence {threshold})", figures)

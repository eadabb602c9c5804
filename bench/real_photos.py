"""``make bench``'s ``real photos`` section: every stage measured on real photos (issue 19).

The datasets are converted by ``lens data`` into ``data/bench/real/`` (the photos stay where they
are), then, with ``configs/default.yaml``:

* ``ccp``: garment boxes found by the crops (IoU >= 0.5) per class and the Faster R-CNN's AP@0.5
  on our CCP validation fold (every 5th photo by number, fold 0; ``lens eval detection``);
* ``grocery``: in-store validation photos -> their product among the 81 catalog products,
  top-1 / top-5 for the visual source alone and for the whole lens, and the relevance floor: how
  often a correct first hit stays above it, and how often a CCP validation photo (street fashion,
  nothing in this catalog) finds nothing above it (``lens eval retrieval --manifest --queries
  --foreign``);
* ``grocery floor fit``: the relevance floor's pair fitted on the fitting photos (``lens eval
  floor``: the 2,640 Grocery train photos, the 1,059 CCP train-fold and tagged street photos), beside the
  configured pair on the same photos: whether ``configs/default.yaml``'s pair is still the fitted one;
* ``grocery + train photos``: the same, with Grocery's train-split in-store photos indexed too
  (``--also-index``), each counting as its product: the whole lens against its visual source;
* ``clothing``: a category head trained on the clothing train photos, accuracy on their
  validation photos over the 10 classes and per class (``lens train-categories --val``);
* ``ccp weak labels`` (unless ``weak`` is off): the weak-label loop, ``bench/weak_labels.py``.

Skipped with a one-line note when the data root is absent.
"""
from __future__ import annotations

import time
from pathlib import Path

from lens.config import load_config
from lens.datasets import ccp, clothing, grocery
from lens.evaluation.detection import detection_eval
from lens.evaluation.floor_fit import floor_fit_eval
from lens.evaluation.real_retrieval import real_retrieval_eval
from lens.pipeline.bundle import ModelBundle
from lens.understanding.category_head import train_from_manifest
from weak_labels import bench_weak_labels

GOAL_CLASSES = ["upper_body", "lower_body", "dress", "footwear", "bag"]
FIT_PHOTOS = 0      # all of them: with 500 of each (~180 right first hits) the chosen pair swung from sample to sample


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return {**out, "seconds": round(time.perf_counter() - start, 1)}


def bench_ccp(root: Path, work: Path, models: ModelBundle) -> dict:
    ccp.convert(root / "ccp", work / "ccp", fold=0, folds=5)
    figures = detection_eval(models, str(work / "ccp" / "val.json"), str(root / "ccp"), GOAL_CLASSES,
                             progress=False)
    return {"goal": "mAP@0.5 >= 0.55 over the 5 classes; each found >= 0.80", **figures}


def bench_grocery(root: Path, work: Path, models: ModelBundle) -> dict:
    grocery.convert(root / "grocery", work / "grocery")
    figures = real_retrieval_eval(models.config, str(work / "grocery" / "catalog.jsonl"),
                                  str(work / "grocery" / "queries-val.jsonl"), workdir=str(work / "grocery-index"),
                                  progress=False, models=models, foreign=str(work / "ccp" / "masked-val.jsonl"))
    return {"floor goal": "first hit correct, above the floor >= 0.98; street photos with no close match >= 0.90",
            **figures}


def bench_floor_fit(root: Path, work: Path, models: ModelBundle) -> dict:
    """``lens eval floor`` on the fitting photos (never the validation photos the floor is measured on)."""
    figures = floor_fit_eval(models.config, str(work / "grocery" / "catalog.jsonl"),
                             str(work / "grocery" / "queries-train.jsonl"),
                             [str(work / "ccp" / "masked-train.jsonl"), str(work / "ccp" / "tagged.jsonl")],
                             workdir=str(work / "grocery-index"), limit=FIT_PHOTOS, progress=False, models=models)
    return {k: v for k, v in figures.items() if not k.startswith("weight ")}


def bench_grocery_train_photos(root: Path, work: Path, models: ModelBundle) -> dict:
    """The same validation photos against the 81 products and Grocery's 2,640 train-split in-store
    photos (each counts as its product): the whole lens must not lose to its visual source."""
    figures = real_retrieval_eval(models.config, str(work / "grocery" / "catalog.jsonl"),
                                  str(work / "grocery" / "queries-val.jsonl"),
                                  also=[str(work / "grocery" / "queries-train.jsonl")],
                                  workdir=str(work / "grocery-train-index"), progress=False, models=models)
    return {"goal": "lens top-1 and top-5 >= visual top-1 and top-5", **figures}


def bench_clothing(root: Path, work: Path, models: ModelBundle) -> dict:
    clothing.convert(root / "clothing", work / "clothing")
    figures = train_from_manifest(work / "clothing" / "train.jsonl", models.embedder,
                                  {"category": work / "clothing-category.pt"}, progress=False,
                                  val=work / "clothing" / "val.jsonl")["category"]
    return {"goal": "accuracy >= 0.85 over the 10 classes", "train photos": figures["train"],
            "val photos": figures["held_out"], "accuracy": figures["held_out_accuracy"],
            **{f"accuracy {c}": v for c, v in figures["per_class"].items()}}


def bench_real_photos(root: Path, work: Path, weak: bool = True) -> dict:
    """The section's figures, or a note saying why it was skipped."""
    missing = [name for name in ("ccp", "grocery", "clothing") if not (root / name).is_dir()]
    if missing:
        return {"skipped": f"no {', '.join(missing)} under {root} (set LENS_REAL_DATA to the data root)"}
    models = ModelBundle(load_config("default"))
    work.mkdir(parents=True, exist_ok=True)
    out = {"data root": str(root)}
    parts = [("ccp", bench_ccp), ("grocery", bench_grocery), ("grocery floor fit", bench_floor_fit),
             ("grocery + train photos", bench_grocery_train_photos),
             ("clothing", bench_clothing)]
    parts += [("ccp weak labels", bench_weak_labels)] if weak else []
    for prefix, run in parts:
        out.update({f"{prefix}: {k}": v for k, v in _timed(lambda: run(root, work, models)).items()})
    return out

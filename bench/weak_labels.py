"""``make bench``'s ``real photos`` section, part ``ccp weak labels``: the weak-label loop on real photos.

The recipe of ``detection/checkpoints/README.md`` ("The weak-label loop on real photos"), run
end to end with ``configs/default.yaml`` (issue 19.3):

1. the CCP training split's garments (``lens data ccp``'s ``products.jsonl``) indexed as a product
   catalog, whose categories vote;
2. ``lens label-crops`` over the 500 tag-only photos (their tags vote too) -> a weak COCO file, and
   over the validation photos, whose true boxes then score the labels (agreement, coverage);
3. ``lens train-detector`` on the weak COCO file with the recipe of the committed true-box
   detector (its input size, 12 epochs, 8 MobileNetV2 blocks fine-tuned, seed 0);
4. ``lens eval labels --compare``: both detectors' mAP@0.5 on the validation photos and the gap
   (goal: <= 0.15).

Everything is written under ``WORK/ccp-weak`` and resumed from there (indexing, label shards,
training checkpoints): a second run only re-evaluates.  The training is most of the time
(~30-50 min on 2 cores); ``python bench/run.py --only "real photos" --no-weak-labels`` leaves
this part out.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch

from detection.rcnn import load_checkpoint
from detection.train import TrainSettings, train
from lens.evaluation.labels import agreement_figures, coco_figures
from lens.evaluation.real_labels import compare_figures, manifest_truth
from lens.evaluation.real_retrieval import indexed_lens
from lens.labeling.job import label_crops
from lens.labeling.writer import read_rows
from lens.pipeline.bundle import ModelBundle

EPOCHS, TRAIN_BLOCKS, SEED = 12, 8, 0       # the true-box detector's recipe (checkpoints/README.md)


def _label(models: ModelBundle, catalog: Path, manifest: Path, out: Path, images: Path) -> dict:
    start = time.perf_counter()
    report = label_crops(models.config, out, str(manifest), str(catalog), images_root=str(images),
                         progress=False)
    return {"crops": report.crops, "boxes": report.boxes, "seconds": round(time.perf_counter() - start, 1)}


def _train(models: ModelBundle, coco: str, images: Path, out: Path) -> tuple[str, dict]:
    recipe = load_checkpoint(models.config.models.detector_checkpoint)
    settings = TrainSettings(data=coco, images=str(images), epochs=EPOCHS, out=str(out),
                             resume=True, max_size=recipe.max_size, seed=SEED, train_blocks=TRAIN_BLOCKS)
    start = time.perf_counter()
    done = out / "detector.pt"
    if not done.is_file():
        train(settings, models.store, progress=False)
    return str(done), {"train seconds": round(time.perf_counter() - start, 1),
                       "train threads": torch.get_num_threads(), "input long side": recipe.max_size}


def bench_weak_labels(root: Path, work: Path, models: ModelBundle) -> dict:
    """The loop's figures; ``work`` holds ``lens data ccp``'s output (``ccp/``)."""
    ccp, out, images = work / "ccp", work / "ccp-weak", root / "ccp"
    start = time.perf_counter()
    indexed_lens(models.config, [ccp / "products.jsonl"], out / "products", progress=False, models=models)
    figures = {"products indexed seconds": round(time.perf_counter() - start, 1)}
    catalog = out / "products" / "catalog"
    tagged = _label(models, catalog, ccp / "tagged.jsonl", out / "tagged", images)
    figures.update({f"tag-only photos: {k}": v for k, v in tagged.items()})
    labelled = _label(models, catalog, ccp / "masked-val.jsonl", out / "val-labels", images)
    figures.update({f"val photos: {k}": v for k, v in labelled.items()})
    threshold = models.config.labeling.min_confidence
    rows, truth = list(read_rows(out / "val-labels")), manifest_truth(ccp / "masked-val.jsonl")
    figures.update(agreement_figures(rows, truth, threshold))
    figures.update(coco_figures(rows, truth, threshold, models.config.labeling.box_sources))
    weak, trained = _train(models, str(out / "tagged" / "coco.json"), images, out / "train")
    figures.update(trained)
    figures.update(compare_figures(models.config, weak, str(ccp / "val.json"), str(images)))
    return {"goal": "weak-label detector within 0.15 mAP@0.5 of the true-box one", **figures}

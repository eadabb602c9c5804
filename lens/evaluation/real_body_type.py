"""``lens eval body-type --real DATA``: body type on real bodies, against their true silhouettes.

``DATA`` holds ``ccp/`` (Clothing Co-Parsing, as ``lens data ccp`` reads it) and, for the
people-free check, ``grocery/`` and ``clothing/``; each part is skipped with a note when absent.

* **Real bodies** (CCP photos of the validation fold ``lens data ccp`` keeps, photo number
  % 5 == 0): CCP's pixel mask gives each photo's true silhouette (every label but background:
  body, hair, clothes, bag).  The *reference* body type is the estimator's own measurement
  (:func:`lens.understanding.body.measure` and :func:`~lens.understanding.body.classify`) on
  that silhouette, with the pose found on the photo; the *pipeline's* is the estimator on the
  photo alone (its own segmentation and pose), matched to the silhouette by box IoU >=
  ``MATCH_IOU``.  Figures per reference range (never only in aggregate): agreement where both
  give a range, the pipeline's abstentions; the pipeline's abstention on full-body photos (the
  silhouette clear of the frame's top and bottom, so head and feet are in it); the reference's
  own abstentions.
* **False body types**: the share of people-free photos given any body type
  (:mod:`lens.evaluation.people_free`: Grocery's in-store photos, the clothing photos).

Tested in ``tests/test_real_body_type.py``.
"""
from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from lens.boxes import Box
from lens.config import LensConfig
from lens.console import progress as progress_bar
from lens.datasets.ccp import read_mask
from lens.datasets.common import Skipped, in_val
from lens.evaluation.common import EvalReport, spread
from lens.evaluation.people_free import real_figures
from lens.imageio import load_image
from lens.pipeline.bundle import ModelBundle
from lens.understanding.body import RANGES, WORK_SIDE, classify, measure

log = logging.getLogger(__name__)
MATCH_IOU = 0.3          # the pipeline's person box vs. the true silhouette's (as lens eval body-type)
FOLD, FOLDS = 0, 5       # lens data ccp's default validation fold
EDGE = 2                 # px: a silhouette this close to the frame's top or bottom is cut by it


def ccp_photos(data: Path, limit: int = 0, split: str = "val") -> list[int]:
    """Numbers of CCP's masked photos in ``split`` (``val``: the fold ``lens data ccp`` keeps for
    validation; ``train``: the rest); ``limit``: that many, spread evenly."""
    if split not in ("train", "val"):
        raise ValueError(f"split {split!r}: expected 'train' or 'val'")
    folder = Path(data) / "ccp" / "annotations" / "pixel-level"
    return spread([n for n in sorted(int(p.stem) for p in folder.glob("*.mat") if p.stem.isdigit())
                   if in_val(n, FOLD, FOLDS) == (split == "val")], limit)


def ccp_masks(data: Path, limit: int = 0, progress: bool = True, desc: str = "ccp", labels: int | None = None):
    """``(number, photo path, label mask)`` of each CCP validation photo; bad ones are named, left
    out and counted in one warning at the end (``labels``: how many label names there are)."""
    skipped = Skipped()
    for number in progress_bar(ccp_photos(data, limit), desc=desc, disable=not progress):
        found = read_mask(Path(data) / "ccp", number, skipped, labels)
        if found is not None:
            yield number, *found
    if skipped.total:
        log.warning("ccp: %d photos skipped (%s)", skipped.total, skipped.report())


def _scaled(rgb: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both reduced to the estimator's working size (``WORK_SIDE``), as it reduces a photo."""
    scale = min(1.0, WORK_SIDE / max(rgb.shape[:2]))
    if scale == 1.0:
        return rgb, mask
    size = (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale))
    return (cv2.resize(rgb, size, interpolation=cv2.INTER_AREA),
            cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0)


def reference(estimator, rgb: np.ndarray, silhouette: np.ndarray) -> tuple[int | None, str]:
    """``(range, "")`` measured on the true ``silhouette`` (H x W bool) with the photo's pose, or
    ``(None, why)``."""
    from detection.pose import pose_by_roi     # deferred with the estimator's mediapipe graphs

    ys, xs = np.nonzero(silhouette)
    box = Box(float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
    with estimator._lock:
        found = pose_by_roi(estimator._people.graphs()[1], rgb, box, retry=True)
    if found is None:
        return None, "no pose"
    m = measure(silhouette, found[0], rgb)
    return (None, m) if isinstance(m, str) else (classify(m["shoulder"], m["waist"], m["hip"])[0], "")


def _pipeline(estimator, rgb: np.ndarray, truth: Box) -> int | None:
    """The pipeline's range for the person at ``truth`` (None: abstained or not found)."""
    best = max(estimator(rgb), key=lambda b: Box(*b.person_box).iou(truth) if b.person_box else 0.0)
    hit = best.person_box is not None and Box(*best.person_box).iou(truth) >= MATCH_IOU
    return best.range if hit and best.status == "ok" else None


def real_bodies(estimator, data: Path, limit: int = 0, progress: bool = True) -> list[dict]:
    """One row per CCP validation photo: reference range (or why not), pipeline range, full body."""
    rows = []
    for number, photo, mask in ccp_masks(data, limit, progress, "ccp bodies"):
        rgb, silhouette = _scaled(load_image(photo), mask > 0)
        ys, xs = np.nonzero(silhouette)
        truth = Box(float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
        ref, why = reference(estimator, rgb, silhouette)
        rows.append({"photo": number, "reference": ref, "why": why, "pipeline": _pipeline(estimator, rgb, truth),
                     "full_body": bool(ys.min() > EDGE and ys.max() < silhouette.shape[0] - 1 - EDGE)})
    return rows


def body_figures(rows: list[dict]) -> dict:
    """Per reference range and overall (see the module docstring)."""
    out: dict = {"ccp photos": len(rows)}
    both = [r for r in rows if r["reference"] and r["pipeline"]]
    for rng, name in RANGES.items():
        mine = [r for r in rows if r["reference"] == rng]
        rated = [r for r in mine if r["pipeline"]]
        out[f"range {rng} {name}: photos"] = len(mine)
        out[f"range {rng} {name}: agreement"] = round(np.mean([r["pipeline"] == rng for r in rated]), 4) if rated else None
        out[f"range {rng} {name}: pipeline abstains"] = round(1 - len(rated) / len(mine), 4) if mine else None
    out["agreement where both give a range"] = round(np.mean([r["reference"] == r["pipeline"] for r in both]), 4) if both else None
    full = [r for r in rows if r["full_body"]]
    out["full-body photos"] = len(full)
    out["pipeline abstains on full-body photos"] = round(np.mean([r["pipeline"] is None for r in full]), 4) if full else None
    out["reference abstains"] = round(np.mean([r["reference"] is None for r in rows]), 4) if rows else None
    out["reference abstains because"] = dict(Counter(r["why"] for r in rows if r["reference"] is None).most_common(4))
    return out


def real_body_type_eval(config: LensConfig, data, limit: int = 0, progress: bool = True,
                        models: ModelBundle | None = None) -> dict:
    """The module docstring's figures over the data root ``data`` (absent parts noted as skipped)."""
    estimator = (models or ModelBundle(config)).body_type
    return real_figures(data, lambda d: body_figures(real_bodies(estimator, d, limit, progress)),
                        lambda rgb: any(b.status == "ok" for b in estimator(rgb)), "body types", limit, progress)


def real_body_type_command(args, config: LensConfig, progress: bool = True) -> EvalReport:
    figures = real_body_type_eval(config, args.real, args.limit, progress)
    return EvalReport(f"body type on real photos under {args.real}", figures)

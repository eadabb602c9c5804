"""Body type evaluation on synthetic people, per range (never only in aggregate).

``lens eval body-type`` (``--catalog DIR`` or ``--products N --scenes M --seed S``,
see :mod:`lens.evaluation`): every recorded person of every scene of a synthetic
catalog is matched to the estimator's results by box IoU (>= ``MATCH_IOU``);
a person with no matching result counts as "unknown" (missed).  Figures:

* per range 1..4 (``slim``, ``straight``, ``curvy``, ``full``), on full-body
  people: precision, recall (abstentions count as misses), F1, support and
  abstain rate;
* the 4 x 5 confusion matrix (true range x predicted range + "unknown");
* abstain rate on people whose torso is not fully visible (the waist-up
  ``portrait`` framing; should be high) and on full-body people (should be low);
* accuracy on full-body people, only alongside the per-range figures;
* body type recall per *skin tone* range of the same full-body people: the
  person segmentation finds light-skinned synthetic figures less often
  (generator 1.1, seeds 0-2: ~65 % found at MST 1-3, ~90 % at MST 7, 8, 10),
  and a signal that serves representation must show such gaps (the
  detector's person boxes close most of it);
* body type recall per lower-body garment (dress, skirt, trousers): a dress
  or a flared skirt hides the hips;
* false body types: the share of product photos and of scenes without
  people given any body type.

Candidates are found as :class:`lens.pipeline.facade.Lens` finds them: person
segmentation, plus the config's Faster R-CNN ``person`` boxes when it has
that class (``lens -c demo eval body-type``: the synthetic checkpoint, trained
on seed 0's first 300 scenes, so judge it on seeds 1 and 2).  A full-body
catalog needs ~600 scenes (the default) for ~30 people per range (1 scene in
6 is a full-body shot).  Tested in ``tests/test_body_type.py``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from lens.boxes import Box
from lens.config import LensConfig
from lens.console import progress as progress_bar
from lens.evaluation.common import EvalReport, eval_catalog, read_manifest
from lens.imageio import load_image
from lens.pipeline.bundle import ModelBundle
from lens.understanding.body import RANGES

MATCH_IOU = 0.3          # the person box (mask of body + clothes) vs. the recorded box
OUTFITS = ("dress", "skirt", "trousers")   # lower-body garments: a dress or a flared skirt hides the hips
NAME_TO_RANGE = {name: r for r, name in RANGES.items()}


def synthetic_body_set(catalog_dir, negatives: bool = True) -> list[dict]:
    """Samples ``{"image": path, "kind", "people": [{"box", "range", "framing", "torso_visible",
    "skin_tone_range", "outfit"}]}``.

    One sample per scene with people; ``range`` comes from the recorded
    ``body_type`` (slim 1, straight 2, curvy 3, full 4).  ``torso_visible`` is
    False for the waist-up ``portrait`` framing; ``outfit`` is the lower-body
    garment worn (``dress``, ``skirt``, ``trousers``; ``OUTFITS``).  With
    ``negatives``, every product photo and scene without people is a sample
    with ``people == []`` (any body type found there is false).
    """
    folder = Path(catalog_dir)
    samples = []
    for rec in read_manifest(folder):
        kind = rec.get("kind")
        if kind not in ("scene", "product") or (not rec.get("people") and not negatives):
            continue
        people = [{"box": p["box"], "range": NAME_TO_RANGE[p["body_type"]], "framing": p["framing"],
                   "torso_visible": p["framing"] == "full_body", "skin_tone_range": p.get("skin_tone_range"),
                   "outfit": _outfit(rec, k)} for k, p in enumerate(rec.get("people", []))]
        samples.append({"image": str(folder / rec["image"]), "kind": kind, "people": people})
    return samples


def _outfit(rec: dict, k: int) -> str | None:
    """The lower-body garment person ``k`` of a scene wears (``OUTFITS``), or None."""
    worn = {o["category"] for o in rec.get("objects", []) if o.get("worn_by") == k}
    return next((name for name in OUTFITS if name in worn), None)


def match(people: list[dict], results: list) -> list[int | None]:
    """Predicted range (None = unknown or missed) for each recorded person, greedily by IoU."""
    pairs = sorted(((Box(*p["box"]).iou(Box(*r.person_box)), i, j)
                    for i, p in enumerate(people) for j, r in enumerate(results) if r.person_box),
                   reverse=True)
    out: list[int | None] = [None] * len(people)
    used_p, used_r = set(), set()
    for iou, i, j in pairs:
        if iou < MATCH_IOU or i in used_p or j in used_r:
            continue
        used_p.add(i)
        used_r.add(j)
        out[i] = results[j].range if results[j].status == "ok" else None
    return out


def figures_from_pairs(pairs: list[tuple]) -> dict:
    """Figures from ``(true range, predicted range or None, torso visible[, skin tone range])`` rows.

    Per range, precision/recall/F1/support/abstain are over torso-visible
    people; ``confusion`` rows are true ranges 1..4, columns predicted 1..4
    then "unknown".
    """
    full = [(t, p) for t, p, visible, *_ in pairs if visible]
    partial = [p for _, p, visible, *_ in pairs if not visible]
    conf = np.zeros((4, 5), int)
    for t, p in full:
        conf[t - 1, (p or 5) - 1] += 1
    figures: dict = {"full-body people": len(full), "partial-torso people": len(partial)}
    for r, name in RANGES.items():
        tp, support = int(conf[r - 1, r - 1]), int(conf[r - 1].sum())
        predicted = int(conf[:, r - 1].sum())
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        figures.update({f"{name} precision": round(precision, 4), f"{name} recall": round(recall, 4),
                        f"{name} F1": round(f1, 4), f"{name} support": support,
                        f"{name} abstain": round(float(conf[r - 1, 4]) / support, 4) if support else 0.0})
    recalls = [figures[f"{n} recall"] for n in RANGES.values() if figures[f"{n} support"]]
    figures["recall gap (best - worst range)"] = round(max(recalls) - min(recalls), 4) if recalls else 0.0
    figures["abstain, full body"] = round(float(conf[:, 4].sum()) / len(full), 4) if full else 0.0
    figures["abstain, torso not fully visible"] = (round(sum(p is None for p in partial) / len(partial), 4)
                                                   if partial else 0.0)
    figures["accuracy, full body (alongside per-range)"] = (round(float(np.trace(conf[:, :4])) / len(full), 4)
                                                           if full else 0.0)
    figures["confusion (rows true 1-4; cols 1-4, unknown)"] = conf.tolist()
    for title, column, keys in (("body type recall by skin tone range", 0, (1, 2, 3, 4)),
                                ("body type recall by lower-body garment", 1, OUTFITS)):
        groups = {}
        for key in keys:
            rows = [t == p for t, p, visible, *rest in pairs if visible and len(rest) > column and rest[column] == key]
            if rows:
                groups[str(key)] = {"recall": round(float(np.mean(rows)), 4), "support": len(rows)}
        if groups:
            figures[title] = groups
    return figures


def false_body_types(counts: dict[str, list[int]]) -> dict:
    """``{kind: [images with a body type, images]}`` -> the share of people-free images given one."""
    return {f"false body types, {label}": round(found / total, 4) if total else 0.0
            for kind, label in (("product", "product photos"), ("scene", "scenes without people"))
            for found, total in [counts.get(kind, [0, 0])]}


def body_type_figures(estimator, samples: list[dict], progress: bool = False) -> dict:
    """Run ``estimator`` (rgb -> list of BodyType) over ``samples`` and compute the figures.

    A sample is ``{"image": path or H x W x 3 uint8 RGB, "people": [{"box", "range",
    "torso_visible"}]}`` (see :func:`synthetic_body_set`); one without people
    (``"kind"`` ``product`` or ``scene``) counts towards the false body types.
    """
    pairs, negatives = [], {}
    for s in progress_bar(samples, desc="body type", disable=not progress):
        rgb = s["image"] if isinstance(s["image"], np.ndarray) else load_image(s["image"])
        results = estimator(rgb)
        if not s["people"]:
            count = negatives.setdefault(s.get("kind", "scene"), [0, 0])
            count[0] += any(r.status == "ok" for r in results)
            count[1] += 1
        for person, pred in zip(s["people"], match(s["people"], results)):
            pairs.append((person["range"], pred, person["torso_visible"], person.get("skin_tone_range"),
                          person.get("outfit")))
    figures = figures_from_pairs(pairs)
    if negatives:
        figures.update(false_body_types(negatives))
    return figures


def with_detector(estimator, detector):
    """``rgb -> estimator(rgb, people=the detector's person boxes)``, as :class:`lens.pipeline.facade.Lens` runs it."""
    if detector is None:
        return estimator
    return lambda rgb: estimator(rgb, [d for d in detector(rgb) if d.label == "person"])


def body_type_eval(args: argparse.Namespace, config=None, progress: bool = True):
    """``lens eval body-type``: figures on the catalog of ``args`` (see :func:`lens.evaluation.eval_catalog`).

    Candidates as the façade finds them: the person segmentation, plus the
    ``person`` boxes of the config's Faster R-CNN when it has one (``-c demo``:
    the synthetic checkpoint, trained on seed 0's first 300 scenes: judge it on
    other seeds).
    """
    config = config or LensConfig()
    if getattr(args, "real", None):
        from lens.evaluation.real_body_type import real_body_type_command   # CCP masks: SciPy

        return real_body_type_command(args, config, progress)
    folder = eval_catalog(args, progress)
    models = ModelBundle(config)
    estimator, detector = models.body_type, models.object_detector
    has_person = detector is not None and "person" in detector.labels
    figures = body_type_figures(with_detector(estimator, detector if has_person else None),
                                synthetic_body_set(folder), progress)
    source = "person segmentation" + (" + Faster R-CNN person boxes" if has_person else "")
    return EvalReport(f"body type on {folder} (candidates: {source})", figures)

"""Real photos with no people in them, for the inclusive signals' false-positive figures.

Under a data root (``--real DATA``): Grocery's in-store photos of its ``val`` folder (produce
and cartons, some held in a hand: a hand is no person) and the clothing photos of its
``validation`` folder (garments laid flat, hung or on a mannequin-less backdrop).  Both are our
validation splits: the thresholds that judge a face or a person were fitted on them and
checked on the training folders.  :func:`false_signals` runs an estimator over them and reports
the share given any range, per set (never only in aggregate).

Tested in ``tests/test_real_body_type.py``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lens.console import progress as progress_bar
from lens.imageio import load_image

SETS = {"Grocery in-store photos": ("grocery", "dataset/val"), "clothing photos": ("clothing", "validation")}
IMAGES = (".jpg", ".jpeg", ".png")


def people_free_photos(data: Path, limit: int = 0) -> dict[str, list[Path]]:
    """``{set name: photos}`` for the sets present under ``data`` (``limit``: that many per set, spread evenly)."""
    out = {}
    for name, (dataset, folder) in SETS.items():
        photos = sorted(p for p in (data / dataset / folder).rglob("*") if p.suffix.lower() in IMAGES)
        if limit and len(photos) > limit:
            photos = [photos[i] for i in np.linspace(0, len(photos) - 1, limit).round().astype(int)]
        if photos:
            out[name] = photos
    return out


def false_signals(ranged, photos: dict[str, list[Path]], signal: str, progress: bool = True) -> dict:
    """``ranged(rgb) -> bool`` (the photo got a range) over each set: ``{"false <signal>, <set>":
    share, "<set>: photos": n}``."""
    out = {}
    for name, paths in photos.items():
        hits = [bool(ranged(load_image(p))) for p in progress_bar(paths, desc=name, disable=not progress)]
        out[f"{name}: photos"] = len(hits)
        out[f"false {signal}, {name}"] = round(float(np.mean(hits)), 4) if hits else None
    return out

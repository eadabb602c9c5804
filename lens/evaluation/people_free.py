"""Real photos with no people in them, for the inclusive signals' false-positive figures.

Under a data root (``--real DATA``): Grocery's in-store photos of its ``val`` folder (produce
and cartons, some held in a hand: a hand is no person) and the clothing photos of its
``validation`` folder (garments laid flat, hung or on a mannequin-less backdrop).  Both are our
validation splits: the thresholds that judge a face or a person were fitted on them and
checked on the training folders.  :func:`false_signals` runs an estimator over them and reports
the share given any range, per set (never only in aggregate); :func:`real_figures` is the frame
of ``lens eval skin-tone|body-type --real``: CCP's figures (or a note), then these.

Tested in ``tests/test_real_body_type.py``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lens.console import progress as progress_bar
from lens.evaluation.common import spread
from lens.imageio import load_image

SETS = {"Grocery in-store photos": ("grocery", "dataset/val"), "clothing photos": ("clothing", "validation")}
IMAGES = (".jpg", ".jpeg", ".png")


def people_free_photos(data: Path, limit: int = 0) -> dict[str, list[Path]]:
    """``{set name: photos}`` for the sets present under ``data`` (``limit``: that many per set, spread evenly)."""
    out = {}
    for name, (dataset, folder) in SETS.items():
        photos = spread(sorted(p for p in (data / dataset / folder).rglob("*") if p.suffix.lower() in IMAGES), limit)
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


def real_figures(data, ccp_figures, ranged, signal: str, limit: int = 0, progress: bool = True) -> dict:
    """``ccp_figures(data)`` when ``data`` holds CCP's masks (else a note), then
    :func:`false_signals` of ``ranged`` on the people-free sets; ``ValueError`` naming ``--real``
    when ``data`` is no folder or holds none of the sets."""
    data = Path(data)
    if not data.is_dir():
        raise ValueError(f"--real {data}: no such folder")
    if (data / "ccp" / "annotations" / "pixel-level").is_dir():
        figures = ccp_figures(data)
    else:
        figures = {"ccp": f"skipped: no ccp/annotations/pixel-level under {data}"}
    photos = people_free_photos(data, limit)
    if not photos and "ccp" in figures:
        raise ValueError(f"--real {data}: holds none of ccp/, grocery/dataset/val, clothing/validation")
    return {**figures, **false_signals(ranged, photos, signal, progress)}

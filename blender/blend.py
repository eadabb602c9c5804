"""Blending: candidate lists from every source -> one ranked list.

:func:`blend` de-duplicates by item (an item found by several sources keeps
every provenance), calibrates each source's raw score to 0..1
(:mod:`blender.calibrate`; uncalibrated: the raw score clipped) times the
candidate's ``weight`` (how surely the evidence belongs to the item: the object
source's matched crop's detection score), and scores each item by weighted
fusion, ``sum over sources of ratio[source] x calibrated best score from that
source`` (:mod:`blender.ratios`), so an item two sources agree on rises.  Without ratios every source weighs 1.  Ties break
by item id, so pages are deterministic.  Diversity re-ranking comes after
(:mod:`blender.diversify`).

Tested in ``tests/test_blender.py`` and ``tests/test_blend.py``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from lens.types import Candidate


@dataclass
class BlendedItem:
    item_id: str
    score: float                         # fused relevance
    sources: list[str]
    provenance: list[dict] = field(default_factory=list)
    per_source: dict[str, float] = field(default_factory=dict)   # calibrated best score per source


def _calibrated(candidates: list[Candidate], calibration) -> list[float]:
    """Each candidate's calibrated score (raw without a calibration), one interpolation per source."""
    if calibration is None:
        return [c.score for c in candidates]
    out = [0.0] * len(candidates)
    by_source: dict[str, list[int]] = {}
    for n, cand in enumerate(candidates):
        by_source.setdefault(cand.source, []).append(n)
    for source, rows in by_source.items():
        for n, value in zip(rows, calibration.scores(source, [candidates[i].score for i in rows]).tolist()):
            out[n] = value
    return out


def blend(candidates: list[Candidate], k: int, ratios: dict[str, float] | None = None,
          calibration=None) -> list[BlendedItem]:
    """The top ``k`` items by fused relevance; see the module docstring."""
    if k < 0:
        raise ValueError(f"k {k}: must be >= 0")
    merged: dict[str, BlendedItem] = {}
    for cand in candidates:
        if not math.isfinite(cand.score):
            raise ValueError(f"source {cand.source}: score of item '{cand.item_id}' is {cand.score}")
        if not 0.0 <= cand.weight <= 1.0:
            raise ValueError(f"source {cand.source}: weight of item '{cand.item_id}' is {cand.weight}, expected 0..1")
    for cand, calibrated in zip(candidates, _calibrated(candidates, calibration)):
        item = merged.get(cand.item_id)
        if item is None:
            item = merged[cand.item_id] = BlendedItem(cand.item_id, 0.0, [])
        item.per_source[cand.source] = max(item.per_source.get(cand.source, -math.inf), calibrated * cand.weight)
        if cand.source not in item.sources:
            item.sources.append(cand.source)
        item.provenance.append({"source": cand.source, "score": round(cand.score, 4),
                                "calibrated": round(calibrated, 4), **cand.provenance,
                                **({"weight": round(cand.weight, 4)} if cand.weight != 1.0 else {})})
    for item in merged.values():
        item.score = (max(item.per_source.values()) if ratios is None else
                      sum(ratios.get(s, 0.0) * v for s, v in item.per_source.items()))
    return sorted(merged.values(), key=lambda i: (-i.score, i.item_id))[:k]

"""Blending: candidate lists from every source -> one ranked page.

For now: merge by item (one item found by several sources keeps every
provenance and its best score), rank by score, cut to ``k``.  Issue 6 adds
calibration, adaptive ratios and DPP diversity.

Tested in ``tests/test_blender.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from blender.sources import Candidate


@dataclass
class BlendedItem:
    item_id: str
    score: float
    sources: list[str]
    provenance: list[dict] = field(default_factory=list)


def blend(candidates: list[Candidate], k: int) -> list[BlendedItem]:
    """De-duplicate by item keeping every provenance; best score first."""
    if k < 0:
        raise ValueError(f"k {k}: must be >= 0")
    merged: dict[str, BlendedItem] = {}
    for cand in candidates:
        item = merged.get(cand.item_id)
        if item is None:
            item = merged[cand.item_id] = BlendedItem(cand.item_id, cand.score, [])
        item.score = max(item.score, cand.score)
        if cand.source not in item.sources:
            item.sources.append(cand.source)
        item.provenance.append({"source": cand.source, "score": round(cand.score, 4),
                                **cand.provenance})
    return sorted(merged.values(), key=lambda i: (-i.score, i.item_id))[:k]

"""Which diversity dimensions one query's page uses: each only where it belongs (issue 20.6).

Pinterest diversifies body type only where a query is in women's fashion or wedding interests;
Lens decides every dimension per query, from the query and its own candidates:

* **people** (skin tone and body type, the skin tone range bucket searches and the
  ``min_ranges`` floor of :mod:`blender.diversify`): when the query shows a person (a skin tone
  or body type range in its understanding) or at least ``PEOPLE_SHARE`` of the items the sources
  found for it (before any bucket search) hold one.  On the synthetic catalog's worn-product
  queries 0.048-0.20 of those items hold a person (the catalog: 0.077), on Grocery's in-store
  photos under 0.005 of them (false faces no longer stored: :mod:`lens.understanding.skin`);
  ``PEOPLE_SHARE`` sits between the two.
* **visual and colour**: only where they cost no relevance.  Each is tried on top of the people
  dimensions (or alone), and kept when its page holds at least ``1 - RELEVANCE_BUDGET`` of the
  rank-discounted relevance of the page without it: a page of near duplicates gets spread, a
  page whose best items happen to look alike (one product's photos, a shelf of juice cartons)
  keeps its order.  The relevance counted is each item's z-scored fused score (what the DPP
  weighs), above the pool's mean: with raw fused scores a trained embedding's close hits all
  score near the top of the calibrated scale, so moving the right product from 2nd to 7th cost
  under 2 % and the visual spread took top-5 on Grocery from 0.953 to 0.936.

:func:`people_dimensions` answers before the bucket searches; :func:`choose` runs the DPP and
returns the page and what it used, with a one-line reason for the response's blend.
Tested in ``tests/test_blend.py``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from blender.dpp import DiversityFeatures, dpp_rerank
from blender.filters import signal_index

PEOPLE_SHARE = 0.02       # of a query's candidates holding a person (synthetic >= 0.048, Grocery < 0.005)
RELEVANCE_BUDGET = 0.02   # of the page's DCG that visual or colour spread may cost
STYLE = ("visual", "color")   # the dimensions judged by their cost; people ones by presence
PEOPLE = ("skin_tone", "body_type")


@dataclass
class Decision:
    """The dimensions a page used (weight > 0) and why, for the response."""

    dimensions: list[str]
    reason: str

    def to_dict(self) -> dict:
        return {"dimensions": self.dimensions, "reason": self.reason}


def query_shows_people(understanding: dict) -> bool:
    """A skin tone or body type range in the query's own understanding."""
    return any(entry.get("status") == "ok" and entry.get("range")
               for key in ("skin_tones", "body_types") for entry in understanding.get(key) or [])


def people_dimensions(catalog, understanding: dict, candidates: list) -> tuple[bool, str]:
    """Whether the people dimensions apply, and why (see the module docstring)."""
    if query_shows_people(understanding):
        return True, "the photo shows a person"
    ids = {c.item_id for c in candidates}
    if not ids:
        return False, "no candidates"
    by_range = signal_index(catalog).by.get("skin_tone_range") or {}
    people = set().union(*by_range.values()) if by_range else set()
    share = len(ids & people) / len(ids)
    if share >= PEOPLE_SHARE:
        return True, f"{share:.0%} of the candidates show people"
    return False, f"no person in the photo, {share:.0%} of the candidates show people"


def dcg(scores: np.ndarray, page: list[int]) -> float:
    """Rank-discounted relevance of ``page`` (indices into ``scores``, best first)."""
    return float(sum(max(0.0, scores[i]) / np.log2(rank + 2) for rank, i in enumerate(page)))


def choose(relevance: np.ndarray, feats: DiversityFeatures, k: int, surface,
           people: tuple[bool, str]) -> tuple[list[int], Decision]:
    """The page (indices into the pool) and the dimensions it used.

    ``relevance``: the pool's z-scored fused relevance (the DPP's input and, above 0, the DCG's
    gains); ``surface``: a :class:`lens.config.SurfaceConfig`; ``people``: from
    :func:`people_dimensions`.
    """
    on, why = people
    weights = {"visual": 0.0, "skin_tone": surface.w_skin_tone * on,
               "body_type": surface.w_body_type * on, "color": 0.0}
    page = _page(relevance, feats, k, surface, weights)
    notes = [f"people {'on' if on else 'off'}: {why}"] if why else []
    for dim in STYLE:
        trial = {**weights, dim: surface.w_visual if dim == "visual" else surface.w_color}
        if trial[dim] <= 0:
            continue
        tried = _page(relevance, feats, k, surface, trial)
        before, after = dcg(relevance, page), dcg(relevance, tried)
        cost = 1.0 - after / before if before > 0 else 0.0
        if cost <= RELEVANCE_BUDGET:
            weights, page = trial, tried
        else:
            notes.append(f"{'colour' if dim == 'color' else dim} off (would cost {cost:.0%} of the page's relevance)")
    used = [d for d, w in weights.items() if w > 0]
    return page, Decision(used, "; ".join(notes))


def _page(relevance, feats, k, surface, weights) -> list[int]:
    if not any(w > 0 for w in weights.values()):
        return list(np.argsort(-relevance, kind="stable")[:k])
    return dpp_rerank(relevance, feats, k, surface.theta, weights, surface.window or None)

"""Category agreement: the query's likely catalog category, and a lift for items that hold it.

Whole-image similarity says little about whether a *scene* holds the query's
product; its category says a lot.  Lens infers the query's category the way
Pinterest annotates a query, from its visual neighbours (and from the trained
category head when the catalog has one):

* :func:`query_category`: the head's class when it scores >= ``HEAD_MIN``
  (confidence = its score); otherwise a vote of the ``VOTE_K`` best visual
  candidates' stored ``category`` fields, each weighted by its calibrated
  visual score (confidence = the winner's share of the votes).  ``None``
  with no votes (no visual source, no catalog categories).
* :func:`lift`: every blended item whose category signals (its own category,
  the categories of the objects it lists, its crops' detector labels; see
  :func:`blender.filters.item_signals`) hold that category gains
  ``boost x strength`` on its fused relevance, then the list is re-sorted.
  A head's strength is its confidence; a vote's is its share when the winner
  holds a majority (``MAJORITY``), else 0: no lift from a split vote.
  Why: on real in-store photos (Grocery, 81 products a few to a category,
  600 train-split queries) the winner held under 0.6 of the votes for 487
  queries and was right 26 % of the time under 0.4, 53 % at 0.4-0.6 and
  83-90 % above; lifting by any share cost the visual source 0.02 top-1
  and 0.12 top-5 there (0.337 / 0.660 -> 0.315 / 0.538), by a majority
  only, nothing.  The synthetic catalog's votes are mostly majorities: its
  precision@10 (``lens eval diversity``) stays 0.958 / 0.948 with diversity
  off / on (0.963 / 0.948 lifting by any share), where lifting by the vote's
  margin (``2 x share - 1``) cost it 0.03.

It runs after the fusion and before the DPP, so the diversity re-rank chooses
between relevant candidates.  ``blend.category_boost`` sets ``boost``
(0 = off).  On the synthetic catalog (``lens eval diversity``) 0.5 raised
precision@10 from 0.81 to 0.91 with diversity off.

Tested in ``tests/test_blend.py``.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from blender.blend import BlendedItem
from blender.filters import HEAD_MIN, signal_index

VOTE_K = 10         # a page of visual neighbours: top-1 is right 97 % of the time, the vote steadies it
VOTE = "visual neighbours"
MAJORITY = 0.5      # a vote lifts only when its winner holds at least half of it (see the docstring)


@dataclass
class QueryCategory:
    name: str
    confidence: float       # 0-1
    via: str                # "category head" or "visual neighbours"

    @property
    def strength(self) -> float:
        """How much the lift trusts it (0-1); see the module docstring."""
        if self.via == VOTE and self.confidence < MAJORITY:
            return 0.0
        return self.confidence

    def to_dict(self) -> dict:
        return {"name": self.name, "confidence": round(self.confidence, 4), "via": self.via,
                "strength": round(self.strength, 4)}


def _head(understanding: dict) -> QueryCategory | None:
    heads = [c for c in (understanding or {}).get("categories") or [] if c.get("kind") == "category"]
    best = max(heads, key=lambda c: c["score"], default=None)
    if best is not None and best["score"] >= HEAD_MIN:
        return QueryCategory(str(best["name"]).lower(), float(best["score"]), "category head")
    return None


def query_category(catalog, items: list[BlendedItem], understanding: dict | None = None
                   ) -> QueryCategory | None:
    """The query's category from the head or the visual neighbours; see the module docstring."""
    found = _head(understanding or {})
    if found is not None:
        return found
    visual = sorted((i for i in items if "visual" in i.per_source),
                    key=lambda i: (-i.per_source["visual"], i.item_id))[:VOTE_K]
    votes: dict[str, float] = defaultdict(float)
    for item, record in zip(visual, catalog.items([i.item_id for i in visual])):
        if record and record.get("category"):
            votes[str(record["category"]).lower()] += max(item.per_source["visual"], 0.0)
    total = sum(votes.values())
    if total <= 0:
        return None
    name = max(votes, key=lambda c: (votes[c], c))
    return QueryCategory(name, votes[name] / total, VOTE)


def lift(catalog, items: list[BlendedItem], category: QueryCategory | None, boost: float
         ) -> tuple[list[BlendedItem], int]:
    """``items`` with the agreeing ones lifted and re-sorted, and how many were lifted."""
    if not boost >= 0:
        raise ValueError(f"blend.category_boost {boost}: must be 0 (off) or more")
    if category is None or boost == 0 or not items or category.strength <= 0:
        return items, 0
    holders = signal_index(catalog).by["category"].get(category.name, set())
    lifted = 0
    for item in items:
        if item.item_id in holders:
            item.score += boost * category.strength
            lifted += 1
    return sorted(items, key=lambda i: (-i.score, i.item_id)), lifted

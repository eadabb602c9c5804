"""Diversity for a blended list: bucketized candidates and the DPP re-rank over catalog signals.

* :func:`bucket_filters`: when the people dimensions apply, every source also searches
  each skin tone range bucket (Pinterest's Strong-OR / bucketized retrieval),
  so candidates span every range the catalog holds even when the top hits are
  all one range; the ``allowed`` set of a bucket is the query's own filter
  intersected with that range.
* :func:`diversify`: the blended items' features from the catalog (visual
  vector, skin tone range, body type range, colour family of the dominant
  colour) and :func:`blender.dpp.dpp_rerank` with the surface's weights on the
  dimensions that apply to this query (:mod:`blender.dimensions`), on the
  z-scored fused relevance (theta in standard deviations of this query's
  scores).
  An item with several people takes the range of the first one; items
  without people carry "unknown" (a weak similarity, see blender/dpp.py).
* :func:`ensure_ranges`: the surface's ``min_ranges`` floor (where the people
  dimensions apply): when the DPP's
  page shows fewer skin tone ranges than that (and the pool holds more), the
  most relevant candidate of each missing range replaces the page's least
  relevant item without a person or from a range shown twice.

Signals steer representation only: nothing here filters anyone out.
Tested in ``tests/test_blend.py``.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from blender.blend import BlendedItem
from blender.dimensions import choose
from blender.dpp import DiversityFeatures
from blender.filters import allowed_ids
from lens.palette import COLOR_FAMILIES, SKIN_TONE_RANGES
from lens.types import Filters


def bucket_filters(filters: Filters) -> list[Filters]:
    """One filter per skin tone range bucket, within the query's own filter (if it sets ranges,
    only those buckets)."""
    wanted = filters.skin_tone_range or frozenset(SKIN_TONE_RANGES)
    return [Filters(filters.category, filters.color, frozenset({r}), filters.body_type_range)
            for r in sorted(wanted)]


def bucket_allowed(catalog, filters: Filters) -> list[set[str]]:
    """The allowed id sets of the non-empty buckets."""
    sets = [allowed_ids(catalog, f) for f in bucket_filters(filters)]
    return [s for s in sets if s]


def _first(values) -> int | None:
    return sorted(values)[0] if values else None


def features(catalog, items: list[BlendedItem]) -> tuple[DiversityFeatures, list[int | None]]:
    """The DPP features of ``items`` from the catalog's visual index and stored signals, and each
    item's skin tone range (None: no one, or abstained)."""
    records = catalog.items([i.item_id for i in items])
    dim = catalog.visual.dim
    vectors = np.stack([catalog.visual.vector(i.item_id) if i.item_id in catalog.visual
                        else np.zeros(dim, np.float32) for i in items]) if items else np.zeros((0, dim))
    skin, body, colour = [], [], []
    for record in records:
        sig = ((record or {}).get("understanding") or {}).get("signals") or {}
        skin.append(_first(sig.get("skin_tone_ranges")))
        body.append(_first(sig.get("body_type_ranges")))
        colours = sig.get("colors") or []
        colour.append(COLOR_FAMILIES.get(colours[0]) if colours else None)
    return DiversityFeatures.from_items(vectors, skin, body, colour), skin


def diversify(catalog, items: list[BlendedItem], k: int, surface, report: dict | None = None,
              people: tuple[bool, str] = (True, "")) -> list[BlendedItem]:
    """Re-rank ``items`` (best first) to a page of ``k`` with the DPP of ``surface``
    (a :class:`lens.config.SurfaceConfig`) over the dimensions that apply
    (:mod:`blender.dimensions`; ``people``: its :func:`~blender.dimensions.people_dimensions`).
    ``report``, if given, receives the pool's size, the skin tone ranges it holds (what the page
    could represent) and the dimensions used with the reason."""
    if surface.min_ranges < 0:
        raise ValueError(f"blend min_ranges {surface.min_ranges}: must be 0 (off) or more")
    if not items or k <= 0:
        if report is not None:
            report.update(pool=len(items), pool_skin_tone_ranges=[], dimensions=[],
                          diversity_reason="nothing to re-rank")
        return []
    scores = np.array([i.score for i in items], np.float64)
    # z-scored: theta then means the same trade-off whatever the spread of one query's fused
    # scores (as pyversity does); measured by `lens eval diversity` (theta sweep).
    relevance = (scores - scores.mean()) / (scores.std() or 1.0)
    feats, skin = features(catalog, items)
    order, decision = choose(relevance, feats, k, surface, people)
    if report is not None:
        report.update(pool=len(items), pool_skin_tone_ranges=sorted({r for r in skin if r}),
                      dimensions=decision.dimensions, diversity_reason=decision.reason)
    floor = surface.min_ranges if people[0] else 0      # representation is owed where people are
    return [items[i] for i in ensure_ranges(order, skin, relevance, floor)]


def ensure_ranges(page: list[int], skin: list[int | None], relevance: np.ndarray, want: int) -> list[int]:
    """``page`` (indices into the pool) showing at least ``min(want, ranges in the pool)`` skin tone
    ranges: each missing range, most relevant first, brings its most relevant candidate in place of
    the page's least relevant item that has no person or shares its range with another page item.
    The DPP trades diversity softly; this makes the floor a guarantee (a no-op when it is met)."""
    pool = {r for r in skin if r}
    shown = {skin[i] for i in page if skin[i]}
    page = list(page)
    best = {r: max((i for i, s in enumerate(skin) if s == r), key=lambda i: relevance[i]) for r in pool - shown}
    for r in sorted(best, key=lambda r: -relevance[best[r]])[:max(0, min(want, len(pool)) - len(shown))]:
        counts = Counter(skin[i] for i in page if skin[i])
        spare = [i for i in page if skin[i] is None or counts[skin[i]] > 1]
        if not spare:
            break
        victim = min(spare, key=lambda i: (relevance[i], -page.index(i)))
        page[page.index(victim)] = best[r]
    return page

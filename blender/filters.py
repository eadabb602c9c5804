"""Filters on any source: category, colour, skin tone range, body type range.

:class:`Filters` holds the requested values (OR within a field, AND across
fields); :meth:`Filters.parse` validates a mapping from the CLI or the API and
raises ``ValueError`` naming the bad key or value.  :class:`SignalIndex` maps
each field's values to item ids, built from the store once and rebuilt when
the catalog changes (``Catalog.version``), so a filter costs set operations,
not a store scan.  :func:`allowed_ids` gives the ids a source may return
(``None`` = no filter): the same frozenset object for the same filters until
the catalog changes, so an index reuses the row filter it made for it
(:mod:`lens.index.selection`).

An item's values per field (:func:`item_signals`):

* ``category``: its own ``category`` field (catalog metadata), the categories
  of the objects it lists (scenes), its crops' detector labels, the trained
  category head's prediction (score >= ``HEAD_MIN``) and the coarse taxonomy
  category (score >= ``COARSE_MIN``);
* ``color``: its own ``color`` field and its salient colour names (weight >= 0.1);
* ``skin_tone_range`` / ``body_type_range``: the ranges of the people in it
  (abstentions carry no range).  These are Pinterest's inclusive filters: for
  people who want to see themselves, never to exclude anyone by default.

Tested in ``tests/test_filters.py``.
"""
from __future__ import annotations

import weakref
from collections import defaultdict
from dataclasses import fields

from lens.types import Filters

HEAD_MIN = 0.5      # a trained head's class counts when it is the likely one
COARSE_MIN = 0.3    # the ImageNet -> coarse taxonomy mapping is vaguer: a lower bar
ANSWERS = 256       # filter answers kept per catalog version (a frozenset each); more: start again


def item_signals(item: dict) -> dict[str, set]:
    """The values an item matches per filter field; see the module docstring."""
    u = item.get("understanding") or {}
    sig = u.get("signals") or {}
    cats = {item.get("category")} | {o.get("category") for o in item.get("objects") or []}
    cats |= {c.get("label") for c in item.get("crops") or []}
    for c in u.get("categories") or []:
        if (c.get("kind") == "category" and c["score"] >= HEAD_MIN) or \
                (c.get("kind") == "coarse" and c["score"] >= COARSE_MIN):
            cats.add(c["name"])
    return {"category": {str(c).lower() for c in cats if c},
            "color": {str(c).lower() for c in {item.get("color"), *sig.get("colors", [])} if c},
            "skin_tone_range": set(sig.get("skin_tone_ranges", [])),
            "body_type_range": set(sig.get("body_type_ranges", []))}


class SignalIndex:
    """field -> value -> item ids, over one catalog's store."""

    def __init__(self, items):
        self._answers: dict[Filters, frozenset[str]] = {}    # filters -> ids (a filter's set is reused)
        self.by: dict[str, dict] = defaultdict(lambda: defaultdict(set))
        for item in items:
            for key, values in item_signals(item).items():
                for value in values:
                    self.by[key][value].add(item["id"])

    def allowed(self, filters: Filters) -> frozenset[str] | None:
        """Ids matching every active field (any of its values), or None when no filter is set."""
        if not filters.active:
            return None
        answer = self._answers.get(filters)
        if answer is None:
            if len(self._answers) >= ANSWERS:
                self._answers.clear()
            answer = self._answers[filters] = frozenset(self._match(filters))
        return answer

    def _match(self, filters: Filters) -> set[str]:
        out: set[str] | None = None
        for f in fields(filters):
            wanted = getattr(filters, f.name)
            if wanted:
                ids = set().union(*(self.by[f.name].get(v, set()) for v in wanted))
                out = ids if out is None else out & ids
        return out


_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()   # catalog -> (version, index)


def signal_index(catalog) -> SignalIndex:
    """The catalog's :class:`SignalIndex`, built once per catalog version."""
    cached = _CACHE.get(catalog)
    version = getattr(catalog, "version", 0)
    if cached is None or cached[0] != version:
        cached = (version, SignalIndex(catalog.store))
        _CACHE[catalog] = cached
    return cached[1]


def allowed_ids(catalog, filters: Filters) -> frozenset[str] | None:
    """The catalog's item ids matching ``filters`` (None = unfiltered)."""
    if not filters.active:
        return None
    return signal_index(catalog).allowed(filters)

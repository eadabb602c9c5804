"""The object source: query crops matched to the catalog's crops, returning their scenes.

Probes: the user's box (when given), else each of the query's object crops,
and the whole query image when the photo is itself one object (``SourceQuery.one_object``:
the facade sets it for a photo whose objects lie on a plain backdrop), so that a product
photo finds the scenes that hold that product.  A cluttered photo's whole image is no
object: matched against the catalog's crops it finds whatever crop looks like the whole
scene.  Measured on real in-store photos (Grocery, 296 validation photos against the 81
products and the 2,640 train-split photos, ``make bench``'s ``grocery + train photos``; 258
of them have no crop): with the image probe on every photo the whole lens trailed its visual
source at top-5 (0.831 vs 0.858), without it on cluttered photos it leads (0.882; top-1 0.564
vs 0.561).  The synthetic diversity queries are product photos, 38 of 40 on a plain backdrop:
precision@10 with diversity 0.910 -> 0.9075 (``make bench``'s ``diversity``).

Each probe searches the catalog's ``objects`` index (one vector per scene crop, id
``<item>#<n>``) for ``FETCH`` x k crops; hits are grouped by parent item, whose score is its best
crop's cosine.  Provenance names the probe, the matched crop and its box in
the parent's pixels (x1, y1, x2, y2), its label, and how many of the scene's
crops matched, so the UI can draw the box on the result.

Measured (``make bench --only retrieval``, 1,000 products, 300 scenes, 621
products shown in a scene): recall@20 0.930.  It was 0.885 while crops
dropped boxes under 32 px (most worn shoes) and the detector dropped objects
of uncertain class.  Of the 92 (product, scene) pairs still missed, 80 have a
matching crop ranked past the top 20 scenes: 36 are worn dresses that the
portrait framing cuts at the waist, 26 are worn shoes 17-35 px high.

Each candidate's ``weight`` is the matched crop's detection score: a scene holds a similar object
only as surely as the detector found one there.  The blend multiplies the calibrated score by it
(:mod:`blender.blend`) and the relevance floor the object excess (:mod:`blender.relevance`).
Measured on real in-store photos (Grocery: the 296 validation photos against the 81 products and
the 2,640 train-split photos, ``make bench``'s ``grocery + train photos``), where the fashion
detector's crops are mistakes on produce (bags at a median score of 0.53): with unweighted object
hits the whole lens trailed its visual source at top-1 (0.514 vs 0.561); weighted, and with poses
needing a confirmed face (:func:`detection.pose.has_head`), it tied it (0.561) and still trailed at
top-5 (0.831 vs 0.858) until the whole-image probe was kept for one-object photos (above).
Synthetic scene crops score 0.92 at the median, so their scenes keep their place.  Weighing a
query crop's hits by that crop's score as well changed nothing on Grocery and cost the synthetic
catalog's worn-product queries their people (33 instead of 40 of 40 pools held 3 skin tone
ranges).

A filter (``allowed`` items) becomes the set of their crops, made once per
allowed set and catalog version (:meth:`ObjectSource.crops_of`), which the
index turns into a FAISS selector once (:mod:`lens.index.selection`).  At 100k
items (145k crops, ``make bench --only sources``) one search under a skin
tone range filter takes 13.3 ms median; the first query of each filter pays
for the sets (p95 98 ms over 40 queries, four filters).

The matched crops' stored details (box, label, detection score) come from the items' records,
remembered per catalog version for the last ``RECORDS`` items (:class:`StoredCrops`): a street
photo's query reads ~115 items' records with its skin tone buckets, ~7 ms of store reads and
JSON at 100k items, and much of that again in the next query.

Tested in ``tests/test_sources.py``.
"""
from __future__ import annotations

import math
import threading
from collections import OrderedDict

import numpy as np

from blender.relevance import Background
from lens.catalog import Catalog, parent_id
from lens.index.selection import IdentityCache
from lens.types import Candidate, CatalogSource, SourceQuery

FETCH = 4   # crops per result: a scene often matches through several of its crops
# Raw cosines this close are one score: torch and onnxruntime differ by ~1e-7, and a photo of a
# catalog scene matches that scene's stored crops at ~1.0 through several probes at once; which
# one "wins" must not hang on float noise (the surest matched crop speaks, _crop_info).
TIE = 1e-5
RECORDS = 8192      # items whose crops' details are remembered: ~70 queries' pools, a few MB
_DETAILS = ("detection_box", "box", "label", "score")


class StoredCrops:
    """Item id -> its crops' details (``{crop id: {detail: value}}``, boxes as tuples), read from
    the catalog's records and remembered until the catalog's version changes."""

    def __init__(self, catalog: Catalog, size: int = RECORDS):
        self.catalog, self.size = catalog, size
        self._items: OrderedDict[str, dict] = OrderedDict()
        self._version = None
        self._lock = threading.Lock()       # a server's request threads share one source

    def __call__(self, items: list[str]) -> list[dict]:
        with self._lock:
            if self._version != self.catalog.version:
                self._items.clear()
                self._version = self.catalog.version
            known = {i: self._items[i] for i in items if i in self._items}
        missing = [i for i in dict.fromkeys(items) if i not in known]
        if missing:
            for item, record in zip(missing, self.catalog.items(missing)):
                known[item] = {c.get("id"): {k: tuple(v) if isinstance(v, list) else v
                                             for k, v in c.items() if k in _DETAILS}
                               for c in (record or {}).get("crops", [])}
        with self._lock:
            for item in items:
                self._items[item] = known[item]
                self._items.move_to_end(item)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return [known[i] for i in items]


class ObjectSource(CatalogSource):
    """Crops -> similar catalog crops -> their scenes, best crop first."""

    name = "object"

    def __init__(self, catalog: Catalog):
        super().__init__(catalog)
        self._children: tuple[int, dict[str, list[str]]] | None = None   # (catalog version, item -> crops)
        self._crop_sets = IdentityCache()   # allowed item set -> its crops' set (the same filter, the same set)
        self.background = Background()      # each probe's mean cosine with the crops (the relevance floor)
        self.stored = StoredCrops(catalog)  # the matched crops' boxes, labels and detection scores

    def crops_of(self, items: set[str]) -> frozenset[str]:
        """The crop ids of ``items`` (a filter's allowed set), from a map rebuilt per catalog version;
        the same ``items`` object gives the same set object, so the index reuses its row filter."""
        if self._children is None or self._children[0] != self.catalog.version:
            children: dict[str, list[str]] = {}
            for crop in self.catalog.objects.ids:
                children.setdefault(parent_id(crop), []).append(crop)
            self._children = (self.catalog.version, children)
            self._crop_sets.clear()
        children = self._children[1]
        return self._crop_sets.get(items, lambda: frozenset(c for item in items for c in children.get(item, ())))

    @staticmethod
    def probes(query: SourceQuery) -> list[tuple[str, np.ndarray, str | None]]:
        """``(via, vector, query label)``: the box alone, else every crop, and the whole image
        first when the photo is one object (``query.one_object``; see the module docstring)."""
        if query.box is not None:
            return [("box", query.vector, None)]
        image = [("image", query.vector, None)] if query.one_object else []
        return image + [(f"crop {i + 1}", v, label) for i, (v, _box, label) in enumerate(query.crops)]

    def search(self, query: SourceQuery, k: int, allowed: set[str] | None = None) -> list[Candidate]:
        index = self.catalog.objects
        if k <= 0 or not len(index):
            return []
        probes = self.probes(query)
        if not probes:              # a cluttered photo with no object found: nothing to look for
            return []
        crops = None if allowed is None else self.crops_of(allowed)
        vectors = np.stack([v for _, v, _ in probes])
        hits = index.search(vectors, FETCH * k, crops)
        back = dict(zip((via for via, _, _ in probes), self.background(index, vectors).round(4).tolist()))
        best: dict[str, tuple[float, list[tuple[str, str]]]] = {}    # item -> (score, its tied (crop, via))
        matches: dict[str, int] = {}
        for (via, _v, _label), row in zip(probes, hits):
            for crop, score in row:
                item = parent_id(crop)
                matches[item] = matches.get(item, 0) + 1
                held = best.get(item)
                if held is None or score > held[0] + TIE:
                    best[item] = (score, [(crop, via)])
                elif score >= held[0] - TIE:
                    best[item] = (max(score, held[0]), held[1] + [(crop, via)])
        ranked = sorted(best.items(), key=lambda kv: -kv[1][0])[:k]
        return [self._candidate(item, hit, matches[item], rank, back[hit[2]])
                for rank, ((item, _), hit) in enumerate(zip(ranked, self._crop_info(ranked)), 1)]

    def _crop_info(self, ranked: list) -> list[tuple[float, str, str, dict]]:
        """``(score, crop id, via, stored crop dict)`` for each ranked item (one store read); of the
        item's crops matched at its best score (within ``TIE``), the surest detection speaks."""
        out = []
        for (_item, (score, tied)), stored in zip(ranked, self.stored([item for item, _ in ranked])):
            crop, via = max(tied, key=lambda cv: _sureness(stored.get(cv[0], {}).get("score")))
            out.append((score, crop, via, stored.get(crop, {})))
        return out

    def _candidate(self, item: str, hit: tuple, matches: int, rank: int, background: float) -> Candidate:
        """``weight``: the matched crop's detection score (see the module docstring)."""
        score, crop, via, stored = hit
        box = stored.get("detection_box") or stored.get("box")
        return Candidate(item, float(score), self.name,
                         {"via": via, "crop": crop, "box": list(box) if box else box,
                          "label": stored.get("label"), "matched_crops": matches, "rank": rank,
                          "background": background}, _sureness(stored.get("score")))


def _sureness(detection_score) -> float:
    """A matched crop's weight in the blend: its detection score (0..1); 1 when none was stored."""
    try:
        value = float(detection_score)
    except (TypeError, ValueError):
        return 1.0
    return min(1.0, max(0.0, value)) if math.isfinite(value) else 1.0

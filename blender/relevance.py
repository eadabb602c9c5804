"""The relevance floor: a page never pads itself with unrelated items.

How close an item is to the query is judged on the image evidence: the cosines of the
``visual`` and ``object`` sources, each minus ``blend.background_weight`` times the query's
*background*, its mean cosine with a fixed sample of that index's vectors
(:class:`Background`, which the sources record in each candidate's provenance).  ImageNet
features share a large common component, so a raw cosine says little on its own: a street
photo gets 0.52-0.58 from the best Grocery product, an in-store photo 0.55-0.75 from its own;
the background (how like *everything* in this catalog the query looks) is what tells them
apart.  An object hit's excess counts times its weight, the matched crop's detection score
(:mod:`blender.objects`): a scene is only as close as the detector is sure of the crop that
matched (Grocery with its train photos indexed: the fashion detector's doubtful "bags" on
produce put object-only items above the floor and the visual hits, the right product among
them, under it).  An item is *close* when its best such excess reaches ``blend.min_relevance``; the
rest are left out of the page.  Items only the text source found (words guessed from the
photo) are never close on their own; a request that searched no image source (text alone) is
not floored (:class:`lens.pipeline.facade.Lens` passes a floor of 0).  When nothing is close the
response says so (``no close matches``), and with ``loose`` the best few below the floor come
after the page, each marked ``loose``.

Both numbers are fitted per embedder (its cosines have their own scale) on photos of the catalog's
products and photos of nothing in it: ``configs/default.yaml``'s on Grocery's train photos and
CCP's train and tagged photos (``lens/config.py``: ``blend.min_relevance``), measured on their
validation photos by ``lens eval retrieval --foreign`` (README "Measured").

Tested in ``tests/test_relevance.py``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

NO_CLOSE = "no close matches"
SAMPLE = 256            # index vectors the background is the mean over: +-0.01 of the full mean
IMAGE_SOURCES = ("visual", "object")


@dataclass
class Split:
    close: list = field(default_factory=list)       # BlendedItems at or above the floor, in order
    below: list = field(default_factory=list)       # the others, best first

    def report(self, floor: float, loose_shown: int, background_weight: float) -> dict:
        return {"min_relevance": floor, "background_weight": background_weight,
                "close": len(self.close), "below_floor": len(self.below),
                "loose_shown": loose_shown, "message": NO_CLOSE if not self.close else ""}


def check_settings(floor: float, loose: int, weight: float) -> None:
    """``ValueError`` naming the key when ``blend.min_relevance``, ``blend.loose`` or
    ``blend.background_weight`` is out of range."""
    if not 0.0 <= floor < 1.0:
        raise ValueError(f"blend.min_relevance {floor}: expected 0 <= value < 1 (0 = off)")
    if not 0.0 <= weight <= 2.0:
        raise ValueError(f"blend.background_weight {weight}: expected 0 <= value <= 2")
    if loose < 0:
        raise ValueError(f"blend.loose {loose}: expected >= 0")


class Background:
    """A query's mean cosine with ``SAMPLE`` fixed vectors of one index, as one inner product with
    their mean (the mean of the inner products is the inner product with the mean), drawn again
    when the index changes size.  Items replaced at the same size leave the mean of the old sample:
    a statistic of the catalog's look, it moves little with a few items."""

    def __init__(self, seed: int = 0):
        self.seed, self._mean, self._size = seed, None, -1

    def _draw(self, index) -> None:
        ids = index.ids
        rng = np.random.default_rng(self.seed)
        sample = [ids[i] for i in sorted(rng.choice(len(ids), min(SAMPLE, len(ids)), replace=False))]
        self._mean = np.mean([index.vector(i) for i in sample], axis=0).astype(np.float32) if sample else None
        self._size = len(index)

    def __call__(self, index, queries: np.ndarray) -> np.ndarray:
        """``(len(queries),)`` mean inner products; zeros for an empty index."""
        if len(index) != self._size:
            self._draw(index)
        if self._mean is None:
            return np.zeros(len(queries), np.float32)
        return np.asarray(queries, np.float32) @ self._mean


def relevance(item, background_weight: float) -> float:
    """An item's best image-evidence excess (module docstring: its cosine minus ``background_weight``
    x the query's background), each times its evidence's ``weight`` (the object source's matched
    crop's detection score); ``-inf`` when no image source found it."""
    return excess(item.provenance, background_weight)


def excess(provenance: list[dict], background_weight: float) -> float:
    """:func:`relevance` of an item's provenance (as a page's result carries it)."""
    return max(((p["score"] - background_weight * p["background"]) * p.get("weight", 1.0)
                for p in provenance if p.get("source") in IMAGE_SOURCES and "background" in p),
               default=-math.inf)


def split(blended: list, floor: float, background_weight: float) -> Split:
    """``blended`` (BlendedItems, best first) cut at ``floor`` (:func:`relevance` with
    ``background_weight``); 0 keeps everything."""
    if floor <= 0:
        return Split(list(blended), [])
    out = Split()
    for item in blended:
        (out.close if relevance(item, background_weight) >= floor else out.below).append(item)
    return out

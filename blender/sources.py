"""Retrieval sources: each turns a query into scored candidates with provenance.

A source has a ``name`` and ``search(query, k) -> list[Candidate]``.
``visual`` is whole-image kNN over the catalog's visual index (the query
vector comes from the whole image, or from the user's box).  Issue 5 adds
``object`` (crops -> scenes) and ``text`` (annotations, BM25 + MiniLM).
``SOURCES`` maps a name to its builder; unknown names list the valid ones.

Tested in ``tests/test_blender.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from lens.catalog import Catalog


@dataclass
class Candidate:
    item_id: str
    score: float
    source: str
    provenance: dict = field(default_factory=dict)


@dataclass
class SourceQuery:
    """What a source may use: the query vector and the query box (if any)."""

    vector: np.ndarray                 # (dim,) unit vector of the image or box crop
    box: list[float] | None = None     # pixel x1, y1, x2, y2 of the user's box


class VisualSource:
    """Whole-image (or box-crop) kNN over the visual index."""

    name = "visual"

    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> "VisualSource":
        return cls(catalog)

    def search(self, query: SourceQuery, k: int) -> list[Candidate]:
        hits = self.catalog.visual.search(query.vector[None, :], k)[0]
        via = "box" if query.box is not None else "image"
        return [Candidate(item_id, score, self.name, {"via": via, "rank": rank + 1})
                for rank, (item_id, score) in enumerate(hits)]


SOURCES: dict[str, Callable[[Catalog], object]] = {"visual": VisualSource.from_catalog}


def make_sources(names: list[str], catalog: Catalog) -> list:
    """Build the named sources; unknown names list the valid ones."""
    unknown = [n for n in names if n not in SOURCES]
    if unknown:
        raise ValueError(f"sources {unknown}: unknown (valid: {', '.join(sorted(SOURCES))})")
    return [SOURCES[n](catalog) for n in names]

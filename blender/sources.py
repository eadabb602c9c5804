"""Retrieval sources: each turns a query into scored candidates with provenance.

A source has a ``name`` and ``search(query, k, allowed=None) ->
list[Candidate]``; ``allowed`` (item ids, from :mod:`blender.filters`)
restricts what it may return.  ``visual`` is whole-image kNN over the
catalog's visual index (the query vector comes from the whole image, or from
the user's box); ``object`` (:mod:`blender.objects`) matches crops to the
catalog's crops and returns their scenes; ``text`` (:mod:`lens.text.source`)
scores annotations, titles and descriptions.  ``SOURCES`` maps a name to its
builder; unknown names list the valid ones.

Tested in ``tests/test_blender.py``.
"""
from __future__ import annotations

from typing import Callable

from blender.objects import ObjectSource
from blender.relevance import Background
from lens.catalog import Catalog
from lens.registry import Registry
from lens.text.source import TextSource
from lens.types import Candidate, CatalogSource, SourceQuery


class VisualSource(CatalogSource):
    """Whole-image (or box-crop) kNN over the visual index; each candidate records the query's
    ``background`` (:class:`blender.relevance.Background`) for the relevance floor."""

    name = "visual"

    def __init__(self, catalog):
        super().__init__(catalog)
        self.background = Background()

    def search(self, query: SourceQuery, k: int, allowed: set[str] | None = None) -> list[Candidate]:
        hits = self.catalog.visual.search(query.vector[None, :], k, allowed)[0]
        via = "box" if query.box is not None else "image"
        back = round(float(self.background(self.catalog.visual, query.vector[None, :])[0]), 4) if hits else 0.0
        return [Candidate(item_id, score, self.name, {"via": via, "rank": rank + 1, "background": back})
                for rank, (item_id, score) in enumerate(hits)]


SOURCES: Registry[Callable[[Catalog], CatalogSource]] = Registry("sources", {
    "visual": VisualSource.from_catalog, "object": ObjectSource.from_catalog, "text": TextSource.from_catalog})


def make_sources(names: list[str], catalog: Catalog) -> list:
    """Build the named sources; unknown names list the valid ones."""
    return [SOURCES[n](catalog) for n in names]

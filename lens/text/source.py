"""The ``text`` source: BM25 + MiniLM over the catalog's titles, descriptions and annotations.

The query text is the user's (``SourceQuery.text``) or, without one, the
query image's strongest annotations (:func:`annotation_query`): the top
``QUERY_ANNOTATIONS`` labels with score >= ``QUERY_MIN_SCORE``, strongest
first, each word weighing its label's score in BM25 (a confident "red"
counts more than a guessed "bowl").  The index is the catalog's
:class:`lens.text.index.TextIndex` (``catalog.text``); with text search off
(``text.enabled: false``), an empty catalog or no query words the source
returns nothing.  Provenance: ``via`` ("user text" or "annotations"),
``query``, raw ``bm25`` and ``semantic`` (cosine) scores, ``rank``.

Tested in ``tests/test_text.py``.
"""
from __future__ import annotations

from collections import defaultdict

from lens.text.terms import text_terms
from lens.types import Candidate, CatalogSource, SourceQuery

QUERY_ANNOTATIONS = 6       # labels a query image contributes: colours, category, pattern and a few more
QUERY_MIN_SCORE = 0.15      # below the annotations' own floors (0.2) only colours pass: 15 %+ of the image


def annotation_query(annotations: list[dict], limit: int = QUERY_ANNOTATIONS,
                     min_score: float = QUERY_MIN_SCORE) -> tuple[str, dict[str, float]]:
    """``(text, BM25 term weights)`` from a query image's annotations; ``("", {})`` when none pass."""
    notes = sorted((a for a in annotations if a.get("text") and a.get("text") != "other"
                    and float(a.get("score", 0.0)) >= min_score),
                   key=lambda a: (-float(a["score"]), a["text"]))[:limit]
    weights: dict[str, float] = defaultdict(float)
    for note in notes:
        for term in text_terms(note["text"]):
            weights[term] = max(weights[term], float(note["score"]))
    return " ".join(n["text"] for n in notes), dict(weights)


class TextSource(CatalogSource):
    """Hybrid text search; see the module docstring."""

    name = "text"

    def search(self, query: SourceQuery, k: int, allowed: set[str] | None = None) -> list[Candidate]:
        index = getattr(self.catalog, "text", None)
        if index is None or k <= 0:
            return []
        if query.text and query.text.strip():
            via, text, terms = "user text", query.text.strip(), None
        else:
            via, (text, terms) = "annotations", annotation_query(query.annotations)
        hits = index.search(text, k, allowed, terms)
        return [Candidate(h.item_id, h.score, self.name,
                          {"via": via, "query": text, "bm25": round(h.bm25, 4),
                           "semantic": round(h.semantic, 4), "rank": rank + 1})
                for rank, h in enumerate(hits)]

"""Score calibration: each source's raw scores mapped to one comparable 0..1 scale.

Raw scores mean different things per source (visual cosine ~0.5-0.9, crop
cosine, a BM25/MiniLM hybrid).  :func:`fit` samples catalog items as queries
(their own stored vector and annotations; the item itself excluded from its
hits), runs every source, and keeps ``KNOTS`` quantiles of the top-k scores
each source returns.  :meth:`Calibration.score` is then the empirical CDF:
0.9 means "better than 90 % of the top-k scores this source gives catalog
queries", whatever the source.  The fit is stored in the catalog's store
meta (``calibration``) with the catalog size it was fitted at, and refitted by
:func:`calibration_for` when the catalog grew or shrank by ``REFIT_CHANGE``.

Tested in ``tests/test_blend.py``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from lens.types import SourceQuery

log = logging.getLogger(__name__)
KNOTS = 33              # quantiles kept per source: a smooth CDF from ~1000 scores
QUERIES = 48            # catalog items sampled as queries: ~50 ms per source to fit
TOP_K = 20              # the depth whose scores are calibrated (a page)
REFIT_CHANGE = 0.2      # refit when the catalog size changed by 20 %
META_KEY = "calibration"


@dataclass
class Calibration:
    knots: dict[str, list[float]] = field(default_factory=dict)   # source -> sorted quantiles
    fitted_size: int = 0

    def score(self, source: str, raw: float) -> float:
        """``raw`` as the source's empirical CDF in 0..1; uncalibrated sources: ``raw`` clipped."""
        return float(self.scores(source, raw))

    def scores(self, source: str, raw) -> np.ndarray:
        """:meth:`score` of many raw scores of one source at once (one interpolation)."""
        raw = np.asarray(raw, np.float64)
        knots = self.knots.get(source)
        if not knots:
            return np.clip(raw, 0.0, 1.0)
        return np.interp(raw, knots, np.linspace(0.0, 1.0, len(knots)))

    def to_dict(self) -> dict:
        return {"knots": self.knots, "fitted_size": self.fitted_size}

    @classmethod
    def from_dict(cls, data: dict | None) -> "Calibration | None":
        if not isinstance(data, dict) or not isinstance(data.get("knots"), dict):
            return None
        return cls({k: [float(x) for x in v] for k, v in data["knots"].items()}, int(data.get("fitted_size", 0)))


def _query_for(catalog, item_id: str):
    item = catalog.store.get(item_id) or {}
    annotations = (item.get("understanding") or {}).get("annotations") or []
    return SourceQuery(catalog.visual.vector(item_id), annotations=annotations)


def fit(catalog, sources: dict, queries: int = QUERIES, seed: int = 0) -> Calibration:
    """Fit every source in ``sources`` (name -> source) on up to ``queries`` catalog items."""
    ids = catalog.visual.ids
    rng = np.random.default_rng(seed)
    sample = [ids[i] for i in rng.choice(len(ids), size=min(queries, len(ids)), replace=False)] if ids else []
    scores: dict[str, list[float]] = {name: [] for name in sources}
    for item_id in sample:
        query = _query_for(catalog, item_id)
        for name, source in sources.items():
            hits = source.search(query, TOP_K + 1)
            scores[name].extend(c.score for c in hits if c.item_id != item_id)
    knots = {name: np.quantile(np.asarray(v, np.float64), np.linspace(0, 1, KNOTS)).round(5).tolist()
             if len(v) >= KNOTS else [] for name, v in scores.items()}   # []: too few hits, raw scores
    return Calibration(knots, len(catalog))


def calibration_for(catalog, sources: dict) -> Calibration:
    """The stored calibration if it covers ``sources`` and the catalog's size, else a new fit (stored)."""
    stored = Calibration.from_dict(catalog.store.get_meta(META_KEY))
    size = len(catalog)
    if stored is not None and set(sources) <= set(stored.knots) and stored.fitted_size and \
            abs(size - stored.fitted_size) <= REFIT_CHANGE * stored.fitted_size:
        return stored
    fitted = fit(catalog, sources)
    if fitted.knots:
        catalog.store.set_meta(META_KEY, fitted.to_dict())
        log.info("score calibration fitted on %d items for %s", size,
                 ", ".join(n for n, v in sorted(fitted.knots.items()) if v))
    return fitted

"""``lens eval floor``: fit the relevance floor (``blend.background_weight``, ``blend.min_relevance``).

The floor's two numbers live on the embedder's cosine scale (:mod:`blender.relevance`), so each
catalog and embedder fits its own pair, on photos it will not be measured on:

* ``--queries``: photos of the catalog's products, each row naming its ``product`` (e.g. ``lens
  data grocery``'s ``queries-train.jsonl``);
* ``--foreign``: photos of nothing in the catalog (e.g. ``lens data ccp``'s street photos against
  Grocery; repeatable).

Each photo is searched once with the floor off (the pages users get, diversity as configured).  A
query photo whose product leads its page gives that first item's image evidence; a foreign photo
gives every item's on its page.  For each background weight in ``WEIGHTS`` the floor is the highest
(to 0.001, rounded down) that keeps ``--keep`` of those first items; the weight whose floor leaves
the most foreign photos with no close match is chosen (ties: the one keeping more, then the lighter).  The
report gives every weight's floor and shares, the chosen pair as ``--set`` options, and the
configured pair's shares on the same photos; ``lens eval retrieval --foreign`` then measures a pair
on validation photos.

Tested in ``tests/test_floor_fit.py``.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from blender.relevance import excess
from lens.config import LensConfig
from lens.console import progress as progress_bar
from lens.evaluation.common import EvalReport, spread
from lens.evaluation.real_retrieval import indexed_lens, product_of, read_queries, unfloored
from lens.manifest import read_items

log = logging.getLogger(__name__)
WEIGHTS = tuple(round(float(w), 2) for w in np.arange(0.5, 1.0001, 0.05))   # fitted values so far: 0.6-0.8
KEEP = 0.99         # share of right first hits the floor keeps: a floor that hides right answers costs most
PAGE = 20           # items a foreign photo's page holds (the lens default page)


@dataclass
class Evidence:
    """Image evidence (provenance lists) of the fitting photos' pages, floor off."""

    firsts: list[list[dict]]            # per query photo whose product leads its page: that item's
    foreign: list[list[list[dict]]]     # per foreign photo: every item's on its page
    skipped: int = 0                    # photos that could not be read

    def kept(self, weight: float, floor: float) -> float:
        """Share of the right first items at or above ``floor``."""
        return float(np.mean([excess(p, weight) >= floor for p in self.firsts])) if self.firsts else math.nan

    def unmatched(self, weight: float, floor: float) -> float:
        """Share of foreign photos whose page holds nothing at or above ``floor``."""
        best = [max((excess(p, weight) for p in page), default=-math.inf) for page in self.foreign]
        return float(np.mean(np.array(best) < floor)) if best else math.nan

    def floor_for(self, weight: float, keep: float) -> float:
        """The highest floor (to 0.001, rounded down) keeping ``keep`` of the right first items, within
        ``blend.min_relevance``'s range [0, 0.999] (a first item no image source found, excess
        ``-inf``, is kept by no floor: 0 is the answer when too many are such)."""
        values = np.sort([excess(p, weight) for p in self.firsts])
        value = float(values[int(math.floor((1.0 - keep) * len(values) + 1e-9))])
        return min(0.999, math.floor(max(0.0, value) * 1000) / 1000)


def collect(lens, queries: list[dict], foreign: list[dict], products: dict[str, str],
            progress: bool = True) -> Evidence:
    """Search every photo with ``lens``'s floor off and keep the evidence :class:`Evidence` holds;
    a photo that cannot be read is logged (one line naming it), counted in ``skipped`` and left out."""
    plain = unfloored(lens)
    evidence = Evidence([], [])
    for q in progress_bar(queries, desc="photos of the products", disable=not progress):
        results = _page(plain, q, evidence)
        if results and products.get(results[0]["id"], results[0]["id"]) == q["product"]:
            evidence.firsts.append(results[0]["provenance"])
    for photo in progress_bar(foreign, desc="photos of nothing in it", disable=not progress):
        results = _page(plain, photo, evidence)
        if results is not None:
            evidence.foreign.append([r["provenance"] for r in results])
    return evidence


def _page(lens, row: dict, evidence: Evidence) -> list[dict] | None:
    try:
        return lens(row["image"], k=PAGE).results
    except (ValueError, TypeError) as exc:
        log.warning("%s: skipped (%s)", row.get("id", row.get("image")), exc)
        evidence.skipped += 1
        return None


def fit(evidence: Evidence, keep: float = KEEP) -> list[dict]:
    """Per weight: its floor, kept and unmatched shares; the chosen one first (module docstring)."""
    if not evidence.firsts or not evidence.foreign:
        raise ValueError("lens eval floor: no page led by its product, or no foreign photo: nothing to fit on")
    rows = []
    for weight in WEIGHTS:
        floor = evidence.floor_for(weight, keep)
        rows.append({"background_weight": weight, "min_relevance": floor, "kept": evidence.kept(weight, floor),
                     "no close match": evidence.unmatched(weight, floor)})
    return sorted(rows, key=lambda r: (-r["no close match"], -r["kept"], r["background_weight"]))


def floor_fit_eval(config: LensConfig, manifest: str, queries: str, foreign: list[str], also: list[str] | None = None,
                   workdir: str | None = None, limit: int = 0, keep: float = KEEP, progress: bool = True,
                   models=None) -> dict:
    """The figures of the module docstring; ``limit``: at most that many photos of each kind."""
    if not 0.5 <= keep <= 1.0:
        raise ValueError(f"--keep {keep}: expected 0.5 <= value <= 1")
    manifests = [Path(manifest), *(Path(a) for a in also or [])]
    catalog = [i for m in manifests for i in read_items(m)]
    products = product_of(catalog)
    rows = spread(read_queries(queries, products), limit)
    photos = spread([p for f in foreign for p in read_items(f)], limit)
    lens = indexed_lens(config, manifests, Path(workdir) if workdir else None, progress, models, catalog)
    evidence = collect(lens, rows, photos, products, progress)
    table = fit(evidence, keep)
    chosen, blend = table[0], config.blend
    return {"catalog items": len(products), "photos of the products": len(rows),
            "pages led by the product": len(evidence.firsts), "foreign photos": len(photos),
            "photos skipped (unreadable)": evidence.skipped, "keep": keep,
            "chosen": f"--set blend.background_weight={chosen['background_weight']} "
                      f"--set blend.min_relevance={chosen['min_relevance']}",
            "chosen: kept": round(chosen["kept"], 4), "chosen: no close match": round(chosen["no close match"], 4),
            f"configured ({blend.background_weight} / {blend.min_relevance}): kept":
                round(evidence.kept(blend.background_weight, blend.min_relevance), 4),
            f"configured ({blend.background_weight} / {blend.min_relevance}): no close match":
                round(evidence.unmatched(blend.background_weight, blend.min_relevance), 4),
            **{f"weight {r['background_weight']:.2f}": f"floor {r['min_relevance']:.3f}, kept {r['kept']:.4f}, "
                                                       f"no close match {r['no close match']:.4f}"
               for r in sorted(table, key=lambda r: r["background_weight"])}}


def floor_fit_command(args, config: LensConfig) -> EvalReport:
    figures = floor_fit_eval(config, args.manifest, args.queries, args.foreign, args.also_index, args.workdir,
                             args.limit, KEEP if args.keep is None else args.keep)
    return EvalReport(f"relevance floor fitted on {args.queries} and {', '.join(args.foreign)} "
                      f"({figures['catalog items']} items)", figures)

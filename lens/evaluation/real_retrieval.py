"""``lens eval retrieval --manifest CATALOG --queries QUERIES``: real photos -> their product.

For catalogs with real query photos, e.g. ``lens data grocery``'s ``catalog.jsonl`` (81
products) and ``queries-val.jsonl`` (in-store photos, each row naming the ``product`` it
shows).  The catalog is indexed once under ``--workdir`` (resumable; with ``--also-index``
more photos go in, such as the train split's in-store photos, each counting as its
``product``).  Each query photo is searched twice, with the visual source alone and with
the whole lens (every source, the blender, diversity as configured); a hit at k is the
query's product among the first k distinct products of the page.

Figures: ``visual top-1`` / ``top-5``, ``lens top-1`` / ``top-5``, the same per the queries'
``category``-group field (``--by``, default ``department`` of the product), and the lens
query's median milliseconds.  Pages are asked for with ``loose`` (the best few below the
relevance floor follow, marked), so the floor costs a hit only where it puts a close item
first.  ``first hit correct, above the floor``: of the queries whose product leads the lens page
when no floor applies (the same lens with ``blend.min_relevance`` 0), the share where that
product is above the floor (issue 19.6's goal, >= 0.98).  ``--foreign PHOTOS``: photos of nothing in
the catalog; the share whose page holds nothing above the floor.

Tested in ``tests/test_real_retrieval.py``.
"""
from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

from blender.relevance import excess
from lens.config import LensConfig
from lens.console import progress as progress_bar
from lens.evaluation.common import EvalReport, spread
from lens.manifest import read_items
from lens.pipeline.bundle import ModelBundle
from lens.pipeline.facade import Lens
from lens.pipeline.indexing import index_catalog

TOP = (1, 5)


def _workdir(manifests: list[Path], embedder: dict) -> Path:
    """A folder per catalog content and embedder under ``data/eval``: another manifest or another
    embedder (a retrained unified model), another index."""
    digest = hashlib.sha256(b"".join(p.resolve().read_bytes() for p in manifests)
                            + repr(sorted(embedder.items())).encode()).hexdigest()[:12]
    return Path("data/eval") / f"real-{manifests[0].parent.name}-{digest}"


def product_of(items: list[dict]) -> dict[str, str]:
    """``item id -> the product it shows``: its ``product`` field, else itself (a catalog product)."""
    return {i["id"]: str(i.get("product") or i["id"]) for i in items}


def indexed_lens(config: LensConfig, manifests: list[Path], workdir: Path | None, progress: bool = True,
                 models: ModelBundle | None = None, items: list[dict] | None = None) -> Lens:
    """A Lens over the manifests' items (``items``: already read), indexed once; ``models``: a bundle to share."""
    items = items if items is not None else [item for m in manifests for item in read_items(m)]
    models = models or ModelBundle(config)
    folder = workdir or _workdir(manifests, models.embedder.settings())
    lens = Lens.from_config(config, catalog_dir=str(Path(folder) / "catalog"), models=models)
    index_catalog(lens, items, progress)
    return lens


def _rank_products(results: list[dict], products: dict[str, str]) -> list[str]:
    seen: list[str] = []
    for r in results:
        product = products.get(r["id"], r["id"])
        if product not in seen:
            seen.append(product)
    return seen


def unfloored(lens: Lens) -> Lens:
    """The same lens (models, catalog, sources) with the relevance floor off."""
    config = replace(lens.config, blend=replace(lens.config.blend, min_relevance=0.0))
    return Lens(config, lens.models, lens.catalog, list(lens.sources))


def _first_kept(results: list[dict], target: str, products: dict[str, str], floor: float,
                background_weight: float) -> bool | None:
    """Whether an unfloored page's first item, when it is ``target``'s, is above ``floor``
    (``None`` when the page leads with another product)."""
    if not results or products.get(results[0]["id"], results[0]["id"]) != target:
        return None
    return floor <= 0 or excess(results[0]["provenance"], background_weight) >= floor


def search_figures(lens: Lens, queries: list[dict], products: dict[str, str], group_of: dict[str, str],
                   progress: bool = True) -> dict:
    """Top-1 / top-5 of the visual source and of the whole lens, overall and per group."""
    hits: dict[tuple, list[bool]] = defaultdict(list)
    times = []
    k = max(TOP) * 4            # a page deep enough to hold 5 distinct products
    floor = lens.config.blend.min_relevance
    plain = unfloored(lens) if floor > 0 else None      # built once: its calibration is fitted once
    firsts = []                 # queries whose product leads the unfloored page: above the floor?
    for q in progress_bar(queries, desc="real queries", disable=not progress):
        target, group = q["product"], group_of.get(q["product"], "")
        for mode, sources in (("visual", ["visual"]), ("lens", None)):
            start = time.perf_counter()
            result = lens(q["image"], k=k, sources=sources, loose=True)
            if mode == "lens":
                times.append((time.perf_counter() - start) * 1000)
                page = plain(q["image"], k=k).results if plain else result.results
                firsts.append(_first_kept(page, target, products, floor, lens.config.blend.background_weight))
            ranked = _rank_products(result.results, products)
            for top in TOP:
                for key in ((mode, top, ""), (mode, top, group)):
                    hits[key].append(target in ranked[:top])
    out = {"queries": len(queries)}
    for (mode, top, group), values in sorted(hits.items(), key=lambda kv: (kv[0][2], kv[0][0], kv[0][1])):
        name = f"{mode} top-{top}" + (f" ({group}, {len(values)})" if group else "")
        out[name] = round(float(np.mean(values)), 4)
    firsts = [kept for kept in firsts if kept is not None]
    out["first hit correct, above the floor"] = round(float(np.mean(firsts)), 4) if firsts else None
    out["lens query ms median"] = round(float(np.median(times)), 1) if times else None
    return out


def foreign_figures(lens: Lens, photos: list[dict], k: int = 20, progress: bool = True) -> dict:
    """Photos of nothing in the catalog (e.g. street fashion against Grocery): the share whose
    page holds no item above the relevance floor (``blend.min_relevance``)."""
    empty = []
    for p in progress_bar(photos, desc="foreign photos", disable=not progress):
        empty.append(lens(p["image"], k=k).blend["relevance"]["close"] == 0)
    return {"foreign photos": len(photos),
            "foreign photos with no close match": round(float(np.mean(empty)), 4) if empty else None}


def read_queries(queries: str, products: dict[str, str]) -> list[dict]:
    """``queries``' rows, each naming a ``product`` of the catalog (``products``: :func:`product_of`);
    ``ValueError`` naming the file and the first row or product that does not."""
    rows = read_items(queries)
    missing = [q["id"] for q in rows if not q.get("product")]
    if missing:
        raise ValueError(f"--queries {queries}: {len(missing)} rows name no 'product' (e.g. {missing[0]})")
    unknown = sorted({q["product"] for q in rows} - set(products.values()))
    if unknown:
        raise ValueError(f"--queries {queries}: product '{unknown[0]}' is not in the catalog "
                         f"({len(unknown)} unknown)")
    return rows


def real_retrieval_eval(config: LensConfig, manifest: str, queries: str, also: list[str] | None = None,
                        workdir: str | None = None, by: str = "department", limit: int = 0,
                        progress: bool = True, models: ModelBundle | None = None,
                        foreign: str | None = None) -> dict:
    """The figures of the module docstring; ``limit``: that many queries, spread evenly."""
    manifests = [Path(manifest), *(Path(a) for a in also or [])]
    catalog = [read_items(m) for m in manifests]
    products = product_of([i for items in catalog for i in items])
    rows = spread(read_queries(queries, products), limit)          # evenly: every product keeps some queries
    lens = indexed_lens(config, manifests, Path(workdir) if workdir else None, progress, models,
                        [i for items in catalog for i in items])
    group_of = {i["id"]: str(i.get(by, "")) for i in catalog[0]}
    figures = {"catalog items": len(products), **search_figures(lens, rows, products, group_of, progress)}
    if foreign:
        figures.update(foreign_figures(lens, spread(read_items(foreign), limit), progress=progress))
    return figures


def real_retrieval_command(args, config: LensConfig) -> EvalReport:
    figures = real_retrieval_eval(config, args.manifest, args.queries, args.also_index, args.workdir,
                                  args.by, args.limit, foreign=args.foreign)
    return EvalReport(f"retrieval of {args.queries} in {args.manifest} ({figures['catalog items']} items)",
                      figures)

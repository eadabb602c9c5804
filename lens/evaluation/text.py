"""``lens eval text``: attribute queries against the synthetic ground truth, per query type.

* Queries: for each query type (the attributes it names, :data:`QUERY_TYPES`)
  every combination of ground-truth values at least one product has, worded
  like a shopper would: ``"<color> <pattern word> <category>"`` (``red
  striped dress``, ``navy polka-dot mug``, ``solid olive chair``), at most
  ``--queries-per-type`` of them (a seeded sample; default 150).
* Relevant: the products whose ground-truth ``color`` / ``pattern`` /
  ``category`` match every attribute the query names.  The search is limited
  to products (the source's ``allowed`` filter): a scene's ground truth is
  per object, not per item.
* Metric: precision@min(10, R) for a query with R relevant products, i.e.
  precision@10 where R >= 10 and R-precision below (the share of the top R
  that are relevant), so 1.0 is reachable by every query; reported per query
  type with the number of queries and the median R, next to plain precision@10
  over the queries with R >= 10 (and their count).  Never only in aggregate.
* Documents: ``--documents catalog`` (default) indexes the catalog the image
  pipeline built (titles, descriptions and annotations; cached under the
  eval folder); ``--documents manifest`` only the manifest's titles and
  descriptions (no images: fast).
* Timings: index build (BM25 + MiniLM) in ms per 1,000 items, query latency
  (ms, median and p95, MiniLM query embedding included).

Tested in ``tests/test_text.py``.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import time
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from lens.config import LensConfig, load_config
from lens.evaluation.common import EvalReport, eval_catalog, read_manifest
from lens.evaluation.indexed import build_eval_lens
from lens.text.index import TextIndex
from lens.text.source import TextSource
from lens.types import SourceQuery

log = logging.getLogger(__name__)
QUERY_TYPES: dict[str, tuple[str, ...]] = {
    "color+pattern+category": ("color", "pattern", "category"),
    "color+category": ("color", "category"),
    "pattern+category": ("pattern", "category"),
    "color+pattern": ("color", "pattern"),
    "category": ("category",),
    "color": ("color",),
    "pattern": ("pattern",),
}
PATTERN_WORDS = {"solid": "solid", "stripes": "striped", "dots": "polka-dot", "check": "checked",
                 "floral": "floral"}
CUTOFF = 10
BATCH = 64                  # documents per add, like the indexing writer's batches


def phrase(fields: tuple[str, ...], values: tuple[str, ...]) -> str:
    """``("color", "pattern", "category"), ("red", "stripes", "dress")`` -> ``"red striped dress"``."""
    words = dict(zip(fields, values))
    parts = [PATTERN_WORDS[words["pattern"]] if "pattern" in words else "",
             words.get("color", ""), words.get("category", "")]
    if words.get("pattern") != "solid":        # "red striped dress", but "solid red dress"
        parts[0], parts[1] = parts[1], parts[0]
    return " ".join(p for p in parts if p)


def attribute_queries(products: list[dict], per_type: int, seed: int = 0) -> list[tuple[str, str, set[str]]]:
    """``(type, text, relevant product ids)`` for every query type; see the module docstring."""
    rng = np.random.default_rng([seed, 5])
    out = []
    for qtype, fields in QUERY_TYPES.items():
        groups: dict[tuple, set[str]] = defaultdict(set)
        for p in products:
            groups[tuple(p[f] for f in fields)].add(p["id"])
        keys = sorted(groups)
        if len(keys) > per_type:
            keys = [keys[i] for i in sorted(rng.choice(len(keys), per_type, replace=False))]
        out.extend((qtype, phrase(fields, key), groups[key]) for key in keys)
    return out


def build_index(config: LensConfig, items: list[dict]) -> tuple[TextIndex, float]:
    """A text index over ``items`` (in writer-sized batches) and its build time in seconds."""
    index = TextIndex.from_config(dataclasses.replace(config.text, enabled=True), config.models.root)
    start = time.perf_counter()
    for i in range(0, len(items), BATCH):
        index.add(items[i:i + BATCH])
    return index, time.perf_counter() - start


def text_figures(index: TextIndex, products: list[dict], queries: list[tuple[str, str, set[str]]]) -> dict:
    """Per-type precision (see the module docstring) and query latency of ``index``."""
    source, allowed = TextSource(SimpleNamespace(text=index)), {p["id"] for p in products}
    per_type: dict[str, list] = defaultdict(list)
    latency = []
    for qtype, text, relevant in queries:
        start = time.perf_counter()
        hits = source.search(SourceQuery(np.zeros(1, np.float32), text=text), CUTOFF, allowed)
        latency.append((time.perf_counter() - start) * 1000)
        ids = [h.item_id for h in hits]
        cut = min(CUTOFF, len(relevant))
        per_type[qtype].append((sum(i in relevant for i in ids[:cut]) / cut,
                                sum(i in relevant for i in ids[:CUTOFF]) / CUTOFF, len(relevant)))
    types = {}
    for qtype, rows in per_type.items():
        full = [p10 for _, p10, r in rows if r >= CUTOFF]
        types[qtype] = {"precision@min(10,R)": round(float(np.mean([p for p, _, _ in rows])), 4),
                        "queries": len(rows), "median R": float(np.median([r for _, _, r in rows])),
                        "precision@10 (R>=10)": round(float(np.mean(full)), 4) if full else None,
                        "queries R>=10": len(full)}
    return {"types": types, "query_ms_median": round(float(np.median(latency)), 2) if latency else None,
            "query_ms_p95": round(float(np.percentile(latency, 95)), 2) if latency else None}


def _row(v: dict) -> str:
    full = v["precision@10 (R>=10)"]
    return (f"{v['precision@min(10,R)']:.3f}  queries {v['queries']:4d}  median R {v['median R']:g}  "
            f"P@10(R>=10) {'-' if full is None else f'{full:.3f}'} over {v['queries R>=10']}")


def _documents(args, config: LensConfig, folder: Path, records: list[dict], progress: bool) -> list[dict]:
    if args.documents == "manifest":
        return [{k: r[k] for k in ("id", "title", "description") if k in r} for r in records]
    off = dataclasses.replace(config, text=dataclasses.replace(config.text, enabled=False))
    return list(build_eval_lens(off, folder, progress).catalog.store)   # indexed once, then cached


def text_eval(args: argparse.Namespace, config: LensConfig | None = None, progress: bool = True):
    """``lens eval text``: an :class:`lens.evaluation.EvalReport`, one row per query type."""
    if config is None:
        config = load_config(getattr(args, "config", "default"), getattr(args, "overrides", []))
    if args.queries_per_type < 1:
        raise ValueError(f"--queries-per-type {args.queries_per_type}: must be at least 1")
    folder = eval_catalog(args, progress)
    records = read_manifest(folder)
    products = [r for r in records if r.get("kind") == "product"]
    if not products:
        raise ValueError(f"text evaluation: {folder} holds no products")
    items = _documents(args, config, folder, records, progress)
    index, build_s = build_index(config, items)
    figures = text_figures(index, products, attribute_queries(products, args.queries_per_type, args.seed))
    figures.update({"items": len(items), "documents": args.documents, "alpha": index.alpha,
                    "model": config.text.model, "build_ms_per_1000": round(build_s * 1e6 / len(items), 1)})
    rows = {f"{t} P@min(10,R)": _row(v) for t, v in figures["types"].items()}
    rows.update({k: figures[k] for k in ("items", "documents", "model", "alpha", "build_ms_per_1000",
                                         "query_ms_median", "query_ms_p95")})
    return EvalReport(f"text search on {folder}", figures, rows)

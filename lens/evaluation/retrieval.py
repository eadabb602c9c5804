"""``lens eval retrieval``: every product photo re-rendered and perturbed, searched.

Every product photo is re-rendered with a small view change and at least one
recorded perturbation (lighting, blur, noise or JPEG), then searched in the
visual index: top-1 and recall@10 of the exact product; scene crops against
the products they show (crop recall@10) and object search (object recall@20).

Tested in ``tests/test_e2e.py``.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from blender.objects import ObjectSource
from detection.crops import crop_pixels
from lens.boxes import Box
from lens.config import LensConfig
from lens.console import progress as progress_bar
from lens.evaluation.common import EvalReport, eval_catalog, read_manifest
from lens.evaluation.indexed import build_eval_lens
from lens.evaluation.real_retrieval import real_retrieval_command
from lens.evaluation.text import attribute_queries, text_figures
from lens.imageio import load_image
from lens.synth import random_perturbation, render_product_view
from lens.types import SourceQuery

log = logging.getLogger(__name__)


def perturbed_queries(records: list[dict], seed: int):
    """Yield ``(record, rgb, perturbation)``: each product re-rendered, perturbed."""
    rng = np.random.default_rng([seed, 7])
    for i, rec in enumerate(records):
        pert = random_perturbation(rng)
        while pert.get("lighting", "none") == "none" and not pert.get("blur_sigma") \
                and not pert.get("noise_sigma") and pert.get("jpeg_quality", 100) >= 90:
            pert = random_perturbation(rng)   # every query carries a perturbation
        yield rec, render_product_view(rec, pert, view_seed=seed * 100_003 + i + 1), pert


def retrieval_figures(lens, records: list[dict], seed: int = 0, progress: bool = True) -> dict:
    """top-1 and recall@10 of each product's perturbed re-render, visual source."""
    products = [r for r in records if r.get("kind") == "product"]
    if not products:
        raise ValueError("retrieval evaluation: the catalog holds no products")
    top1 = hit10 = 0
    batch: list = []

    def flush():
        nonlocal top1, hit10
        vectors = lens.embedder.embed([rgb for _, rgb in batch])
        for (rec, _), hits in zip(batch, lens.catalog.visual.search(vectors, 10)):
            ids = [h[0] for h in hits]
            top1 += bool(ids) and ids[0] == rec["id"]
            hit10 += rec["id"] in ids
        batch.clear()

    for rec, rgb, _ in progress_bar(perturbed_queries(products, seed), total=len(products),
                            desc="retrieval", disable=not progress):
        batch.append((rec, rgb))
        if len(batch) == 32:
            flush()
    if batch:
        flush()
    n = len(products)
    return {"queries": n, "top-1": round(top1 / n, 4), "recall@10": round(hit10 / n, 4)}


def _load(folder: Path, rec: dict):
    return load_image(folder / rec["image"]) if not Path(rec["image"]).is_absolute() else load_image(rec["image"])


def crop_figures(lens, records: list[dict], folder: Path, progress: bool = True) -> dict:
    """A product's crop from a scene (ground-truth box, >= 50 % visible) -> that product in the
    top 10 of the visual source: recall@10 over every such crop."""
    scenes = [r for r in records if r.get("kind") == "scene"]
    hits = total = 0
    for scene in progress_bar(scenes, desc="scene crops", disable=not progress):
        rgb = _load(folder, scene)
        objs = [o for o in scene["objects"] if o.get("visible", 1.0) >= 0.5]
        if not objs:
            continue
        crops = [crop_pixels(rgb, Box(*o["box"]).pad(0.08)) for o in objs]
        for obj, found in zip(objs, lens.catalog.visual.search(lens.embedder.embed(crops), 10)):
            total += 1
            hits += obj["product_id"] in [i for i, _ in found]
    return {"scene crops": total, "crop recall@10": round(hits / max(total, 1), 4)}


def object_figures(lens, records: list[dict], folder: Path, progress: bool = True) -> dict:
    """A product photo -> the object source -> scenes that contain it: mean recall@20 over the
    products shown in at least one scene."""
    scenes_of: dict[str, set] = {}
    for r in records:
        for o in r.get("objects", []) if r.get("kind") == "scene" else []:
            scenes_of.setdefault(o["product_id"], set()).add(r["id"])
    products = [r for r in records if r.get("kind") == "product" and r["id"] in scenes_of]
    source, recalls = ObjectSource(lens.catalog), []
    for rec in progress_bar(products, desc="object search", disable=not progress):
        vector = lens.embedder.embed([_load(folder, rec)])[0]
        found = {c.item_id for c in source.search(SourceQuery(vector), 20)}
        recalls.append(len(found & scenes_of[rec["id"]]) / len(scenes_of[rec["id"]]))
    return {"products in scenes": len(products),
            "object recall@20": round(float(np.mean(recalls)) if recalls else 0.0, 4)}


def retrieval_eval(lens, records: list[dict], folder: Path, seed: int = 0, progress: bool = True) -> dict:
    """Every quality figure of issue 5 on one indexed catalog (``lens eval retrieval`` and the
    bench's ``retrieval`` section): perturbed product photo -> top-1 / recall@10, scene crop ->
    product recall@10, object search recall@20, and the text source's precision@min(10, R) per
    attribute query type ("red striped dress") over the catalog's own text index (25 a type)."""
    figures = {**retrieval_figures(lens, records, seed, progress), **crop_figures(lens, records, folder, progress),
               **object_figures(lens, records, folder, progress)}
    products = [r for r in records if r.get("kind") == "product"]
    if lens.catalog.text is not None and products:
        text = text_figures(lens.catalog.text, products, attribute_queries(products, 25, seed))
        figures.update({f"text {t} P@min(10,R)": v["precision@min(10,R)"] for t, v in text["types"].items()})
    return figures


def retrieval_command(args, config: LensConfig) -> EvalReport:
    """``lens eval retrieval``: the synthetic figures, or with ``--queries`` the real-photo ones."""
    if args.queries or args.manifest:
        if not (args.queries and args.manifest):
            raise ValueError("lens eval retrieval: --manifest and --queries go together")
        return real_retrieval_command(args, config)
    folder = eval_catalog(args)
    lens = build_eval_lens(config, folder)
    return EvalReport(f"retrieval on {folder}", retrieval_eval(lens, read_manifest(folder), folder, args.seed))

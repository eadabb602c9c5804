"""``lens eval embedding --manifest CATALOG --queries PHOTOS``: embedders side by side, float and binary.

Each embedder (``--embedders``, default ``mobilenet_v2,efficientnet_lite0,unified``; an
embedder whose weights are missing is reported as such and skipped) embeds the catalog's
product photos and the query photos (each naming its ``product``); a query's hit at k is its
product among the k nearest catalog photos.  No detector, text or blender: the embedding alone,
as the visual source sees it.  Binary: the codes the ``binary`` index kind would store
(:class:`lens.index.binary.BinaryKind`: the vectors' own sign bits for ``unified``, centred,
PCA-rotated ones for the ImageNet features), ranked by Hamming distance alone (``binary``: what
the bits keep) and as the index serves them (``binary served``: the ``index.rerank`` x k nearest
codes re-ranked by the float vectors; on a small catalog that is most of it, so the bits-only
figure is the one that says how much they lose).

Figures per embedder: ``top-1``, ``top-5``, ``binary top-1`` / ``top-5``, ``binary served
top-1`` / ``top-5``, ``bits``, ``ms per image`` (median batch time / batch size, 2 cores).

Tested in ``tests/test_learning.py``.
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np

from lens.config import IndexConfig, LensConfig
from lens.console import progress as progress_bar
from lens.evaluation.common import EvalReport, spread
from lens.imageio import load_image
from lens.index.binary import BinaryKind
from lens.manifest import read_items
from lens.models import ModelMissingError
from lens.pipeline.bundle import ModelBundle

DEFAULT = ("mobilenet_v2", "efficientnet_lite0", "unified")
BATCH = 32


def _embed(embedder, paths: list[str], progress: bool, desc: str) -> tuple[np.ndarray, float]:
    out, times = [], []
    for start in progress_bar(range(0, len(paths), BATCH), desc=desc, disable=not progress):
        images = [load_image(p) for p in paths[start:start + BATCH]]
        t = time.perf_counter()
        out.append(embedder.embed(images))
        times.append((time.perf_counter() - t) * 1000 / len(images))
    return np.concatenate(out), float(np.median(times)) if times else 0.0


def _hits(scores: np.ndarray, gallery: np.ndarray, truth: np.ndarray, prefix: str = "") -> dict:
    ranked = gallery[np.argsort(-scores, axis=1, kind="stable")]
    return {f"{prefix}top-1": round(float((ranked[:, 0] == truth).mean()), 4),
            f"{prefix}top-5": round(float((ranked[:, :5] == truth[:, None]).any(1).mean()), 4)}


def _binary(g: np.ndarray, q: np.ndarray, codes: str) -> tuple[np.ndarray, int]:
    """Hamming agreement ``(Nq, Ng)`` (higher = closer) of the binary index's codes, and the bits."""
    kind = BinaryKind(IndexConfig(kind="binary", binary_codes=codes), g.shape[1])
    kind.build(g)
    gb, qb = (np.unpackbits(kind.codes(x), axis=1).astype(np.float32) * 2 - 1 for x in (g, q))
    return qb @ gb.T, kind.nbits


def _served(hamming: np.ndarray, exact: np.ndarray, gallery: np.ndarray, truth: np.ndarray, rerank: int) -> dict:
    """Hits at 1 and 5 when the ``rerank x k`` best codes are re-ranked by the float scores."""
    out = {}
    order = np.argsort(-hamming, axis=1, kind="stable")
    for k in (1, 5):
        cand = order[:, :rerank * k]
        best = np.take_along_axis(cand, np.argsort(-np.take_along_axis(exact, cand, 1), axis=1), 1)[:, :k]
        out[f"binary served top-{k}"] = round(float((gallery[best] == truth[:, None]).any(1).mean()), 4)
    return out


def score_embedder(embedder, products: list[dict], queries: list[dict], progress: bool = True,
                   rerank: int = 10) -> dict:
    """One embedder's figures; ``products`` the catalog photos, ``queries`` photos naming their product."""
    g, _ = _embed(embedder, [p["image"] for p in products], progress, f"{embedder.name}: catalog")
    q, ms = _embed(embedder, [x["image"] for x in queries], progress, f"{embedder.name}: queries")
    gallery = np.array([p["id"] for p in products])
    truth = np.array([x["product"] for x in queries])
    sims, bits = _binary(g, q, "sign" if embedder.name == "unified" else "rotated")
    exact = q @ g.T
    return {**_hits(exact, gallery, truth), **_hits(sims, gallery, truth, "binary "),
            **_served(sims, exact, gallery, truth, rerank), "bits": bits,
            "dim": int(g.shape[1]), "ms per image": round(ms, 1)}


def embedding_eval(config: LensConfig, manifest: str, queries: str, embedders=DEFAULT, limit: int = 0,
                   progress: bool = True) -> EvalReport:
    products = [i for i in read_items(manifest) if "product" not in i]
    photos = spread([q for q in read_items(queries) if q.get("product")], limit)
    known = {p["id"] for p in products}
    photos = [q for q in photos if q["product"] in known]
    if not products or not photos:
        raise ValueError(f"{queries}: no photo names a product of {manifest}")
    figures: dict = {"products": len(products), "queries": len(photos)}
    for name in embedders:
        try:          # the bundle builds the models, one embedder per config
            embedder = ModelBundle(dataclasses.replace(
                config, embedder=dataclasses.replace(config.embedder, name=name))).embedder
        except ModelMissingError as exc:
            figures[name] = {"missing": str(exc)}
            continue
        figures[name] = score_embedder(embedder, products, photos, progress, config.index.rerank)
    rows = {"products": figures["products"], "queries": figures["queries"]}
    for name in embedders:
        rows.update({f"{name} {k}": v for k, v in figures[name].items()})
    return EvalReport(f"embeddings on {queries} -> {manifest}", figures, rows)


def embedding_command(args, config) -> EvalReport:
    names = tuple(n.strip() for n in args.embedders.split(",") if n.strip())
    return embedding_eval(config, args.manifest, args.queries, names, args.limit)

"""``python bench/run.py --only sources``: each retrieval source over a 100k-item catalog (issue 5).

The catalog: the bench's indexed synthetic catalog (products and scenes,
~1.3k items) grown to ``n`` items by :func:`grow_catalog`.  The real items
keep their ids; each clone copies a real item's store record (new id, crop
ids renamed) and gets that item's visual, crop and MiniLM vectors plus
catalog-shaped noise, as :func:`index_bench.make_dataset` makes its
near-duplicates, so clones are close to, never equal to, their originals.
BM25 documents are the originals' words.  Index settings are the config's
(``index.kind: auto`` is HNSW at this size for the 1280-d image vectors;
the text index's MiniLM vectors likewise).

The queries: the query bench's perturbed product photos through the lens
façade over the grown catalog, so every source sees exactly what it sees in
production (the photo's vector, its object crops, its annotations as text).
Diversity off is one search per source, the issue's measure (goal: median
<= 20 ms each at 100k items on 2 cores); diversity on adds one search per
skin tone range bucket, reported as the façade's stage times; filtered is
one search per source under a skin tone range filter (ranges 1-4 in turn),
the filter FAISS applies inside its search (:mod:`lens.index.selection`).  The first
few queries are warm-up (calibration, filter signals, MiniLM load).
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
from index_bench import near_duplicates

CHUNK = 10_000          # clones added per batch: bounded temporaries


def _clone(record: dict, new_id: str) -> dict:
    crops = [{**c, "id": f"{new_id}#{c['id'].rsplit('#', 1)[1]}"} if "id" in c else dict(c)
             for c in record.get("crops", [])]
    return {**record, "id": new_id, "crops": crops}


def _originals(source):
    """Every real item with its visual, crop and MiniLM vectors."""
    records = [r for r in source.items(source.store.ids()) if r is not None and r["id"] in source.visual]
    text = source.text.vectors if source.text is not None else None
    out = []
    for r in records:
        crops = [(c["id"], source.objects.vector(c["id"])) for c in r.get("crops", [])
                 if c.get("id") in source.objects]
        words = text.vector(r["id"]) if text is not None and r["id"] in text else None
        out.append((r, source.visual.vector(r["id"]), crops, words))
    return out


def grow_catalog(source, config, embedder_settings: dict, directory: Path, n: int, seed: int = 0,
                 log=print):
    """A catalog in ``directory`` holding ``source``'s items plus clones up to ``n`` items."""
    from lens.catalog import Catalog

    shutil.rmtree(directory, ignore_errors=True)
    big = Catalog.open(config, embedder_settings, directory)
    real = _originals(source)
    rng = np.random.default_rng(seed)
    pools = {"visual": np.stack([v for _, v, _, _ in real]),
             "crops": np.stack([v for *_, crops, _ in real for _, v in crops]),
             "text": np.stack([w for *_, w in real if w is not None])}
    start = time.perf_counter()
    for lo in range(0, n, CHUNK):
        picks = [(i, real[i] if i < len(real) else real[rng.integers(0, len(real))])
                 for i in range(lo, min(n, lo + CHUNK))]
        items = [r if i < len(real) else _clone(r, f"x{i:06d}") for i, (r, *_rest) in picks]
        fresh = np.array([i >= len(real) for i, _ in picks])
        vis = np.stack([v for _, (_r, v, _c, _w) in picks])
        vis[fresh] = near_duplicates(vis[fresh], pools["visual"], rng)
        crop_ids = [c["id"] for item in items for c in item.get("crops", []) if "id" in c]
        crop_vecs = np.stack([v for _, (_r, _v, crops, _w) in picks for _, v in crops])
        crop_fresh = np.concatenate([[i >= len(real)] * len(p[2]) for i, p in picks]).astype(bool)
        crop_vecs[crop_fresh] = near_duplicates(crop_vecs[crop_fresh], pools["crops"], rng)
        with_text = [(item, w, i >= len(real)) for item, (i, (_r, _v, _c, w)) in zip(items, picks)
                     if w is not None]
        words = np.stack([w for _, w, _ in with_text])
        text_fresh = np.array([f for *_, f in with_text])
        words[text_fresh] = near_duplicates(words[text_fresh], pools["text"], rng)
        big.visual.add([i["id"] for i in items], vis)
        big.objects.add(crop_ids, crop_vecs)
        big.text.add([item for item, _, _ in with_text], words)
        big.store.put_many(items)
        log(f"sources: grew the catalog to {min(n, lo + CHUNK)} items ({time.perf_counter() - start:.0f} s)")
    big.save()
    big.text.bm25.warm()        # as TextIndex.open does for a served catalog
    big.version += 1
    return big, round(time.perf_counter() - start, 1)


def bench_sources(lens, folder: Path, work: Path, n: int = 100_000, queries: int = 40, log=print) -> dict:
    """Per-source median / p95 ms over ``n`` items, diversity off and on; see the module docstring."""
    from blender.filters import allowed_ids
    from lens.evaluation.common import read_manifest
    from lens.evaluation.retrieval import perturbed_queries
    from lens.pipeline.facade import Lens
    from lens.types import Filters

    big, seconds = grow_catalog(lens.catalog, lens.config, lens.embedder.settings(), work, n, log=log)
    grown = Lens(lens.config, lens.models, big)
    products = [r for r in read_manifest(folder) if r["kind"] == "product"][:queries + 3]
    out = {"items": len(big), "crops": len(big.objects), "text documents": len(big.text),
           "grow_s": seconds,
           "goal": "median <= 20 ms per source query at 100k items on 2 cores (diversity off, filtered)"}
    modes = (("diversity off", False, None), ("diversity on (+1 search per skin tone bucket)", True, None),
             ("filtered: skin tone range 1-4 in turn, diversity off", False, "skin_tone_range"))
    for tag, diversity, field in modes:
        stages: dict[str, list[float]] = {}
        for i, (_, rgb, _) in enumerate(perturbed_queries(products, seed=11)):
            filters = {field: [1 + i % 4]} if field else None
            result = grown(rgb, k=20, diversity=diversity, filters=filters)
            if i < 3:
                continue
            for stage, ms in result.timings_ms.items():
                if stage.startswith("source.") or stage in ("filter", "blend", "diversity"):
                    stages.setdefault(stage, []).append(ms)
        for stage, values in stages.items():
            arr = np.asarray(values)
            out[f"{stage}, {tag}"] = {"median_ms": round(float(np.median(arr)), 2),
                                      "p95_ms": round(float(np.percentile(arr, 95)), 2)}
        log(f"sources ({tag}): {[(s, round(float(np.median(v)), 1)) for s, v in stages.items()]}")
    shares = [len(allowed_ids(big, Filters.parse({"skin_tone_range": r})) or ()) / len(big) for r in (1, 2, 3, 4)]
    out["items per skin tone range (share)"] = ", ".join(f"{r}: {s:.3f}" for r, s in zip((1, 2, 3, 4), shares))
    graphs = {name: getattr(index._kind, "graph", None) for name, index in
              (("visual", big.visual), ("objects", big.objects), ("text vectors", big.text.vectors))}
    out["structures after the queries"] = ", ".join(f"{n} {'HNSW' if g else 'flat'}" for n, g in graphs.items())
    big.store.close()
    shutil.rmtree(work, ignore_errors=True)
    return out

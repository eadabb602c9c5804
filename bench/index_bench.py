"""``python bench/run.py --only index``: every index kind at 100k and 1M vectors.

Vectors: the real MobileNetV2 embeddings (1280-d) of the synthetic bench
catalog, each image embedded as is, mirrored and centre-cropped
(:func:`catalog_vectors`), plus synthetic vectors shaped like them
(:func:`make_dataset`): half a random real vector plus catalog-shaped noise
(near-duplicate variants), half the catalog's mean plus catalog-shaped noise.  Queries are held-out real vectors (never indexed),
lightly perturbed.  Recall@10 is measured against exact flat search on the
same vectors.  The 1M run uses 256-d vectors (the catalog's top 256 principal
components, re-normalised): 1M x 1280 floats alone is 5 GB, and every kind
keeps its float vectors for re-ranking and rebuilds.

Per kind: build seconds (incl. training), bytes of the FAISS structure alone
(the codes / graph), bytes with the float vectors the index also keeps, median
and p95 single-query milliseconds (k=10, one query at a time, after warm-up),
recall@10.  Builds longer than ``max_build_s`` are stopped before the search
and reported as such.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from lens.config import IndexConfig
from lens.index import INDEX_KINDS, VectorIndex


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def catalog_vectors(folder: Path, cache: Path) -> np.ndarray:
    """Real embeddings of every catalog image: as is, mirrored, centre 80% crop."""
    if cache.is_file():
        return np.load(cache)
    from lens.config import LensConfig
    from lens.evaluation.common import read_manifest
    from lens.imageio import load_image
    from lens.pipeline.bundle import ModelBundle

    embedder = ModelBundle(LensConfig()).embedder
    out = []
    for record in read_manifest(folder):
        rgb = load_image(folder / record["image"])
        h, w = rgb.shape[:2]
        out.append([rgb, rgb[:, ::-1].copy(), rgb[h // 10:h - h // 10, w // 10:w - w // 10].copy()])
    vectors = np.concatenate([embedder.embed([views[v] for views in out]) for v in range(3)])
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return vectors


def shaped_noise(pool: np.ndarray, m: int, rng) -> np.ndarray:
    """``m`` rows of ``(a - b + c - d) / 2`` over random rows of ``pool``: noise with the pool's
    own covariance at O(m * dim) cost."""
    pick = [pool[rng.integers(0, len(pool), m)] for _ in range(4)]
    return (pick[0] - pick[1] + pick[2] - pick[3]) / 2


def near_duplicates(rows: np.ndarray, pool: np.ndarray, rng) -> np.ndarray:
    """``rows`` moved by pool-shaped noise of length 0.18-0.6: close to, never equal to, them."""
    noise = _unit(shaped_noise(pool, len(rows), rng))
    return _unit(rows + 0.6 * noise * rng.uniform(0.3, 1.0, (len(rows), 1)))


def make_dataset(real: np.ndarray, n: int, dim: int, queries: int = 200, seed: int = 0):
    """``(base (n, dim), queries (q, dim))`` unit vectors: real + catalog-shaped synthetic.

    Synthetic noise is ``(r_a - r_b + r_c - r_d) / 2`` over random real vectors,
    which has the catalog's own covariance at O(n * dim) cost.  ``dim`` below
    the real one projects onto the catalog's top principal axes.
    """
    rng = np.random.default_rng(seed)
    real = real[rng.permutation(len(real))]
    held, real = real[:queries], real[queries:]
    if dim < real.shape[1]:
        mean = real.mean(0)
        axes = np.linalg.svd(real - mean, full_matrices=False)[2][:dim]
        real, held = _unit((real - mean) @ axes.T), _unit((held - mean) @ axes.T)
    centre = real.mean(0)
    chunks, left = [real[:n]], n - min(n, len(real))
    while left > 0:                                          # in chunks: bounded memory
        m = min(left, 50_000)
        noise = shaped_noise(real, m, rng)
        near = real[rng.integers(0, len(real), m)] + 0.6 * _unit(noise) * rng.uniform(0.3, 1.0, (m, 1))
        chunks.append(_unit(np.where((rng.random(m) < 0.5)[:, None], near, centre + noise)))
        left -= m
    base = np.concatenate(chunks)[:n]
    noise = rng.standard_normal(held.shape).astype(np.float32)
    return base, _unit(held + 0.05 * _unit(noise))          # queries: held-out real, 5% jitter


def exact_top(base: np.ndarray, queries: np.ndarray, k: int = 10) -> np.ndarray:
    """Ground truth: exact inner-product top-k rows (FAISS flat, all queries at once)."""
    import faiss

    flat = faiss.IndexFlatIP(base.shape[1])
    flat.add(base)
    return flat.search(queries, k)[1]


def _files_mb(directory: Path, suffixes: tuple[str, ...]) -> float:
    return round(sum(p.stat().st_size for p in directory.iterdir() if p.name.endswith(suffixes)) / 1e6, 1)


def _probe_build(config: IndexConfig, base: np.ndarray, rows: int = 50_000) -> float:
    """Seconds to build on ``rows`` rows, scaled to all rows (HNSW inserts cost ~log n each)."""
    probe = VectorIndex(base.shape[1], config=config)
    probe.add([str(i) for i in range(rows)], base[:rows])
    start = time.perf_counter()
    probe._structure()
    scale = len(base) / rows * np.log(len(base)) / np.log(rows)
    return (time.perf_counter() - start) * scale


def measure_kind(config: IndexConfig, base: np.ndarray, queries: np.ndarray, truth: np.ndarray,
                 work: Path, max_build_s: float) -> dict:
    """Build seconds, MB, single-query median / p95 ms and recall@10 of one configuration."""
    import shutil

    if config.kind == "hnsw" and len(base) > 100_000:
        projected = _probe_build(config, base)
        if projected > max_build_s:
            return {"build_s": f"not built: ~{projected:.0f} s projected from a 50k build "
                               f"(> {max_build_s:.0f} s budget on 2 cores)"}
    index = VectorIndex(base.shape[1], config=config)
    start = time.perf_counter()
    index.add([str(i) for i in range(len(base))], base)
    index._structure()
    build = time.perf_counter() - start
    shutil.rmtree(work, ignore_errors=True)
    index.save(work, "bench")
    times, hits = [], []
    for i, q in enumerate(np.concatenate([queries[:10], queries])):
        t = time.perf_counter()
        found = index.search(q[None], 10)[0]
        if i >= 10:                                 # the first 10 are warm-up
            times.append((time.perf_counter() - t) * 1000)
            hits.append([int(h[0]) for h in found])
    recall = np.mean([len(set(h) & set(t)) / 10 for h, t in zip(hits, truth)])
    out = {"build_s": round(build, 1), "structure_mb": _files_mb(work, (".faiss", ".model.npz")),
           "with_floats_mb": _files_mb(work, (".faiss", ".model.npz", ".vectors.npy", ".work.npy")),
           "median_ms": round(float(np.median(times)), 2),
           "p95_ms": round(float(np.percentile(times, 95)), 2), "recall@10": round(float(recall), 3)}
    shutil.rmtree(work, ignore_errors=True)
    return out


# every registered kind, plus PCA to 256-d for the two float kinds (the 100k run only)
VARIANTS = [(kind, 0) for kind in sorted(INDEX_KINDS)] + [("flat", 256), ("hnsw", 256)]


def bench_index(folder: Path, work: Path, sizes=(100_000, 1_000_000), variants=VARIANTS,
                max_build_s: float = 240, log=print) -> dict:
    """Every kind (and PCA-256 variants) at each size; one row per kind x size."""
    real = catalog_vectors(folder, work / "catalog_vectors.npy")
    rows = {"real vectors": f"{len(real)} MobileNetV2 embeddings of {folder.name} (3 views per image)",
            "goal": "median <= 20 ms per query at 100k on 2 cores; binary recall@10 >= 0.95"}
    for n in sizes:
        dim = real.shape[1] if n <= 100_000 else 256
        base, queries = make_dataset(real, n, dim)
        truth = exact_top(base, queries)
        for kind, pca in variants:
            if pca and (pca >= dim or n > 100_000):
                continue
            name = f"{kind}{f' pca{pca}' if pca else ''} @ {n // 1000}k x {dim}-d"
            rows[name] = measure_kind(IndexConfig(kind=kind, pca_dim=pca), base, queries, truth,
                                      work / "index", max_build_s)
            log(f"index {name}: {rows[name]}")
        del base
    return rows

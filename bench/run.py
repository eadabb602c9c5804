"""``make bench``: speed, memory and quality figures, written as Markdown + JSON.

Sections (each a function returning a dict of named figures):

* ``synth``: generating the synthetic catalog (goal: 1,000 products + 300
  scenes in under 120 s on 2 cores);
* ``indexing``: images per second through reader -> mapper -> writer;
* ``query``: per-stage median and p95 latency of ``Lens(image)`` over
  perturbed product photos;
* ``sources``: the visual, object and text sources' median / p95 ms per query
  over the catalog grown to 100k items, unfiltered, under a skin tone range
  filter and with diversity on (``bench/sources_bench.py``; goal: 20 ms
  median each, unfiltered and filtered);
* ``retrieval``: ``lens eval retrieval`` figures (top-1, recall@10, scene crop ->
  product recall@10, object search recall@20, text precision per query type).  The demo
  config's unified embedding was trained on this very catalog (seed 0): these are seen
  products; the ``embedding`` section measures products it never saw (seed 1);
* ``diversity``: ``lens eval diversity`` (40 queries) with diversity off and on,
  the goal check, and the theta sweep plotted to ``results/diversity_sweep.png``;
* ``understanding``: median / p95 ms of each query-understanding signal and
  of the whole layer (OCR excluded; skin tone and body type on; the trained heads and the
  ImageNet taxonomy on the embedding's vector and logits, made before the
  clock) on 640-px images (goal: 60 ms median);
* ``colors``: ``lens eval colors`` per lighting condition (goal: name right
  and CIEDE2000 <= 10 for 90%);
* ``heads``: held-out accuracy of the category and pattern heads (goal: 90%),
  saved for the understanding section (which runs after it);
* ``body type``: ``lens -c demo eval body-type`` on seed 1 (600 scenes, held
  out from the synthetic detector's training): recall per range, per skin
  tone range and per garment, false body types on people-free images;
* ``skin tone vs stone``: per-range recall and ms per image of our skin tone
  estimator and of PyPI ``skin-tone-classifier`` (GPL, benchmark only) on the
  re-toned face photos;
* ``dpp``: DPP re-rank of 1,000 candidates to k = 50 (D = 64 and 1280),
  ours (:mod:`blender.dpp`) vs PyPI ``pyversity`` (MIT, benchmark only):
  median / p95 ms, ratio, overlap (goal: <= 2 ms median at D = 64);
* ``index``: every ``index.kind`` at 100k and 1M vectors (catalog embeddings
  + catalog-shaped synthetic ones): build s, MB, median / p95 ms per query,
  recall@10 vs exact (``bench/index_bench.py``; goal: 20 ms median at 100k);
* ``labeling`` (``--only labeling``): ``lens label-crops`` crops/s locally and on Ray with 1 and 2
  workers (``bench/labeling_bench.py``);
* ``load`` (``--only load``): gunicorn (2 workers) + the Redis query cache, 20
  concurrent clients for 50 s, then again with Redis stopped halfway
  (``bench/load_bench.py``; errors must stay 0);
* ``real photos``: ``bench/real_photos.py`` on the datasets under ``REAL_DATA``
  (``LENS_REAL_DATA``, default ``../shared/data``): CCP garments found and the R-CNN's AP on our
  validation fold, Grocery photo -> product top-1 / top-5, the clothing category head's
  accuracy, and the weak-label loop (``bench/weak_labels.py``: label-crops on the tag-only photos,
  a detector trained on those labels next to the true-box one; ``--no-weak-labels`` skips it);
  skipped with a one-line note when they are absent;
* ``inclusion``: ``bench/inclusion.py``: ``lens eval skin-tone --real`` and ``lens eval body-type
  --real`` on the same data root (CCP people: coverage, stability and skin-mask figures per range;
  CCP bodies against their true silhouettes; false skin tones and body types on people-free
  Grocery and clothing photos), beside the synthetic figures; skipped with a note when absent;
* ``embedding``: ``bench/embedding_bench.py``: ImageNet MobileNetV2, EfficientNet-Lite0 and the
  unified embedding (``lens train-embedding`` on Grocery's catalog and train photos, trained once
  into ``data/bench/real/``) side by side on Grocery's validation photos, float and binary, and the
  whole lens with the unified embedding; skipped with a note when the data is absent;
* ``speed``: ``bench/speed_bench.py``: a lens query on real photos (CCP and Grocery validation
  photos, ``configs/default.yaml``, diversity on) over a 100k-item catalog (the Grocery train
  index grown by ``sources_bench.grow_catalog``) stage by stage, the first query after start-up
  against a warm one, uncached serving with gunicorn (2 workers, 20 clients, 60 s) and indexing
  those photos, each beside the code before issue 22 (``results/speed-baseline.json``) and
  plotted to ``results/speed_stages.png``; skipped with a note when the data is absent;
* ``memory``: peak resident memory of this process.

Writes ``bench/results/latest.{md,json}`` and a timestamped copy.
``--products/--scenes`` shrink the run (e.g. for a quick check).
"""
from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
RESULTS = ROOT / "bench" / "results"
WORK = ROOT / "data" / "bench"
# The real-photo datasets (issue 19): the one setting `make bench` reads them from.
REAL_DATA = Path(__import__("os").environ.get("LENS_REAL_DATA", ROOT.parent / "shared" / "data"))


def _ms(values: list[float]) -> dict:
    arr = np.asarray(values, dtype=np.float64)
    return {"median_ms": round(float(np.median(arr)), 2), "p95_ms": round(float(np.percentile(arr, 95)), 2)}


def bench_synth(products: int, scenes: int) -> tuple[dict, Path]:
    from lens.synth import generate_catalog

    out = WORK / f"synth-p{products}-s{scenes}"
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    generate_catalog(out, products, scenes, seed=0, workers=2, progress=False)
    seconds = time.perf_counter() - start
    return {"products": products, "scenes": scenes, "workers": 2, "seconds": round(seconds, 1),
            "goal_seconds": 120, "meets_goal": seconds < 120}, out


def bench_indexing(config, folder: Path):
    from lens.manifest import read_items
    from lens.pipeline.facade import Lens
    from lens.pipeline.indexing import index_catalog

    catalog = folder / "catalog"
    shutil.rmtree(catalog, ignore_errors=True)
    lens = Lens.from_config(config, catalog_dir=str(catalog))
    items = read_items(folder)
    start = time.perf_counter()
    report = index_catalog(lens, items, progress=False)
    seconds = time.perf_counter() - start
    return {"items": report.added, "seconds": round(seconds, 1),
            "images_per_second": round(report.added / seconds, 1)}, lens


def bench_query(lens, folder: Path, n: int = 60) -> dict:
    from lens.evaluation.common import read_manifest
    from lens.evaluation.retrieval import perturbed_queries
    from lens.pipeline.warmup import warm_up

    products = [r for r in read_manifest(folder) if r["kind"] == "product"][:n]
    stages: dict[str, list[float]] = {}
    warm_up(lens)               # as a server starts: models built, start-up's objects frozen out of gc
    for i, (_, rgb, _) in enumerate(perturbed_queries(products, seed=11)):
        result = lens(rgb, k=20)
        if i < 3:
            continue            # first calls at these shapes allocate buffers
        for stage, ms in result.timings_ms.items():
            stages.setdefault(stage, []).append(ms)
    return {"queries": len(products) - 3, "image_px": "256x256 product photos",
            **{stage: _ms(v) for stage, v in stages.items()}}


def bench_retrieval(lens, folder: Path) -> dict:
    from lens.evaluation.common import read_manifest
    from lens.evaluation.retrieval import retrieval_eval

    return retrieval_eval(lens, read_manifest(folder), folder, seed=0, progress=False)


def bench_understanding(folder: Path, n: int = 40) -> dict:
    """Per-signal and whole-layer latency (OCR off) on 640-px scenes and photos."""
    import cv2
    import skimage.data

    from lens.evaluation.common import read_manifest
    from lens.imageio import load_image
    from lens.understanding.colors import salient_colors
    from lens.understanding.lighting import lighting
    from lens.understanding.quality import quality

    scenes = [r for r in read_manifest(folder) if r["kind"] == "scene"][:n]
    images = [cv2.resize(load_image(folder / r["image"]), (640, 480)) for r in scenes]
    images += [cv2.resize(getattr(skimage.data, name)(), (640, 480))
               for name in ("astronaut", "coffee", "chelsea", "rocket")]
    from lens.config import load_config
    from lens.pipeline.bundle import ModelBundle

    # the default config, OCR off (issue 3's budget), with the heads the heads section saved
    heads = [f for f in ("category", "pattern") if (WORK / f"{f}_head.pt").is_file()]
    models = ModelBundle(load_config("default", ["understanding.ocr='off'", *(   # quoted: YAML reads off as false
        f"models.{f}_head={WORK / f'{f}_head.pt'}" for f in heads)]))
    skin, body = models.skin_tone, models.body_type
    parts = {"colors": salient_colors, "lighting": lighting, "quality": quality, "skin tone": skin, "body type": body}
    out: dict = {"images": len(images), "size": "640x480", "goal_median_ms": 60}
    for name, fn in parts.items():
        times = []
        for rgb in images:
            start = time.perf_counter()
            fn(rgb)
            times.append((time.perf_counter() - start) * 1000)
        out[name] = _ms(times)
    # the default layer: OCR excluded (issue 3's budget), skin tone and body type on, with the
    # embedding's vector and logits (computed before the clock: embedding is its own stage) for
    # the trained heads (when the heads section has saved them) and the ImageNet taxonomy
    vectors, logits = models.embedder.embed_and_classify(images)
    layer = models.understanding
    layer.cache_size, times = 0, []
    for rgb, vector, logit in zip(images, vectors, logits):
        start = time.perf_counter()
        layer(rgb, vector, logit)
        times.append((time.perf_counter() - start) * 1000)
    out["whole layer (OCR off, skin tone and body type on)"] = _ms(times) | {"heads": sorted(layer.heads) or "none saved yet"}
    return out


def bench_colors(folder: Path, n: int = 300) -> dict:
    from lens.evaluation.colors import color_figures
    from lens.evaluation.common import read_manifest

    products = [r for r in read_manifest(folder) if r["kind"] == "product"][:n]
    return color_figures(products, seed=0, progress=False)


def bench_body_type(config) -> dict:
    """``lens -c demo eval body-type`` on seed 1 (held out from the synthetic detector's training):
    per-range, per skin tone range and per garment recall, and false body types."""
    import argparse

    from lens.evaluation.body_type import body_type_eval

    args = argparse.Namespace(catalog=None, products=200, scenes=600, seed=1)
    figures = body_type_eval(args, config, progress=False).figures
    return {k: v for k, v in figures.items() if not k.startswith("confusion")}


def bench_heads(config, folder: Path) -> dict:
    from dataclasses import replace

    from lens.pipeline.bundle import ModelBundle
    from lens.understanding.category_head import train_from_manifest

    # `lens train-categories`'s linear heads serve ImageNet features (configs/default.yaml); the demo's
    # unified embedding brings its own heads (its held-out accuracy: the embedding section)
    config = replace(config, embedder=replace(config.embedder, name="mobilenet_v2"))
    embedder = ModelBundle(config).embedder
    outs = {f: str(WORK / f"{f}_head.pt") for f in ("category", "pattern")}
    figures = train_from_manifest(folder, embedder, outs, progress=False)
    return {f"{f} held-out accuracy": figures[f]["held_out_accuracy"] for f in outs} | {
        "held-out products": figures["category"]["held_out"], "goal": 0.9}


def bench_index_kinds(folder: Path) -> dict:
    from index_bench import bench_index

    return bench_index(folder, WORK / "index")


def bench_sources_100k(lens, folder: Path) -> dict:
    from sources_bench import bench_sources

    return bench_sources(lens, folder, WORK / "sources")


def bench_diversity(lens, folder: Path) -> dict:
    from argparse import Namespace

    from lens.evaluation.common import read_manifest
    from lens.evaluation.diversity import diversity_eval

    png = RESULTS / "diversity_sweep.png"
    RESULTS.mkdir(parents=True, exist_ok=True)
    figures = diversity_eval(lens, folder, read_manifest(folder), Namespace(queries=40, seed=0, sweep=str(png)),
                             progress=False)
    return {**figures, "sweep plot": str(png.relative_to(ROOT))}


def to_markdown(report: dict) -> str:
    lines = [f"# Lens benchmark — {report['date']}", "",
             f"Machine: {report['machine']}", ""]
    for section, figures in report["sections"].items():
        lines += [f"## {section}", "", "| figure | value |", "|---|---|"]
        for name, value in figures.items():
            if isinstance(value, dict):
                value = ", ".join(f"{k} {v}" for k, v in value.items())
            elif isinstance(value, str) and value.endswith(".png"):     # beside latest.md
                value = f"![{name}]({Path(value).name})"
            lines.append(f"| {name} | {value} |")
        lines.append("")
    return "\n".join(lines)


def rerun_section(args) -> int:
    """Re-measure one section on the existing bench catalog and update the reports."""
    from lens.config import load_config
    from lens.pipeline.facade import Lens

    folder = WORK / f"synth-p{args.products}-s{args.scenes}"
    config = load_config("demo", ["models.category_head=", "models.pattern_head="])
    report = json.loads((RESULTS / "latest.json").read_text())
    from dpp_bench import bench_dpp

    sections = {"understanding": lambda: bench_understanding(folder), "index": lambda: bench_index_kinds(folder),
                "indexing": lambda: bench_indexing(config, folder)[0],    # rebuilds the bench catalog
                "query": lambda: bench_query(Lens.from_config(config, str(folder / "catalog")), folder),
                "retrieval": lambda: bench_retrieval(Lens.from_config(config, str(folder / "catalog")), folder),
                "sources": lambda: bench_sources_100k(Lens.from_config(config, str(folder / "catalog")), folder),
                "diversity": lambda: bench_diversity(Lens.from_config(config, str(folder / "catalog")), folder),
                "heads": lambda: bench_heads(config, folder), "colors": lambda: bench_colors(folder),
                "body type": lambda: bench_body_type(config),
                "dpp": bench_dpp,                      # needs no catalog
                "labeling": lambda: __import__("labeling_bench").bench_labeling(config, folder),
                "real photos": lambda: __import__("real_photos").bench_real_photos(REAL_DATA, WORK / "real",
                                                                                    not args.no_weak_labels),
                "inclusion": lambda: __import__("inclusion").bench_inclusion(REAL_DATA, report["sections"]),
                "embedding": lambda: __import__("embedding_bench").bench_embedding(REAL_DATA, WORK / "real"),
                "complete": lambda: __import__("complete_bench").bench_complete(REAL_DATA, WORK / "real"),
                "speed": lambda: __import__("speed_bench").bench_speed(REAL_DATA, WORK / "real", RESULTS),
                "load": lambda: __import__("load_bench").bench_load()}   # builds its own small catalog
    args.only = args.only.replace("-", " ")                # --only body-type
    if args.only not in sections or (args.only not in ("dpp", "load", "body type", "real photos", "inclusion",
                                                       "embedding", "complete", "speed")
                                     and not (folder / "manifest.jsonl").is_file()):
        raise SystemExit(f"--only {args.only}: expected one of {list(sections)} after a full run")
    report["sections"][args.only] = sections[args.only]()
    print(f"{args.only}: {report['sections'][args.only]}")
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2))
    (RESULTS / "latest.md").write_text(to_markdown(report))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--scenes", type=int, default=300)
    parser.add_argument("--only", help="re-run one section into latest.json (indexing rebuilds the bench "
                                       "catalog: run it first when detection or embedding changed)")
    parser.add_argument("--no-weak-labels", action="store_true",
                        help="real photos without the weak-label loop (its detector training is ~30-50 min)")
    args = parser.parse_args(argv)
    if args.only:
        return rerun_section(args)
    from lens.config import load_config

    config = load_config("demo", ["models.category_head=", "models.pattern_head="])  # hermetic
    sections = {}
    sections["synth"], folder = bench_synth(args.products, args.scenes)
    print(f"synth: {sections['synth']}", flush=True)
    sections["indexing"], lens = bench_indexing(config, folder)
    print(f"indexing: {sections['indexing']}", flush=True)
    sections["query"] = bench_query(lens, folder)
    print(f"query: total {sections['query']['total']}", flush=True)
    sections["sources"] = bench_sources_100k(lens, folder)
    sections["retrieval"] = bench_retrieval(lens, folder)
    print(f"retrieval: {sections['retrieval']}", flush=True)
    sections["diversity"] = bench_diversity(lens, folder)
    print(f"diversity: {sections['diversity']}", flush=True)
    sections["heads"] = bench_heads(config, folder)      # before understanding: it times the heads
    print(f"heads: {sections['heads']}", flush=True)
    sections["understanding"] = bench_understanding(folder)
    print(f"understanding: {sections['understanding']}", flush=True)
    sections["colors"] = bench_colors(folder)
    print(f"colors: {sections['colors']}", flush=True)
    sections["body type"] = bench_body_type(config)
    print(f"body type: {sections['body type']}", flush=True)
    from skin_tone import bench_skin_tone

    sections["skin tone vs stone"] = bench_skin_tone()
    print(f"skin tone: {sections['skin tone vs stone']}", flush=True)
    from dpp_bench import bench_dpp

    sections["dpp"] = bench_dpp()
    print(f"dpp: {sections['dpp']}", flush=True)
    sections["index"] = bench_index_kinds(folder)
    from real_photos import bench_real_photos

    sections["real photos"] = bench_real_photos(REAL_DATA, WORK / "real", not args.no_weak_labels)
    print(f"real photos: {sections['real photos']}", flush=True)
    from inclusion import bench_inclusion

    sections["inclusion"] = bench_inclusion(REAL_DATA, sections)
    print(f"inclusion: {sections['inclusion']}", flush=True)
    from embedding_bench import bench_embedding

    sections["embedding"] = bench_embedding(REAL_DATA, WORK / "real")
    print(f"embedding: {sections['embedding']}", flush=True)
    from complete_bench import bench_complete

    sections["complete"] = bench_complete(REAL_DATA, WORK / "real")
    print(f"complete: {sections['complete']}", flush=True)
    from speed_bench import bench_speed

    sections["speed"] = bench_speed(REAL_DATA, WORK / "real", RESULTS)     # after real photos: its index
    print(f"speed: {sections['speed']}", flush=True)
    sections["memory"] = {"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    report = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores, "
                         f"Python {platform.python_version()}",
              "sections": sections}
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M")
    for name in ("latest", f"bench-{stamp}"):
        (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2))
        (RESULTS / f"{name}.md").write_text(to_markdown(report))
    print(f"wrote {RESULTS / 'latest.md'} and {RESULTS / 'latest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``make bench``'s ``speed`` section: a lens query on real photos, stage by stage (issue 22).

``configs/default.yaml`` (the real-photo detector, diversity on) over a 100k-item catalog: the
``real photos`` section's Grocery index with its in-store train photos (2,721 items,
``data/bench/real/grocery-train-index``) grown to 100,000 items by
:func:`sources_bench.grow_catalog` (clones near their originals; kept in
``data/bench/real/grocery-100k`` for the next run and for a baseline), queried with our CCP
validation photos (street fashion, 550 x 8xx) and Grocery validation photos (in-store, 348 x 348),
one query at a time after a first one:

* ``ccp`` / ``grocery``: median and p95 ms of each stage (decode, detect, embed, understand, the
  sources, blend, diversity) and of the whole query;
* ``first query``: an app built as ``lens serve`` builds it (``create_app``, with its warm-up),
  then the first query's ms against the median of the next ones;
* ``uncached serving``: gunicorn (``web/gunicorn.conf.py``, 2 workers, no query cache) under
  ``clients`` concurrent clients posting those photos for ``seconds``: requests/s, p50 / p95, errors;
* ``indexing``: the same photos indexed as scenes into an empty catalog in-process
  (``index_catalog``, the ``lens index`` mapper and writer): images/s.

Each figure stands beside the same measurement of the code before issue 22
(``results/speed-baseline.json``, written by this script's ``--baseline OUT`` run in a worktree of
that commit: ``git worktree add /tmp/base d47a423 && cd /tmp/base && python
/work/main/bench/speed_bench.py --baseline OUT --catalog data/bench/real/grocery-100k``), and
``results/speed_stages.png``
plots the per-stage medians before and after.  Skipped with a note when the data is absent.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path.cwd()                      # the checkout being measured (a baseline worktree too)
sys.path.insert(0, str(ROOT))
BASELINE = Path(__file__).resolve().parent / "results" / "speed-baseline.json"
STAGES = ("decode", "detect", "embed", "understand", "sources", "blend", "diversity", "total")
GOALS = {"total": "p50 <= 100 ms, p95 <= 200 ms", "understand": "<= 35 ms median", "detect": "<= 40 ms median",
         "embed": "<= 20 ms median", "uncached serving": ">= 20 requests/s, 0 errors",
         "first query": "<= 2 x a warm query", "indexing": ">= 15 images/s"}
ITEMS = 100_000         # the catalog size


def photos(work: Path, n: int) -> dict[str, list[str]]:
    """``n`` photos of each set, spread evenly over its validation split."""
    from lens.manifest import read_items

    out = {}
    for name, manifest in (("ccp", work / "ccp" / "masked-val.jsonl"), ("grocery", work / "grocery" / "queries-val.jsonl")):
        rows = read_items(manifest)
        out[name] = [r["image"] for r in rows[::max(1, len(rows) // n)][:n]]
    return out


def _stage(timings: dict) -> dict:
    """A query's timings folded into ``STAGES`` (the sources summed)."""
    out = {s: timings.get(s, 0.0) for s in STAGES if s != "sources"}
    out["sources"] = sum(v for k, v in timings.items() if k.startswith("source.") or k == "filter")
    return out


def stage_times(lens, images: list[str]) -> dict:
    try:
        from lens.pipeline.warmup import warm_up
    except ImportError:                           # the baseline: its first query loads what it needs
        lens(images[0])
    else:
        warm_up(lens)                             # as `lens serve` and each gunicorn worker start
    rows = [_stage(lens(image).timings_ms) for image in images]
    return {s: {"median_ms": round(float(np.median([r[s] for r in rows])), 1),
                "p95_ms": round(float(np.percentile([r[s] for r in rows], 95)), 1)} for s in STAGES}


def first_query(config, catalog: Path, images: list[str], step: int = 2) -> dict:
    """``create_app`` as ``lens serve`` runs it, then the first query's ms against the median of the
    later queries of its own kind: ``images`` alternate ``step`` sets (CCP street photos, Grocery
    photos), and a street photo costs twice an in-store one warm, so the first is compared with the
    other street photos (``images[step::step]``), not with the mix (until this run: 1.8-2.25 x the
    mix's median, while the first street photo took what the later ones did)."""
    from web.app import create_app

    start = time.perf_counter()
    client = create_app(config, catalog_dir=str(catalog)).test_client()
    startup = time.perf_counter() - start
    times = []
    for image in images:
        start = time.perf_counter()
        resp = client.post("/api/v1/lens", data={"image": (open(image, "rb"), Path(image).name)})
        assert resp.status_code == 200, resp.get_data(as_text=True)[:200]
        times.append((time.perf_counter() - start) * 1000)
    warm = float(np.median(times[step::step]))
    return {"startup_s": round(startup, 1), "first_ms": round(times[0], 1), "warm_median_ms": round(warm, 1),
            "ratio": round(times[0] / warm, 2), "mixed median ms": round(float(np.median(times[1:])), 1)}


def serve_uncached(catalog: Path, images: list[str], seconds: float, clients: int) -> dict:
    """gunicorn with 2 workers, no cache, ``clients`` threads posting ``images``."""
    import requests

    from load_bench import _wait, run_phase
    from tests.servers import free_port

    port = free_port()
    env = {**os.environ, "LENS_CONFIG": "default", "LENS_BIND": f"127.0.0.1:{port}", "LENS_WORKERS": "2",
           "LENS_SET": f"catalog.path={catalog}"}
    (ROOT / "data" / "bench").mkdir(parents=True, exist_ok=True)      # a fresh baseline worktree has none
    with open(ROOT / "data" / "bench" / "speed-gunicorn.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "web/gunicorn.conf.py", "web.wsgi:app"],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        def ready():        # both workers: each answers /readyz only once loaded and warmed up
            if not all(requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
                       for _ in range(4)):
                raise OSError("not ready")
        try:
            _wait(ready, 240, "gunicorn")
            return run_phase(f"http://127.0.0.1:{port}/api/v1/lens", [Path(p).read_bytes() for p in images],
                             seconds, clients, form={})          # the config's k, as users send it
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)


def indexing(images: list[str], directory: Path) -> dict:
    """``images`` indexed as scenes into an empty catalog in ``directory``: images/s."""
    import shutil

    from lens.config import load_config
    from lens.pipeline.analysis import INDEX_SCENE
    from lens.pipeline.facade import Lens
    from lens.pipeline.indexing import index_catalog

    shutil.rmtree(directory, ignore_errors=True)
    lens = Lens.from_config(load_config("default"), catalog_dir=str(directory))
    lens.analyzer.analyze([lens.analyzer.decode(images[0])], INDEX_SCENE)   # models loaded, as when serving
    start = time.perf_counter()
    report = index_catalog(lens, [{"id": f"i{n}", "image": p, "kind": "scene"} for n, p in enumerate(images)],
                           progress=False)
    seconds = time.perf_counter() - start
    shutil.rmtree(directory, ignore_errors=True)
    return {"images": report.added, "seconds": round(seconds, 1), "images_per_second": round(report.added / seconds, 1)}


def batching(images: list[str], repeats: int = 3) -> dict:
    """Whether batching concurrent requests' model calls would pay (issue 22.4): one serving
    worker's thread, per-image ms of the detector on CCP photos one at a time and four at once, and
    of the embedder on 224-px inputs one at a time and in batches of 10 and 20 (a query's photo
    and crops are one batch already)."""
    import cv2
    import torch

    from lens import threads
    from lens.config import load_config
    from lens.imageio import load_image
    from lens.pipeline.bundle import ModelBundle

    before = (torch.get_num_threads(), cv2.getNumThreads(), threads._share)
    try:
        models = ModelBundle(threads.apply(load_config("default"), 1))
        photos = [p[:800, :544] for p in map(load_image, images) if p.shape[0] >= 800 and p.shape[1] >= 544][:8]
        crops = [cv2.resize(p, (224, 224), interpolation=cv2.INTER_AREA) for p in photos] * 3
        out = {"threads": 1, "photos": len(photos)}
        for name, run, items, sizes in (("detector", models.object_detector.detect_batch, photos, (1, 4)),
                                        ("embedder", models.embedder.embed, crops, (1, 10, 20))):
            run(items[:max(sizes)])                                   # every shape seen once
            for size in sizes:
                start = time.perf_counter()
                for _ in range(repeats):
                    for lo in range(0, len(items) - size + 1, size):
                        run(items[lo:lo + size])
                done = repeats * (len(items) // size) * size
                out[f"{name} batch {size}: ms per image"] = round((time.perf_counter() - start) * 1000 / done, 1)
        return out
    finally:
        torch.set_num_threads(before[0])
        cv2.setNumThreads(before[1])
        threads._share = before[2]


def grown(work: Path, n: int = ITEMS) -> Path:
    """The Grocery train index grown to ``n`` items in ``work / "grocery-100k"`` (kept: made once)."""
    from lens.config import load_config
    from lens.pipeline.facade import Lens
    from sources_bench import grow_catalog

    directory = work / "grocery-100k"
    stamp = directory / "grown.json"
    if stamp.is_file() and json.loads(stamp.read_text()).get("items") == n:
        return directory
    lens = Lens.from_config(load_config("default"), catalog_dir=str(work / "grocery-train-index" / "catalog"))
    big, seconds = grow_catalog(lens.catalog, lens.config, lens.embedder.settings(), directory, n, log=lambda m: None)
    big.store.close()
    stamp.write_text(json.dumps({"items": n, "grow_s": seconds}))
    return directory


def measure(work: Path, catalog: Path, n: int = 40, seconds: float = 60, clients: int = 20) -> dict:
    """Every figure of the module docstring, for the code in the current directory."""
    from lens.config import load_config
    from lens.pipeline.facade import Lens

    config = load_config("default")
    sets = photos(work, n)
    lens = Lens.from_config(config, catalog_dir=str(catalog))
    out = {name: stage_times(lens, images) for name, images in sets.items()}
    out["catalog items"] = len(lens.catalog)
    del lens
    mixed = [p for pair in zip(sets["ccp"], sets["grocery"]) for p in pair]
    out["first query"] = first_query(load_config("default"), catalog, mixed[:16])
    out["uncached serving"] = serve_uncached(catalog, mixed, seconds, clients)
    out["indexing"] = indexing(mixed, work / "speed-indexing")
    return out


def measure_now(work: Path, catalog: Path) -> dict:
    """:func:`measure`, plus what only today's code is asked (batching, issue 22.4)."""
    out = measure(work, catalog)
    out["batching"] = batching(photos(work, 40)["ccp"])
    return out


def compare(now: dict, before: dict | None) -> dict:
    """The report's figures: each beside the baseline's, with the ratio before / now."""
    out = {"goals": "; ".join(f"{k}: {v}" for k, v in GOALS.items())}
    for name in ("ccp", "grocery"):
        for stage in STAGES:
            fig = now[name][stage]
            old = (before or {}).get(name, {}).get(stage)
            out[f"{name}: {stage}"] = {**fig, **({"before_median_ms": old["median_ms"],
                                                  "speed-up": round(old["median_ms"] / max(fig["median_ms"], 0.1), 2)}
                                                 if old else {})}
    out["catalog items"] = now.get("catalog items")
    out["batching"] = now.get("batching")
    for name in ("first query", "uncached serving", "indexing"):
        out[name] = now[name]
        if before and name in before:
            out[f"{name}: before"] = before[name]
    return out


def plot(now: dict, before: dict | None, path: Path) -> Path:
    """Per-stage medians, before and after, one bar group per stage (CCP and Grocery photos)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stages = [s for s in STAGES if s != "total"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, name in zip(axes, ("ccp", "grocery")):
        x = np.arange(len(stages))
        if before:
            ax.bar(x - 0.2, [before[name][s]["median_ms"] for s in stages], 0.4, label="before (d47a423)")
        ax.bar(x + (0.2 if before else 0), [now[name][s]["median_ms"] for s in stages], 0.4, label="now")
        ax.set_xticks(x, stages, rotation=30)
        ax.set_title(f"{name} photos: median ms per stage (total {now[name]['total']['median_ms']:.0f}"
                     + (f", was {before[name]['total']['median_ms']:.0f})" if before else ")"))
        ax.legend()
    axes[0].set_ylabel("ms (2 cores)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def bench_speed(data_root: Path, work: Path, results: Path) -> dict:
    source = work / "grocery-train-index" / "catalog"
    if not data_root.is_dir() or not (source / "store.sqlite").is_file():
        return {"skipped": f"needs {data_root} and the real photos section's Grocery train index ({source})"}
    before = json.loads(BASELINE.read_text()) if BASELINE.is_file() else None
    now = measure_now(work, grown(work))
    return {**compare(now, before), "chart": str(plot(now, before, results / "speed_stages.png"))}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="measure the code in the current directory into this JSON file")
    parser.add_argument("--catalog", help="the Grocery catalog folder to query (a copy for a baseline run)")
    parser.add_argument("--work", default=str(Path(__file__).resolve().parent.parent / "data" / "bench" / "real"))
    args = parser.parse_args(argv)
    if args.baseline:
        Path(args.baseline).write_text(json.dumps(measure(Path(args.work), Path(args.catalog)), indent=2))
        return 0
    print(json.dumps(bench_speed(Path(os.environ.get("LENS_REAL_DATA", "../shared/data")), Path(args.work),
                                 Path(__file__).resolve().parent / "results"), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

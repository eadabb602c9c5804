"""``make bench``'s ``speed`` section: a lens query on real photos, stage by stage (issue 22).

``configs/default.yaml`` (the real-photo detector, diversity on) over the Grocery catalog that the
``real photos`` section indexes (``data/bench/real/grocery-index``), queried with our CCP
validation photos (street fashion, 550 x 8xx) and Grocery validation photos (in-store, 348 x 348),
one query at a time after a first one:

* ``ccp`` / ``grocery``: median and p95 ms of each stage (decode, detect, embed, understand, the
  sources, blend, diversity) and of the whole query;
* ``first query``: an app built as ``lens serve`` builds it (``create_app``, with its warm-up),
  then the first query's ms against the median of the next ones;
* ``uncached serving``: gunicorn (``web/gunicorn.conf.py``, 2 workers, no query cache) under
  ``clients`` concurrent clients posting those photos for ``seconds``: requests/s, p50 / p95, errors.

Each figure stands beside the same measurement of the code before issue 22
(``results/speed-baseline.json``, written by this script's ``--baseline OUT`` run in a worktree of
that commit: ``git worktree add /tmp/base d47a423 && cd /tmp/base && python
/work/main/bench/speed_bench.py --baseline OUT --catalog COPY``), and ``results/speed_stages.png``
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
         "first query": "<= 2 x a warm query"}


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
    lens(images[0])                               # the first query of a fresh lens loads what it needs
    rows = [_stage(lens(image).timings_ms) for image in images]
    return {s: {"median_ms": round(float(np.median([r[s] for r in rows])), 1),
                "p95_ms": round(float(np.percentile([r[s] for r in rows], 95)), 1)} for s in STAGES}


def first_query(config, catalog: Path, images: list[str]) -> dict:
    """``create_app`` as ``lens serve`` runs it, then the first and the following queries' ms."""
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
    warm = float(np.median(times[1:]))
    return {"startup_s": round(startup, 1), "first_ms": round(times[0], 1), "warm_median_ms": round(warm, 1),
            "ratio": round(times[0] / warm, 2)}


def serve_uncached(catalog: Path, images: list[str], seconds: float, clients: int) -> dict:
    """gunicorn with 2 workers, no cache, ``clients`` threads posting ``images``."""
    import requests

    from load_bench import _wait, run_phase
    from tests.servers import free_port

    port = free_port()
    env = {**os.environ, "LENS_CONFIG": "default", "LENS_BIND": f"127.0.0.1:{port}", "LENS_WORKERS": "2",
           "LENS_SET": f"catalog.path={catalog}"}
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


def measure(work: Path, catalog: Path, n: int = 40, seconds: float = 60, clients: int = 20) -> dict:
    """Every figure of the module docstring, for the code in the current directory."""
    from lens.config import load_config
    from lens.pipeline.facade import Lens

    config = load_config("default")
    sets = photos(work, n)
    lens = Lens.from_config(config, catalog_dir=str(catalog))
    out = {name: stage_times(lens, images) for name, images in sets.items()}
    mixed = [p for pair in zip(sets["ccp"], sets["grocery"]) for p in pair]
    out["first query"] = first_query(load_config("default"), catalog, mixed[:12])
    out["uncached serving"] = serve_uncached(catalog, mixed, seconds, clients)
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
    for name in ("first query", "uncached serving"):
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
    catalog = work / "grocery-index" / "catalog"
    if not data_root.is_dir() or not (catalog / "store.sqlite").is_file():
        return {"skipped": f"needs {data_root} and the real photos section's Grocery index ({catalog})"}
    before = json.loads(BASELINE.read_text()) if BASELINE.is_file() else None
    now = measure(work, catalog)
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

"""Load test: gunicorn (2 workers) + the Redis query cache under 20 concurrent clients.

``python bench/load_bench.py`` (or ``python bench/run.py --only load``):

1. a small demo catalog (synthetic products, built once into ``data/bench/load``);
2. a redis-server and ``gunicorn -c web/gunicorn.conf.py web.wsgi:app`` on
   loopback ports, the cache on;
3. phase "cache": 20 client threads post product photos (a pool of 30, so
   most queries repeat and hit the cache) for ``--seconds``;
4. phase "redis stopped halfway": the same, with redis-server killed in the
   middle: queries must keep answering (errors must stay 0), uncached.

Reports requests/s, p50 / p95 latency, errors and the cached share per phase.
The whole run is bounded (about 2.5 min with the default 50 s phases, plus a
one-off catalog build of ~30 s).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))            # the repo: tests/servers.py starts Redis for the tests and for us
from tests.servers import free_port, start_redis  # noqa: E402

WORK = ROOT / "data" / "bench" / "load"
HERMETIC = ["models.category_head=", "models.pattern_head=", "text.model=none"]


def build_catalog(products: int = 60) -> Path:
    """A synthetic product catalog, indexed once; reused by later runs."""
    catalog = WORK / "catalog"
    if (catalog / "store.sqlite").is_file():
        return catalog
    sys.path.insert(0, str(ROOT))
    from lens.config import load_config
    from lens.manifest import read_items
    from lens.pipeline.facade import Lens
    from lens.pipeline.indexing import CatalogWriter, IndexMapper, run_indexing
    from lens.synth import generate_catalog

    shutil.rmtree(WORK, ignore_errors=True)
    generate_catalog(WORK / "synth", products=products, scenes=0, seed=5, workers=2, progress=False)
    lens = Lens.from_config(load_config("demo", HERMETIC), catalog_dir=str(catalog))
    run_indexing(read_items(WORK / "synth"), IndexMapper.from_lens(lens), CatalogWriter(lens.catalog),
                 progress=False)
    return catalog


def start_gunicorn(port: int, catalog: Path, redis_port: int, log) -> subprocess.Popen:
    env = {**os.environ, "LENS_CONFIG": "demo", "LENS_BIND": f"127.0.0.1:{port}", "LENS_WORKERS": "2",
           "LENS_SET": " ".join([*HERMETIC, f"catalog.path={catalog}",
                                 f"server.cache_url=redis://127.0.0.1:{redis_port}/0"])}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "web/gunicorn.conf.py", "web.wsgi:app"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def ready():
        for _ in range(2):      # both workers: each answers /readyz only once loaded
            if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code != 200:
                raise OSError("not ready")
    _wait(ready, 150, "gunicorn")
    return proc


def _wait(probe, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return probe()
        except (OSError, requests.RequestException):
            if time.monotonic() > deadline:
                raise SystemExit(f"{what} did not come up within {seconds:.0f} s") from None
            time.sleep(0.3)


def summarize(samples: list[tuple[float, float, int, bool]], seconds: float) -> dict:
    """Figures of (finished at, latency s, status, cached) samples over ``seconds``."""
    ms = np.array([s[1] for s in samples] or [0.0]) * 1000
    return {"seconds": round(seconds, 1), "requests": len(samples),
            "requests_per_s": round(len(samples) / seconds, 1),
            "p50_ms": round(float(np.percentile(ms, 50)), 1), "p95_ms": round(float(np.percentile(ms, 95)), 1),
            "errors": sum(1 for s in samples if s[2] != 200),
            "cached_share": round(sum(s[3] for s in samples) / max(1, len(samples)), 3)}


def run_phase(url: str, images: list[bytes], seconds: float, clients: int = 20, halfway=None,
              form: dict | None = None) -> dict:
    """``clients`` threads posting random ``images`` (with the ``form`` fields, default k = 10) for
    ``seconds``; ``halfway()`` runs mid-phase, and then the figures are also split at that moment."""
    form = {"k": "10"} if form is None else form
    started = time.monotonic()
    stop_at = started + seconds
    samples: list[tuple[float, float, int, bool]] = []
    lock = threading.Lock()

    def client(seed: int):
        rng, session = random.Random(seed), requests.Session()
        while time.monotonic() < stop_at:
            start = time.perf_counter()
            try:
                resp = session.post(url, files={"image": ("q.png", rng.choice(images))}, data=form, timeout=120)
                status, cached = resp.status_code, resp.status_code == 200 and resp.json().get("cached") is True
            except requests.RequestException:
                status, cached = 0, False
            with lock:
                samples.append((time.monotonic(), time.perf_counter() - start, status, cached))

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    if halfway is not None:
        time.sleep(seconds / 2)
        halfway()
        split = time.monotonic()
    for t in threads:
        t.join()
    ended = time.monotonic()
    out = {"clients": clients, **summarize(samples, ended - started)}
    if halfway is not None:
        out["before"] = summarize([s for s in samples if s[0] < split], split - started)
        out["after"] = summarize([s for s in samples if s[0] >= split], ended - split)
    return out


def bench_load(seconds: float = 50, clients: int = 20) -> dict:
    catalog = build_catalog()
    images = [p.read_bytes() for p in sorted((WORK / "synth" / "products").glob("*.jpg"))[:30]]
    redis_port, port = free_port(), free_port()
    redis_proc = start_redis("/tmp", redis_port)[0]
    with open(WORK / "gunicorn.log", "w") as log:
        started = time.monotonic()
        server = start_gunicorn(port, catalog, redis_port, log)
        ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5).json()
        out = {"workers": 2, "threads per worker": 4, "catalog items": ready["items"], "query images": len(images),
               "startup_s": round(time.monotonic() - started, 1)}
        url = f"http://127.0.0.1:{port}/api/v1/lens"
        try:
            out["cache on"] = run_phase(url, images, seconds, clients)
            out["redis stopped halfway"] = run_phase(url, images, seconds, clients,
                                                     halfway=lambda: (redis_proc.kill(), redis_proc.wait()))
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)
            redis_proc.kill()
            redis_proc.wait()
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=50, help="length of each of the two phases")
    parser.add_argument("--clients", type=int, default=20)
    args = parser.parse_args(argv)
    print(json.dumps(bench_load(args.seconds, args.clients), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

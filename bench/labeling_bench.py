"""``bench/run.py --only labeling``: crops per second of ``lens label-crops``'s mapper.

Three runs over the same scenes (the bench catalog's first ``images`` scenes,
shards of ``shard_size``), each into a fresh output folder:

* ``local``: in-process, the mapper built before the clock starts;
* ``ray 1`` / ``ray 2``: a private Ray cluster on loopback (``ray.init(num_cpus=2)``,
  started before the clock) with 1 and 2 actors; each actor loads the models
  itself, inside the measured time.

Figures: ``crops/s`` over the whole run and ``steady crops/s`` from the first
shard written to the last (model loading left out).  Bounded: ~24 images a run.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path


def _timed_run(shards, factory, engine: str, workers: int, out: Path) -> dict:
    from jobs.runner import run_shards
    from lens.labeling.writer import ShardWriter

    writer, arrivals = ShardWriter(out), []

    def write(shard, result):
        writer(shard, result)
        arrivals.append((time.perf_counter(), len(result.crops)))
    start = time.perf_counter()
    run_shards(shards, factory, write, engine=engine, workers=workers, progress=False)
    seconds = time.perf_counter() - start
    crops = sum(n for _, n in arrivals)
    steady = (crops - arrivals[0][1]) / max(1e-9, arrivals[-1][0] - arrivals[0][0]) if len(arrivals) > 1 else 0.0
    return {"crops": crops, "seconds": round(seconds, 1), "crops_per_s": round(crops / seconds, 2),
            "steady_crops_per_s": round(steady, 2)}


def bench_labeling(config, folder: Path, images: int = 24, shard_size: int = 4) -> dict:
    """Crops/s locally and on a local Ray cluster with 1 and 2 workers (see the module docstring)."""
    from jobs.shards import make_shards
    from lens.labeling.job import MapperFactory
    from lens.labeling.reader import source_items

    items = source_items(folder)[:images]
    shards = make_shards(items, shard_size)
    factory = MapperFactory(config, str(folder / "catalog"))
    mapper = factory()
    work = Path(tempfile.mkdtemp(prefix="labeling_bench_"))
    try:
        out = {"images": len(items), "shard_size": shard_size,
               "local": _timed_run(shards, lambda: mapper, "local", 1, work / "local")}
        from jobs.runner import start_ray

        start = time.perf_counter()
        ray = start_ray("local")
        out["ray_start_s"] = round(time.perf_counter() - start, 1)
        try:
            for workers in (1, 2):
                out[f"ray {workers}"] = _timed_run(shards, factory, "ray", workers, work / f"ray{workers}")
        finally:
            ray.shutdown()
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    import argparse
    import json
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from lens.config import load_config

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder", help="a synthetic catalog folder whose catalog/ is indexed")
    p.add_argument("--images", type=int, default=24)
    p.add_argument("--shard-size", type=int, default=4)
    p.add_argument("--set", dest="overrides", action="append", default=[])
    a = p.parse_args()
    config = load_config("demo", ["models.category_head=", "models.pattern_head=", *a.overrides])
    print(json.dumps(bench_labeling(config, Path(a.folder), a.images, a.shard_size), indent=1))

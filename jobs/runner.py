"""Run a shard mapper locally (in-process, progress bar) or on Ray Data; resumable both ways.

:func:`run_shards` is generic: ``make_mapper()`` builds a callable
``shard -> result`` (models load once: once in-process, once per Ray actor),
``write(shard, result)`` runs on the driver as results arrive (so a finished
shard is on disk before the next one is awaited), ``done(shard)`` skips what a
previous run finished.  ``lens label-crops`` and ``lens index --engine ray``
(:func:`lens.pipeline.indexing.index_items`) both use it; nothing here knows
what a shard holds.

Ray: ``address`` ``"local"`` starts a private cluster on loopback
(``ray.init(num_cpus=2)``), ``"auto"`` or ``"HOST:PORT"`` joins one.  Shards
go through ``ray.data.from_items(...).map_batches(actor class, concurrency=
workers, batch_size=1)``; results come back pickled.

Tested in ``tests/test_labeling.py``; measured in ``bench/labeling_bench.py``.
"""
from __future__ import annotations

import logging
import pickle
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from lens.console import progress as progress_bar

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[1]       # the repo: workers import lens/ and detection/ from it
LOCAL_CPUS = 2                                   # the development machine's cores


class _ShardActor:
    """A Ray Data actor: builds the mapper once, then maps one pickled shard per row."""

    def __init__(self, make_mapper: Callable):
        self.mapper = make_mapper()

    def __call__(self, batch: dict) -> dict:
        shards = [pickle.loads(s) for s in batch["shard"]]
        out = [pickle.dumps((shard, self.mapper(shard))) for shard in shards]
        return {"result": np.array(out, dtype=object)}


def start_ray(address: str, num_cpus: int = LOCAL_CPUS):
    """Connect to (or, for ``local``, start) a Ray cluster; returns the ``ray`` module."""
    import ray  # deferred: 2.4 s to import, and only --engine ray / --ray-address need it

    if ray.is_initialized():
        return ray
    env = {"env_vars": {"PYTHONPATH": str(ROOT)}}
    if address == "local":
        ray.init(num_cpus=num_cpus, include_dashboard=False, runtime_env=env, log_to_driver=False)
    else:
        ray.init(address=address, runtime_env=env, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    return ray


def run_shards(shards: Sequence, make_mapper: Callable, write: Callable, done: Callable = lambda s: False,
               engine: str = "local", address: str = "local", workers: int = 1, progress: bool = True) -> int:
    """Map and write every shard not ``done``; returns the number of shards written."""
    todo = [s for s in shards if not done(s)]
    if len(todo) < len(shards):
        log.info("%d of %d shards already done", len(shards) - len(todo), len(shards))
    if not todo:
        return 0
    bar = progress_bar(total=len(todo), desc="shards", unit="shard", disable=not progress)
    if engine == "local":
        mapper = make_mapper()
        for shard in todo:
            write(shard, mapper(shard))
            bar.update(1)
    elif engine == "ray":
        for shard, result in _ray_results(todo, make_mapper, address, workers):
            write(shard, result)
            bar.update(1)
    else:
        raise ValueError(f"--engine {engine}: expected local or ray")
    bar.close()
    return len(todo)


def _ray_results(todo: Sequence, make_mapper: Callable, address: str, workers: int):
    if workers < 1:
        raise ValueError(f"--workers {workers}: expected >= 1")
    ray = start_ray(address)
    ds = ray.data.from_items([{"shard": pickle.dumps(s)} for s in todo], override_num_blocks=len(todo))
    ds = ds.map_batches(_ShardActor, fn_constructor_args=(make_mapper,), batch_size=1,
                        concurrency=workers, num_cpus=1)
    for row in ds.iter_rows():
        yield pickle.loads(row["result"])

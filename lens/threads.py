"""Compute threads per process, from the core count and the number of serving processes.

Every model library starts its own pool sized to the machine: torch's intra-op threads,
each onnxruntime session's, OpenCV's.  One process may use them all; two gunicorn workers on
two cores each running two-thread pools put four busy threads on two cores, and under load
every request waits on the others' context switches (issue 22.4).  :func:`per_process` gives
each of ``workers`` processes its share of the cores; :func:`apply` sets torch's, OpenCV's and
numpy's BLAS pools to it and returns the config with the onnxruntime sessions' thread counts set
(``embedder.threads``, ``detection.threads``), before any model is built.
``web/gunicorn.conf.py`` computes the share for its workers and ``web/wsgi.py`` applies it.

One request's independent steps run side by side on that share (:func:`side_by_side`): much of
a query is single-threaded (mediapipe's graphs, OpenCV's k-means, numpy), so on two cores the
Faster R-CNN runs beside the face and people detectors, and the crops' understanding beside the
photo's.  With a share of one thread (two workers on two cores) they run one after the other.

Tested in ``tests/test_serve.py``.
"""
from __future__ import annotations

import dataclasses
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

from threadpoolctl import threadpool_limits

A = TypeVar("A")
B = TypeVar("B")
_share = 0                 # threads this process may use; 0 = every core (apply() sets it)
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_PREFIX = "lens-side"      # the pool's threads: a step already on one runs its own steps in order


def _forget_pool() -> None:
    global _pool
    _pool = None


os.register_at_fork(after_in_child=_forget_pool)   # a forked child has none of the parent's threads


def cores() -> int:
    """The cores this process may run on (its CPU affinity, else the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):      # no affinity API (macOS)
        return max(1, os.cpu_count() or 1)


def per_process(workers: int) -> int:
    """Each of ``workers`` processes' share of the cores, at least one thread."""
    if workers < 1:
        raise ValueError(f"workers {workers}: expected at least 1")
    return max(1, cores() // workers)


def apply(config, threads: int):
    """Set torch's, OpenCV's and numpy's BLAS thread pools to ``threads`` (0: leave them) and return ``config``
    with its onnxruntime sessions' thread counts set to the same."""
    if threads < 0:
        raise ValueError(f"threads {threads}: expected 0 (the libraries' defaults) or more")
    if threads == 0:
        return config
    global _share
    _share = threads
    import cv2  # deferred: callers that never serve need neither pool touched
    import torch  # deferred with cv2, as above

    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    threadpool_limits(threads, user_api="blas")     # numpy's OpenBLAS: the flat index scan's product
    return dataclasses.replace(config, embedder=dataclasses.replace(config.embedder, threads=threads),
                               detection=dataclasses.replace(config.detection, threads=threads))


def from_env(name: str = "LENS_MODEL_THREADS") -> int:
    """The thread count in environment variable ``name`` (0 when unset), or ``ValueError`` naming it."""
    raw = os.environ.get(name, "0").strip() or "0"
    if not raw.isdigit():
        raise ValueError(f"{name} '{raw}': expected a whole number of threads (0: the libraries' defaults)")
    return int(raw)


def share() -> int:
    """The threads this process may use: :func:`apply`'s share, else every core."""
    return _share or cores()


def side_by_side(background: Callable[[], A], foreground: Callable[[], B]) -> tuple[A, B]:
    """``(background(), foreground())``, the first on a worker thread while the second runs here
    when this process may use two threads or more (else one after the other, as on the pool's
    own threads: a pool of one must not wait on itself).  An exception in either is raised here,
    after both have finished."""
    global _pool
    if share() < 2 or threading.current_thread().name.startswith(_PREFIX):   # nested: no waiting on itself
        return background(), foreground()
    with _pool_lock:
        _pool = _pool or ThreadPoolExecutor(max_workers=share() - 1, thread_name_prefix=_PREFIX)
    future = _pool.submit(background)
    try:
        here = foreground()
    except BaseException:
        future.exception()          # wait for it: its work must not outlive the request
        raise
    return future.result(), here

"""The FAISS structures behind ``index.kind`` (``binary`` is in :mod:`lens.index.binary`).

A :class:`Kind` wraps one FAISS index over the *working* vectors (after the
optional PCA) whose labels are row numbers of the :class:`~lens.index.VectorIndex`;
the index keeps the ids, the float vectors, tombstones and persistence.

* ``auto`` (the default): ``flat`` while one query's exhaustive scan reads at
  most ``auto_flat_max_mb`` of vectors, ``hnsw`` once the index outgrows it
  (the switch is one rebuild, at the next search or save after the add that
  crosses it).  200 MB is ~18 ms per query on 2 cores: exact search up to
  ~195k vectors of 256-d, ~39k of MobileNetV2's 1280-d (``make bench``:
  flat at 100k x 1280-d takes 45 ms, HNSW 0.7 ms at recall@10 1.0).
* ``flat``: ``IndexFlatIP``, exact; its cost grows with vectors x dim.  An unfiltered scan
  runs as one numpy matrix product over the same rows and a partial sort (:func:`scan`):
  FAISS's flat search for a street photo's ~10 probes of 400 hits over 9k crops takes 15-17 ms
  on one thread, the product 5 ms, with the same hits.
* ``hnsw``: ``IndexHNSWFlat`` (inner product), ``hnsw_m`` links per node,
  ``hnsw_ef_construction`` / ``hnsw_ef_search`` beam widths.  HNSW cannot
  remove: the index tombstones removed rows and filters them out.
* ``ivfpq``: ``IndexIVFPQ`` (inner product), trained on the data, candidates
  re-ranked by exact float inner product (``rerank`` x k).  With fewer vectors
  than k-means needs (39 per centroid) it searches exactly and logs so; it is
  trained on the first build with enough vectors.

Filters (:class:`lens.index.selection.RowFilter`) reach every float kind as a
FAISS ``IDSelector`` in its search parameters: disallowed rows are skipped
inside the search.  HNSW widens its beam by 1 / (allowed share), up to
``HNSW_FILTER_EF_MAX``: with a quarter of the rows allowed, a beam of 64
meets about 16 allowed rows.

Tested in ``tests/test_index.py``.
"""
from __future__ import annotations

import logging
import math
from abc import ABC, abstractmethod

import faiss
import numpy as np
from threadpoolctl import ThreadpoolController

from lens.config import IndexConfig

# numpy's OpenBLAS runs the scan's product on one thread: its own threads spin after a product
# and slowed the onnxruntime and torch steps of the next query (a street photo's detection 52 ->
# 69 ms, the sources 30 -> 54 ms median, 2 cores), for ~0.7 ms the second thread saves.
_BLAS = ThreadpoolController()

log = logging.getLogger(__name__)
MIN_POINTS_PER_CENTROID = 39    # FAISS warns below this many training points per centroid
TRAIN_SAMPLE_PER_LIST = 48      # k-means sample: FAISS's cap is 256 a centroid; 48 keeps 1M builds in minutes
KMEANS_ITERATIONS = 10          # FAISS default 25; recall changes little, training time 2.5x less
HNSW_FILTER_EF_MAX = 4096       # a filtered beam wider than this costs more than an exact scan of the rows


def rerank(queries: np.ndarray, rows: np.ndarray, work: np.ndarray, fetch: int):
    """Exact inner product of each query with its candidate rows; the best ``fetch``."""
    scores = np.full((len(queries), fetch), -np.inf, np.float32)
    best = np.full((len(queries), fetch), -1, np.int64)
    for i, (query, cand) in enumerate(zip(queries, rows)):
        cand = cand[cand >= 0]
        exact = work[cand] @ query
        top = np.argsort(-exact, kind="stable")[:fetch]
        scores[i, :len(top)], best[i, :len(top)] = exact[top], cand[top]
    return scores, best


class Kind(ABC):
    """One FAISS structure; subclasses fill in build/add/search."""

    name = ""
    binary = False                  # saved with faiss.write_index_binary
    filters = True                  # search() applies a RowFilter inside FAISS

    def __init__(self, config: IndexConfig, dim: int):
        self.config, self.dim = config, dim
        self.index = None
        self.fitted_rows = 0        # rows the trained parts were fitted on

    def build(self, work: np.ndarray) -> None:
        """(Re)build over all rows ``work`` (training included)."""
        self.index = self._empty()
        self.add(work)

    @abstractmethod
    def _empty(self):
        """An empty FAISS structure of this kind (trained on ``work`` where it needs training)."""

    def add(self, rows: np.ndarray) -> None:
        """Append rows after the ones already in the structure."""
        for start in range(0, len(rows), 65_536):
            self.index.add(np.ascontiguousarray(rows[start:start + 65_536]))

    def search(self, queries: np.ndarray, fetch: int, work: np.ndarray, rows=None):
        """``(scores, rows)`` of shape ``(len(queries), fetch)``; row -1 pads.  ``rows``: an optional
        :class:`lens.index.selection.RowFilter` (only its rows are returned)."""
        return _flat_search(self.index, queries, fetch, rows, work)

    def needs_rebuild(self, rows: int) -> bool:
        """True when the trained parts no longer fit ``rows`` rows."""
        return False

    def flat(self):
        """The exact ``IndexFlatIP`` over the rows inside this structure, or None (codes only): a small
        filter is scanned there with its selector, no copy of the rows."""
        return None

    def state(self) -> dict[str, np.ndarray]:
        """Arrays saved next to the FAISS file."""
        return {}

    def restore(self, index, state: dict[str, np.ndarray]) -> None:
        self.index = index


def _flat(dim: int):
    return faiss.IndexFlatIP(dim)


def _hnsw(config: IndexConfig, dim: int):
    index = faiss.IndexHNSWFlat(dim, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = config.hnsw_ef_construction
    return index


def _flat_search(index, queries: np.ndarray, fetch: int, rows=None, work: np.ndarray | None = None):
    """A flat index's search; unfiltered over ``work`` (the same rows, as numpy) by :func:`scan`."""
    if rows is None:
        if work is not None and len(work) == index.ntotal:
            return scan(queries, work, fetch)
        return index.search(queries, fetch)
    return index.search(queries, fetch, params=faiss.SearchParameters(sel=rows.selector))


def scan(queries: np.ndarray, work: np.ndarray, fetch: int) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, rows)`` of shape ``(len(queries), fetch)``, best first (ties: lower row first),
    as FAISS answers: the inner products of ``queries`` with every row of ``work``; rows past
    ``len(work)`` are -1 with score -inf."""
    n = len(work)
    with _BLAS.limit(limits=1, user_api="blas"):    # see _BLAS
        scores = np.asarray(queries, np.float32) @ np.asarray(work, np.float32).T
    take = min(fetch, n)
    if 0 < take < n:
        top = np.argpartition(-scores, take - 1, axis=1)[:, :take]
    else:
        top = np.broadcast_to(np.arange(n), scores.shape)
    picked = np.take_along_axis(scores, top, 1)
    order = np.lexsort((top, -picked), axis=1)
    rows, best = np.take_along_axis(top, order, 1), np.take_along_axis(picked, order, 1)
    if fetch > take:
        pad = ((0, 0), (0, fetch - take))
        rows, best = np.pad(rows, pad, constant_values=-1), np.pad(best, pad, constant_values=-np.inf)
    return best, rows


def _hnsw_search(index, config: IndexConfig, queries: np.ndarray, fetch: int, rows=None):
    ef = max(config.hnsw_ef_search, fetch)
    if rows is None:
        return index.search(queries, fetch, params=faiss.SearchParametersHNSW(efSearch=ef))
    ef = int(min(HNSW_FILTER_EF_MAX, max(ef, ef / max(rows.share, 1e-6))))
    return index.search(queries, fetch, params=faiss.SearchParametersHNSW(efSearch=ef, sel=rows.selector))


class FlatKind(Kind):
    name = "flat"

    def _empty(self):
        return _flat(self.dim)

    def flat(self):
        return self.index


def _storage(index):
    return faiss.downcast_index(index.storage)


class HNSWKind(Kind):
    name = "hnsw"

    def _empty(self):
        return _hnsw(self.config, self.dim)

    def search(self, queries: np.ndarray, fetch: int, work: np.ndarray, rows=None):
        return _hnsw_search(self.index, self.config, queries, fetch, rows)

    def flat(self):
        return _storage(self.index)


class AutoKind(Kind):
    """Exact flat search while it is cheap, HNSW beyond; see the module docstring."""

    name = "auto"

    def __init__(self, config: IndexConfig, dim: int):
        super().__init__(config, dim)
        self.graph = False          # False: IndexFlatIP, True: IndexHNSWFlat

    def wants_graph(self, rows: int) -> bool:
        return rows * self.dim * 4 > self.config.auto_flat_max_mb * 1e6

    def build(self, work: np.ndarray) -> None:
        self.graph = self.wants_graph(len(work))
        if self.graph:
            log.info("index auto: %d x %d-d vectors are over index.auto_flat_max_mb (%g MB a scan); "
                     "building HNSW", len(work), self.dim, self.config.auto_flat_max_mb)
        super().build(work)

    def _empty(self):
        return _hnsw(self.config, self.dim) if self.graph else _flat(self.dim)

    def search(self, queries: np.ndarray, fetch: int, work: np.ndarray, rows=None):
        if self.graph:
            return _hnsw_search(self.index, self.config, queries, fetch, rows)
        return _flat_search(self.index, queries, fetch, rows, work)

    def needs_rebuild(self, rows: int) -> bool:
        return not self.graph and self.wants_graph(rows)

    def flat(self):
        return _storage(self.index) if self.graph else self.index

    def state(self) -> dict[str, np.ndarray]:
        return {"auto_graph": np.array(int(self.graph))}

    def restore(self, index, state: dict[str, np.ndarray]) -> None:
        self.index, self.graph = index, bool(int(state.get("auto_graph", 0)))


class IVFPQKind(Kind):
    name = "ivfpq"

    def _shape(self, rows: int) -> tuple[int, int]:
        """``(nlist, pq_m)``: configured, or derived from the row count and dim."""
        nlist = self.config.ivf_nlist or max(1, min(int(math.sqrt(rows)), rows // MIN_POINTS_PER_CENTROID))
        m = self.config.pq_m or next(m for m in range(max(1, self.dim // 8), 0, -1) if self.dim % m == 0)
        if self.dim % m:
            raise ValueError(f"index.pq_m {m}: must divide the vector dim {self.dim}")
        return nlist, m

    def min_train_rows(self, rows: int) -> int:
        nlist, _ = self._shape(rows)
        return MIN_POINTS_PER_CENTROID * max(nlist, 2 ** self.config.pq_nbits)

    def _empty(self):
        """Exact search until there are enough rows to train the IVF lists and PQ codebooks."""
        return faiss.IndexFlatIP(self.dim)

    def build(self, work: np.ndarray) -> None:
        need = self.min_train_rows(len(work))
        if len(work) < need:
            log.info("index ivfpq: %d vectors, fewer than the %d needed to train; searching exactly "
                     "until then", len(work), need)
            self.index, self.fitted_rows = self._empty(), 0
            return self.add(work)
        nlist, m = self._shape(len(work))
        index = faiss.IndexIVFPQ(faiss.IndexFlatIP(self.dim), self.dim, nlist, m,
                                 self.config.pq_nbits, faiss.METRIC_INNER_PRODUCT)
        index.cp.niter = index.pq.cp.niter = KMEANS_ITERATIONS
        sample = min(len(work), max(need, TRAIN_SAMPLE_PER_LIST * max(nlist, 2 ** self.config.pq_nbits)))
        pick = np.sort(np.random.default_rng(0).choice(len(work), sample, replace=False))
        log.info("index ivfpq: training %d lists x %d-byte PQ codes on %d of %d vectors",
                 nlist, m * self.config.pq_nbits // 8, sample, len(work))
        index.train(np.ascontiguousarray(work[pick]))
        self.index, self.fitted_rows = index, len(work)
        self.add(work)

    @property
    def trained(self) -> bool:
        return self.fitted_rows > 0

    def flat(self):
        return None if self.trained else self.index

    def search(self, queries: np.ndarray, fetch: int, work: np.ndarray, rows=None):
        if not self.trained:
            return _flat_search(self.index, queries, fetch, rows, work)
        params = faiss.SearchParametersIVF(nprobe=min(self.config.ivf_nprobe, self.index.nlist))
        if rows is not None:
            params.sel = rows.selector
        if not self.config.rerank:
            return self.index.search(queries, fetch, params=params)
        wanted = min(self.index.ntotal, self.config.rerank * fetch)
        _, found = self.index.search(queries, max(fetch, wanted), params=params)
        return rerank(queries, found, work, fetch)

    def needs_rebuild(self, rows: int) -> bool:
        # untrained and now trainable, or trained on under half of today's rows
        return rows >= self.min_train_rows(rows) if not self.trained else rows > 2 * self.fitted_rows

    def state(self) -> dict[str, np.ndarray]:
        return {"fitted_rows": np.array(self.fitted_rows)}

    def restore(self, index, state: dict[str, np.ndarray]) -> None:
        self.index, self.fitted_rows = index, int(state.get("fitted_rows", 0))


_threads = [0]       # the FAISS OpenMP thread count last set (0: untouched)


def set_threads(n: int) -> None:
    """Set FAISS's OpenMP threads for searching (process-wide; 0 = leave FAISS's default)."""
    if n and n != _threads[0]:
        faiss.omp_set_num_threads(n)
        _threads[0] = n


def in_memory(kind: Kind):
    """A private, writable copy of a memory-mapped FAISS structure."""
    if kind.binary:
        return faiss.deserialize_index_binary(faiss.serialize_index_binary(kind.index))
    return faiss.deserialize_index(faiss.serialize_index(kind.index))

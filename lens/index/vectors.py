"""Vector indexes over FAISS, with crash-safe persistence.

A :class:`VectorIndex` holds unit vectors keyed by string item ids and
answers inner-product (cosine) kNN.  ``index.kind`` picks the FAISS structure
(:data:`INDEX_KINDS`: ``auto``, ``flat``, ``hnsw``, ``ivfpq``, ``binary``; see
:mod:`lens.index.kinds` and :mod:`lens.index.binary`), ``index.pca_dim`` an
optional PCA reduction (fitted on the indexed vectors, applied to every added
and query vector, rows re-normalised; scores are then in the reduced space).

Rows are append-only: replacing an id appends a row, and removing one leaves
a tombstone that searches filter out (HNSW cannot remove).  The structure is
rebuilt lazily, at the next search or save, when over a quarter of the rows
are tombstones or when a trained part (PCA, IVF lists, binary rotation) was
fitted on under half of today's vectors; otherwise new rows are added to it
incrementally.  The float vectors are always kept: re-ranking, filtered
exact search, rebuilds and :meth:`VectorIndex.vector` need them.

Persistence (:mod:`lens.index.files`): a pointer ``visual.json`` plus
generation files, written first and switched to atomically.  An index built
by another embedder, or with another ``index.kind`` / ``index.pca_dim``,
raises ``ValueError`` naming both (:meth:`VectorIndex.reconfigured` rebuilds
it from its float vectors without re-embedding).

Tested in ``tests/test_index.py``.
"""
from __future__ import annotations

import dataclasses
import logging
import os
from typing import Iterable

import numpy as np

from lens.config import IndexConfig
from lens.index.binary import BinaryKind, fit_rotation
from lens.index.files import load_index, save_index
from lens.index.kinds import AutoKind, FlatKind, HNSWKind, IVFPQKind, Kind, in_memory, set_threads
from lens.index.selection import EXACT_CHUNK, IdentityCache, RowFilter, exact_top
from lens.registry import Registry

__all__ = ["INDEX_KINDS", "VectorIndex"]
log = logging.getLogger(__name__)

INDEX_KINDS: Registry[type[Kind]] = Registry("index.kind", {"auto": AutoKind, "flat": FlatKind, "hnsw": HNSWKind,
                                                             "ivfpq": IVFPQKind, "binary": BinaryKind})
COMPACT_FRACTION = 0.25     # rebuild once a quarter of the rows are tombstones
EXACT_FILTER_ROWS = 8192    # filters this small are scanned exactly: ~4 ms a query at 1280-d (a filtered graph search costs more)


def _check_config(config: IndexConfig, dim: int) -> None:
    INDEX_KINDS.check(config.kind)
    if not 0 <= config.pca_dim < dim and config.pca_dim:
        raise ValueError(f"index.pca_dim {config.pca_dim}: must be 0 (off) or below the vector dim {dim}")
    if config.binary_search not in ("flat", "hnsw"):
        raise ValueError(f"index.binary_search '{config.binary_search}': expected flat or hnsw")
    for key in ("hnsw_m", "hnsw_ef_construction", "hnsw_ef_search", "ivf_nprobe", "pq_nbits"):
        if getattr(config, key) < 1:
            raise ValueError(f"index.{key} {getattr(config, key)}: must be at least 1")
    if not config.auto_flat_max_mb > 0:
        raise ValueError(f"index.auto_flat_max_mb {config.auto_flat_max_mb}: must be above 0")
    for key in ("rerank", "search_threads", "ivf_nlist", "pq_m"):
        if getattr(config, key) < 0:
            raise ValueError(f"index.{key} {getattr(config, key)}: must not be negative")


class VectorIndex:
    """Unit vectors keyed by item id; exact or approximate inner-product kNN."""

    def __init__(self, dim: int, kind: str | None = None, embedder: dict | None = None,
                 config: IndexConfig | None = None):
        config = config or IndexConfig()
        config = dataclasses.replace(config, kind=kind) if kind else config
        if config.binary_codes == "auto":      # the unified embedding is trained for its own sign bits
            own = (embedder or {}).get("name") == "unified" and not config.pca_dim
            config = dataclasses.replace(config, binary_codes="sign" if own else "rotated")
        self.config = config
        self.dim, self.kind = int(dim), self.config.kind
        _check_config(self.config, self.dim)
        self.work_dim = self.config.pca_dim or self.dim
        self.embedder = dict(embedder or {})
        self._buf = np.zeros((0, self.dim), np.float32)     # float rows; capacity grows x2
        self._work = None           # PCA-projected rows (pca_dim only), same row numbers
        self._n = 0                 # rows in use, tombstones included
        self._ids: list[str | None] = []                   # row -> id, None = tombstone
        self._row: dict[str, int] = {}
        self._dead = 0
        self._pca: tuple[np.ndarray, np.ndarray] | None = None   # (mean, components (dim, pca_dim))
        self._pca_rows = 0          # live rows the PCA was fitted on
        self._kind: Kind | None = None                     # None: rebuild at next use
        self._built = 0             # rows already in the FAISS structure
        self._mapped = False        # structure is a read-only file mapping
        self._filters = IdentityCache()    # allowed-id set -> RowFilter, emptied when rows change

    @classmethod
    def from_config(cls, config: IndexConfig, embedder_settings: dict) -> "VectorIndex":
        return cls(embedder_settings["dim"], embedder=embedder_settings, config=config)

    def settings(self) -> dict:
        """What a saved index must match (the rest of ``index`` is tuning)."""
        return {"kind": self.kind, "pca_dim": self.config.pca_dim}

    def __len__(self) -> int:
        return len(self._row)

    def __contains__(self, item_id: str) -> bool:
        return item_id in self._row

    @property
    def ids(self) -> list[str]:
        return [i for i in self._ids if i is not None]

    def vector(self, item_id: str) -> np.ndarray:
        return np.array(self._buf[self._row[item_id]])

    def inner(self, query: np.ndarray, ids: list[str]) -> np.ndarray:
        """Exact inner products ``(len(ids),)`` of one full-dim ``query`` with the stored
        float vectors of ``ids`` (every id must be in the index)."""
        rows = np.fromiter((self._row[i] for i in ids), np.int64, len(ids))
        return self._buf[rows] @ np.asarray(query, np.float32)

    # ---- changes -----------------------------------------------------------
    def _checked(self, vectors, what: str) -> np.ndarray:
        arr = np.asarray(vectors, dtype=np.float32)
        arr = arr[None] if arr.ndim == 1 else arr
        if arr.ndim != 2 or arr.shape[1] != self.dim:
            raise ValueError(f"{what}: vectors of shape {np.shape(vectors)}, expected (N, {self.dim}) "
                             f"for embedder {self.embedder.get('name', '?')}")
        finite = np.isfinite(arr).all(axis=1)
        if not finite.all():
            raise ValueError(f"{what}: vector {int(np.argmin(finite))} contains NaN or infinity")
        return arr

    def add(self, ids: Iterable[str], vectors: np.ndarray) -> None:
        """Insert or replace vectors ``(N, dim)`` for ``ids`` (later rows win)."""
        ids = list(ids)
        if not ids and np.size(vectors) == 0:
            return
        vectors = self._checked(vectors, "index add")
        if len(ids) != len(vectors):
            raise ValueError(f"index add: {len(ids)} ids but {len(vectors)} vectors")
        last = {item_id: row for row, item_id in enumerate(ids)}
        for item_id in last:
            self.remove(item_id)
        self._grow(len(last))
        self._buf[self._n:self._n + len(last)] = vectors[list(last.values())]
        for item_id in last:
            self._row[item_id] = self._n
            self._ids.append(item_id)
            self._n += 1
        self._filters.clear()

    def _grow(self, extra: int) -> None:
        if self._n + extra <= len(self._buf) and self._buf.flags.writeable:
            return
        cap = max(self._n + extra, 2 * len(self._buf), 64)
        buf = np.zeros((cap, self.dim), np.float32)
        buf[:self._n] = self._buf[:self._n]       # also copies a read-only mapping into memory
        self._buf = buf

    def remove(self, item_id: str) -> bool:
        """Delete one id (a tombstone until the next rebuild); ``True`` when present."""
        row = self._row.pop(item_id, None)
        if row is None:
            return False
        self._ids[row] = None
        self._dead += 1
        self._filters.clear()
        return True

    def reconfigured(self, config: IndexConfig) -> "VectorIndex":
        """The same ids and vectors under other index settings (no re-embedding)."""
        other = VectorIndex(self.dim, embedder=self.embedder, config=config)
        rows = np.fromiter(self._row.values(), np.int64, len(self._row))
        other.add(list(self._row), self._buf[rows])
        return other

    # ---- the structure -----------------------------------------------------
    def _project(self, x: np.ndarray) -> np.ndarray:
        if self._pca is None:
            return np.ascontiguousarray(x, dtype=np.float32)
        mean, comps = self._pca
        y = (x - mean) @ comps
        return (y / np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    def _working(self) -> np.ndarray:
        """The rows as the structure sees them (projected when PCA is on)."""
        return self._buf[:self._n] if self._work is None else self._work[:self._n]

    def _compact(self) -> None:
        live = np.fromiter(self._row.values(), np.int64, len(self._row))
        live.sort()
        self._buf = self._buf[live]
        self._ids = [self._ids[r] for r in live]
        self._row = {i: r for r, i in enumerate(self._ids)}
        self._n, self._dead, self._kind = len(live), 0, None
        self._filters.clear()

    def _rebuild(self) -> None:
        set_threads(os.cpu_count() or 1)       # builds use every core
        if self._dead:
            self._compact()
        if self.config.pca_dim:
            self._pca = fit_rotation(self._buf[:self._n], centre=False)
            self._pca = (self._pca[0], np.ascontiguousarray(self._pca[1][:, :self.config.pca_dim]))
            self._pca_rows = self._n
            self._work = self._project_rows(0)
        kind = INDEX_KINDS[self.kind](self.config, self.work_dim)
        log.debug("index %s: building over %d vectors", self.kind, self._n)
        kind.build(self._working())
        self._kind, self._built, self._mapped = kind, self._n, False

    def _project_rows(self, start: int) -> np.ndarray:
        """``_work`` with rows ``start:`` (re)projected; reallocated when it is too small."""
        work = self._work
        if work is None or len(work) < self._n or not work.flags.writeable:
            work = np.zeros((len(self._buf), self.work_dim), np.float32)
            if start:
                work[:start] = self._work[:start]
        for s in range(start, self._n, EXACT_CHUNK):
            end = min(s + EXACT_CHUNK, self._n)
            work[s:end] = self._project(self._buf[s:end])
        return work

    def _structure(self) -> Kind:
        """The FAISS structure over every row, rebuilt or extended as needed."""
        live = len(self._row)
        stale_pca = self.config.pca_dim and live > 2 * self._pca_rows
        if (self._kind is None or self._dead > COMPACT_FRACTION * self._n or stale_pca
                or self._kind.needs_rebuild(live)):
            self._rebuild()
        elif self._built < self._n:
            set_threads(os.cpu_count() or 1)
            if self._pca is not None:
                self._work = self._project_rows(self._built)
            if self._mapped:
                self._kind.index = in_memory(self._kind)
                self._mapped = False
            self._kind.add(self._working()[self._built:self._n])
            self._built = self._n
        return self._kind

    # ---- search ------------------------------------------------------------
    def search(self, queries: np.ndarray, k: int, allowed: set[str] | None = None
               ) -> list[list[tuple[str, float]]]:
        """For each query row, up to ``k`` ``(item_id, score)`` by descending score.

        ``allowed`` restricts results to those ids (filters): small filters
        are scored exactly (FAISS's flat scan of the structure's own rows
        with the filter's selector where it keeps float rows, else numpy);
        larger ones go into the FAISS search as a selector
        (:mod:`lens.index.selection`; the binary kind instead widens its search
        until it has ``k`` allowed hits), with exact scoring for any query an
        approximate kind leaves short.  Pass the same frozenset again to
        reuse its row filter.
        """
        queries = self._checked(queries, "index search")
        if k <= 0 or not len(self) or (allowed is not None and not allowed):
            return [[] for _ in range(len(queries))]
        kind = self._structure()
        set_threads(self.config.search_threads)
        q = self._project(queries)
        if allowed is None:
            return self._approximate(kind, q, k, None)
        rows = self._filters.get(allowed, lambda: self._row_filter(allowed))
        if not len(rows.rows):
            return [[] for _ in range(len(queries))]
        exact_up_to = EXACT_FILTER_ROWS if kind.filters else max(EXACT_FILTER_ROWS, len(self) // 8)
        if len(rows.rows) > exact_up_to:
            return self._approximate(kind, q, k, rows)
        return self._exact(kind, q, k, rows)

    def _row_filter(self, allowed) -> RowFilter:
        """The live rows of the ``allowed`` ids, as a :class:`RowFilter`."""
        rows = np.fromiter((self._row[i] for i in allowed if i in self._row), np.int64)
        return RowFilter.from_rows(rows, self._n)

    def _approximate(self, kind: Kind, q: np.ndarray, k: int, rows: RowFilter | None):
        """The structure's answer; widened (kinds without selectors) or exact where it falls short."""
        want = min(k, len(self) if rows is None else len(rows.rows))
        inside = rows is not None and kind.filters       # FAISS skips disallowed rows itself
        keep = None if rows is None else rows.mask
        fetch = min(self._n, k if inside else (k if rows is None else max(4 * k, 64)) + self._dead)
        while True:
            out = self._hits(*kind.search(q, fetch, self._working(), rows if inside else None), k, keep)
            short = [i for i, o in enumerate(out) if len(o) < want]
            if not short or inside or fetch >= self._n:
                break
            fetch = min(self._n, fetch * 4)
        if short:
            every = rows if rows is not None else RowFilter.from_rows(
                np.fromiter(self._row.values(), np.int64, len(self)), self._n)
            for i, hits in zip(short, self._exact(kind, q[short], k, every)):
                out[i] = hits
        return out

    def _exact(self, kind: Kind, q: np.ndarray, k: int, rows: RowFilter) -> list[list[tuple[str, float]]]:
        """Exact inner product against ``rows`` only: FAISS's flat scan of the structure's own float rows
        with the selector, or numpy over a copy of the rows (:func:`lens.index.selection.exact_top`)."""
        flat = kind.flat()
        if flat is None:
            return self._hits(*exact_top(q, self._working(), rows.rows, k), k)
        return self._hits(*flat.search(q, min(k, len(rows.rows)), params=rows.params()), k)

    def _hits(self, scores: np.ndarray, found: np.ndarray, k: int, keep: np.ndarray | None = None):
        """Rows -> ``(id, score)`` lists: padding (-1), tombstones and rows ``keep`` leaves out dropped."""
        return [[(self._ids[r], float(s)) for s, r in zip(srow, rrow)
                 if r >= 0 and self._ids[r] is not None and (keep is None or keep[r])][:k]
                for srow, rrow in zip(scores, found)]

    # ---- persistence -------------------------------------------------------
    def _restore(self, structure, ids: list, vectors: np.ndarray, model: dict, work, mapped: bool) -> None:
        """Adopt a loaded generation (see :mod:`lens.index.files`)."""
        kind = INDEX_KINDS[self.kind](self.config, self.work_dim)
        kind.restore(structure, model)
        self._buf, self._n, self._ids = vectors, len(vectors), list(ids)
        self._row = {i: r for r, i in enumerate(self._ids) if i is not None}
        self._dead = self._n - len(self._row)
        self._filters.clear()
        if "pca_mean" in model:
            self._pca = (model["pca_mean"], model["pca_components"])
            self._pca_rows, self._work = int(model["pca_rows"]), work
        self._kind, self._built, self._mapped = kind, self._n, mapped

    def save(self, directory, name: str) -> None:
        """Write a new generation (structure, ids, vectors), then switch the pointer."""
        self._structure()
        save_index(self, directory, name)

    @classmethod
    def load(cls, directory, name: str, expect_embedder: dict | None = None,
             expect_config: IndexConfig | None = None) -> "VectorIndex | None":
        """The saved index, or ``None`` when none was saved yet.

        Raises ``ValueError`` when ``expect_embedder`` or the kind / pca_dim of
        ``expect_config`` differ from the recorded ones, or the files are
        unreadable.  ``expect_config`` also supplies the search-time settings
        (efSearch, nprobe, rerank) and ``mmap``.
        """
        return load_index(cls, directory, name, expect_embedder, expect_config)

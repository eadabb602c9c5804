"""Filters as row sets that FAISS can apply inside its search.

A filter reaches :meth:`lens.index.VectorIndex.search` as a set of allowed ids
(from :func:`blender.filters.allowed_ids`, or the object source's crops of
those items).  Turning 36k ids into row numbers is a Python loop (~10 ms), so
:class:`RowFilter` -- the sorted rows, a bitmap over them and the FAISS
``IDSelectorBitmap`` that reads it -- is made once per (set, index state) and
kept in a :class:`IdentityCache`: the filter layer hands the same set object
for the same filter until the catalog changes, and the index forgets its
filters whenever its rows change.

The selector goes into FAISS's search parameters, so HNSW, IVF and flat
indexes skip disallowed rows while they search instead of fetching ever more
neighbours and dropping them in Python.  Small filters are scored exactly
instead: FAISS's flat scan of the structure's own float rows with the same
selector, or :func:`exact_top` (numpy over the rows) for kinds that keep only
codes (trained IVF-PQ, binary) and for the queries an approximate search left
short.  Tested in ``tests/test_index.py``.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

import faiss
import numpy as np

EXACT_CHUNK = 16_384    # rows per block of the exact scan (bounded temporaries)
CACHE_SIZE = 32     # distinct filters remembered: a query's own plus one per diversity bucket, many queries


class IdentityCache:
    """A small LRU keyed by the *identity* of a frozenset (hashing 36k ids would cost what it saves).

    Only frozensets are cached -- a set could change under its cached value;
    anything else is made afresh on every call.  The cache holds a reference
    to each key, so its ``id`` cannot be reused by another object meanwhile.
    """

    def __init__(self, size: int = CACHE_SIZE):
        self.size = size
        self._entries: OrderedDict[int, tuple[Any, Any]] = OrderedDict()
        self._lock = threading.Lock()       # a server's request threads share one cache

    def get(self, key_object: Any, make: Callable[[], Any]) -> Any:
        """The value cached for ``key_object``, made by ``make()`` on a miss (outside the lock)."""
        if not isinstance(key_object, frozenset):
            return make()
        with self._lock:
            entry = self._entries.get(id(key_object))
            if entry is not None and entry[0] is key_object:
                self._entries.move_to_end(id(key_object))
                return entry[1]
        value = make()
        with self._lock:
            self._entries[id(key_object)] = (key_object, value)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass
class RowFilter:
    """Allowed rows of one index: sorted ``rows`` (int64), a bool ``mask`` over all ``n`` rows and the
    FAISS selector over the same bits (built on first use; it points into ``bitmap``, kept alive here)."""

    rows: np.ndarray
    mask: np.ndarray
    bitmap: np.ndarray = field(repr=False)
    _selector: Any = field(default=None, repr=False)

    @classmethod
    def from_rows(cls, rows: np.ndarray, n: int) -> RowFilter:
        rows = np.sort(np.asarray(rows, np.int64))
        mask = np.zeros(n, bool)
        mask[rows] = True
        return cls(rows, mask, np.packbits(mask, bitorder="little"))

    @property
    def share(self) -> float:
        """Allowed rows / all rows (what a graph search's beam must widen by)."""
        return len(self.rows) / max(len(self.mask), 1)

    def params(self):
        """FAISS ``SearchParameters`` carrying the selector (flat scans)."""
        return faiss.SearchParameters(sel=self.selector)

    @property
    def selector(self):
        if self._selector is None:
            # n is the bitmap's size in bytes: ids past it are simply not members
            self._selector = faiss.IDSelectorBitmap(len(self.bitmap), faiss.swig_ptr(self.bitmap))
        return self._selector


def exact_top(q: np.ndarray, work: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, rows)`` ``(len(q), <= k)``: the best inner products of ``q`` with ``work[rows]``,
    scanned in blocks of ``EXACT_CHUNK`` rows."""
    rows = np.sort(rows)
    best_s, best_r = None, None
    for s in range(0, len(rows), EXACT_CHUNK):
        block = rows[s:s + EXACT_CHUNK]
        scores = q @ work[block].T
        cand_s = scores if best_s is None else np.concatenate([best_s, scores], axis=1)
        cand_r = np.broadcast_to(block, scores.shape) if best_r is None else \
            np.concatenate([best_r, np.broadcast_to(block, scores.shape)], axis=1)
        top = np.argsort(-cand_s, axis=1, kind="stable")[:, :k]
        best_s, best_r = np.take_along_axis(cand_s, top, 1), np.take_along_axis(cand_r, top, 1)
    return best_s, best_r

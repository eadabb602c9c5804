"""The vector index: FAISS structures behind one :class:`VectorIndex`, crash-safe on disk.

Modules: :mod:`~lens.index.vectors` (:class:`VectorIndex`, :data:`INDEX_KINDS`),
:mod:`~lens.index.kinds` (flat, HNSW, IVF-PQ), :mod:`~lens.index.binary`
(sign bits, Hamming, PCA), :mod:`~lens.index.selection` (filters as FAISS
selectors), :mod:`~lens.index.files` (generations + atomic pointer).  See
``lens/index/README.md``.
"""
from __future__ import annotations

from lens.index.vectors import INDEX_KINDS, VectorIndex

__all__ = ["INDEX_KINDS", "VectorIndex"]

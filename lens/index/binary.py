"""PCA rotation (shared by ``index.pca_dim``) and the ``binary`` index kind.

``binary`` stores one bit per dimension: the sign of the centred,
PCA-rotated vector, the PCA axes followed by a fixed random orthogonal
rotation (mean and rotation fitted on the indexed vectors and saved with the
index).  The random rotation spreads the variance evenly over the bits, as in
ITQ's initialisation: with the PCA axes alone, ~1,000 of MobileNetV2's 1,280
axes carry little variance, their sign bits are noise that outweighs the
informative ones in the Hamming distance, and recall@10 after re-ranking
falls to 0.67 of exact on the catalog vectors (1.00 with the rotation).  With
``index.binary_codes: sign`` (what ``auto`` picks for the unified embedding) the
codes are the vectors' own sign bits (no mean, no rotation): the unified
embedding (:mod:`lens.unified`) is trained for them.  A query is binarised the same way, FAISS finds the
``rerank x k`` nearest codes by Hamming distance (``IndexBinaryFlat``, or
``IndexBinaryHNSW`` with ``index.binary_search: hnsw``), and those candidates
are re-ranked by exact float inner product.  The codes take 1/32 of the float
vectors' memory; the float vectors stay in the :class:`~lens.index.VectorIndex`
because the re-ranking needs them (``bench/index_bench.py`` reports both).

Tested in ``tests/test_index.py``.
"""
from __future__ import annotations

import logging

import faiss
import numpy as np

from lens.config import IndexConfig
from lens.index.kinds import Kind, rerank

log = logging.getLogger(__name__)
FIT_SAMPLE = 20_000     # rows the covariance is estimated on: 15x the dim is stable; ~2 s at 1280-d on 2 cores


def fit_rotation(vectors: np.ndarray, centre: bool = True, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(mean (d,), rotation (d, d))``: principal axes as columns, largest variance first.

    ``centre=False`` (the ``pca_dim`` reduction) takes the axes of the
    uncentred second moment, which preserve inner products best, and a zero mean.

    The eigenvectors of the covariance form a full orthonormal basis even with
    fewer rows than dimensions (the zero-variance axes are then arbitrary).
    """
    x = np.asarray(vectors, np.float32)
    if len(x) > FIT_SAMPLE:
        x = x[np.sort(np.random.default_rng(seed).choice(len(x), FIT_SAMPLE, replace=False))]
    mean = x.mean(0, dtype=np.float64) if len(x) and centre else np.zeros(x.shape[1])
    centred = x - mean.astype(np.float32)
    _, axes = np.linalg.eigh((centred.T @ centred).astype(np.float64))
    return mean.astype(np.float32), np.ascontiguousarray(axes[:, ::-1], dtype=np.float32)


def random_rotation(dim: int, seed: int = 0) -> np.ndarray:
    """A fixed random orthogonal ``(dim, dim)`` matrix (QR of a Gaussian one)."""
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((dim, dim)))
    return (q * np.sign(np.diag(r))).astype(np.float32)


def pack_signs(x: np.ndarray, nbits: int) -> np.ndarray:
    """Rows of sign bits, zero-padded to ``nbits`` (a multiple of 8), as uint8 codes."""
    bits = np.zeros((len(x), nbits), np.uint8)
    bits[:, :x.shape[1]] = x > 0
    return np.packbits(bits, axis=1)


class BinaryKind(Kind):
    """Sign bits of the centred, PCA + randomly rotated vector; Hamming search, exact re-rank."""

    name = "binary"
    binary = True
    filters = False     # FAISS's binary indexes take no IDSelector: VectorIndex filters their candidates

    CODES = ("auto", "rotated", "sign")      # auto: VectorIndex resolves it from its embedder; else rotated

    def __init__(self, config: IndexConfig, dim: int):
        super().__init__(config, dim)
        if config.binary_codes not in self.CODES:
            raise ValueError(f"index.binary_codes '{config.binary_codes}': unknown (valid: {', '.join(self.CODES)})")
        self.nbits = -(-dim // 8) * 8           # FAISS binary codes are whole bytes
        self.mean = np.zeros(dim, np.float32)
        self.rotation = np.eye(dim, dtype=np.float32)

    def codes(self, x: np.ndarray) -> np.ndarray:
        """``(N, nbits / 8)`` uint8: the packed sign bits of ``(x - mean) @ rotation``."""
        return pack_signs((x - self.mean) @ self.rotation, self.nbits)

    def _empty(self):
        if self.config.binary_search == "hnsw":
            index = faiss.IndexBinaryHNSW(self.nbits, self.config.hnsw_m)
            index.hnsw.efConstruction = self.config.hnsw_ef_construction
            return index
        return faiss.IndexBinaryFlat(self.nbits)

    def build(self, work: np.ndarray) -> None:
        if self.config.binary_codes != "sign":
            self.mean, axes = fit_rotation(work)
            self.rotation = axes @ random_rotation(self.dim)
        self.index = self._empty()
        self.add(work)
        self.fitted_rows = len(work)

    def add(self, rows: np.ndarray) -> None:
        for start in range(0, len(rows), 65_536):   # bounded temporary memory
            self.index.add(self.codes(rows[start:start + 65_536]))

    def search(self, queries: np.ndarray, fetch: int, work: np.ndarray, rows=None):
        wanted = min(self.index.ntotal, max(fetch, self.config.rerank * fetch))
        if self.config.binary_search == "hnsw":
            self.index.hnsw.efSearch = max(self.config.hnsw_ef_search, wanted)
        _, rows = self.index.search(self.codes(queries), wanted)
        return rerank(queries, rows, work, fetch)

    def needs_rebuild(self, rows: int) -> bool:
        # the rotation was fitted on under half the data (sign bits fit nothing)
        return self.config.binary_codes != "sign" and rows > 2 * self.fitted_rows

    def state(self) -> dict[str, np.ndarray]:
        return {"binary_mean": self.mean, "binary_rotation": self.rotation,
                "fitted_rows": np.array(self.fitted_rows)}

    def restore(self, index, state: dict[str, np.ndarray]) -> None:
        self.index = index
        self.mean, self.rotation = state["binary_mean"], state["binary_rotation"]
        self.fitted_rows = int(state["fitted_rows"])

"""Multidimensional DPP re-ranking: fast greedy MAP over relevance x (visual + range) similarity.

Kernel (``../shared/REFERENCE.md`` §3): ``L = Diag(q) . S . Diag(q)``.

* ``S`` (N x N, never built for a re-rank): ``F Fᵀ`` with unit rows, ``F`` the
  concatenation ``[sqrt(w_visual) V, sqrt(w_skin_tone) B_skin,
  sqrt(w_body_type) B_body, sqrt(w_color) B_color]``: ``V`` unit visual
  vectors, ``B_d`` one-hot range blocks.  "Unknown" is its own column holding
  ``sqrt(UNKNOWN_SIMILARITY)``, so two unknowns are a little alike (0.1 of a
  shared range) and an unknown is never like a known range.  Rows of ``F`` are
  scaled to unit norm so every ``S_ii = 1``: otherwise items with unknowns (or
  no visual vector) would have a smaller self-similarity, hence a smaller
  determinant, and the DPP would quietly push them down.  An item with no
  features at all (zero vector, every weighted dimension zero) is orthogonal
  to everything.  ``S += RIDGE * I``.  Non-negative weights keep S PSD.
* ``q_i = exp(alpha r_i)`` with ``alpha = (1 - theta) / (2 theta)``.  **Our
  theta is the diversity weight**: ``theta = 0`` is the relevance order (the
  alpha -> inf limit, returned exactly), larger theta trades relevance for
  diversity, theta -> 1 ignores relevance.  The reference (Chen et al.) writes
  ``alpha = theta' / (2 (1 - theta'))`` with ``theta'`` the *relevance*
  weight: ours is ``theta = 1 - theta'``.  alpha multiplies the raw relevance,
  so theta acts on the scale of ``r`` (scores in 0..1: theta 0.3-0.6 is a
  moderate mix).

Inference (Chen, Zhang, Zhou, NeurIPS 2018): incremental Cholesky, O(k^2 N)
time, O(k N) memory, rows ``S_j.`` computed on demand in O(N D).  Because L
only rescales S, ``d_i^2(L) = q_i^2 d_i^2(S)``: we keep ``c_i``, ``d_i^2`` of
S and pick ``argmax 2 alpha r_i + log d_i^2`` (the same choice as argmax
``d_i^2(L)``, without overflow).  Items with ``d_i^2(S) < EPS`` are redundant
(spanned by the picks, e.g. exact duplicates) and not eligible; when none is
left the page is filled in relevance order, so it is never shorter than
``min(k, N)``.  ``window``: only the last ``window`` picks constrain the next
(Chen et al. §4); the oldest pick leaves the Cholesky factor through Givens
rotations, O(window N) a step.  Tested in ``tests/test_dpp.py``.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lens.palette import COLOR_FAMILIES, COLOR_FAMILY_NAMES   # palette name -> family

EPS = 1e-10             # the reference's stop: d^2 below it = spanned by the picks
RIDGE = 1e-11           # keeps S positive definite yet below EPS: duplicates (d^2 ~ 2 RIDGE) stay redundant
UNKNOWN_SIMILARITY = 0.1  # two unknowns count as 0.1 of a shared range: weakly alike, never like a known
RANGES = (1, 2, 3, 4)   # skin tone ranges (lens.palette.MST_RANGES) and body type ranges
# From this many feature columns a row S_j. is a memory-bound pass over F: numpy's own loop beats
# OpenBLAS gemv there, which wakes its threads k times a call (2x slower on 2 shared cores)
EINSUM_MIN_DIM = 256
DIMENSIONS = ("skin_tone", "body_type", "color")
WEIGHT_KEYS = ("visual",) + DIMENSIONS


def _one_hot(values, labels: tuple, name: str, lookup: dict | None = None) -> np.ndarray:
    """(N, len(labels) + 1) block: 1 in the label's column, sqrt(UNKNOWN_SIMILARITY) in the last for None."""
    column = {label: i for i, label in enumerate(labels)}
    column[None] = len(labels)
    if lookup:
        column |= {key: column[value] for key, value in lookup.items()}
    cols = [column.get(v, -1) if v is None or isinstance(v, (str, int, float, np.number)) else -1 for v in values]
    if -1 in cols:
        i = cols.index(-1)
        raise ValueError(f"{name}[{i}] = {values[i]!r}: expected one of {labels} or None")
    block = np.zeros((len(cols), len(labels) + 1))
    block[np.arange(len(cols)), cols] = 1.0
    block[:, -1] *= np.sqrt(UNKNOWN_SIMILARITY)
    return block


@dataclass(frozen=True)
class DiversityFeatures:
    """What the DPP compares: ``visual`` (N, D) unit or all-zero rows (no vector); ``blocks``
    maps each of DIMENSIONS to its (N, R + 1) one-hot block (last column: unknown)."""

    visual: np.ndarray
    blocks: dict

    def __post_init__(self):
        n = self.visual.shape[0] if self.visual.ndim == 2 else -1
        if n < 0 or set(self.blocks) != set(DIMENSIONS) or any(b.shape[0] != n for b in self.blocks.values()):
            raise ValueError(f"features: visual must be (N, D) and blocks {DIMENSIONS} (N, R+1)")
        if not np.isfinite(self.visual).all():
            raise ValueError(f"features: visual vectors hold NaN/inf (rows "
                             f"{np.flatnonzero(~np.isfinite(self.visual).all(axis=1))[:5].tolist()})")

    def __len__(self) -> int:
        return self.visual.shape[0]

    @classmethod
    def from_items(cls, vectors, skin_ranges, body_ranges, colour_families) -> DiversityFeatures:
        """``vectors`` (N, D) finite (re-normalised to unit; all-zero rows = no vector);
        ``skin_ranges``/``body_ranges``: N values in 1..4 or None (unknown);
        ``colour_families``: N family names (COLOR_FAMILY_NAMES), palette names
        (mapped with COLOR_FAMILIES) or None."""
        visual = np.array(vectors, dtype=np.float64, ndmin=2)
        if visual.size == 0 and len(skin_ranges) == 0:
            visual = np.zeros((0, visual.shape[-1]))
        if not np.isfinite(visual).all():
            raise ValueError("features: visual vectors hold NaN/inf")
        norms = np.linalg.norm(visual, axis=1, keepdims=True)
        visual = np.divide(visual, norms, out=np.zeros_like(visual), where=norms > 0)
        n = len(visual)
        if not len(skin_ranges) == len(body_ranges) == len(colour_families) == n:
            raise ValueError(f"features: {n} vectors but {len(skin_ranges)}/{len(body_ranges)}/"
                             f"{len(colour_families)} skin/body/colour values")
        blocks = {"skin_tone": _one_hot(skin_ranges, RANGES, "skin_ranges"),
                  "body_type": _one_hot(body_ranges, RANGES, "body_ranges"),
                  "color": _one_hot(colour_families, COLOR_FAMILY_NAMES, "colour_families", COLOR_FAMILIES)}
        return cls(visual, blocks)

    def matrix(self, weights: dict) -> np.ndarray:
        """(N, D') weighted features with unit (or zero) rows: ``S = F Fᵀ`` off the diagonal.
        Zero-weight dimensions are left out (they add nothing, and fewer columns are faster)."""
        weights = check_weights(weights)
        parts = [(x, w) for x, w in [(self.visual, weights["visual"])]
                 + [(self.blocks[d], weights[d]) for d in DIMENSIONS] if w > 0]
        sq = sum(w * np.einsum("ij,ij->i", x, x) for x, w in parts)
        inv = np.divide(1.0, np.sqrt(sq), out=np.zeros_like(sq), where=sq > 0)
        f, col = np.empty((len(self), sum(x.shape[1] for x, _ in parts))), 0
        for x, w in parts:
            np.multiply(x, (np.sqrt(w) * inv)[:, None], out=f[:, col:col + x.shape[1]])
            col += x.shape[1]
        return f


def check_weights(weights: dict) -> dict:
    """Weights for WEIGHT_KEYS (missing = 0), finite and >= 0 (else S is not PSD), one > 0."""
    unknown = set(weights) - set(WEIGHT_KEYS)
    if unknown:
        raise ValueError(f"weights: unknown dimensions {sorted(unknown)}; expected {WEIGHT_KEYS}")
    out = {key: float(weights.get(key, 0.0)) for key in WEIGHT_KEYS}
    bad = {key: w for key, w in out.items() if not (np.isfinite(w) and w >= 0)}
    if bad:
        raise ValueError(f"weights {bad}: must be finite and >= 0 (a negative weight makes the kernel not PSD)")
    if not any(out.values()):
        raise ValueError("weights: all zero, nothing to diversify on")
    return out


def _alpha(theta: float) -> float:
    """alpha = (1 - theta) / (2 theta); inf at theta = 0 (relevance order)."""
    if not (np.isfinite(theta) and 0.0 <= theta < 1.0):
        raise ValueError(f"theta {theta!r}: expected 0 <= theta < 1 (0 = relevance order)")
    return np.inf if theta == 0 else (1.0 - theta) / (2.0 * theta)


def _check_relevance(relevance, n: int) -> np.ndarray:
    r = np.asarray(relevance, dtype=np.float64)
    if r.shape != (n,):
        raise ValueError(f"relevance: shape {r.shape}, expected ({n},) like the features")
    if not np.isfinite(r).all():
        raise ValueError(f"relevance scores hold NaN/inf (at {np.flatnonzero(~np.isfinite(r))[:5].tolist()})")
    return r


def similarity_matrix(features: DiversityFeatures, weights: dict, ridge: float = RIDGE) -> np.ndarray:
    """The (N, N) similarity S (unit diagonal + ridge), for tests and small N."""
    f = features.matrix(weights)
    s = f @ f.T
    np.fill_diagonal(s, 1.0 + ridge)
    return s


def kernel_matrix(relevance, features: DiversityFeatures, theta: float, weights: dict,
                  ridge: float = RIDGE) -> np.ndarray:
    """The (N, N) kernel L = Diag(q) S Diag(q), q = exp(alpha (r - max r)) (the shift only
    rescales L), for tests and small N.  theta in (0, 1): theta = 0 has no finite kernel."""
    alpha = _alpha(theta)
    if not np.isfinite(alpha):
        raise ValueError("theta 0 is the relevance-order limit: no finite kernel")
    r = _check_relevance(relevance, len(features))
    q = np.exp(alpha * (r - r.max())) if len(r) else r
    return q[:, None] * similarity_matrix(features, weights, ridge) * q[None, :]


def _drop_oldest(chol: np.ndarray, c: np.ndarray, d2: np.ndarray, m: int) -> None:
    """Remove window item 0 from the Cholesky factor ``chol[:m, :m]`` of S_W (rows = items in
    pick order) and the coordinates ``c[:m]`` ((m, N), one row per coordinate): Givens rotations
    re-triangularise ``chol[1:m]``; the freed last coordinate goes back into ``d2``.  In place."""
    v = chol[1:m, :m]
    for r in range(m - 1):
        a, b = v[r, r], v[r, r + 1]
        h = np.hypot(a, b)
        cos, sin = a / h, b / h
        v[r:, r], v[r:, r + 1] = cos * v[r:, r] + sin * v[r:, r + 1], cos * v[r:, r + 1] - sin * v[r:, r]
        c[r], c[r + 1] = cos * c[r] + sin * c[r + 1], cos * c[r + 1] - sin * c[r]
    d2 += c[m - 1] ** 2
    chol[:m - 1, :m - 1] = v[:, :m - 1]
    chol[m - 1, :] = 0.0


def _next_pick(d2: np.ndarray, gain: np.ndarray, q2: np.ndarray | None, score: np.ndarray,
               eps: float) -> int:
    """argmax of ``gain + log d2`` over items with ``d2 >= eps``, or -1.  With ``q2 = exp(gain)``
    (no underflow, d2 non-increasing) the same argmax of ``q2 d2`` in 2 passes: an item found
    redundant there is dropped for good (``d2 = -inf``)."""
    if q2 is None:
        score.fill(-np.inf)
        np.log(d2, out=score, where=d2 >= eps)
        score += gain
        j = int(np.argmax(score))
        return -1 if score[j] == -np.inf else j
    while True:
        np.multiply(d2, q2, out=score)
        j = int(np.argmax(score))
        if score[j] == -np.inf:
            return -1
        if d2[j] >= eps:
            return j
        d2[j] = -np.inf


def greedy_map(row: Callable[[int], np.ndarray], diag: np.ndarray, k: int,
               log_quality: np.ndarray | None = None, window: int | None = None,
               eps: float = EPS) -> list[int]:
    """Greedy MAP of the DPP with kernel ``Diag(q) K Diag(q)``: ``row(j)`` -> K_j. (N,), ``diag`` =
    K_ii (N,), ``log_quality`` = 2 log q (N,; None = 0, i.e. the kernel K itself).  Each step
    picks argmax ``log_quality_i + log d_i^2`` among items with ``d_i^2 >= eps``; returns at most
    k indices in pick order (fewer when every item left is redundant)."""
    n = len(diag)
    if n == 0:
        return []
    gain = np.zeros(n) if log_quality is None else log_quality - log_quality.max()
    # exp(gain) >= exp(-600) ~ 1e-261 keeps q2 * d2 > 0 for every eligible item (d2 >= eps)
    linear = window is None and gain.min() >= -600.0
    q2 = np.exp(gain) if linear else None
    span = k if window is None else min(k, window + 1)
    c, d2, score = np.zeros((span, n)), np.array(diag, dtype=np.float64), np.empty(n)
    chol = np.zeros((span, span)) if window is not None else None
    picks, m = [], 0
    while len(picks) < k:
        j = _next_pick(d2, gain, q2, score, eps)
        if j < 0:
            break
        dj = math.sqrt(d2[j])
        if chol is not None:
            chol[m, :m], chol[m, m] = c[:m, j], dj
        np.subtract(row(j), c[:m, j] @ c[:m], out=c[m])
        c[m] *= 1.0 / dj
        d2 -= np.square(c[m], out=score)        # score is rewritten by the next pick
        d2[j] = -np.inf
        picks.append(j)
        m += 1
        if window is not None and m > window:
            _drop_oldest(chol, c, d2, m)
            m -= 1
    return picks


def relevance_order(relevance: np.ndarray) -> np.ndarray:
    """Indices by descending relevance, ties by index (stable)."""
    return np.argsort(-relevance, kind="stable")


def dpp_rerank(relevance, features: DiversityFeatures, k: int, theta: float, weights: dict,
               window: int | None = None) -> list[int]:
    """Re-rank N candidates to a page of ``min(k, N)`` indices, in pick order.

    ``relevance`` (N,) finite, any scale (alpha multiplies it); ``theta`` in [0, 1): 0 = relevance
    order, larger = more diversity; ``weights``: WEIGHT_KEYS -> finite >= 0 (missing = 0);
    ``window``: None = the whole page, else >= 1 (only the last ``window`` picks constrain).
    Raises ValueError on NaN/inf, negative weights, k <= 0, bad theta/window."""
    if not isinstance(k, (int, np.integer)) or k <= 0:
        raise ValueError(f"k {k!r}: expected an integer >= 1")
    if window is not None and (not isinstance(window, (int, np.integer)) or window < 1):
        raise ValueError(f"window {window!r}: expected None or an integer >= 1")
    alpha, n = _alpha(theta), len(features)
    r = _check_relevance(relevance, n)
    f = features.matrix(weights)            # validates the weights even when theta = 0
    if n == 0:
        return []
    k = min(int(k), n)
    order = relevance_order(r)
    if not np.isfinite(alpha):
        return order[:k].tolist()

    big = f.shape[1] >= EINSUM_MIN_DIM

    def row(j: int) -> np.ndarray:
        s = np.einsum("ij,j->i", f, f[j]) if big else f @ f[j]
        s[j] = 1.0 + RIDGE
        return s

    with np.errstate(over="ignore"):        # a huge alpha sends low relevance to -inf: never picked
        log_quality = (r - r.max()) * alpha * 2.0   # this order: never inf * 0
    picks = greedy_map(row, np.full(n, 1.0 + RIDGE), k, log_quality, window)
    if len(picks) < k:                      # every item left is redundant: fill by relevance
        taken = set(picks)
        picks += [int(i) for i in order if int(i) not in taken][:k - len(picks)]
    return picks

"""A catalog's text index: BM25 + MiniLM over item documents, kept on disk (issue 5).

Documents, tokenizer, BM25 and the encoder live in :mod:`lens.text`.

* Hybrid (:meth:`TextIndex.search`): candidates are the BM25 matches plus the
  top semantic hits; BM25 is divided by the best BM25 score (0 keeps meaning
  "no word matched"), the cosine is min-max scaled over the candidates (MiniLM
  cosines have no natural zero); score = alpha * BM25 + (1 - alpha) * cosine
  (``text.alpha``; with ``text.model: none`` BM25 alone).
* On disk: ``<catalog>/index/text.json`` (pointer: generation, settings) plus
  ``text.<gen>.docs.json`` and ``text.<gen>.vectors.npy``, each written with
  :func:`lens.index.atomic_write_bytes` before the pointer moves, so a crash
  leaves the old or the new index.  :meth:`TextIndex.open` rebuilds a missing,
  unreadable or differently built index from the store, and syncs it with
  the store (items it lacks are added, items the store lacks removed).

Tested in ``tests/test_text.py``.
"""
from __future__ import annotations

import io
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lens.config import IndexConfig, TextConfig
from lens.files import atomic_write_bytes
from lens.index import VectorIndex
from lens.text.bm25 import BM25
from lens.text.minilm import MiniLM, check_runtime
from lens.text.terms import (ENCODERS, PAIR_WEIGHT, PAIR_WINDOW, TITLE_WEIGHT, document_terms, document_text,
                             text_terms)

log = logging.getLogger(__name__)
_CACHE_LOCK = threading.Lock()
QUERY_CACHE = 32          # recent query texts whose MiniLM vector is kept
SEMANTIC_POOL = 100         # semantic candidates per query (at least 4 k): cheap, and deep enough
# BM25 candidates kept per query: a common word can match 10k+ documents of a
# 100k catalog, and every kept one costs a cosine; past the best 1,000 by BM25
# (and outside the semantic top 100) a document cannot reach a page of results.
BM25_POOL = 1000
# The MiniLM vectors' index: exact while a scan reads <= 32 MB (~3 ms, ~20k
# documents), HNSW beyond, so the semantic half stays ~1 ms at 100k items.
VECTORS = IndexConfig(kind="auto", auto_flat_max_mb=32)
VERSION = 1                 # bump when documents or the tokenizer change: saved indexes rebuild
NAME = "text"

@dataclass
class TextHit:
    item_id: str
    score: float        # the hybrid score, 0-1
    bm25: float         # raw BM25 (0: no query word in the document)
    semantic: float     # raw MiniLM cosine (0.0 when there is no semantic half)


def _union(ids: list[str], bm25: np.ndarray, semantic: list[tuple[str, float]], vectors: VectorIndex,
           query: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The BM25 candidates plus the semantic ones, with both scores per candidate: BM25 0 where
    no word matched, the cosine looked up for BM25 candidates the semantic pool missed (NaN
    for one without a vector: it has no document text to embed)."""
    position = {i: n for n, i in enumerate(ids)}
    cosine = np.full(len(ids), np.nan, np.float32)
    extra = []
    for item_id, value in semantic:
        n = position.get(item_id)
        if n is None:
            extra.append((item_id, value))
        else:
            cosine[n] = value
    missing = [n for n in np.flatnonzero(np.isnan(cosine)).tolist() if ids[n] in vectors]
    if missing:
        cosine[missing] = vectors.inner(query, [ids[n] for n in missing])
    all_ids = list(ids) + [i for i, _ in extra]
    return (all_ids, np.concatenate([bm25, np.zeros(len(extra), np.float32)]).astype(np.float32),
            np.concatenate([cosine, np.array([v for _, v in extra], np.float32)]))


def _top(score: np.ndarray, k: int) -> list[int]:
    """Positions of the ``k`` best scores and every score tied with the k-th (unordered)."""
    if len(score) <= k:
        return list(range(len(score)))
    cut = np.partition(score, len(score) - k)[len(score) - k]
    return np.flatnonzero(score >= cut).tolist()


class TextIndex:
    """BM25 + MiniLM over one catalog's item documents; see the module docstring."""

    def __init__(self, encoder: MiniLM | None = None, alpha: float = 0.5):
        self.encoder, self.alpha = encoder, float(alpha)
        self.bm25 = BM25()
        self.vectors = VectorIndex(encoder.dim, embedder=encoder.settings(), config=VECTORS) if encoder else None
        self.ids: set[str] = set()
        self._recent: dict[str, np.ndarray] = {}        # query text -> MiniLM vector (QUERY_CACHE)

    @classmethod
    def from_config(cls, config: TextConfig, cache_dir: str | Path | None = None) -> "TextIndex | None":
        """``None`` when ``text.enabled`` is false; ``ValueError`` names a bad key.  ``cache_dir``:
        where MiniLM's ONNX graph is kept (``models.root``; None: a temporary folder)."""
        if not config.enabled:
            return None
        encoder = ENCODERS[config.model]
        if not 0.0 <= config.alpha <= 1.0:
            raise ValueError(f"text.alpha {config.alpha}: must be within 0..1")
        check_runtime(config.runtime)
        return cls(encoder(runtime=config.runtime, cache_dir=cache_dir) if encoder else None, config.alpha)

    @classmethod
    def open(cls, config: TextConfig, directory: str | Path, store, rebuild: bool = False,
             cache_dir: str | Path | None = None) -> "TextIndex | None":
        """The saved index (or a new one), synced with ``store`` and saved when that changed it."""
        index = cls.from_config(config, cache_dir)
        if index is None:
            return None
        if not rebuild:
            index.load(directory)
        if index.sync(store):
            index.save(directory)
        index.bm25.warm()           # per-term arrays built once here, not by the first queries
        return index

    def settings(self) -> dict:
        return {"version": VERSION, "k1": self.bm25.k1, "b": self.bm25.b, "title_weight": TITLE_WEIGHT,
                "pairs": [PAIR_WINDOW, PAIR_WEIGHT],
                "encoder": self.encoder.settings() if self.encoder else None}

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, item_id: str) -> bool:
        return item_id in self.ids

    def add(self, items: list[dict], vectors: np.ndarray | None = None) -> None:
        """Insert or replace the documents of ``items``; MiniLM embeds them in one batch, unless
        ``vectors`` (one unit row per item, from the same encoder) come precomputed."""
        if vectors is not None and (self.vectors is None or np.shape(vectors) != (len(items), self.vectors.dim)):
            raise ValueError(f"text index add: vectors of shape {np.shape(vectors)}, expected "
                             f"({len(items)}, {self.vectors.dim if self.vectors else 0})")
        embed_ids, texts, rows = [], [], []
        for n, item in enumerate(items):
            item_id = str(item["id"])
            self.ids.add(item_id)
            self.bm25.add(item_id, document_terms(item))
            text = document_text(item)
            if self.vectors is not None and text:
                embed_ids.append(item_id)
                texts.append(text)
                rows.append(n)
            elif self.vectors is not None:
                self.vectors.remove(item_id)
        if embed_ids:
            self.vectors.add(embed_ids, self.encoder.encode(texts) if vectors is None else vectors[rows])

    def remove(self, item_id: str) -> bool:
        if item_id not in self.ids:
            return False
        self.ids.discard(item_id)
        self.bm25.remove(item_id)
        if self.vectors is not None:
            self.vectors.remove(item_id)
        return True

    def sync(self, store, batch: int = 256) -> bool:
        """Hold exactly the store's items; ``True`` when anything changed."""
        wanted = set(store.ids())
        extra, missing = self.ids - wanted, sorted(wanted - self.ids)
        for item_id in extra:
            self.remove(item_id)
        if missing:
            log.info("text index: indexing %d catalog items", len(missing))
        for start in range(0, len(missing), batch):
            self.add([i for i in store.get_many(missing[start:start + batch]) if i is not None])
        return bool(extra or missing)

    def _query_vector(self, text: str) -> np.ndarray:
        """MiniLM of a query (1, dim), remembered for the last few texts: one lens query searches
        its text once per skin tone bucket too (4 more calls of ~2.3 ms on onnxruntime)."""
        cache = self._recent
        found = cache.get(text)
        if found is None:
            found = self.encoder.encode([text])
            with _CACHE_LOCK:           # server threads share the index
                while len(cache) >= QUERY_CACHE:
                    cache.pop(next(iter(cache)))
                cache[text] = found
        return found

    def search(self, text: str, k: int, allowed: set[str] | None = None,
               terms: dict[str, float] | None = None) -> list[TextHit]:
        """Up to ``k`` hits by descending hybrid score; ``terms`` overrides the BM25 query
        (term -> weight; default: the words of ``text``).  ``allowed`` restricts the ids.

        Scored as arrays over the candidates (BM25 pool, semantic pool): only the
        ``k`` returned hits become objects, which keeps a 1,000-candidate query ~1 ms.
        """
        text = (text or "").strip()
        if k <= 0 or not text or not self.ids:
            return []
        ids, bm25 = self.bm25.score_rows(terms if terms is not None else text_terms(text), allowed,
                                         top=BM25_POOL)
        cosine = None
        if self.vectors is not None and len(self.vectors):
            query = self._query_vector(text)
            found = self.vectors.search(query, max(4 * k, SEMANTIC_POOL), allowed)[0]
            ids, bm25, cosine = _union(ids, bm25, found, self.vectors, query[0])
        if not ids:
            return []
        top = float(bm25.max()) or 1.0
        if cosine is not None:
            scored = np.isfinite(cosine)
            floor = float(cosine[scored].min()) if scored.any() else 0.0   # no vector: the lowest
            cosine = np.where(scored, cosine, floor)
            span = float(cosine.max()) - floor
            sem = (cosine - floor) / span if span > 1e-9 else np.ones_like(cosine)
            score = self.alpha * bm25 / top + (1 - self.alpha) * sem
        else:
            cosine, score = np.zeros_like(bm25), bm25 / top
        order = sorted(_top(score, k), key=lambda r: (-score[r], ids[r]))[:k]
        return [TextHit(ids[r], float(score[r]), float(bm25[r]), float(cosine[r])) for r in order]

    # ---- persistence -------------------------------------------------------
    def save(self, directory: str | Path) -> None:
        """Write a new generation, then atomically switch the pointer to it."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        pointer = directory / f"{NAME}.json"
        old = json.loads(pointer.read_text()) if pointer.exists() else {"generation": 0}
        gen = int(old.get("generation", 0)) + 1
        vec_ids = self.vectors.ids if self.vectors is not None else []
        docs = {"ids": sorted(self.ids), "terms": self.bm25.docs, "vector_ids": vec_ids}
        atomic_write_bytes(directory / f"{NAME}.{gen}.docs.json", json.dumps(docs).encode())
        buf = io.BytesIO()
        np.save(buf, np.stack([self.vectors.vector(i) for i in vec_ids]) if vec_ids
                else np.zeros((0, self.encoder.dim if self.encoder else 0), np.float32))
        atomic_write_bytes(directory / f"{NAME}.{gen}.vectors.npy", buf.getvalue())
        meta = {"generation": gen, "count": len(self.ids), "settings": self.settings()}
        atomic_write_bytes(pointer, json.dumps(meta, indent=1, sort_keys=True).encode())
        for stale in directory.glob(f"{NAME}.*.*"):
            parts = stale.name.split(".")
            if len(parts) >= 3 and parts[1].isdigit() and int(parts[1]) != gen:
                stale.unlink(missing_ok=True)

    def load(self, directory: str | Path) -> bool:
        """Read the saved index into this (empty) one; ``False`` (and a log line) when there is
        none, it is unreadable, or it was built with other settings: the store rebuilds it."""
        pointer = Path(directory) / f"{NAME}.json"
        if not pointer.exists():
            return False
        try:
            meta = json.loads(pointer.read_text())
            gen = int(meta["generation"])
            docs = json.loads((pointer.parent / f"{NAME}.{gen}.docs.json").read_text())
            vectors = np.load(pointer.parent / f"{NAME}.{gen}.vectors.npy", allow_pickle=False)
            ids, terms, vec_ids = docs["ids"], docs["terms"], docs["vector_ids"]
            if len(vec_ids) != len(vectors):
                raise ValueError(f"{len(vec_ids)} ids but {len(vectors)} vectors")
        except (OSError, KeyError, TypeError, ValueError) as exc:
            log.warning("text index %s: unreadable (%s); rebuilding it from the store", pointer, exc)
            return False
        if meta.get("settings") != self.settings():
            log.info("text index %s: built with %s, config gives %s; rebuilding it from the store",
                     pointer, meta.get("settings"), self.settings())
            return False
        self.ids = set(ids)
        for item_id, doc in terms.items():
            self.bm25.add(item_id, doc)
        if self.vectors is not None and vec_ids:
            self.vectors.add(vec_ids, vectors)
        return True

"""Vector indexes over FAISS, with crash-safe persistence.

A :class:`VectorIndex` holds unit vectors keyed by string item ids and
answers inner-product (cosine) kNN.  ``index.kind`` picks the FAISS
structure; ``flat`` (exact inner product) is right up to ~200k vectors.

On disk an index named ``visual`` is ``visual.json`` (the pointer: embedder
settings, count, generation) plus ``visual.<gen>.faiss`` and
``visual.<gen>.ids.json``.  ``save`` writes a new generation and then
atomically replaces the pointer, so a crash leaves either the old or the new
index, never a mix.  Opening an index built by a different embedder or
settings raises ``ValueError`` naming both.

Tested in ``tests/test_index.py``.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from lens.config import IndexConfig

log = logging.getLogger(__name__)


def _flat(dim: int):
    import faiss

    return faiss.IndexFlatIP(dim)


INDEX_KINDS: dict[str, Callable[[int], object]] = {"flat": _flat}


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file, fsync it, then rename over ``path``."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class VectorIndex:
    """Unit vectors keyed by item id; exact or approximate inner-product kNN."""

    def __init__(self, dim: int, kind: str = "flat", embedder: dict | None = None):
        if kind not in INDEX_KINDS:
            raise ValueError(f"index.kind '{kind}': unknown (valid: {', '.join(sorted(INDEX_KINDS))})")
        self.dim, self.kind = int(dim), kind
        self.embedder = dict(embedder or {})
        self._vectors = np.zeros((0, self.dim), np.float32)
        self._ids: list[str] = []
        self._row: dict[str, int] = {}
        self._faiss = None          # rebuilt lazily after changes

    @classmethod
    def from_config(cls, config: IndexConfig, embedder_settings: dict) -> "VectorIndex":
        return cls(embedder_settings["dim"], config.kind, embedder_settings)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, item_id: str) -> bool:
        return item_id in self._row

    @property
    def ids(self) -> list[str]:
        return list(self._ids)

    def add(self, ids: Iterable[str], vectors: np.ndarray) -> None:
        """Insert or replace vectors ``(N, dim)`` for ``ids``."""
        ids = list(ids)
        vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim) if len(ids) else \
            np.zeros((0, self.dim), np.float32)
        if len(ids) != len(vectors):
            raise ValueError(f"index add: {len(ids)} ids but {len(vectors)} vectors")
        if not np.all(np.isfinite(vectors)):
            raise ValueError("index add: vectors contain NaN or infinity")
        last = {item_id: vec for item_id, vec in zip(ids, vectors)}  # later rows win
        new_ids, new_rows = [], []
        for item_id, vec in last.items():
            if item_id in self._row:
                self._vectors[self._row[item_id]] = vec
            else:
                self._row[item_id] = len(self._ids) + len(new_ids)
                new_ids.append(item_id)
                new_rows.append(vec)
        if new_ids:
            self._ids.extend(new_ids)
            self._vectors = np.concatenate([self._vectors, np.stack(new_rows)])
        self._faiss = None

    def remove(self, item_id: str) -> bool:
        """Delete one id; ``True`` when it was present."""
        row = self._row.pop(item_id, None)
        if row is None:
            return False
        self._vectors = np.delete(self._vectors, row, axis=0)
        del self._ids[row]
        self._row = {i: r for r, i in enumerate(self._ids)}
        self._faiss = None
        return True

    def vector(self, item_id: str) -> np.ndarray:
        return self._vectors[self._row[item_id]].copy()

    def _searcher(self):
        if self._faiss is None:
            index = INDEX_KINDS[self.kind](self.dim)
            if len(self._vectors):
                index.add(self._vectors)
            self._faiss = index
        return self._faiss

    def search(self, queries: np.ndarray, k: int, allowed: set[str] | None = None
               ) -> list[list[tuple[str, float]]]:
        """For each query row, up to ``k`` ``(item_id, score)`` by descending score.

        ``allowed`` restricts results to those ids (filters); the search
        widens until it has ``k`` allowed hits or has seen every vector.
        """
        queries = np.asarray(queries, dtype=np.float32).reshape(-1, self.dim)
        if k <= 0 or not len(self._ids):
            return [[] for _ in range(len(queries))]
        fetch = min(len(self._ids), k if allowed is None else max(4 * k, 64))
        while True:
            scores, rows = self._searcher().search(queries, fetch)
            out = [[(self._ids[r], float(s)) for s, r in zip(srow, rrow)
                    if r >= 0 and (allowed is None or self._ids[r] in allowed)][:k]
                   for srow, rrow in zip(scores, rows)]
            if fetch >= len(self._ids) or all(len(o) >= k for o in out):
                return out
            fetch = min(len(self._ids), fetch * 4)

    # ---- persistence -------------------------------------------------------
    def save(self, directory: str | Path, name: str) -> None:
        """Write a new generation, then atomically switch the pointer to it."""
        import faiss

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        pointer = directory / f"{name}.json"
        old = json.loads(pointer.read_text()) if pointer.exists() else {"generation": 0}
        gen = int(old.get("generation", 0)) + 1
        flat = faiss.IndexFlatIP(self.dim)
        if len(self._vectors):
            flat.add(self._vectors)
        atomic_write_bytes(directory / f"{name}.{gen}.faiss", faiss.serialize_index(flat).tobytes())
        atomic_write_bytes(directory / f"{name}.{gen}.ids.json", json.dumps(self._ids).encode())
        meta = {"generation": gen, "kind": self.kind, "dim": self.dim,
                "count": len(self._ids), "embedder": self.embedder}
        atomic_write_bytes(pointer, json.dumps(meta, indent=1, sort_keys=True).encode())
        for stale in directory.glob(f"{name}.*.*"):
            parts = stale.name.split(".")
            if len(parts) >= 3 and parts[1].isdigit() and int(parts[1]) != gen:
                stale.unlink(missing_ok=True)

    @classmethod
    def load(cls, directory: str | Path, name: str, expect_embedder: dict | None = None
             ) -> "VectorIndex | None":
        """The saved index, or ``None`` when none was saved yet.

        Raises ``ValueError`` when ``expect_embedder`` differs from the one
        recorded, or the files are unreadable.
        """
        import faiss

        pointer = Path(directory) / f"{name}.json"
        if not pointer.exists():
            return None
        try:
            meta = json.loads(pointer.read_text())
            gen = meta["generation"]
            raw = np.fromfile(Path(directory) / f"{name}.{gen}.faiss", dtype=np.uint8)
            flat = faiss.deserialize_index(raw)
            ids = json.loads((Path(directory) / f"{name}.{gen}.ids.json").read_text())
        except (OSError, KeyError, ValueError, RuntimeError) as exc:
            raise ValueError(f"index {pointer}: unreadable ({exc})") from None
        if expect_embedder is not None and meta.get("embedder") != expect_embedder:
            raise ValueError(f"index {pointer}: built by embedder {meta.get('embedder')}, "
                             f"but the config gives {expect_embedder}; rebuild with `lens index --rebuild`")
        index = cls(meta["dim"], meta.get("kind", "flat"), meta.get("embedder"))
        index._vectors = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * flat.d).reshape(
            flat.ntotal, flat.d).copy() if flat.ntotal else np.zeros((0, meta["dim"]), np.float32)
        index._ids = list(ids)
        index._row = {i: r for r, i in enumerate(index._ids)}
        if len(index._ids) != len(index._vectors):
            raise ValueError(f"index {pointer}: {len(index._ids)} ids but {len(index._vectors)} vectors")
        return index

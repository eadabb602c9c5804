"""Saving and loading a :class:`~lens.index.VectorIndex`: generations + an atomic pointer.

An index named ``visual`` is ``visual.json`` (the pointer: generation,
embedder, kind, pca_dim and the other ``index`` settings, counts) plus the
generation's files:

* ``visual.<gen>.faiss``: the built FAISS structure (graph, lists, codes), so
  loading never rebuilds it;
* ``visual.<gen>.ids.json``: row -> id, ``null`` for tombstones;
* ``visual.<gen>.vectors.npy``: the float vectors (re-ranking, rebuilds);
* ``visual.<gen>.model.npz``: PCA / binary rotation / training state, when any;
* ``visual.<gen>.work.npy``: the PCA-projected vectors, when ``pca_dim`` is on.

``save`` writes every file of a new generation, then atomically replaces the
pointer, then deletes other generations: a crash leaves the old or the new
index, never a mix.  With ``index.mmap`` the FAISS file is opened with
``IO_FLAG_MMAP_IFC`` (every kind: flat, hnsw, ivfpq, binary flat and hnsw)
and the ``.npy`` files as read-only numpy memmaps; the first change after that
copies what it touches into memory.  A flat index saved before these files
existed (``.faiss`` + ``.ids.json`` only) still loads, and a ``flat`` index opens
under ``kind: auto`` (it is what auto starts as).

Tested in ``tests/test_index.py``.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import faiss
import numpy as np

from lens.config import IndexConfig
from lens.files import atomic_write, atomic_write_bytes


def save_index(index, directory, name: str) -> None:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    pointer = directory / f"{name}.json"
    old = json.loads(pointer.read_text()) if pointer.exists() else {"generation": 0}
    gen = int(old.get("generation", 0)) + 1
    stem, kind = directory / f"{name}.{gen}", index._kind
    write = faiss.write_index_binary if kind.binary else faiss.write_index
    atomic_write(Path(f"{stem}.faiss"), lambda fh: write(kind.index, faiss.PyCallbackIOWriter(fh.write)))
    atomic_write_bytes(Path(f"{stem}.ids.json"), json.dumps(index._ids).encode())
    atomic_write(Path(f"{stem}.vectors.npy"), lambda fh: np.save(fh, index._buf[:index._n]))
    model = dict(kind.state())
    if index._pca is not None:
        model |= {"pca_mean": index._pca[0], "pca_components": index._pca[1],
                  "pca_rows": np.array(index._pca_rows)}
        atomic_write(Path(f"{stem}.work.npy"), lambda fh: np.save(fh, index._working()))
    if model:
        atomic_write(Path(f"{stem}.model.npz"), lambda fh: np.savez(fh, **model))
    meta = {"generation": gen, **index.settings(), "dim": index.dim, "count": len(index),
            "rows": index._n, "embedder": index.embedder, "index": dataclasses.asdict(index.config)}
    atomic_write_bytes(pointer, json.dumps(meta, indent=1, sort_keys=True).encode())
    for stale in directory.glob(f"{name}.*.*"):
        parts = stale.name.split(".")
        if len(parts) >= 3 and parts[1].isdigit() and int(parts[1]) != gen:
            stale.unlink(missing_ok=True)


def _check_settings(pointer: Path, meta: dict, expect_embedder, expect_config) -> None:
    if expect_embedder is not None and meta.get("embedder") != expect_embedder:
        raise ValueError(f"index {pointer}: built by embedder {meta.get('embedder')}, "
                         f"but the config gives {expect_embedder}; rebuild with `lens index --rebuild`")
    if expect_config is not None:
        built = {"kind": meta.get("kind", "flat"), "pca_dim": meta.get("pca_dim", 0)}
        wanted = {"kind": expect_config.kind, "pca_dim": expect_config.pca_dim}
        if built["kind"] == "flat" and wanted["kind"] == "auto":
            built["kind"] = "auto"          # a flat index is what auto starts as: adopted, not refused
        if built != wanted:
            raise ValueError(f"index {pointer}: built with index settings {built}, but the config "
                             f"gives {wanted}; rebuild with `lens index --rebuild`")


def _read(directory: Path, name: str, meta: dict, mmap: bool):
    """``(structure, ids, vectors, model arrays, work vectors or None)`` of the pointer's generation."""
    stem = directory / f"{name}.{meta['generation']}"
    flags = faiss.IO_FLAG_MMAP_IFC if mmap else 0
    read = faiss.read_index_binary if meta.get("kind") == "binary" else faiss.read_index
    structure = read(str(Path(f"{stem}.faiss")), flags)
    ids = json.loads(Path(f"{stem}.ids.json").read_text())
    mode = "r" if mmap else None
    if Path(f"{stem}.vectors.npy").is_file():
        vectors = np.load(Path(f"{stem}.vectors.npy"), mmap_mode=mode)
    else:       # the first format: a flat index holding the vectors
        vectors = faiss.rev_swig_ptr(structure.get_xb(), structure.ntotal * structure.d).reshape(
            structure.ntotal, structure.d).copy() if structure.ntotal else np.zeros((0, meta["dim"]), np.float32)
    model = dict(np.load(Path(f"{stem}.model.npz"))) if Path(f"{stem}.model.npz").is_file() else {}
    work = np.load(Path(f"{stem}.work.npy"), mmap_mode=mode) if "pca_mean" in model else None
    return structure, ids, vectors, model, work


def stored_embedder(directory, name: str) -> dict | None:
    """The embedder settings a saved index was built by; ``None`` when there is no readable one."""
    pointer = Path(directory) / f"{name}.json"
    try:
        return json.loads(pointer.read_text()).get("embedder")
    except (OSError, ValueError, AttributeError):
        return None


def load_index(cls, directory, name: str, expect_embedder=None, expect_config: IndexConfig | None = None):
    pointer = Path(directory) / f"{name}.json"
    if not pointer.exists():
        return None
    try:
        meta = json.loads(pointer.read_text())
        _check_settings(pointer, meta, expect_embedder, expect_config)
        known = {f.name for f in dataclasses.fields(IndexConfig)}
        stored = {k: v for k, v in meta.get("index", {}).items() if k in known}
        config = expect_config or IndexConfig(**{**stored, "kind": meta.get("kind", "flat")})
        structure, ids, vectors, model, work = _read(Path(directory), name, meta, config.mmap)
    except ValueError as exc:
        if str(exc).startswith(f"index {pointer}"):
            raise
        raise ValueError(f"index {pointer}: unreadable ({exc})") from None
    except (OSError, KeyError, TypeError, RuntimeError) as exc:
        raise ValueError(f"index {pointer}: unreadable ({exc})") from None
    if not len(ids) == len(vectors) == structure.ntotal:
        raise ValueError(f"index {pointer}: {len(ids)} ids, {len(vectors)} vectors, "
                         f"{structure.ntotal} in the FAISS structure")
    index = cls(meta["dim"], embedder=meta.get("embedder"), config=config)
    index._restore(structure, ids, vectors, model, work, mapped=config.mmap)
    return index

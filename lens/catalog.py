"""A catalog on disk: the item store plus the vector indexes, kept in step.

Layout of ``catalog.path``: ``store.sqlite`` (or a Redis namespace),
``index/visual.json`` + generation files (see :mod:`lens.index`).  Writes go
index first, store second: an item is *acknowledged* once it is in the store,
and a crash between the two leaves only an unreferenced vector, which the
next run overwrites.

Tested in ``tests/test_catalog.py``.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from lens.config import LensConfig
from lens.index import VectorIndex
from lens.store import Store, make_store

log = logging.getLogger(__name__)
VISUAL = "visual"


class Catalog:
    """Store + indexes of one catalog folder."""

    def __init__(self, directory: str | Path, store: Store, indexes: dict[str, VectorIndex]):
        self.directory = Path(directory)
        self.store = store
        self.indexes = indexes

    @classmethod
    def open(cls, config: LensConfig, embedder_settings: dict, directory: str | Path | None = None,
             rebuild: bool = False) -> "Catalog":
        """Open (or create) the catalog; ``rebuild`` starts from empty."""
        directory = Path(directory or config.catalog.path)
        directory.mkdir(parents=True, exist_ok=True)
        store = make_store(config.store, directory)
        if rebuild:
            for item_id in store.ids():
                store.delete(item_id)
        index = None if rebuild else VectorIndex.load(directory / "index", VISUAL, embedder_settings)
        if index is None:
            index = VectorIndex.from_config(config.index, embedder_settings)
        return cls(directory, store, {VISUAL: index})

    @property
    def visual(self) -> VectorIndex:
        return self.indexes[VISUAL]

    def __len__(self) -> int:
        return len(self.store)

    def has(self, item_id: str) -> bool:
        return item_id in self.visual and item_id in self.store

    def add(self, items: list[dict], vectors: np.ndarray) -> None:
        """Index ``vectors`` (one row per item), persist, then acknowledge in the store."""
        if not items:
            return
        self.visual.add([i["id"] for i in items], vectors)
        self.save()
        self.store.put_many(items)

    def delete(self, item_id: str) -> bool:
        """Remove an item from the store and every index."""
        found = self.store.delete(item_id)
        removed = [ix.remove(item_id) for ix in self.indexes.values()]
        if any(removed):
            self.save()
        return found or any(removed)

    def save(self) -> None:
        for name, index in self.indexes.items():
            index.save(self.directory / "index", name)

    def items(self, ids: list[str]) -> list[dict | None]:
        return self.store.get_many(ids)

"""A catalog on disk: the item store plus the vector indexes, kept in step.

Layout of ``catalog.path``: ``store.sqlite`` (or a Redis namespace),
``index/visual.json`` and ``index/objects.json`` + generation files (see
:mod:`lens.index`).  ``visual`` holds one vector per item (the whole image);
``objects`` one per object crop of an item, keyed ``<item id>#<n>``
(:func:`crop_id`), the crop's box and label kept in the item's ``crops``
list in the store, so an object match leads back to its scene.  Writes go
index first, store second: an item is *acknowledged* once it is in the store,
and a crash between the two leaves only unreferenced vectors, which the next
run overwrites.

Tested in ``tests/test_catalog.py``.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from lens.catalog.store import Store, make_store
from lens.config import LensConfig
from lens.index import VectorIndex
from lens.index.files import stored_embedder
from lens.manifest import CROP_SEP
from lens.text.index import TextIndex

log = logging.getLogger(__name__)
VISUAL, OBJECTS = "visual", "objects"
class Catalog:
    """Store + indexes of one catalog folder."""

    def __init__(self, directory: str | Path, store: Store, indexes: dict[str, VectorIndex],
                 text: TextIndex | None = None):
        self.directory = Path(directory)
        self.store = store
        self.indexes = indexes
        self.text = text        # BM25 + MiniLM over titles, descriptions, annotations (None: text.enabled off)
        self.version = 0        # bumped on every change: caches over the store (filters) rebuild

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
        indexes = {}
        for name in (VISUAL, OBJECTS):
            index = None if rebuild else VectorIndex.load(directory / "index", name, embedder_settings,
                                                          config.index)
            indexes[name] = index or VectorIndex.from_config(config.index, embedder_settings)
        text = TextIndex.open(config.text, directory / "index", store, rebuild, config.models.root)
        return cls(directory, store, indexes, text)

    @staticmethod
    def indexed_with(directory: str | Path) -> dict | None:
        """The embedder settings the catalog in ``directory`` was indexed by (``None``: none yet)."""
        return stored_embedder(Path(directory) / "index", VISUAL)

    @property
    def visual(self) -> VectorIndex:
        return self.indexes[VISUAL]

    @property
    def objects(self) -> VectorIndex:
        return self.indexes[OBJECTS]

    def __len__(self) -> int:
        return len(self.store)

    def has(self, item_id: str) -> bool:
        return item_id in self.visual and item_id in self.store

    def add(self, items: list[dict], vectors: np.ndarray, crop_ids: list[str] | None = None,
            crop_vectors: np.ndarray | None = None) -> None:
        """Index ``vectors`` (one row per item) and the crops' vectors (ids from
        :func:`crop_id`), persist, then acknowledge the items in the store."""
        if not items:
            return
        bad = [i["id"] for i in items if CROP_SEP in str(i["id"])]
        if bad:
            raise ValueError(f"item id '{bad[0]}': must not contain '{CROP_SEP}' (it separates crop ids)")
        for item in items:      # a re-indexed item may have fewer crops than before
            self._remove_crops(item["id"])
        self.visual.add([i["id"] for i in items], vectors)
        if crop_ids:
            self.objects.add(crop_ids, crop_vectors)
        if self.text is not None:     # MiniLM embeds the batch's documents at once
            self.text.add(items)
        self.save()
        self.store.put_many(items)
        self.version += 1

    def _remove_crops(self, item_id: str) -> bool:
        old = self.store.get(item_id) or {}
        return any([self.objects.remove(c["id"]) for c in old.get("crops", []) if "id" in c])

    def delete(self, item_id: str) -> bool:
        """Remove an item and its crops from the store and every index."""
        crops = self._remove_crops(item_id)
        found = self.store.delete(item_id)
        removed = self.visual.remove(item_id) or crops
        if self.text is not None and self.text.remove(item_id):
            removed = True
        if removed:
            self.save()
        self.version += 1
        return found or removed

    def save(self) -> None:
        for name, index in self.indexes.items():
            index.save(self.directory / "index", name)
        if self.text is not None:
            self.text.save(self.directory / "index")

    def items(self, ids: list[str]) -> list[dict | None]:
        return self.store.get_many(ids)

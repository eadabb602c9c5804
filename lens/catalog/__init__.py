"""A catalog: the item store and the indexes of one catalog folder, kept in step.

Modules: :mod:`~lens.catalog.store` (item metadata: SQLite or Redis) and
:mod:`~lens.catalog.catalog` (:class:`Catalog`: the store, the ``visual`` and
``objects`` vector indexes and the text index, written index first, store
second, so an acknowledged item survives a crash).  See ``lens/catalog/README.md``.
"""
from __future__ import annotations

from lens.catalog.catalog import Catalog
from lens.manifest import CROP_SEP, crop_id, parent_id

__all__ = ["CROP_SEP", "Catalog", "crop_id", "parent_id"]

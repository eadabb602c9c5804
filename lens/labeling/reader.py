"""The labelling job's reader: images to label, in fixed-size shards with stable ids.

* :func:`catalog_items`: the indexed, non-product items of a catalog (scenes:
  a product photo is already one labelled object) with their stored image
  paths and hashes;
* :func:`source_items`: a manifest or image folder (:func:`lens.pipeline.indexing.read_items`),
  products left out the same way;
* :func:`make_shards`: items sorted by id, cut into ``size``-item shards; a
  shard's id is its number plus a hash of its item ids, so a finished shard
  is recognised on a re-run and a shard whose items changed is redone.

Tested in ``tests/test_labeling.py``.
"""
from __future__ import annotations

from lens.manifest import read_items

# What the mapper needs (crops: --from-index; title, description: the text prior).
ITEM_FIELDS = ("id", "image", "kind", "image_hash", "crops", "title", "description")


def _slim(item: dict) -> dict:
    return {k: item[k] for k in ITEM_FIELDS if k in item}


def catalog_items(catalog, include_products: bool = False) -> list[dict]:
    """Indexed items of ``catalog`` (a :class:`lens.catalog.Catalog`) with an image on disk."""
    ids = sorted(catalog.store.ids())
    out = []
    for start in range(0, len(ids), 512):
        for record in catalog.items(ids[start:start + 512]):
            if record and record.get("image") and (include_products or record.get("kind") != "product"):
                out.append(_slim(record))
    return out


def source_items(path, include_products: bool = False) -> list[dict]:
    """Items of a manifest or image folder; ``ValueError`` from :func:`read_items` names the problem."""
    return [_slim(i) for i in read_items(path) if include_products or i.get("kind") != "product"]



"""Shards: a batch job's unit of work and of resumption.

:func:`make_shards` sorts items by id and cuts them into shards of ``size``
with stable ids (``shard-00003-<8 hex of the ids>``), so a re-run finds the
shards an earlier run finished; :class:`Shard` keeps each item's global
position (``first_index``: stable COCO image ids).

Tested in ``tests/test_labeling.py``.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Shard:
    id: str
    items: list[dict] = field(hash=False)
    first_index: int = 0            # global position of items[0]: stable COCO image ids


def make_shards(items: list[dict], size: int) -> list[Shard]:
    """``items`` sorted by id in shards of ``size``; ids ``shard-00003-<8 hex>``."""
    if size < 1:
        raise ValueError(f"labeling.shard_size: expected >= 1, got {size}")
    items = sorted(items, key=lambda i: i["id"])
    shards = []
    for number, start in enumerate(range(0, len(items), size)):
        part = items[start:start + size]
        digest = hashlib.sha1("\n".join(i["id"] for i in part).encode()).hexdigest()[:8]
        shards.append(Shard(f"shard-{number:05d}-{digest}", part, start))
    return shards

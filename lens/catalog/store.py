"""Item metadata storage behind one interface.

A store maps an item id (string) to a JSON-serialisable dict (title, image
path, category, colours, ...) and keeps a few catalog-level metadata values.
Backends, picked by ``store.backend`` in the config:

* ``sqlite`` (default): embedded, one file, needs no server.  Each ``put``
  is one transaction, so what it acknowledged survives a crash.
* ``redis``: items in one Redis hash per namespace, for several serving
  processes sharing a catalog.  Vectors never go to Redis (FAISS holds them).

Tested in ``tests/test_store.py`` against both backends (a real redis-server).
"""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Callable, Iterable, Iterator

from lens.config import StoreConfig
from lens.registry import Registry

log = logging.getLogger(__name__)


class Store(ABC):
    """Item id -> metadata dict, plus catalog metadata (``meta``)."""

    @abstractmethod
    def put_many(self, items: Iterable[dict]) -> int:
        """Insert or replace items (each needs a string ``id``); atomic per call."""

    @abstractmethod
    def get_many(self, ids: Iterable[str]) -> list[dict | None]:
        """Items in the order of ``ids``; ``None`` where an id is unknown."""

    @abstractmethod
    def delete(self, item_id: str) -> bool:
        """Remove an item; ``True`` when it existed."""

    @abstractmethod
    def ids(self) -> list[str]:
        """Every stored id, sorted."""

    @abstractmethod
    def set_meta(self, key: str, value) -> None:
        """Store a JSON-serialisable catalog-level value."""

    @abstractmethod
    def get_meta(self, key: str, default=None):
        """A catalog-level value, or ``default``."""

    def close(self) -> None:
        """Release connections."""

    def put(self, item: dict) -> None:
        self.put_many([item])

    def get(self, item_id: str) -> dict | None:
        return self.get_many([item_id])[0]

    def __len__(self) -> int:
        return len(self.ids())

    def __contains__(self, item_id: str) -> bool:
        return self.get(item_id) is not None

    def __iter__(self) -> Iterator[dict]:
        ids = self.ids()
        for start in range(0, len(ids), 500):
            yield from (i for i in self.get_many(ids[start:start + 500]) if i is not None)


def _encode(items: Iterable[dict]) -> list[tuple[str, str]]:
    rows = []
    for item in items:
        item_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(item_id, str) or not item_id:
            raise ValueError(f"store item {str(item)[:80]!r}: needs a non-empty string 'id'")
        try:
            rows.append((item_id, json.dumps(item, sort_keys=True)))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"store item '{item_id}': not JSON-serialisable ({exc})") from None
    return rows


class SQLiteStore(Store):
    """One SQLite file in WAL mode; safe for one writer and many readers."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # acknowledged means on disk
        self._db.execute("CREATE TABLE IF NOT EXISTS items (id TEXT PRIMARY KEY, body TEXT NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, body TEXT NOT NULL)")
        self._db.commit()

    @classmethod
    def from_config(cls, config: StoreConfig, catalog_dir: str | Path) -> "SQLiteStore":
        return cls(Path(catalog_dir) / "store.sqlite")

    def put_many(self, items: Iterable[dict]) -> int:
        rows = _encode(items)
        with self._lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO items (id, body) VALUES (?, ?)", rows)
        return len(rows)

    def get_many(self, ids: Iterable[str]) -> list[dict | None]:
        ids = list(ids)
        found: dict[str, dict] = {}
        with self._lock:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                marks = ",".join("?" * len(chunk))
                for item_id, body in self._db.execute(
                        f"SELECT id, body FROM items WHERE id IN ({marks})", chunk):
                    found[item_id] = json.loads(body)
        return [found.get(i) for i in ids]

    def delete(self, item_id: str) -> bool:
        with self._lock, self._db:
            cur = self._db.execute("DELETE FROM items WHERE id = ?", (item_id,))
        return cur.rowcount > 0

    def ids(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT id FROM items ORDER BY id")]

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM items").fetchone()[0]

    def set_meta(self, key: str, value) -> None:
        with self._lock, self._db:
            self._db.execute("INSERT OR REPLACE INTO meta (key, body) VALUES (?, ?)",
                             (key, json.dumps(value)))

    def get_meta(self, key: str, default=None):
        with self._lock:
            row = self._db.execute("SELECT body FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def close(self) -> None:
        with self._lock:
            self._db.close()


class RedisStore(Store):
    """Items in the hash ``{namespace}:items``, metadata in ``{namespace}:meta``."""

    def __init__(self, url: str, namespace: str = "lens"):
        import redis  # imported here: the sqlite backend must not need it

        self.url, self.namespace = url, namespace
        self._redis = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        try:
            self._redis.ping()
        except redis.RedisError as exc:
            raise ValueError(f"store.redis_url {url}: cannot reach Redis ({exc})") from None
        self._items, self._meta = f"{namespace}:items", f"{namespace}:meta"

    @classmethod
    def from_config(cls, config: StoreConfig, catalog_dir: str | Path) -> "RedisStore":
        # One namespace per catalog folder, so two catalogs never mix.
        return cls(config.redis_url, f"{config.namespace}:{Path(catalog_dir).resolve().name}")

    def put_many(self, items: Iterable[dict]) -> int:
        rows = _encode(items)
        if rows:
            pipe = self._redis.pipeline(transaction=True)  # MULTI/EXEC: all or nothing
            pipe.hset(self._items, mapping=dict(rows))
            pipe.execute()
        return len(rows)

    def get_many(self, ids: Iterable[str]) -> list[dict | None]:
        ids = list(ids)
        if not ids:
            return []
        bodies = self._redis.hmget(self._items, ids)
        return [json.loads(b) if b is not None else None for b in bodies]

    def delete(self, item_id: str) -> bool:
        return bool(self._redis.hdel(self._items, item_id))

    def ids(self) -> list[str]:
        return sorted(k.decode() for k in self._redis.hkeys(self._items))

    def __len__(self) -> int:
        return int(self._redis.hlen(self._items))

    def set_meta(self, key: str, value) -> None:
        self._redis.hset(self._meta, key, json.dumps(value))

    def get_meta(self, key: str, default=None):
        body = self._redis.hget(self._meta, key)
        return json.loads(body) if body is not None else default

    def clear(self) -> None:
        """Drop this namespace (tests and ``lens index --rebuild``)."""
        self._redis.delete(self._items, self._meta)

    def close(self) -> None:
        self._redis.close()


STORES: Registry[Callable[[StoreConfig, str | Path], Store]] = Registry("store.backend", {
    "sqlite": SQLiteStore.from_config,
    "redis": RedisStore.from_config,
})


def make_store(config: StoreConfig, catalog_dir: str | Path) -> Store:
    """Build the configured backend; unknown names list the valid ones."""
    return STORES[config.backend](config, catalog_dir)

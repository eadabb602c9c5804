"""A Redis cache of ``POST /api/v1/lens`` results that never stands in the way.

The key is a SHA-256 over the upload's bytes, the parsed query fields (box,
k, sources, filters, text, diversity) and the *catalog state* of this
process (:func:`catalog_state`), so any catalog change makes every older
entry unreachable (they then expire by TTL).

Failure policy: short socket timeouts (``server.cache_timeout_s``), no
redis-py retries, and after any Redis error the cache is skipped for
``server.cache_retry_s`` seconds; then the next request tries Redis again.
A dead cache costs one timeout per worker per back-off interval, and the
service keeps answering uncached.  Values are the JSON response bodies.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)
PREFIX = "lens:q:"


def catalog_state(catalog, token: str) -> str:
    """What a query's answer depends on in this process: the catalog as loaded
    (``token``, see :class:`CatalogToken`) and its in-process version."""
    return f"{token}:{catalog.version}"


class CatalogToken:
    """Names the catalog a process serves: its files as loaded, then a fresh
    random id after each write made through this process.

    Two workers that loaded the same files share entries; a worker that wrote
    an item (and so serves a different catalog from its siblings until they
    restart) gets keys of its own: no two catalog states ever share a key.
    """

    def __init__(self, catalog):
        digest = hashlib.sha256(str(len(catalog)).encode())
        for path in sorted((catalog.directory / "index").glob("*")):
            stat = path.stat()
            digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        self.value = digest.hexdigest()[:16]

    def changed(self) -> None:
        self.value = uuid.uuid4().hex[:16]


def cache_key(upload: bytes, fields: dict, state: str) -> str:
    """The key of one query: upload bytes + parsed fields + catalog state."""
    h = hashlib.sha256(upload)
    h.update(json.dumps(fields, sort_keys=True, default=str).encode())
    h.update(state.encode())
    return PREFIX + h.hexdigest()


class QueryCache:
    """get / set JSON bodies in Redis; every failure is a miss, never an error."""

    def __init__(self, url: str, ttl_s: int = 3600, timeout_s: float = 0.25, retry_s: float = 5.0):
        self.url, self.ttl_s, self.retry_s = url, ttl_s, retry_s
        self._client = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                                            retry=Retry(NoBackoff(), 0), retry_on_timeout=False)
        self._down_until = 0.0
        self._lock = threading.Lock()
        self.hits = self.misses = self.errors = self.skipped = 0

    @classmethod
    def from_config(cls, server) -> QueryCache | None:
        """The cache ``server.cache_url`` names, or None when it is empty."""
        if not server.cache_url:
            return None
        if server.cache_ttl_s < 1:
            raise ValueError(f"server.cache_ttl_s {server.cache_ttl_s}: expected at least 1")
        return cls(server.cache_url, server.cache_ttl_s, server.cache_timeout_s, server.cache_retry_s)

    @property
    def up(self) -> bool:
        """False while backing off after a failure."""
        return time.monotonic() >= self._down_until

    def _call(self, fn):
        if not self.up:
            self.skipped += 1
            return None
        try:
            return fn(self._client)
        except (redis.RedisError, OSError) as exc:
            with self._lock:
                self.errors += 1
                if self.up:
                    log.warning("query cache %s unavailable (%s); uncached for %.0f s",
                                self.url, exc.__class__.__name__, self.retry_s)
                self._down_until = time.monotonic() + self.retry_s
            return None

    def get(self, key: str) -> dict | None:
        raw = self._call(lambda c: c.get(key))
        if raw is None:
            self.misses += 1
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            self.misses += 1
            return None
        self.hits += 1
        return value

    def set(self, key: str, value: dict) -> None:
        try:
            raw = json.dumps(value)
        except (TypeError, ValueError):
            log.warning("query cache: result not JSON-serialisable; not cached")
            return
        self._call(lambda c: c.set(key, raw, ex=self.ttl_s))

    def ping(self) -> bool:
        return bool(self._call(lambda c: c.ping()))

"""The Redis query cache: hits, invalidation on catalog change, and Redis going away and back."""
from __future__ import annotations

import io
import subprocess
import time

import numpy as np
import pytest
import redis

from tests.servers import free_port, start_redis
from tests.test_api_items import KEY, make_app, png
from web.cache import QueryCache


def _start_redis(port: int, workdir) -> subprocess.Popen:
    try:
        return start_redis(workdir, port)[0]
    except RuntimeError as exc:
        pytest.fail(str(exc))


def _query(client, color=(200, 30, 40), **fields):
    start = time.perf_counter()
    resp = client.post("/api/v1/lens", data={"image": (io.BytesIO(png(color)), "q.png"), "k": "3", **fields})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json(), time.perf_counter() - start


def test_second_query_is_cached_and_a_catalog_change_invalidates(tmp_path, embedder, detector, image_folder,
                                                                 redis_url):
    app = make_app(tmp_path, embedder, detector, f"server.cache_url={redis_url}", f"server.api_key={KEY}",
                   index_folder=image_folder)
    client = app.test_client()
    first, cold = _query(client)
    second, warm = _query(client)
    assert first["cached"] is False and second["cached"] is True and warm < cold
    assert {**second, "cached": False} == first
    assert _query(client, k="4")[0]["cached"] is False            # any field is part of the key
    assert _query(client, filters='{"color": "red"}')[0]["cached"] is False
    resp = client.post("/api/v1/items", data={"id": "new", "image": (io.BytesIO(png((10, 200, 30))), "n.png")},
                       headers={"X-API-Key": KEY})
    assert resp.status_code == 201
    assert _query(client)[0]["cached"] is False                   # the catalog changed
    assert _query(client)[0]["cached"] is True
    app.extensions["lens"].catalog.delete("new")                  # a library-level change counts too
    assert _query(client)[0]["cached"] is False
    assert client.get("/readyz").get_json()["cache"] == "up"


def test_redis_down_then_back(tmp_path, embedder, detector, image_folder):
    port = free_port()
    proc = _start_redis(port, tmp_path)
    app = make_app(tmp_path, embedder, detector, f"server.cache_url=redis://127.0.0.1:{port}/0",
                   "server.cache_retry_s=0.5", index_folder=image_folder)
    client = app.test_client()
    try:
        assert _query(client)[0]["cached"] is False
        assert _query(client)[0]["cached"] is True
        proc.kill()
        proc.wait(timeout=10)
        assert _query(client)[0]["cached"] is False               # still 200, answered uncached
        assert client.get("/readyz").get_json()["cache"] == "down"
        assert _query(client)[0]["cached"] is False               # backing off: Redis not even tried
        proc = _start_redis(port, tmp_path)
        time.sleep(0.6)                                           # past the back-off
        assert _query(client)[0]["cached"] is False               # empty again after the restart
        assert _query(client)[0]["cached"] is True
        cache = app.extensions["cache"]
        assert cache.errors >= 1 and cache.skipped >= 1
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_dead_cache_is_a_fast_miss():
    cache = QueryCache(f"redis://127.0.0.1:{free_port()}/0", timeout_s=0.05, retry_s=60)
    start = time.perf_counter()
    assert cache.get("k") is None and cache.set("k", {"a": 1}) is None and cache.get("k") is None
    assert time.perf_counter() - start < 1.0
    assert cache.errors == 1 and cache.skipped == 2 and not cache.up


def test_cache_stores_json_and_skips_what_is_not(redis_url):
    cache = QueryCache(redis_url, ttl_s=5)
    cache.set("lens:q:test", {"a": [1, 2]})
    assert cache.get("lens:q:test") == {"a": [1, 2]} and cache.hits == 1
    cache.set("lens:q:bad", {"a": np.float32(1)})                 # not JSON: logged, not cached
    assert cache.get("lens:q:bad") is None
    assert 0 < redis.Redis.from_url(redis_url).ttl("lens:q:test") <= 5


def test_cache_config_is_checked():
    from lens.config import ServerConfig

    assert QueryCache.from_config(ServerConfig()) is None
    with pytest.raises(ValueError, match="server.cache_ttl_s"):
        QueryCache.from_config(ServerConfig(cache_url="redis://127.0.0.1:1/0", cache_ttl_s=0))

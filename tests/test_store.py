"""Both store backends, the Redis one against a real redis-server."""
import pytest

from lens.catalog.store import STORES, make_store
from lens.config import StoreConfig


@pytest.fixture(params=sorted(STORES))
def store(request, tmp_path):
    config = StoreConfig(backend=request.param)
    if request.param == "redis":
        config.redis_url = request.getfixturevalue("redis_url")
    s = make_store(config, tmp_path / f"cat-{request.node.name}")
    yield s
    if request.param == "redis":
        s.clear()
    s.close()


def test_put_get_delete(store):
    assert len(store) == 0 and store.get("a") is None
    store.put_many([{"id": "a", "title": "red dress", "colors": ["red"]}, {"id": "b", "n": 1}])
    assert len(store) == 2 and "a" in store
    assert store.get("a")["colors"] == ["red"]
    assert store.get_many(["b", "zz", "a"])[1] is None
    store.put({"id": "a", "title": "blue dress"})
    assert store.get("a")["title"] == "blue dress" and len(store) == 2
    assert store.delete("a") and not store.delete("a")
    assert store.ids() == ["b"]
    assert [i["id"] for i in store] == ["b"]


def test_meta(store):
    assert store.get_meta("embedder", "none") == "none"
    store.set_meta("embedder", {"name": "mobilenet_v2", "dim": 1280})
    assert store.get_meta("embedder")["dim"] == 1280


def test_bad_items_rejected_and_nothing_lost(store):
    store.put({"id": "keep", "v": 1})
    with pytest.raises(ValueError, match="needs a non-empty string 'id'"):
        store.put_many([{"id": "new"}, {"title": "no id"}])
    with pytest.raises(ValueError, match="'x': not JSON-serialisable"):
        store.put({"id": "x", "v": object()})
    assert store.ids() == ["keep"]


def test_empty_calls(store):
    assert store.put_many([]) == 0 and store.get_many([]) == []


def test_many_items(store):
    store.put_many({"id": f"i{n:04d}", "n": n} for n in range(1200))
    assert len(store) == 1200
    assert [i["n"] for i in store.get_many(["i0007", "i1199"])] == [7, 1199]


def test_sqlite_reopen_keeps_items(tmp_path):
    config = StoreConfig(backend="sqlite")
    s = make_store(config, tmp_path)
    s.put({"id": "a"})
    s.close()
    assert make_store(config, tmp_path).get("a") == {"id": "a"}


def test_redis_namespaces_are_per_catalog(redis_url, tmp_path):
    config = StoreConfig(backend="redis", redis_url=redis_url)
    one, two = make_store(config, tmp_path / "one"), make_store(config, tmp_path / "two")
    one.put({"id": "a"})
    assert one.get("a") == {"id": "a"} and two.get("a") is None
    one.clear()


def test_unknown_backend_lists_valid(tmp_path):
    with pytest.raises(ValueError, match=r"store.backend 'mongo': unknown \(valid: redis, sqlite\)"):
        make_store(StoreConfig(backend="mongo"), tmp_path)


def test_unreachable_redis_is_one_line(tmp_path):
    config = StoreConfig(backend="redis", redis_url="redis://127.0.0.1:1/0")
    with pytest.raises(ValueError, match="cannot reach Redis"):
        make_store(config, tmp_path)

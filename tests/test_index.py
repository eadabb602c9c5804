"""The FAISS index: search, replace, delete, filters, crash-safe persistence."""
import json

import numpy as np
import pytest

from lens.config import IndexConfig
from lens.index import INDEX_KINDS, VectorIndex

EMB = {"name": "test", "dim": 8}


def _unit(rows: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture(params=sorted(INDEX_KINDS))
def index(request):
    return VectorIndex.from_config(IndexConfig(kind=request.param), EMB)


def test_exact_neighbours(index):
    vecs = _unit(50)
    index.add([f"i{n}" for n in range(50)], vecs)
    hits = index.search(vecs[:5], 3)
    assert [h[0][0] for h in hits] == [f"i{n}" for n in range(5)]
    assert hits[0][0][1] == pytest.approx(1.0, abs=1e-5)
    assert all(a[1] >= b[1] for a, b in zip(hits[0], hits[0][1:]))


def test_replace_and_remove(index):
    vecs = _unit(3)
    index.add(["a", "b", "c"], vecs)
    index.add(["a"], vecs[2:3])
    assert len(index) == 3
    assert index.search(vecs[2:3], 2)[0][0][0] in ("a", "c")
    assert index.remove("b") and not index.remove("b")
    assert index.ids == ["a", "c"]


def test_filtered_search_widens(index):
    vecs = _unit(300)
    index.add([f"i{n}" for n in range(300)], vecs)
    allowed = {"i299", "i7"}
    hits = index.search(vecs[:1], 5, allowed=allowed)[0]
    assert {h[0] for h in hits} == allowed


def test_empty_and_degenerate(index):
    assert index.search(_unit(2), 5) == [[], []]
    index.add([], np.zeros((0, 8), np.float32))
    with pytest.raises(ValueError, match="2 ids but 1 vectors"):
        index.add(["a", "b"], _unit(1))
    with pytest.raises(ValueError, match="NaN"):
        index.add(["a"], np.full((1, 8), np.nan, np.float32))


def test_save_load_roundtrip_and_generations(tmp_path, index):
    vecs = _unit(20)
    index.add([f"i{n}" for n in range(20)], vecs)
    index.save(tmp_path, "visual")
    index.remove("i3")
    index.save(tmp_path, "visual")
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["visual.2.faiss", "visual.2.ids.json", "visual.json"]
    loaded = VectorIndex.load(tmp_path, "visual", EMB)
    assert loaded.ids == index.ids
    np.testing.assert_allclose(loaded.vector("i4"), vecs[4], atol=1e-6)


def test_missing_index_is_none(tmp_path):
    assert VectorIndex.load(tmp_path, "visual") is None


def test_embedder_mismatch_refused(tmp_path, index):
    index.add(["a"], _unit(1))
    index.save(tmp_path, "visual")
    with pytest.raises(ValueError, match="built by embedder.*rebuild"):
        VectorIndex.load(tmp_path, "visual", {"name": "other", "dim": 8})


def test_interrupted_save_keeps_previous_generation(tmp_path, index):
    index.add(["a", "b"], _unit(2))
    index.save(tmp_path, "visual")
    # A crash after writing a new generation's data but before the pointer:
    (tmp_path / "visual.2.faiss").write_bytes(b"half-written")
    loaded = VectorIndex.load(tmp_path, "visual", EMB)
    assert loaded.ids == ["a", "b"]
    assert json.loads((tmp_path / "visual.json").read_text())["generation"] == 1


def test_corrupt_index_is_one_line(tmp_path, index):
    index.add(["a"], _unit(1))
    index.save(tmp_path, "visual")
    (tmp_path / "visual.1.faiss").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="visual.json: unreadable"):
        VectorIndex.load(tmp_path, "visual", EMB)


def test_unknown_kind_lists_valid():
    with pytest.raises(ValueError, match=r"index.kind 'annoy': unknown \(valid: flat"):
        VectorIndex(8, "annoy")

"""The FAISS index: every kind, search, replace, delete, filters, PCA, crash-safe persistence, mmap."""
import dataclasses
import json
import logging

import numpy as np
import pytest

from lens.config import IndexConfig
from lens.files import atomic_write_bytes
from lens.index import INDEX_KINDS, VectorIndex

EMB = {"name": "test", "dim": 8}
KINDS = sorted(INDEX_KINDS)


def _unit(rows: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _clustered(rows: int, dim: int, clusters: int, seed: int = 0, noise: float = 0.3) -> np.ndarray:
    """Unit vectors around ``clusters`` fixed centres (any seed): catalog-like, with near neighbours."""
    centres = np.random.default_rng(dim * clusters).normal(size=(clusters, dim))
    rng = np.random.default_rng(seed)
    v = centres[rng.integers(0, clusters, rows)] + noise * rng.normal(size=(rows, dim))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def _recall(got, exact) -> float:
    return float(np.mean([len({h[0] for h in g} & {h[0] for h in e}) / len(e) for g, e in zip(got, exact)]))


@pytest.fixture(params=KINDS)
def index(request):
    return VectorIndex.from_config(IndexConfig(kind=request.param), EMB)


def test_exact_neighbours(index):
    vecs = _unit(50)
    index.add([f"i{n}" for n in range(50)], vecs)
    hits = index.search(vecs[:5], 3)
    assert [len(row) for row in hits] == [3] * 5
    assert [h[0][0] for h in hits] == [f"i{n}" for n in range(5)]
    assert hits[0][0][1] == pytest.approx(1.0, abs=1e-5)
    assert all(a[1] >= b[1] for a, b in zip(hits[0], hits[0][1:]))


def test_replace_and_remove(index):
    vecs = _unit(3)
    index.add(["a", "b", "c"], vecs)
    index.search(vecs, 1)                       # built: later changes go to the structure
    index.add(["a"], vecs[2:3])
    assert len(index) == 3
    assert {h[0] for h in index.search(vecs[2:3], 2)[0]} == {"a", "c"}
    assert index.remove("b") and not index.remove("b")
    assert sorted(index.ids) == ["a", "c"] and "b" not in index
    assert "b" not in {h[0] for h in index.search(vecs, 3)[1]}
    np.testing.assert_allclose(index.vector("a"), vecs[2])


def test_removed_ids_never_return_and_compaction(index):
    vecs = _unit(400, seed=1)
    ids = [f"i{n}" for n in range(400)]
    index.add(ids, vecs)
    index.search(vecs[:1], 1)
    for item_id in ids[:150]:                   # over a quarter: rebuilt at the next search
        index.remove(item_id)
    hits = index.search(vecs[:200], 5)
    assert [len(row) for row in hits] == [5] * 200              # removed queries still get 5 others
    assert not {h[0] for row in hits for h in row} & set(ids[:150])
    assert [row[0][0] for row in hits[150:]] == ids[150:200]


def test_filtered_search_small_and_large_filters(index):
    vecs = _unit(3000, dim=8, seed=2)
    ids = [f"i{n}" for n in range(3000)]
    index.add(ids, vecs)
    allowed = {"i299", "i7"}
    assert {h[0] for h in index.search(vecs[:1], 5, allowed=allowed)[0]} == allowed
    some = frozenset(ids[5::7])                 # small: an exact scan (FAISS's flat one where it keeps rows)
    rows = sorted(int(i[1:]) for i in some)
    best = np.array(rows)[np.argsort(-(vecs[rows] @ vecs[3]), kind="stable")[:10]]
    got = index.search(vecs[3:4], 10, allowed=some)[0]
    assert [h[0] for h in got] == [f"i{r}" for r in best]
    assert [h[1] for h in got] == pytest.approx(list(vecs[best] @ vecs[3]), abs=1e-5)
    half = set(ids[::2])                        # under EXACT_FILTER_ROWS: scored exactly
    for row in index.search(vecs[:20], 10, allowed=half):
        assert len(row) == 10 and {h[0] for h in row} <= half
    assert index.search(vecs[:1], 5, allowed={"nope"}) == [[]]


def test_large_filters_search_inside_faiss_and_follow_changes(index, monkeypatch):
    from lens.index.vectors import EXACT_FILTER_ROWS

    n = 3 * EXACT_FILTER_ROWS // 2 * 2
    vecs, queries = _clustered(n, 8, 60), _clustered(30, 8, 60, seed=1)
    ids = [f"i{r}" for r in range(n)]
    index.add(ids, vecs)
    allowed = frozenset(ids[::3]) | frozenset(ids[1::3])   # 2/3 of the rows: above EXACT_FILTER_ROWS
    exact = VectorIndex(8, "flat")
    exact.add(ids, vecs)
    index.search(queries[:1], 1)                # build the structure before spying on it
    seen = []
    search = index._kind.search
    monkeypatch.setattr(index._kind, "search",
                        lambda q, fetch, work, rows=None: seen.append(rows is not None) or search(q, fetch, work, rows))
    got = index.search(queries, 10, allowed=allowed)
    assert all(len(row) == 10 and {h[0] for h in row} <= allowed for row in got)
    assert any(seen) == index._kind.filters     # the selector went into FAISS (binary: filtered after)
    unfiltered = _recall(index.search(queries, 10), exact.search(queries, 10))   # 8-d PQ / binary codes are coarse
    assert _recall(got, exact.search(queries, 10, allowed=allowed)) >= min(0.9, unfiltered - 0.05)
    rows = index._filters.get(allowed, lambda: None)
    assert rows is not None and len(rows.rows) == len(allowed)            # cached for the same set
    gone = got[0][0][0]
    index.remove(gone)                          # rows changed: the cached filter is dropped
    assert gone not in {h[0] for h in index.search(queries[:1], 10, allowed=allowed)[0]}
    rebuilt = index._filters.get(allowed, lambda: None)                   # ...and rebuilt
    assert rebuilt is not None and len(rebuilt.rows) == len(allowed) - 1   # without the removed row
    changing = set(allowed)                     # a plain set may change: never cached
    index.search(queries[:1], 10, allowed=changing)
    changing.discard(got[1][0][0])
    assert got[1][0][0] not in {h[0] for h in index.search(queries[1:2], 10, allowed=changing)[0]}


def test_empty_k_larger_than_n_and_bad_vectors(index):
    assert index.search(_unit(2), 5) == [[], []]
    index.add([], np.zeros((0, 8), np.float32))
    with pytest.raises(ValueError, match="2 ids but 1 vectors"):
        index.add(["a", "b"], _unit(1))
    with pytest.raises(ValueError, match="index add: vector 1 contains NaN"):
        index.add(["a", "b"], np.array([[1.0] * 8, [np.nan] * 8], np.float32))
    with pytest.raises(ValueError, match="index add: vector 0 contains NaN or infinity"):
        index.add(["a"], np.full((1, 8), np.inf, np.float32))
    with pytest.raises(ValueError, match=r"index add: vectors of shape \(2, 16\), expected \(N, 8\)"):
        index.add(["a", "b"], _unit(2, dim=16))
    index.add(["a", "b", "c"], _unit(3))
    assert [len(r) for r in index.search(_unit(2), 10)] == [3, 3]
    assert index.search(_unit(1), 0) == [[]]
    with pytest.raises(ValueError, match=r"index search: vectors of shape \(1, 4\)"):
        index.search(_unit(1, dim=4), 2)
    with pytest.raises(ValueError, match="index search: vector 0 contains NaN"):
        index.search(np.full((1, 8), np.nan, np.float32), 2)


@pytest.mark.parametrize("pca_dim", [0, 4])
def test_save_load_roundtrip_and_generations(tmp_path, index, pca_dim):
    config = IndexConfig(kind=index.kind, pca_dim=pca_dim, rerank=1000)   # 4 bits can't rank: persistence only
    index = VectorIndex.from_config(config, EMB)
    vecs = _unit(300, seed=3)
    index.add([f"i{n}" for n in range(300)], vecs)
    index.save(tmp_path, "visual")
    index.remove("i3")
    index.save(tmp_path, "visual")
    files = sorted(p.name for p in tmp_path.iterdir())
    assert {"visual.2.faiss", "visual.2.ids.json", "visual.2.vectors.npy", "visual.json"} <= set(files)
    assert all(f.startswith("visual.2.") or f == "visual.json" for f in files)
    for mmap in (False, True):
        loaded = VectorIndex.load(tmp_path, "visual", EMB, dataclasses.replace(config, mmap=mmap))
        assert sorted(loaded.ids) == sorted(index.ids) and "i3" not in loaded
        np.testing.assert_allclose(loaded.vector("i4"), vecs[4], atol=1e-6)
        assert loaded.search(vecs[:20], 5) == index.search(vecs[:20], 5)
        loaded.add(["new"], vecs[3:4])          # a mapped index copies before changing
        assert loaded.search(vecs[3:4], 1)[0][0][0] == "new"
    assert json.loads((tmp_path / "visual.json").read_text())["pca_dim"] == pca_dim


def test_missing_index_is_none(tmp_path):
    assert VectorIndex.load(tmp_path, "visual") is None


def test_embedder_and_settings_mismatch_refused(tmp_path, index):
    index.add(["a"], _unit(1))
    index.save(tmp_path, "visual")
    with pytest.raises(ValueError, match="built by embedder.*rebuild"):
        VectorIndex.load(tmp_path, "visual", {"name": "other", "dim": 8})
    other = "flat" if index.kind != "flat" else "hnsw"
    with pytest.raises(ValueError, match=f"built with index settings {{'kind': '{index.kind}', 'pca_dim': 0}}, "
                                         f"but the config gives {{'kind': '{other}', 'pca_dim': 0}}"):
        VectorIndex.load(tmp_path, "visual", EMB, IndexConfig(kind=other))
    with pytest.raises(ValueError, match="'pca_dim': 4}; rebuild"):
        VectorIndex.load(tmp_path, "visual", EMB, IndexConfig(kind=index.kind, pca_dim=4))
    again = VectorIndex.load(tmp_path, "visual", EMB).reconfigured(IndexConfig(kind=other))
    assert again.kind == other and again.ids == ["a"]


def test_interrupted_save_keeps_previous_generation(tmp_path, index):
    index.add(["a", "b"], _unit(2))
    index.save(tmp_path, "visual")
    # A crash after writing a new generation's data but before the pointer:
    (tmp_path / "visual.2.faiss").write_bytes(b"half-written")
    loaded = VectorIndex.load(tmp_path, "visual", EMB)
    assert sorted(loaded.ids) == ["a", "b"]
    assert json.loads((tmp_path / "visual.json").read_text())["generation"] == 1


def test_corrupt_index_is_one_line(tmp_path, index):
    index.add(["a"], _unit(1))
    index.save(tmp_path, "visual")
    (tmp_path / "visual.1.faiss").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="visual.json: unreadable"):
        VectorIndex.load(tmp_path, "visual", EMB)


def test_first_format_flat_index_still_loads(tmp_path):
    import faiss

    vecs = _unit(5)
    flat = faiss.IndexFlatIP(8)
    flat.add(vecs)
    atomic_write_bytes(tmp_path / "visual.3.faiss", faiss.serialize_index(flat).tobytes())
    (tmp_path / "visual.3.ids.json").write_text(json.dumps(list("abcde")))
    (tmp_path / "visual.json").write_text(json.dumps({"generation": 3, "kind": "flat", "dim": 8,
                                                      "count": 5, "embedder": EMB}))
    loaded = VectorIndex.load(tmp_path, "visual", EMB, IndexConfig())
    assert loaded.search(vecs[1:2], 1)[0][0][0] == "b"


def test_binary_keeps_recall_of_exact():
    vecs = _clustered(4000, 256, 40)
    queries = _clustered(100, 256, 40, seed=1)
    ids = [f"i{n}" for n in range(4000)]
    exact, binary = (VectorIndex(256, kind) for kind in ("flat", "binary"))
    for index in (exact, binary):
        index.add(ids, vecs)
    assert _recall(binary.search(queries, 10), exact.search(queries, 10)) >= 0.95
    assert binary._kind.index.code_size * 32 == 256 * 4          # 32x less memory for the codes


@pytest.mark.parametrize("kind", ["hnsw", "ivfpq"])
def test_approximate_kinds_recall(kind, caplog):
    vecs = _clustered(3000, 32, 30)
    queries = _clustered(50, 32, 30, seed=1)
    config = IndexConfig(kind=kind, pq_nbits=5, hnsw_m=16)     # small: trains at 39 x 32 vectors
    exact, approx = VectorIndex(32, "flat"), VectorIndex(32, config=config)
    with caplog.at_level(logging.INFO, logger="lens.index.kinds"):
        approx.add([f"i{n}" for n in range(1000)], vecs[:1000])
        approx.search(queries[:1], 1)           # too few to train ivfpq: exact
        approx.add([f"i{n}" for n in range(1000, 3000)], vecs[1000:])
        exact.add([f"i{n}" for n in range(3000)], vecs)
        recall = _recall(approx.search(queries, 10), exact.search(queries, 10))
    assert recall >= 0.9
    if kind == "ivfpq":
        assert "fewer than the 1248 needed to train; searching exactly" in caplog.text
        assert approx._kind.trained


def test_auto_is_exact_while_small_then_switches_to_hnsw(tmp_path, caplog):
    vecs = _clustered(3000, 32, 30)
    queries = _clustered(50, 32, 30, seed=1)
    config = IndexConfig(kind="auto", auto_flat_max_mb=1000 * 32 * 4 / 1e6, hnsw_m=16)   # graph above 1000 rows
    exact, auto = VectorIndex(32, "flat"), VectorIndex(32, config=config)
    ids = [f"i{n}" for n in range(3000)]
    exact.add(ids, vecs)
    auto.add(ids[:1000], vecs[:1000])
    small = VectorIndex(32, "flat")
    small.add(ids[:1000], vecs[:1000])
    assert auto.search(queries, 10) == small.search(queries, 10) and not auto._kind.graph
    auto.save(tmp_path, "visual")
    with caplog.at_level(logging.INFO, logger="lens.index.kinds"):
        auto = VectorIndex.load(tmp_path, "visual", expect_config=config)
        auto.add(ids[1000:], vecs[1000:])
        assert _recall(auto.search(queries, 10), exact.search(queries, 10)) >= 0.9
    assert auto._kind.graph and "3000 x 32-d vectors are over index.auto_flat_max_mb" in caplog.text
    auto.save(tmp_path, "visual")
    for mmap in (False, True):
        again = VectorIndex.load(tmp_path, "visual", expect_config=dataclasses.replace(config, mmap=mmap))
        assert again._kind.graph and again.search(queries, 10) == auto.search(queries, 10)


def test_pca_reduces_and_keeps_neighbours():
    vecs = _clustered(2000, 64, 20)
    index = VectorIndex(64, config=IndexConfig(pca_dim=16))
    index.add([f"i{n}" for n in range(2000)], vecs)
    hits = index.search(vecs[:50], 1)
    assert index._kind.index.d == 16
    assert np.mean([h[0][0] == f"i{n}" for n, h in enumerate(hits)]) >= 0.95
    assert hits[0][0][1] == pytest.approx(1.0, abs=1e-4)       # re-normalised after the projection


def test_search_threads_setting_keeps_results():
    vecs = _unit(500, seed=4)
    one = VectorIndex(8, config=IndexConfig(search_threads=1))
    default = VectorIndex(8, config=IndexConfig(search_threads=0))
    for index in (one, default):
        index.add([f"i{n}" for n in range(500)], vecs)
    hits = one.search(vecs[:5], 5)
    assert [row[0][0] for row in hits] == [f"i{n}" for n in range(5)] and {len(row) for row in hits} == {5}
    assert hits == default.search(vecs[:5], 5)


def test_bad_config_values_name_the_key():
    with pytest.raises(ValueError, match=r"index.kind 'annoy': unknown \(valid: auto, binary, flat, hnsw, ivfpq\)"):
        VectorIndex(8, "annoy")
    with pytest.raises(ValueError, match="index.pca_dim 8: must be 0 .off. or below the vector dim 8"):
        VectorIndex(8, config=IndexConfig(pca_dim=8))
    with pytest.raises(ValueError, match="index.auto_flat_max_mb 0: must be above 0"):
        VectorIndex(8, config=IndexConfig(auto_flat_max_mb=0))
    with pytest.raises(ValueError, match="index.binary_search 'ivf'"):
        VectorIndex(8, config=IndexConfig(binary_search="ivf"))
    with pytest.raises(ValueError, match="index.hnsw_m 0"):
        VectorIndex(8, config=IndexConfig(hnsw_m=0))


@pytest.mark.parametrize("n, fetch", [(500, 40), (500, 500), (30, 64), (0, 5)])
def test_the_numpy_scan_answers_as_faiss_flat_does(n, fetch):
    """lens.index.kinds.scan: the flat kinds' unfiltered search, against FAISS's own IndexFlatIP."""
    import faiss

    from lens.index.kinds import scan

    rng = np.random.default_rng(n)
    work = rng.standard_normal((n, 24)).astype(np.float32)
    queries = rng.standard_normal((7, 24)).astype(np.float32)
    index = faiss.IndexFlatIP(24)
    if n:
        index.add(work)
    ref_scores, ref_rows = index.search(queries, fetch)
    scores, rows = scan(queries, work, fetch)
    assert rows.shape == scores.shape == (7, fetch)
    assert (rows == ref_rows).all()                              # random data: no ties to order
    real = rows >= 0
    assert np.allclose(scores[real], ref_scores[real], atol=1e-4)
    assert (real.sum(1) == min(n, fetch)).all() and np.isneginf(scores[~real]).all()
    tied = np.ones((4, 24), np.float32)                          # equal scores: the lower row first
    assert scan(queries[:1], tied, 3)[1].tolist() == [[0, 1, 2]]

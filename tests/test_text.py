"""Text search: tokenizer, BM25 by hand, hybrid, persistence, catalog wiring, the source, precision."""
import argparse
import json
import math

import numpy as np
import pytest

from blender.sources import make_sources
from lens.catalog import Catalog
from lens.text import bm25, minilm
from lens.text import terms as T
from lens.text.index import TextIndex
from lens.text.source import TextSource, annotation_query
from lens.types import SourceQuery

VISUAL = {"name": "fake", "dim": 4}        # the visual index is not under test here


def vec(n: int) -> np.ndarray:
    v = np.random.default_rng(n).normal(size=(n, 4)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def products(n: int, seed: int = 0) -> list[dict]:
    from lens.synth.spec import make_product

    return [make_product(seed, i) for i in range(n)]


def open_catalog(config_factory, tmp_path, model="none", **kw) -> Catalog:
    config = config_factory("demo", f"text.model={model}", *(f"text.{k}={v}" for k, v in kw.items()))
    return Catalog.open(config, VISUAL, tmp_path / "cat")


class FakeEncoder:
    """Unit vectors along keyword axes: a hand-checkable semantic half."""

    name, dim = "fake", 3
    axes = ("sofa", "couch", "mug")

    def settings(self):
        return {"name": self.name, "dim": self.dim}

    def encode(self, texts):
        out = np.array([[1.0 + (a in t.lower()) * 5 for a in self.axes] for t in texts], np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_tokenizer_keeps_colours_and_folds_patterns():
    assert T.tokenize("Red STRIPED dresses, with polka-dots & Flowers!") == \
        ["red", "stripe", "dress", "dot", "dot", "floral"]
    assert T.tokenize("grey sunglasses in a gingham box") == ["gray", "sunglass", "check", "box"]
    assert T.tokenize("tan canvas bags") == ["tan", "canva", "bag"] and T.tokenize("") == []
    assert T.phrase_terms(["red", "stripe", "slip", "dress"]) == [
        "red>stripe", "red>slip", "red>dress", "stripe>slip", "stripe>dress", "slip>dress"]


def test_bm25_scores_by_hand():
    bm = bm25.BM25()
    for doc_id, words in {"a": ["red", "dress"], "b": ["red", "mug"], "c": ["blue", "dress"]}.items():
        bm.add(doc_id, dict.fromkeys(words, 1.0))
    idf = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))      # "red" and "dress": 2 of 3 documents
    assert bm.idf("red") == pytest.approx(idf)
    scores = bm.scores({"red": 1.0, "dress": 1.0})
    # every document has the average length, so each matched term adds idf * 1 * (k1+1)/(1+k1) = idf
    assert scores["a"] == pytest.approx(2 * idf)
    assert scores["b"] == pytest.approx(idf * 0.5) == pytest.approx(scores["c"])   # half the words
    assert bm.scores({"red": 1.0}, allowed={"b"}) == {"b": pytest.approx(idf)}
    assert bm.remove("a") and not bm.remove("a") and "dress" in bm.postings
    bm.remove("c")
    assert "dress" not in bm.postings and bm.scores({"dress": 1}) == {}
    assert bm25.BM25().scores({"red": 1}) == {}


def _bm25_by_hand(bm, query, allowed=None):
    """The textbook loop over every document: what the numpy scoring must equal."""
    n, avgdl = len(bm.docs), bm.total / len(bm.docs)
    words = sum(w for t, w in query.items() if ">" not in t and w > 0) or 1.0
    out = {}
    for doc, terms in bm.docs.items():
        if allowed is not None and doc not in allowed:
            continue
        score = matched = 0.0
        for term, weight in query.items():
            if term in terms and weight > 0:
                df = sum(term in d for d in bm.docs.values())
                idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
                tf, norm = terms[term], bm.k1 * (1 - bm.b + bm.b * bm.lengths[doc] / avgdl)
                score += weight * idf * tf * (bm.k1 + 1) / (tf + norm)
                matched += weight if ">" not in term else 0.0
        if score > 0:
            out[doc] = score * matched / words
    return out


def test_bm25_numpy_scores_equal_the_textbook_loop_through_changes():
    rng = np.random.default_rng(3)
    vocab = ["red", "blue", "dress", "mug", "stripe", "floral", "red>dress", "blue>mug"]
    compared = 0
    bm = bm25.BM25()
    for step in range(300):
        doc = f"d{rng.integers(0, 80)}"
        if rng.random() < 0.2:
            bm.remove(doc)          # rows are freed and reused by later documents
        else:
            bm.add(doc, {t: float(rng.integers(1, 4)) for t in rng.choice(vocab, rng.integers(1, 5))})
        if step % 50 == 49:
            query = {"red": 1.0, "dress": 0.5, "red>dress": 0.5, "absent": 1.0}
            few, many = set(list(bm.docs)[:5]), set(list(bm.docs)[5:])   # both sides of the allowed filter
            if step == 149:
                bm.warm()           # built arrays must track later changes too
            for allowed in (None, few, many):
                got = bm.scores(query, allowed)
                want = _bm25_by_hand(bm, query, allowed)
                assert got.keys() == want.keys()
                assert all(got[d] == pytest.approx(want[d], rel=1e-5) for d in want)
                compared += len(want)
    assert compared > 50                # scores were compared, not two empty results


def test_text_index_keeps_the_best_bm25_pool(monkeypatch):
    import lens.text.index as TI

    index = TextIndex(None)
    index.add([{"id": f"i{n:03d}", "title": "red dress" + " long" * (n % 7)} for n in range(50)])
    full = [(h.item_id, round(h.score, 6)) for h in index.search("red dress", 10)]
    assert len(full) == 10
    monkeypatch.setattr(TI, "BM25_POOL", 12)
    assert [(h.item_id, round(h.score, 6)) for h in index.search("red dress", 10)] == full


def test_phrase_pairs_prefer_the_main_colour():
    index = TextIndex(None)
    index.add([{"id": "main", "title": "Red dress with blue stripes"},
               {"id": "accent", "title": "Blue dress with red stripes"}])
    assert [h.item_id for h in index.search("red dress", 2)] == ["main", "accent"]
    assert [h.item_id for h in index.search("red striped dress", 2)] == ["main", "accent"]


def test_hybrid_ordering_follows_alpha():
    docs = [{"id": "word", "title": "sofa sofa sofa table"}, {"id": "meaning", "title": "a big couch"},
            {"id": "other", "title": "mug"}]
    index = TextIndex(FakeEncoder(), alpha=1.0)
    index.add(docs)
    assert [h.item_id for h in index.search("sofa", 3)][0] == "word"        # BM25 alone
    index.alpha = 0.0
    hits = index.search("couch", 3)                                           # MiniLM alone
    assert hits[0].item_id == "meaning" and hits[0].bm25 > 0 and hits[0].score == pytest.approx(1.0)
    index.alpha = 0.5
    hits = {h.item_id: h for h in index.search("sofa", 3)}
    cos = [hits[i].semantic for i in ("word", "meaning", "other")]
    lo, hi = min(cos), max(cos)
    expect = 0.5 * 1.0 + 0.5 * (hits["word"].semantic - lo) / (hi - lo)
    assert hits["word"].score == pytest.approx(expect)


def test_precomputed_vectors_equal_encoded_ones_and_bad_shapes_name_them():
    docs = [{"id": "a", "title": "red dress"}, {"id": "b"}, {"id": "c", "title": "blue mug"}]
    encoded, given = TextIndex(FakeEncoder()), TextIndex(FakeEncoder())
    encoded.add(docs)
    given.add(docs, vectors=FakeEncoder().encode([T.document_text(d) or "x" for d in docs]))
    assert given.vectors.ids == ["a", "c"]          # "b" has no text: no vector either way
    assert [(h.item_id, h.score) for h in given.search("red", 3)] == \
        [(h.item_id, h.score) for h in encoded.search("red", 3)]
    with pytest.raises(ValueError, match=r"text index add: vectors of shape \(2, 8\), expected \(3, 3\)"):
        given.add(docs, vectors=np.zeros((2, 8), np.float32))


def test_empty_index_and_empty_query_return_nothing():
    index = TextIndex(FakeEncoder())
    assert index.search("red dress", 5) == []
    index.add([{"id": "a", "title": "red dress"}, {"id": "b"}])
    assert len(index) == 2 and index.search("", 5) == [] and index.search("   ", 5) == []
    assert index.search("red", 0) == [] and index.search("the of", 5)[0].item_id == "a"  # semantic only
    assert index.search("red", 5, allowed=set()) == []
    assert [h.item_id for h in index.search("red", 5, allowed={"a"})] == ["a"]


def test_persistence_round_trip_and_crash_safety(tmp_path):
    index = TextIndex(FakeEncoder(), alpha=0.4)
    index.add([{"id": "a", "title": "red sofa"}, {"id": "b", "title": "blue mug", "description": "tall"}])
    index.save(tmp_path)
    index.save(tmp_path)                                   # a second generation replaces the first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["text.2.docs.json", "text.2.vectors.npy", "text.json"]
    again = TextIndex(FakeEncoder(), alpha=0.4)
    assert again.load(tmp_path) and again.ids == {"a", "b"}
    assert [(h.item_id, round(h.score, 6)) for h in again.search("red couch", 2)] == \
        [(h.item_id, round(h.score, 6)) for h in index.search("red couch", 2)]
    (tmp_path / "text.3.docs.json").write_text("{half a file")    # a crash before the pointer moved
    assert TextIndex(FakeEncoder()).load(tmp_path)
    (tmp_path / "text.2.docs.json").write_text("{broken")           # a damaged current generation
    assert not TextIndex(FakeEncoder()).load(tmp_path)
    index.save(tmp_path)
    assert not TextIndex(None).load(tmp_path)                       # built with another encoder


def test_catalog_add_delete_reopen_and_rebuild(config_factory, tmp_path):
    catalog = open_catalog(config_factory, tmp_path)
    items = [{"id": "a", "title": "Red striped dress"}, {"id": "b", "title": "Navy mug"},
             {"id": "c", "title": "Blue sofa", "understanding": {"annotations": [
                 {"text": "red", "kind": "color", "score": 0.2}]}}]
    catalog.add(items, vec(3))
    assert [h.item_id for h in catalog.text.search("red dress", 5)] == ["a", "c"]
    assert catalog.delete("a") and "a" not in catalog.text
    assert [h.item_id for h in catalog.text.search("red", 5)] == ["c"]
    reopened = open_catalog(config_factory, tmp_path)
    assert reopened.text.ids == {"b", "c"}
    for path in (tmp_path / "cat" / "index").glob("text*"):          # lost: rebuilt from the store
        path.unlink()
    rebuilt = open_catalog(config_factory, tmp_path)
    assert rebuilt.text.ids == {"b", "c"} and (tmp_path / "cat" / "index" / "text.json").exists()
    rebuilt.text.add([{"id": "ghost", "title": "red"}])               # indexed, never acknowledged
    rebuilt.text.save(tmp_path / "cat" / "index")
    assert "ghost" not in open_catalog(config_factory, tmp_path).text
    off = config_factory("demo", "text.enabled=false")
    assert Catalog.open(off, VISUAL, tmp_path / "cat").text is None
    with pytest.raises(ValueError, match="text.model 'bert': unknown"):
        open_catalog(config_factory, tmp_path, model="bert")
    with pytest.raises(ValueError, match="text.alpha 2.0"):
        open_catalog(config_factory, tmp_path, alpha=2)


def test_text_source_user_text_annotations_and_filters(config_factory, tmp_path):
    catalog = open_catalog(config_factory, tmp_path)
    (source,) = make_sources(["text"], catalog)
    query = SourceQuery(np.zeros(4, np.float32), text="red dress")
    assert source.search(query, 5) == []                              # empty catalog
    catalog.add([{"id": "a", "title": "Red dress"}, {"id": "b", "title": "Green mug"}], vec(2))
    (hit,) = source.search(query, 5)
    assert hit.item_id == "a" and hit.source == "text"
    assert hit.provenance["via"] == "user text" and hit.provenance["query"] == "red dress"
    assert hit.provenance["rank"] == 1 and hit.provenance["bm25"] > 0 and "semantic" in hit.provenance
    notes = [{"text": "green", "kind": "color", "score": 0.7}, {"text": "mug", "kind": "imagenet", "score": 0.4},
             {"text": "other", "kind": "coarse", "score": 0.9}, {"text": "speck", "kind": "color", "score": 0.05}]
    assert annotation_query(notes) == ("green mug", {"green": 0.7, "mug": 0.4})
    hits = source.search(SourceQuery(np.zeros(4, np.float32), annotations=notes), 5)
    assert hits[0].item_id == "b" and hits[0].provenance["via"] == "annotations"
    assert source.search(SourceQuery(np.zeros(4, np.float32), annotations=notes), 5, allowed={"a"}) == []
    assert source.search(SourceQuery(np.zeros(4, np.float32)), 5) == []       # no words at all
    catalog.text = None
    assert TextSource(catalog).search(query, 5) == []                         # text search off


def test_text_eval_function(tmp_path, config_factory, capsys):
    from lens.evaluation.commands import add_text_arguments
    from lens.evaluation.text import phrase, text_eval

    assert phrase(("color", "pattern", "category"), ("red", "stripes", "dress")) == "red striped dress"
    assert phrase(("color", "pattern"), ("olive", "solid")) == "solid olive"
    folder = tmp_path / "synth"
    folder.mkdir()
    (folder / "manifest.jsonl").write_text("\n".join(json.dumps(p) for p in products(70)))
    parser = argparse.ArgumentParser()
    add_text_arguments(parser)
    args = parser.parse_args(["--catalog", str(folder), "--documents", "manifest", "--queries-per-type", "20",
                              "--json", str(tmp_path / "out.json")])
    report = text_eval(args, config_factory("demo", "text.model=none"), progress=False)
    report.write_json(args.json_out)
    figures = report.figures
    assert set(figures["types"]) == {"color+pattern+category", "color+category", "pattern+category",
                                     "color+pattern", "category", "color", "pattern"}
    assert figures["types"]["category"]["queries"] == 14 and figures["items"] == 70
    assert figures["types"]["color+pattern+category"]["precision@min(10,R)"] >= 0.8   # names are in titles
    assert json.loads((tmp_path / "out.json").read_text())["types"] == figures["types"]
    assert any("color+category P@min(10,R)" in line for line in report.lines())


def test_minilm_precision_on_a_synthetic_catalog_and_loaded_once(config_factory, tmp_path):
    from lens.evaluation.text import attribute_queries, text_figures

    sessions, torch_loads = minilm.LOADS["onnx"], minilm.LOADS["cpu"]
    catalog = open_catalog(config_factory, tmp_path, model="minilm")
    items = products(140)                       # 10 a category; MiniLM embeds each batch at once
    for start in range(0, len(items), 64):
        catalog.add(items[start:start + 64], vec(len(items[start:start + 64])))
    figures = text_figures(catalog.text, items, attribute_queries(items, 25))["types"]
    # measured 0.80 0.84 0.79 0.86 0.88 0.93 0.98 (titles and descriptions only, no annotations)
    for qtype, floor in {"color+pattern+category": 0.7, "color+category": 0.75, "pattern+category": 0.7,
                         "color+pattern": 0.75, "category": 0.8, "color": 0.85, "pattern": 0.9}.items():
        assert figures[qtype]["precision@min(10,R)"] >= floor, (qtype, figures[qtype])
    other = open_catalog(config_factory, tmp_path / "again", model="minilm")
    other.add(items[:3], vec(3))
    assert other.text.search("red striped dress", 3)
    # one onnxruntime session per process and graph; torch loaded at most once (to export the graph)
    assert minilm.LOADS["onnx"] - sessions <= 1 and minilm.LOADS["cpu"] <= 1 and minilm.LOADS["cpu"] - torch_loads <= 1


SENTENCES = ["red striped dress", "Coral bags, silver, accessories", "a", "NIKE AIR " * 300]   # last: > 256 tokens


def test_minilm_onnx_matches_sentence_transformers(tmp_path):
    """The exported graph gives sentence-transformers' vectors (padding, truncation, pooling)."""
    from lens.text.minilm import MiniLM, onnx_path

    want = MiniLM(runtime="torch").encode(SENTENCES)
    onnx = MiniLM(runtime="onnx", cache_dir=tmp_path, batch_size=3)      # two batches, padded
    got = onnx.encode(SENTENCES)
    assert got.shape == (4, 384) and got.dtype == np.float32
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert (got * want).sum(1).min() > 0.99999
    assert onnx.runtime == "onnx" and onnx_path(tmp_path).is_file()
    assert [p.name for p in tmp_path.iterdir()] == [onnx_path(tmp_path).name]   # no temporary left
    assert np.array_equal(MiniLM(cache_dir=tmp_path).encode(SENTENCES[:1]), got[:1])   # reused


def test_minilm_falls_back_to_torch_when_onnx_fails(monkeypatch, caplog):
    import lens.text.minilm as M

    def broken(cache_dir):
        raise RuntimeError("no onnxruntime here")

    monkeypatch.setattr(M, "onnx_session", broken)
    encoder = M.MiniLM(runtime="onnx")
    with caplog.at_level("WARNING", logger="lens.text.minilm"):
        got = encoder.encode(SENTENCES[:2])
    assert got.shape == (2, 384) and encoder.runtime == "torch"
    assert "no onnxruntime here" in caplog.text and "using torch" in caplog.text


def test_text_runtime_is_checked(config_factory):
    from lens.config import load_config

    config = load_config("demo", ["text.runtime=tensorrt"])
    with pytest.raises(ValueError, match="text.runtime 'tensorrt'.*onnx, torch"):
        TextIndex.from_config(config.text)
    with pytest.raises(ValueError, match="text.runtime"):
        minilm.MiniLM(runtime="tensorrt")

"""The unified embedding (issue 21): samples from manifests, the trainer, the checkpoint, the embedder,
its binary codes, its heads in the understanding, the rebuild refusal and the command's bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest

from cli.main import main
from lens.config import EmbedderConfig, IndexConfig, ModelsConfig
from lens.embeddings import UnifiedEmbedder, make_embedder
from lens.index import VectorIndex
from lens.index.binary import BinaryKind, pack_signs
from lens.learning.samples import Sample, classes, holdout, samples_from_items, text_clusters
from lens.learning.trainer import TrainSettings, balanced_batches
from lens.manifest import read_items
from lens.models import ModelStore
from lens.unified import load_checkpoint
from tests.conftest import SHAPES, save_png, tiny_products


def unified(checkpoint) -> UnifiedEmbedder:
    return make_embedder(EmbedderConfig(name="unified"), ModelStore(ModelsConfig(unified=str(checkpoint["path"]))))


def photos(checkpoint) -> tuple[list[np.ndarray], list[str]]:
    from lens.imageio import load_image

    items = read_items(checkpoint["manifest"])
    return [load_image(i["image"]) for i in items], [i.get("product", i["id"]) for i in items]


def test_loss_falls_and_the_checkpoint_holds_its_tasks(unified_checkpoint):
    history = unified_checkpoint["figures"]["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert history[-1]["loss"] < history[0]["loss"]
    ckpt = load_checkpoint(unified_checkpoint["path"])          # weights_only=True inside
    assert ckpt["tasks"]["product"] == sorted(SHAPES) and ckpt["tasks"]["category"] == ["long", "round"]
    assert ckpt["dim"] == 256 and len(ckpt["history"]) == 3


def test_a_saved_checkpoint_reloads_to_identical_vectors(unified_checkpoint):
    images, _ = photos(unified_checkpoint)
    a, b = unified(unified_checkpoint), unified(unified_checkpoint)
    np.testing.assert_array_equal(a.embed(images), b.embed(images))
    assert a.settings()["name"] == "unified" and len(a.settings()["checkpoint"]) == 12


def test_camera_photos_find_their_product(unified_checkpoint):
    images, labels = photos(unified_checkpoint)
    vectors = unified(unified_checkpoint).embed(images)
    catalog = [k for k, label in enumerate(labels) if label in SHAPES and images[k][0, 0, 0] == 250]
    camera = [k for k in range(len(images)) if k not in catalog]
    nearest = np.argmax(vectors[camera] @ vectors[catalog].T, axis=1)
    right = np.mean([labels[catalog[j]] == labels[k] for j, k in zip(nearest, camera)])
    assert right >= 0.75


def test_binary_codes_are_the_signs_of_the_float_vectors(unified_checkpoint):
    images, _ = photos(unified_checkpoint)
    emb = unified(unified_checkpoint)
    vectors = emb.embed(images)
    kind = BinaryKind(IndexConfig(kind="binary", binary_codes="sign"), vectors.shape[1])
    kind.build(vectors)
    np.testing.assert_array_equal(kind.codes(vectors), pack_signs(vectors, 256))
    assert (vectors > 0).mean() == pytest.approx(0.5, abs=0.1)      # the layer norm balances the bits
    served = VectorIndex(vectors.shape[1], "binary", emb.settings())       # auto: sign bits for unified
    assert served.config.binary_codes == "sign"
    assert VectorIndex(1280, "binary", {"name": "mobilenet_v2"}).config.binary_codes == "rotated"
    with pytest.raises(ValueError, match="index.binary_codes 'gray': unknown"):
        BinaryKind(IndexConfig(kind="binary", binary_codes="gray"), 8)


def test_an_index_of_another_embedder_refuses_with_the_rebuild_command(unified_checkpoint, tmp_path):
    emb = unified(unified_checkpoint)
    old = {"name": "mobilenet_v2", "dim": 1280}
    index = VectorIndex(1280, embedder=old)
    index.add(["a"], np.eye(1, 1280, dtype=np.float32))
    index.save(tmp_path, "visual")
    with pytest.raises(ValueError) as err:
        VectorIndex.load(tmp_path, "visual", emb.settings())
    message = str(err.value)
    assert "mobilenet_v2" in message and "unified" in message and "lens index --rebuild" in message
    assert "\n" not in message


def test_the_understanding_uses_the_models_own_category_head(unified_checkpoint):
    from lens.config import UnderstandingConfig
    from lens.understanding import QueryUnderstanding

    emb = unified(unified_checkpoint)
    store = ModelStore(ModelsConfig(unified=str(unified_checkpoint["path"])))
    qu = QueryUnderstanding.from_config(UnderstandingConfig(skin_tone=False, body_type=False), emb, store)
    assert set(qu.heads) == {"category"}           # no pattern task was trained
    images, labels = photos(unified_checkpoint)
    guesses = [qu.heads["category"].predict(v, 1)[0]["name"] for v in emb.embed(images)]
    assert np.mean([g == SHAPES[label] for g, label in zip(guesses, labels)]) >= 0.75


def test_samples_from_scene_objects_and_photos_of_a_product(tmp_path):
    save_png(tmp_path / "p.png", np.full((20, 20, 3), 200, np.uint8))
    items = [{"id": "p1", "image": str(tmp_path / "p.png"), "category": "top", "color": "red"},
             {"id": "p2", "image": str(tmp_path / "p.png"), "category": "bag"},
             {"id": "s1", "kind": "scene", "image": str(tmp_path / "p.png"),
              "objects": [{"product_id": "p1", "box": [1, 1, 10, 10]},
                          {"product_id": "p2", "box": [2, 2, 9, 9], "visible": 0.2},
                          {"product_id": "gone", "box": [2, 2, 9, 9]}]},
             {"id": "u1", "kind": "scene", "image": str(tmp_path / "p.png"), "product": "p2"}]
    samples, skipped = samples_from_items(items, ("product", "category", "color"))
    assert [(s.catalog, s.box, s.labels.get("product")) for s in samples] == [
        (True, None, "p1"), (True, None, "p2"), (False, (1.0, 1.0, 10.0, 10.0), "p1"), (False, None, "p2")]
    assert samples[2].labels == {"product": "p1", "category": "top", "color": "red"}
    assert skipped == {"unknown product": 1, "hidden object": 1}
    assert classes(samples, ("product", "category")) == {"product": ["p1", "p2"], "category": ["bag", "top"]}


def test_bad_manifests_fail_with_one_line_naming_the_problem(tmp_path):
    item = {"id": "p1", "image": str(tmp_path / "missing.jpg")}
    with pytest.raises(ValueError, match=r"item 'p1': image .*missing.jpg does not exist"):
        samples_from_items([item], ("product",))
    save_png(tmp_path / "a.png", np.zeros((8, 8, 3), np.uint8))
    one = [Sample(str(tmp_path / "a.png"), None, True, {"product": "only"})]
    with pytest.raises(ValueError, match="task 'product' has 1 class"):
        classes(one, ("product",))
    with pytest.raises(ValueError, match="--tasks shapes: unknown"):
        samples_from_items([], ("shapes",))


def test_holdout_keeps_catalog_photos_and_one_camera_photo_per_product():
    samples = [Sample("x", None, True, {"product": "a"})] + [Sample("x", None, False, {"product": "a"})] * 30 \
        + [Sample("x", None, False, {"product": "b"})]
    held = holdout(samples, 0.5, seed=1)
    assert not held[0] and not held[-1] and 10 <= held[1:31].sum() <= 20


def test_batches_are_class_balanced():
    labels = np.array([0] * 100 + [1] * 3 + [2] * 10 + [-1] * 5)
    settings = TrainSettings(classes_per_batch=3, per_class=4)
    batches = list(balanced_batches(labels, settings, np.random.default_rng(0)))
    assert len(batches) == 113 // 12
    for idx in batches:
        assert sorted(np.bincount(labels[idx], minlength=3).tolist()) == [4, 4, 4]
    with pytest.raises(ValueError, match="at least 2 classes"):
        next(balanced_batches(np.array([0, 0, -1]), settings, np.random.default_rng(0)))


def test_text_clusters_group_titles_and_merge_the_long_tail():
    from lens.text.minilm import MiniLM

    themes = {"kitchen": ["steel frying pan", "cast iron skillet", "non-stick saucepan", "copper stock pot",
                          "carbon steel wok pan", "enamel casserole dish"],
              "garden": ["garden hose reel", "pruning shears", "lawn rake", "watering can", "garden trowel",
                         "leaf blower"]}
    items = [{"id": f"{t}{k}", "image": "x", "title": title} for t, titles in themes.items()
             for k, title in enumerate(titles)]
    clusters = text_clusters(items, MiniLM(), n=4)
    for theme in themes:
        assert len({clusters[f"{theme}{k}"] for k in range(6)}) == 1, clusters
    assert clusters["kitchen0"] != clusters["garden0"]


def test_the_command_trains_and_reports(tmp_path, capsys):
    manifest = tiny_products(tmp_path / "data", camera=4)
    out = tmp_path / "u.pt"
    rc = main(["train-embedding", "--manifest", str(manifest), "--out", str(out), "--epochs", "1",
               "--views", "1", "--catalog-views", "2", "--holdout", "0.25", "--tasks", "product,category,pattern"])
    text = capsys.readouterr().out
    assert rc == 0 and out.is_file() and not (tmp_path / "u.pt.resume").exists()
    assert "held-out top-1" in text and "held-out category accuracy" in text and "pattern" not in text
    assert main(["train-embedding", "--manifest", str(manifest), "--out", str(out), "--resume"]) == 2
    assert "no " in capsys.readouterr().err


def test_the_command_refuses_a_one_product_manifest(tmp_path, capsys):
    save_png(tmp_path / "a.png", np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "m.jsonl").write_text(json.dumps({"id": "a", "image": "a.png"}) + "\n")
    assert main(["train-embedding", "--manifest", str(tmp_path / "m.jsonl"), "--out", str(tmp_path / "u.pt")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "task 'product' has 1 class" in err


def test_resume_goes_on_from_the_last_finished_epoch(tmp_path, monkeypatch):
    import lens.learning.trainer as trainer
    from lens.learning.embedding import EmbeddingJob, train_embedding

    job = EmbeddingJob([str(tiny_products(tmp_path / "data"))], str(tmp_path / "u.pt"), ("product",),
                       views=1, catalog_views=2, holdout=0.0,
                       settings=TrainSettings(epochs=2, classes_per_batch=4, per_class=2))
    real, calls = trainer.balanced_batches, []

    def interrupted(*args):          # counting the steps, epoch 1, then epoch 2 is interrupted
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(trainer, "balanced_batches", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_embedding(job, ModelStore(), progress=False)
    first = load_checkpoint(tmp_path / "u.pt")["history"]
    assert [h["epoch"] for h in first] == [1] and (tmp_path / "u.pt.resume").is_file()
    monkeypatch.setattr(trainer, "balanced_batches", real)
    figures = train_embedding(job, ModelStore(), resume=True, progress=False)
    assert [h["epoch"] for h in figures["history"]] == [1, 2] and figures["history"][0] == first[0]
    assert not (tmp_path / "u.pt.resume").exists()


def test_eval_embedding_sets_embedders_side_by_side(unified_checkpoint, tmp_path, capsys):
    manifest = unified_checkpoint["manifest"]
    out = tmp_path / "e.json"
    rc = main(["--set", f"models.unified={unified_checkpoint['path']}", "eval", "embedding", "--manifest",
               str(manifest), "--queries", str(manifest), "--embedders", "mobilenet_v2,unified",
               "--json", str(out)])
    assert rc == 0
    figures = json.loads(out.read_text())
    assert figures["queries"] == 12 and figures["products"] == 4
    assert figures["unified"]["bits"] == 256 and figures["mobilenet_v2"]["bits"] == 1280
    assert figures["unified"]["top-1"] >= 0.75
    assert "unified binary top-1" in capsys.readouterr().out
    main(["--set", f"models.root={tmp_path}", "eval", "embedding", "--manifest", str(manifest), "--queries",
          str(manifest), "--embedders", "unified", "--json", str(out)])
    assert "lens train-embedding" in json.loads(out.read_text())["unified"]["missing"]


def test_engagement_pairs_and_boards_are_tasks(tmp_path):
    save_png(tmp_path / "p.png", np.full((20, 20, 3), 200, np.uint8))
    image = str(tmp_path / "p.png")
    items = [{"id": "p1", "image": image, "boards": ["b1", "b2"]}, {"id": "p2", "image": image, "boards": ["b1"]},
             {"id": "p3", "image": image},
             {"id": "q1", "kind": "engagement", "image": image, "clicked": "p3"},
             {"id": "q2", "kind": "engagement", "image": image, "saved": "p1"},
             {"id": "q3", "kind": "engagement", "image": image, "saved": "gone"}]
    samples, skipped = samples_from_items(items, ("product", "boards"))
    assert [(s.catalog, s.labels.get("product"), s.labels.get("boards")) for s in samples] == [
        (True, "p1", "b1"), (True, "p1", "b2"), (True, "p2", "b1"), (True, "p3", None),
        (False, "p3", None), (False, "p1", None)]
    assert skipped["unknown product"] == 1
    assert classes(samples, ("product", "boards")) == {"product": ["p1", "p2", "p3"], "boards": ["b1", "b2"]}
    plain, _ = samples_from_items(items, ("product",))          # without the task, one sample a product
    assert [s.labels for s in plain][:3] == [{"product": "p1"}, {"product": "p2"}, {"product": "p3"}]

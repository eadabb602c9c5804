"""``lens index``: reader, mapper and writer alone, then together; bad input loses nothing."""
import json

import numpy as np
import pytest

from lens.catalog.store import STORES
from lens.manifest import read_items
from lens.pipeline.indexing import CatalogWriter, IndexMapper, run_indexing

# Six solid colours answer each other's queries here: the relevance floor would rightly leave the
# unrelated colours out (tests/test_relevance.py tests it), and these tests count what comes back.
NO_FLOOR = "blend.min_relevance=0"


def test_reader_folder(image_folder):
    (image_folder / "notes.txt").write_text("not an image")
    items = read_items(image_folder)
    assert [i["id"] for i in items] == sorted(["green", "mustard", "navy", "pink", "red", "teal"])
    assert all(i["image"].endswith(".png") for i in items)


def test_reader_manifest(tmp_path, image_folder):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"id": "x", "image": str(image_folder / "red.png"),
                                    "title": "Red thing"}) + "\n\n")
    assert read_items(manifest)[0]["title"] == "Red thing"


@pytest.mark.parametrize("lines, message", [
    (['{"id": "a"}'], r"m.jsonl:1: missing field 'image'"),
    (['{"id": "a", "image": "a.png"}', '{"image": "b.png"}'], r"m.jsonl:2: missing field 'id'"),
    (['{"id": "a", "image": "a.png"}', "{broken"], r"m.jsonl:2: invalid JSON"),
    (['[1, 2]'], r"m.jsonl:1: expected a JSON object"),
    (['{"id": "a", "image": "a.png"}', '{"id": "a", "image": "b.png"}'], "duplicate item id 'a'"),
    ([], "holds no items"),
])
def test_reader_manifest_errors_name_the_line(tmp_path, lines, message):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=message):
        read_items(manifest)


def test_reader_empty_and_missing(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty: no images in this folder"):
        read_items(tmp_path / "empty")
    with pytest.raises(ValueError, match="nowhere: no such file or folder"):
        read_items(tmp_path / "nowhere")
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(ValueError, match="x.txt: expected a folder of images"):
        read_items(tmp_path / "x.txt")


def test_mapper_alone(models, embedder, image_folder):
    from lens.pipeline.bundle import ModelBundle
    from lens.understanding import QueryUnderstanding

    items = read_items(image_folder)
    (image_folder / "bad.png").write_bytes(b"corrupt")
    items.append({"id": "bad", "image": str(image_folder / "bad.png")})
    bundle = ModelBundle(models.config, embedder=embedder, understanding=QueryUnderstanding(class_names=embedder.categories))
    batch = IndexMapper.from_models(bundle, detect=False)(items)
    assert len(batch.records) == 6 and batch.vectors.shape == (6, embedder.dim)
    assert batch.failures[0][0].endswith("bad.png") and "bad.png" in batch.failures[0][1]
    red = next(r for r in batch.records if r["id"] == "red")
    assert red["understanding"]["colors"][0]["name"] == "red"
    assert red["width"] == 160 and len(red["image_hash"]) == 40


@pytest.mark.parametrize("backend", sorted(STORES))
def test_index_then_query_then_reopen(request, lens_factory, image_folder, backend):
    overrides = [f"store.backend={backend}"]
    if backend == "redis":
        overrides.append(f"store.redis_url={request.getfixturevalue('redis_url')}")
    lens = lens_factory(*overrides)
    mapper, writer = IndexMapper(lens.analyzer, detect=False), CatalogWriter(lens.catalog)
    report = run_indexing(read_items(image_folder), mapper, writer, batch_size=4, progress=False)
    assert (report.added, report.skipped, report.failures) == (6, 0, [])
    result = lens(str(image_folder / "navy.png"), k=3)
    assert result.results[0]["id"] == "navy" and "visual" in result.results[0]["sources"]
    assert set(result.timings_ms) >= {"decode", "detect", "embed", "understand", "source.visual", "total"}
    (region,) = [r for r in result.regions if r["label"] == "object"]
    assert region["understanding"]["colors"][0]["name"] == "navy"      # every crop is understood
    assert any(a["text"] == "navy" for a in result.understanding["annotations"])
    # reopening does not recompute: everything is skipped
    again = lens_factory(*overrides)
    report = run_indexing(read_items(image_folder), IndexMapper(again.analyzer, detect=False),
                          CatalogWriter(again.catalog), progress=False)
    assert (report.added, report.skipped) == (0, 6)
    assert len(again.catalog) == 6 and len(again.catalog.visual) == 6
    if backend == "redis":
        again.catalog.store.clear()


def test_corrupt_file_loses_nothing_indexed(lens_factory, image_folder):
    lens = lens_factory()
    mapper, writer = IndexMapper(lens.analyzer, detect=False), CatalogWriter(lens.catalog)
    run_indexing(read_items(image_folder), mapper, writer, progress=False)
    (image_folder / "zz_corrupt.jpg").write_bytes(b"\xff\xd8\xff garbage")
    report = run_indexing(read_items(image_folder), mapper, writer, progress=False)
    assert report.added == 0 and report.skipped == 6
    assert "zz_corrupt.jpg" in report.failures[0][1]
    assert len(lens_factory().catalog) == 6


def test_delete_from_catalog(lens_factory, image_folder):
    lens = lens_factory()
    run_indexing(read_items(image_folder), IndexMapper(lens.analyzer, detect=False),
                 CatalogWriter(lens.catalog), progress=False)
    assert lens.catalog.delete("red") and not lens.catalog.delete("red")
    reopened = lens_factory(NO_FLOOR)
    assert "red" not in reopened.catalog.visual and len(reopened.catalog) == 5
    found = [r["id"] for r in reopened(str(image_folder / "red.png"), k=5).results]
    assert sorted(found) == ["green", "mustard", "navy", "pink", "teal"]    # the other five, never red


def test_query_box_and_bad_box(lens_factory, image_folder):
    lens = lens_factory()
    run_indexing(read_items(image_folder), IndexMapper(lens.analyzer, detect=False),
                 CatalogWriter(lens.catalog), progress=False)
    result = lens(str(image_folder / "teal.png"), box=[30, 20, 130, 100], k=2)
    assert result.query_box == [30, 20, 130, 100]
    assert result.results[0]["provenance"][0]["via"] == "box"
    with pytest.raises(ValueError, match="degenerate"):
        lens(str(image_folder / "teal.png"), box=[50, 50, 40, 60])
    with pytest.raises(ValueError, match="k 0"):
        lens(str(image_folder / "teal.png"), k=0)


def test_query_on_empty_catalog_is_empty(lens_factory):
    result = lens_factory()(np.full((64, 64, 3), 200, np.uint8))
    assert result.results == []


def test_large_photo_is_processed_small_and_answered_in_original_pixels(lens_factory, image_folder):
    import cv2

    from tests.conftest import solid_image

    lens = lens_factory(NO_FLOOR)
    run_indexing(read_items(image_folder), IndexMapper(lens.analyzer, detect=False),
                 CatalogWriter(lens.catalog), progress=False)
    big = cv2.resize(solid_image((36, 84, 181)), (4000, 3000), interpolation=cv2.INTER_NEAREST)
    result = lens(big, k=2)
    assert (result.image["width"], result.image["height"]) == (4000, 3000)
    (region,) = [r for r in result.regions if r["label"] == "object"]
    assert region["box"] == pytest.approx([1000, 750, 3000, 2250], abs=20)
    boxed = lens(big, box=[1000, 750, 3000, 2250], k=1)
    assert boxed.query_box == [1000, 750, 3000, 2250] and boxed.results


def _two_objects(tmp_path):
    from PIL import Image

    img = np.full((240, 320, 3), 250, np.uint8)
    img[30:130, 20:120] = [200, 30, 40]
    img[120:220, 180:300] = [20, 40, 160]
    folder = tmp_path / "scenes"
    folder.mkdir()
    Image.fromarray(img).save(folder / "room.png")
    return folder


def test_scene_crops_go_to_the_object_index(lens_factory, tmp_path):
    lens = lens_factory()
    run_indexing(read_items(_two_objects(tmp_path)), IndexMapper.from_lens(lens),
                 CatalogWriter(lens.catalog), progress=False)
    record = lens.catalog.store.get("room")
    assert [c["id"] for c in record["crops"]] == ["room#0", "room#1"]
    assert sorted(lens.catalog.objects.ids) == ["room#0", "room#1"]
    for crop in record["crops"]:
        x1, y1, x2, y2 = crop["box"]
        assert 0 <= x1 < x2 <= 320 and 0 <= y1 < y2 <= 240 and crop["label"] == "object"
    reopened = lens_factory()
    assert len(reopened.catalog.objects) == 2
    assert reopened.catalog.delete("room")
    assert len(lens_factory().catalog.objects) == 0


def test_products_get_no_crops(lens_factory, tmp_path):
    folder = _two_objects(tmp_path)
    (folder / "manifest.jsonl").write_text(json.dumps({"id": "p1", "image": "room.png", "kind": "product"}) + "\n")
    lens = lens_factory()
    run_indexing(read_items(folder), IndexMapper.from_lens(lens), CatalogWriter(lens.catalog), progress=False)
    assert "crops" not in lens.catalog.store.get("p1") and len(lens.catalog.objects) == 0


def test_item_ids_with_the_crop_separator_are_refused(lens_factory, embedder):
    lens = lens_factory()
    with pytest.raises(ValueError, match="'a#1'"):
        lens.catalog.add([{"id": "a#1", "image": "x"}], np.zeros((1, embedder.dim), np.float32))


def test_the_whole_photo_probes_the_objects_only_when_it_is_one_object(lens_factory, image_folder, monkeypatch):
    from blender.objects import ObjectSource

    lens = lens_factory()
    run_indexing(read_items(image_folder), IndexMapper(lens.analyzer, detect=False),
                 CatalogWriter(lens.catalog), progress=False)
    seen = []
    monkeypatch.setattr(ObjectSource, "search", lambda self, q, k, allowed=None: seen.append(q.one_object) or [])
    lens(str(image_folder / "teal.png"), k=2, diversity=False)                   # a product on a backdrop
    assert seen[-1] is True                 # (the calls before it: the score calibration's catalog queries)
    lens(np.random.default_rng(0).integers(0, 256, (120, 160, 3), np.uint8), k=2, diversity=False)  # clutter
    assert seen[-1] is False

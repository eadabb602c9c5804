"""``lens label-crops``: reader, mapper, writer alone; weak-label votes; resume; COCO; Ray; user crops."""
import json

import numpy as np
import pytest
from PIL import Image

from jobs.shards import Shard, make_shards
from lens.boxes import Box
from lens.labeling.mapper import LabelMapper, ShardResult
from lens.labeling.reader import source_items
from lens.labeling.textprior import CategoryWords
from lens.labeling.weak import WeakLabelSettings, category_of, weak_label
from lens.labeling.writer import ShardWriter, one_box_per_object, read_rows, write_coco
from lens.types import Detection

COLORS = {"bag": [(200, 30, 40), (220, 60, 70)], "shoe": [(20, 40, 160), (30, 60, 190)],
          "vase": [(30, 160, 60), (60, 190, 80)]}
BOXES = [(20, 30, 120, 150), (180, 60, 300, 200)]      # two objects per scene


def _scene(left, right) -> np.ndarray:
    img = np.full((240, 320, 3), 245, np.uint8)
    for (x1, y1, x2, y2), color in zip(BOXES, (left, right)):
        img[y1:y2, x1:x2] = color
    return img


def fake_detector(rgb):
    return [Detection(Box(*b), "object", 0.9 - n * 0.1, "fake") for n, b in enumerate(BOXES)]


@pytest.fixture
def tiny(tmp_path, config_factory, embedder):
    """A catalog of 6 single-colour products (3 categories) and a folder of 5 two-object scenes."""
    from lens.catalog import Catalog
    from tests.conftest import solid_image

    config = config_factory("demo", "labeling.shard_size=2", "detection.detector=none", "detection.faces=false",
                            "detection.people=false")
    catalog = Catalog.open(config, embedder.settings())
    records, images = [], []
    for cat, colors in COLORS.items():
        for n, color in enumerate(colors):
            records.append({"id": f"{cat}{n}", "kind": "product", "image": f"{cat}{n}.png", "category": cat})
            images.append(solid_image(color))
    catalog.add(records, embedder.embed(images))
    scenes = tmp_path / "scenes"
    scenes.mkdir()
    pairs = [("bag", "shoe"), ("vase", "bag"), ("shoe", "vase"), ("bag", "vase"), ("shoe", "bag")]
    for n, (a, b) in enumerate(pairs):
        Image.fromarray(_scene(COLORS[a][0], COLORS[b][1])).save(scenes / f"s{n}.png")
    return config, catalog, scenes, pairs


def _analyzer(config, embedder, detector):
    """The analysis step with the session's embedder and a stand-in detector."""
    from lens.pipeline.analysis import Analyzer
    from lens.pipeline.bundle import ModelBundle

    return Analyzer(ModelBundle(config, embedder=embedder, detector=detector))


def _mapper(tiny, embedder):
    _, catalog, _, _ = tiny
    return LabelMapper(_analyzer(tiny[0], embedder, fake_detector), catalog,
                       settings=WeakLabelSettings(sim_floor=0.0, sim_ceil=0.01))


def test_weak_label_votes_by_similarity():
    def rec(cat, words=()):
        return {"category": cat, "understanding": {"annotations": [{"text": w, "kind": "color", "score": 1.0}
                                                                   for w in words]}}
    s = WeakLabelSettings(temperature=0.05, sim_floor=0.3, sim_ceil=0.6)
    out = weak_label([(0.9, rec("bag", ["red"])), (0.8, rec("shoe")), (0.79, rec("shoe"))], s)
    w = np.exp(np.array([0.9, 0.8, 0.79]) / 0.05)
    w /= w.sum()
    assert out["label"] == "bag" and out["confidence"] == pytest.approx(w[0], abs=1e-3)
    assert out["annotations"][0]["text"] == "red"
    # three close shoes outvote one slightly closer bag
    assert weak_label([(0.81, rec("bag")), *[(0.8, rec("shoe"))] * 3], s)["label"] == "shoe"
    # a poor best match gates confidence to 0; halfway gives half
    assert weak_label([(0.25, rec("bag"))], s)["confidence"] == 0.0
    assert weak_label([(0.45, rec("bag"))], s)["confidence"] == pytest.approx(0.5, abs=1e-3)
    # no category: coarse annotation; nothing at all: no label
    coarse = {"understanding": {"annotations": [{"text": "kitchen", "kind": "coarse", "score": 0.7}]}}
    assert category_of(coarse) == "kitchen"
    assert weak_label([(0.9, {})])["label"] is None
    with pytest.raises(ValueError, match="labeling.temperature"):
        from lens.config import LabelingConfig
        WeakLabelSettings.from_config(LabelingConfig(temperature=0))


def test_category_words_learned_from_product_titles():
    products = ([{"category": "dress", "title": f"{c} slip dress"} for c in ("red", "blue", "green")]
                + [{"category": "top", "title": f"{c} silk blouse"} for c in ("red", "blue", "white")]
                + [{"category": "lighting", "title": "white table lamp"}] * 3
                + [{"category": "furniture", "title": "oak coffee table"}] * 3
                + [{"category": "bag", "title": "canvas tote"}] * 2 + [{"title": "red thing"}] * 5)
    words = CategoryWords.from_products(products)
    assert "red" not in words.words and "table" not in words.words      # shared by categories
    assert "tote" not in words.words and words.words["bag"] == "bag"    # 2 products: too few; the name counts
    assert words.named("A person wears a red slip dress.") == {"dress"}
    assert words.named("Two blue blouses", "and a table lamp") == {"top", "lighting"}
    assert words.named("a coffee table") == {"furniture"} and words.named(None, "") == set()
    assert CategoryWords.from_products([]).named("a dress") == set()
    shirts = [{"category": "dress", "title": f"{c} shirt dress"} for c in ("red", "blue", "tan")]
    own = CategoryWords.from_products(shirts + [{"category": "shirt", "title": "linen blouse"}])
    assert own.named("a white shirt") == {"shirt"} and own.categories == {"dress", "shirt"}   # its own name wins


def test_weak_label_text_prior_reorders_but_never_adds():
    def rec(cat):
        return {"category": cat}
    s = WeakLabelSettings(unnamed_weight=0.25)
    votes = [(0.8, rec("top")), (0.78, rec("dress"))]
    plain = weak_label(votes, s)
    assert plain["label"] == "top" and weak_label(votes, WeakLabelSettings(unnamed_weight=1.0), {"dress"}) == plain
    named = weak_label(votes, s, {"dress"})
    w = np.exp(np.array([0.8, 0.78]) / 0.05)
    assert named["label"] == "dress"
    assert named["confidence"] == pytest.approx(w[1] / (w[1] + 0.25 * w[0]), abs=1e-3)
    assert weak_label(votes, s, {"lighting"}) == plain      # names nothing the neighbours proposed
    assert weak_label(votes, s, set()) == plain
    coarse = [(0.8, {"understanding": {"annotations": [{"text": "footwear", "kind": "coarse", "score": 0.9}]}}),
              (0.78, rec("dress"))]                  # a coarse fallback no word can name keeps its weight
    assert weak_label(coarse, s, {"dress"}, nameable={"dress", "top"})["label"] == "footwear"
    assert weak_label(coarse, s, {"dress"})["label"] == "dress"
    from lens.config import LabelingConfig
    with pytest.raises(ValueError, match="labeling.unnamed_weight"):
        WeakLabelSettings.from_config(LabelingConfig(unnamed_weight=0))
    with pytest.raises(ValueError, match="labeling.unnamed_weight"):
        WeakLabelSettings(unnamed_weight=0)
    assert WeakLabelSettings.from_config(LabelingConfig(unnamed_weight=0.3)).unnamed_weight == 0.3


def test_mapper_records_what_the_image_text_names(tiny, embedder):
    mapper = _mapper(tiny, embedder)
    item = {"id": "s0", "image": str(tiny[2] / "s0.png"), "title": "A red bag",
            "description": "Also shown: a blue shoe and a lamp."}
    crops = mapper(Shard("t", [item])).crops
    assert [c["text_named"] for c in crops] == [["bag", "shoe"]] * 2
    assert [c["label"] for c in crops] == ["bag", "shoe"]


def test_reader_shards_are_stable(tiny):
    items = source_items(tiny[2])
    a, b = make_shards(items, 2), make_shards(list(reversed(items)), 2)
    assert [s.id for s in a] == [s.id for s in b] and len(a) == 3 and a[2].first_index == 4
    assert make_shards(items[:3], 2)[1].id != a[1].id          # other items: another shard id
    with pytest.raises(ValueError, match="labeling.shard_size"):
        make_shards(items, 0)


def test_mapper_labels_crops_and_counts_corrupt(tiny, embedder):
    _, _, scenes, pairs = tiny
    (scenes / "zz.png").write_bytes(b"corrupt")
    items = source_items(scenes)
    result = _mapper(tiny, embedder)(Shard("x", items))
    assert len(result.images) == 5 and len(result.crops) == 10
    assert result.failures[0][0].endswith("zz.png") and "zz.png" in result.failures[0][1]
    by_id = {c["crop_id"]: c for c in result.crops}
    assert [by_id[f"s{n}#{k}"]["label"] for n in range(5) for k in (0, 1)] == [c for p in pairs for c in p]
    assert all(0 <= c["confidence"] <= 1 and c["neighbours"] for c in result.crops)


def test_mapper_excludes_the_parent_item(tiny, embedder):
    mapper = _mapper(tiny, embedder)

    def neighbours(item_id):                  # scene s0's two crops, filed under ``item_id``
        shard = Shard("p", [{"id": item_id, "image": str(tiny[2] / "s0.png")}])
        return [[n[0] for n in c["neighbours"]] for c in mapper(shard).crops]

    mine, anyone = neighbours("bag0"), neighbours("s0")
    assert len(mine) == len(anyone) == 2 and anyone[0][0] == "bag0"      # its bag is bag0's colour
    for ours, theirs in zip(mine, anyone):    # bag0 left out, the next neighbour moves up
        others = [i for i in theirs if i != "bag0"]
        assert "bag0" not in ours and len(ours) == len(theirs) and ours[:len(others)] == others


def test_one_box_per_object_keeps_the_surest_of_each_overlapping_group():
    def crop(n, item, label, conf, box):
        return {"crop_id": f"{item}#{n}", "item_id": item, "label": label, "confidence": conf, "detection_box": box}
    crops = [crop(0, "a", "dress", 0.8, [10, 10, 110, 210]),
             crop(1, "a", "dress", 0.9, [12, 12, 108, 200]),     # same dress, surer: kept
             crop(2, "a", "dress", 0.95, [20, 20, 60, 60]),      # a part of it, surest: kept, the whole goes
             crop(3, "a", "top", 0.7, [12, 12, 108, 200]),       # another label: kept
             crop(4, "a", "dress", 0.75, [150, 10, 250, 210]),   # a second dress beside it: kept
             crop(5, "b", "dress", 0.8, [10, 10, 110, 210])]     # another image: kept
    kept, dropped = one_box_per_object(crops)
    assert sorted(c["crop_id"] for c in kept) == ["a#2", "a#3", "a#4", "b#5"] and dropped == 2
    assert one_box_per_object([]) == ([], 0)


def test_loose_sources_become_ignore_regions_not_boxes(tmp_path):
    """labeling.box_sources: a confident pose box is an ignore region; an unknown source is named."""
    from lens.labeling.job import checked_box_sources
    from lens.labeling.writer import coco_dict, coco_selection

    image = {"type": "image", "id": "p", "image": str(tmp_path / "p.jpg"), "width": 100, "height": 100,
             "index": 0}
    crops = [{"type": "crop", "crop_id": f"p#{n}", "item_id": "p", "detection_box": box, "label": label,
              "confidence": conf, "source": source}
             for n, (box, label, conf, source) in enumerate([([10, 10, 40, 40], "bag", 0.9, "rcnn"),
                                                            ([50, 60, 90, 99], "footwear", 0.95, "people"),
                                                            ([0, 0, 20, 20], "bag", 0.2, "rcnn")])]
    _, keep, unsure, _ = coco_selection([image, *crops], 0.7, box_sources={"rcnn"})
    assert [r["crop_id"] for r in keep] == ["p#0"] and {r["crop_id"] for r in unsure} == {"p#1", "p#2"}
    assert len(coco_selection([image, *crops], 0.7)[1]) == 2                       # any source
    data = coco_dict([image, *crops], ["bag", "footwear"], 0.7, tmp_path, box_sources={"rcnn"})
    assert [(a["crop_id"], a["iscrowd"]) for a in data["annotations"]] == [("p#0", 0), ("p#1", 1), ("p#2", 1)]
    assert checked_box_sources(["rcnn", "user"]) == {"rcnn", "user"}
    with pytest.raises(ValueError, match=r"labeling.box_sources \['rcnn', 'pose'\]: expected some of rcnn"):
        checked_box_sources(["rcnn", "pose"])


def test_real_label_agreement_from_a_manifest_with_objects(tmp_path):
    from lens.evaluation.real_labels import manifest_truth

    (tmp_path / "m.jsonl").write_text(
        json.dumps({"id": "a", "image": "a.jpg", "objects": [{"category": "bag", "box": [0, 0, 10, 10]}]}) + "\n"
        + json.dumps({"id": "b", "image": "b.jpg"}) + "\n")
    truth = manifest_truth(tmp_path / "m.jsonl")
    assert list(truth) == ["a"] and truth["a"][0][0] == "bag" and truth["a"][0][1].as_list() == [0, 0, 10, 10]
    (tmp_path / "n.jsonl").write_text(json.dumps({"id": "b", "image": "b.jpg"}) + "\n")
    with pytest.raises(ValueError, match="no row carries 'objects'"):
        manifest_truth(tmp_path / "n.jsonl")


def test_writer_resume_and_coco(tiny, embedder, tmp_path):
    from detection.coco import read_coco
    from jobs.runner import run_shards

    shards = make_shards(source_items(tiny[2]), 2)
    writer, calls = ShardWriter(tmp_path / "out"), []
    mapper = _mapper(tiny, embedder)

    def flaky(shard):
        if len(calls) == 1:
            raise KeyboardInterrupt          # interrupted while mapping the second shard
        calls.append(shard.id)
        return mapper(shard)
    with pytest.raises(KeyboardInterrupt):
        run_shards(shards, lambda: flaky, writer, writer.done, progress=False)
    assert [p.name for p in writer.labels.iterdir()] == [f"{shards[0].id}.jsonl"]   # no partial file
    assert run_shards(shards, lambda: mapper, writer, writer.done, progress=False) == 2
    assert run_shards(shards, lambda: mapper, writer, writer.done, progress=False) == 0   # idempotent
    rows = list(read_rows(tmp_path / "out"))
    crop_ids = [r["crop_id"] for r in rows if r["type"] == "crop"]
    assert len(crop_ids) == len(set(crop_ids)) == 10
    path, info = write_coco(tmp_path / "out", list(COLORS), 0.0, tiny[2])
    coco = read_coco(path)
    assert coco.labels[1:] == sorted(COLORS) and len(coco.data["annotations"]) == 10 == info["boxes"]
    assert {i["file_name"] for i in coco.data["images"]} == {f"s{n}.png" for n in range(5)}
    cut = sorted(r["confidence"] for r in rows if r["type"] == "crop")[5]
    strict = read_coco(write_coco(tmp_path / "out", list(COLORS), cut, tiny[2])[0]).data
    sure = [a for a in strict["annotations"] if not a["iscrowd"]]
    assert len(sure) == sum(r["type"] == "crop" and r["confidence"] >= cut for r in rows)
    # the unsure crops of the kept images are ignore regions (COCO crowd boxes), never dropped silently
    kept = {i["item_id"] for i in strict["images"]}
    unsure = [r for r in rows if r["type"] == "crop" and r["confidence"] < cut and r["item_id"] in kept]
    assert sorted(a["crop_id"] for a in strict["annotations"] if a["iscrowd"]) == sorted(r["crop_id"] for r in unsure)
    assert all(a["score"] < cut for a in strict["annotations"] if a["iscrowd"])
    assert strict["info"]["ignore_regions"] == len(unsure)
    with pytest.raises(ValueError, match="--min-confidence"):
        write_coco(tmp_path / "out", list(COLORS), 2.0, tiny[2])


def test_label_crops_job_and_agreement(tiny, tmp_path):
    import argparse

    from lens.evaluation import commands as eval_commands
    from lens.evaluation.labels import agreement_figures, coco_figures, scene_truth
    from lens.labeling.commands import add_parsers

    config, catalog, scenes, pairs = tiny
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    handlers = add_parsers(sub)
    eval_commands.add_parsers(sub)
    args = parser.parse_args(["label-crops", str(scenes), "--out", str(tmp_path / "job"), "--catalog",
                              str(catalog.directory), "--min-confidence", "0"])
    assert handlers["label-crops"](args, config) == 0
    report = json.loads((tmp_path / "job" / "report.json").read_text())
    assert report["images"] == 5 and report["shards"] == 3 and report["failed"] == 0
    assert report["boxes"] + report["duplicates"] == report["confident"] == 10   # min confidence 0: every crop
    assert parser.parse_args(["eval", "labels", "--train", "--epochs", "2"]).epochs == 2
    truth = scene_truth([{"id": f"s{n}", "width": 320, "height": 240, "people": [],
                          "objects": [{"category": c, "box": list(b), "visible": 1.0} for c, b in zip(p, BOXES)]}
                         for n, p in enumerate(pairs)])
    rows = [{"type": "image", "id": "s0"},
            {"type": "crop", "item_id": "s0", "detection_box": list(BOXES[0]), "label": "bag", "confidence": 0.9},
            {"type": "crop", "item_id": "s0", "detection_box": list(BOXES[1]), "label": "vase", "confidence": 0.9},
            {"type": "crop", "item_id": "s0", "detection_box": [0, 0, 10, 10], "label": "bag", "confidence": 0.9},
            {"type": "crop", "item_id": "s0", "detection_box": list(BOXES[1]), "label": "shoe", "confidence": 0.1}]
    for n, r in enumerate(rows[1:]):
        r["crop_id"] = f"s0#{n}"
    f = agreement_figures(rows, truth, 0.5)
    assert f["agreement"] == 0.5 and f["coverage"] == 1.0 and f["unmatched"] == pytest.approx(1 / 3, abs=1e-3)
    assert f["agreement bag"] == 1.0 and f["agreement shoe"] == 0.0
    rows.append({"type": "crop", "crop_id": "s0#9", "item_id": "s0", "detection_box": [22, 32, 118, 148],
                 "label": "bag", "confidence": 0.8})           # the same bag again: not a second COCO box
    c = coco_figures(rows, truth, 0.5)
    assert c["coco duplicates left out"] == 1 and c["coco confident crops"] == 3 and c["coco coverage"] == 1.0


def test_ray_engine_two_shards(tiny, tmp_path):
    ray = pytest.importorskip("ray")
    from jobs.runner import ROOT, run_shards
    from lens.labeling.job import MapperFactory

    config, catalog, scenes, _ = tiny
    shards = make_shards(source_items(scenes), 3)          # 2 shards
    env = {"env_vars": {"PYTHONPATH": str(ROOT)}}          # outside the try: a bad path fails, never skips
    try:
        ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, runtime_env=env)
    except Exception as exc:                                 # noqa: BLE001 - any start failure is a skip reason
        first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
        pytest.skip(f"ray cannot start here: {type(exc).__name__}{': ' + first if first else ''}")
    try:
        writer = ShardWriter(tmp_path / "ray")
        (writer.labels).mkdir(parents=True)
        first = shards[0]
        writer(first, ShardResult(first.id))                 # a finished shard from an earlier run
        factory = MapperFactory(config, str(catalog.directory))
        assert run_shards(shards, factory, writer, writer.done, engine="ray", workers=1, progress=False) == 1
    finally:
        ray.shutdown()
    rows = list(read_rows(tmp_path / "ray"))
    assert {r["id"] for r in rows if r["type"] == "image"} == {"s3", "s4"}   # shard 0 was skipped
    assert sum(r["type"] == "crop" for r in rows) >= 1


def test_user_crops_off_by_default_and_on_when_configured(config_factory, tmp_path):
    from lens.pipeline.usercrops import log_user_crop, read_user_crops

    rgb = np.zeros((40, 50, 3), np.uint8)
    off = config_factory("demo", f"labeling.user_crops_path={tmp_path / 'u.jsonl'}")
    assert off.labeling.log_user_crops is False and off.labeling.keep_user_images is False
    assert log_user_crop(off, rgb, [1, 2, 30, 20], "h1") is None and not (tmp_path / "u.jsonl").exists()
    on = config_factory("demo", f"labeling.user_crops_path={tmp_path / 'u.jsonl'}", "labeling.log_user_crops=true")
    row = log_user_crop(on, rgb, Box(1, 2, 30, 20), "h1")
    assert row["box"] == [1, 2, 30, 20] and "image" not in row and not (tmp_path / "user_images").exists()
    keep = config_factory("demo", f"labeling.user_crops_path={tmp_path / 'u.jsonl'}", "labeling.log_user_crops=true",
                          "labeling.keep_user_images=true")
    assert (tmp_path / "user_images" / "h2.png").samefile(log_user_crop(keep, rgb, [0, 0, 9, 9], "h2")["image"])
    assert read_user_crops(tmp_path / "u.jsonl") == {"h1": [[1.0, 2.0, 30.0, 20.0]], "h2": [[0.0, 0.0, 9.0, 9.0]]}
    (tmp_path / "bad.jsonl").write_text('{"image_hash": "x", "box": [5, 5, 1, 1]}\n')
    with pytest.raises(ValueError, match="bad.jsonl:1: box"):
        read_user_crops(tmp_path / "bad.jsonl")


def test_user_crops_become_candidate_regions(tiny, embedder):
    from lens.imageio import image_hash, load_image

    _, catalog, scenes, _ = tiny
    digest = image_hash(load_image(scenes / "s0.png"))
    mapper = LabelMapper(_analyzer(tiny[0], embedder, lambda rgb: []), catalog,
                         settings=WeakLabelSettings(sim_floor=0.0, sim_ceil=0.01),
                         user_boxes={digest: [list(BOXES[0])]})
    crops = mapper(Shard("u", source_items(scenes)[:2])).crops
    assert [(c["item_id"], c["source"], c["label"]) for c in crops] == [("s0", "user", "bag")]

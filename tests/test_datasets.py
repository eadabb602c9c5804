"""`lens data ccp|grocery|clothing`: real photos into COCO boxes and manifests (issue 19).

The converters run on a few real photos of each dataset, linked into a small copy of the
dataset's layout in tmp_path (never into the repo), with bad inputs added: a corrupt .mat, a
mask without its photo, an empty mask, an unknown label name, a line naming a missing image.
Skipped with a reason when the datasets are absent.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from pycocotools.coco import COCO
from scipy.io import savemat

from cli.main import main
from lens.datasets import ccp, clothing, grocery
from lens.datasets.common import Skipped
from lens.taxonomy import GARMENT_CLASSES
from tests.conftest import real_dataset

FOOTWEAR, SKIN, DRESS = 39, 41, 14        # CCP label ids: shoes, skin, dress
CCP_CHECKPOINT = Path(__file__).resolve().parent.parent / "detection" / "checkpoints" / "ccp_mnv2_fpn.pt"


def _link(src, dst):
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(src, dst)


# --- the box rules, on masks drawn here ---------------------------------------------------

def _garments():
    return {FOOTWEAR: "footwear", DRESS: "dress"}


def test_each_shoe_is_its_own_box_and_a_strap_joins_its_shoe():
    mask = np.zeros((100, 80), np.uint8)
    mask[80:95, 10:25] = FOOTWEAR             # left shoe
    mask[80:95, 50:66] = FOOTWEAR             # right shoe
    mask[74:78, 52:60] = FOOTWEAR             # a strap 2 px above the right shoe
    mask[60:70, 10:70] = SKIN                 # not an object
    boxes = ccp.garment_boxes(mask, _garments())
    assert sorted(b["box"] for b in boxes) == [[10, 80, 25, 95], [50, 74, 66, 95]]
    assert {b["category"] for b in boxes} == {"footwear"}


def test_two_touching_shoes_are_two_boxes_and_a_sandal_cut_by_skin_is_one():
    mask = np.zeros((120, 100), np.uint8)
    mask[90:110, 10:48] = FOOTWEAR            # left shoe ...
    mask[90:110, 52:90] = FOOTWEAR            # ... and right shoe,
    mask[100:104, 48:52] = FOOTWEAR           # joined at the toes: one component
    mask[70:76, 14:40] = FOOTWEAR             # the left sandal's ankle strap, ...
    mask[76:90, 14:40] = SKIN                 # ... cut off from it by the foot
    mask[72:78, 60:86] = FOOTWEAR             # and the right one's
    boxes = sorted(b["box"] for b in ccp.garment_boxes(mask, _garments()))
    assert boxes == [[10, 70, 50, 110], [50, 72, 90, 110]]


def test_one_shoe_seen_from_the_side_stays_one_box():
    mask = np.zeros((100, 120), np.uint8)
    mask[60:90, 10:40] = FOOTWEAR             # the heel and ankle
    mask[75:90, 40:100] = FOOTWEAR            # the sole and toe: no gap between them
    assert [b["box"] for b in ccp.garment_boxes(mask, _garments())] == [[10, 60, 100, 90]]


def test_a_bag_box_is_its_body_and_a_strap_alone_is_no_bag():
    bag = 5
    mask = np.zeros((400, 300), np.uint8)
    mask[250:300, 100:160] = bag              # the bag's body ...
    mask[40:250, 150:153] = bag               # ... on a 3-px shoulder strap
    (box,) = ccp.garment_boxes(mask, {bag: "bag"})
    assert box["category"] == "bag"
    assert np.abs(np.subtract(box["box"], [100, 250, 160, 300])).max() <= 2   # the strap's root stays
    mask[250:300, 100:160] = 0                # the body hidden behind the person
    assert ccp.garment_boxes(mask, {bag: "bag"}) == []


def test_one_box_classes_take_the_union_but_not_specks():
    mask = np.zeros((200, 100), np.uint8)
    mask[20:80, 20:80] = DRESS                # the dress, split by an arm ...
    mask[90:150, 20:80] = DRESS               # ... into two parts
    mask[190:192, 95:97] = DRESS              # a 4-px speck of label noise far away
    (box,) = ccp.garment_boxes(mask, _garments())
    assert box == {"category": "dress", "box": [20, 20, 80, 150], "parts": [DRESS]}


def test_degenerate_masks_give_no_boxes():
    assert ccp.garment_boxes(np.zeros((50, 50), np.uint8), _garments()) == []
    thin = np.zeros((50, 50), np.uint8)
    thin[10:40, 20:23] = DRESS                # 3 px wide: under MIN_SIDE
    assert ccp.garment_boxes(thin, _garments()) == []


def test_every_ccp_label_has_a_place_and_skin_and_hair_are_no_objects():
    assert set(ccp.CCP_GARMENT.values()) == set(GARMENT_CLASSES)
    assert not set(ccp.CCP_GARMENT) & ccp.NOT_GARMENTS
    assert {"skin", "hair", "null"} <= ccp.NOT_GARMENTS
    skipped = Skipped()
    mapping = ccp.label_map(["null", "shoes", "skin", "glitter"], skipped)
    assert mapping == {1: "footwear"}
    assert skipped.counts == {"unknown label name, its pixels are background": 1}


# --- CCP on real photos ---------------------------------------------------------------------

@pytest.fixture
def ccp_copy(tmp_path):
    """Photos 0001-0006 with masks, 1005-1006 tagged, and bad inputs beside them."""
    real = real_dataset("ccp")
    src = tmp_path / "ccp"
    names = ccp.read_labels(real / "label_list.mat")
    src.mkdir()
    cells = np.empty((1, len(names) + 1), dtype=object)      # a MATLAB cell array of names
    cells[0, :] = [np.array([n]) for n in names + ["glitter"]]
    savemat(src / "label_list.mat", {"label_list": cells})
    for n in range(1, 7):
        _link(real / "photos" / f"{n:04d}.jpg", src / "photos" / f"{n:04d}.jpg")
        _link(real / "annotations" / "pixel-level" / f"{n:04d}.mat",
              src / "annotations" / "pixel-level" / f"{n:04d}.mat")
    for n in (1005, 1006):
        _link(real / "photos" / f"{n:04d}.jpg", src / "photos" / f"{n:04d}.jpg")
        _link(real / "annotations" / "image-level" / f"{n:04d}.mat",
              src / "annotations" / "image-level" / f"{n:04d}.mat")
    masks = src / "annotations" / "pixel-level"
    (masks / "0006.mat").unlink()
    (masks / "0006.mat").write_bytes(b"MATLAB 5.0 but not really")           # corrupt
    (masks / "0007.mat").write_bytes((masks / "0001.mat").read_bytes())      # no photo 0007
    _link(real / "photos" / "0008.jpg", src / "photos" / "0008.jpg")
    savemat(masks / "0008.mat", {"groundtruth": np.zeros((832, 550), np.uint8)})   # empty
    _link(real / "photos" / "0009.jpg", src / "photos" / "0009.jpg")
    savemat(masks / "0009.mat", {"other": np.zeros(3)})                       # no groundtruth
    return src


def test_ccp_converts_real_masks_and_reports_every_bad_input(ccp_copy, tmp_path):
    report = ccp.convert(ccp_copy, tmp_path / "out", fold=0, folds=5)
    assert report["masked_photos"] == 5 and report["tagged_photos"] == 2
    assert report["train_photos"] == 4 and report["val_photos"] == 1       # 0005 is in fold 0
    reasons = report["skipped"]["by_reason"]
    assert report["skipped"]["total"] == 5, reasons
    assert any(r.startswith("corrupt .mat") for r in reasons)
    assert any(r.startswith("no image file") for r in reasons)
    assert "empty mask (background only)" in reasons and "no 'groundtruth' in it" in reasons
    assert "unknown label name, its pixels are background" in reasons
    rows = [json.loads(line) for line in (tmp_path / "out" / "masked.jsonl").read_text().splitlines()]
    for row in rows:
        assert row["kind"] == "scene" and row["tags"] and "skin" not in row["tags"]
        for o in row["objects"]:
            x1, y1, x2, y2 = o["box"]
            assert 0 <= x1 < x2 <= row["width"] and 0 <= y1 < y2 <= row["height"]
            assert o["category"] in GARMENT_CLASSES and o["parts"]
    assert sum(o["category"] == "footwear" for r in rows for o in r["objects"]) >= 5
    assert all(any(o["category"] in ("upper_body", "dress") for o in r["objects"]) for r in rows)
    tagged = [json.loads(line) for line in (tmp_path / "out" / "tagged.jsonl").read_text().splitlines()]
    assert [t["id"] for t in tagged] == ["ccp-1005", "ccp-1006"] and all("objects" not in t for t in tagged)


def test_ccp_coco_loads_in_pycocotools_and_matches_the_manifest(ccp_copy, tmp_path):
    ccp.convert(ccp_copy, tmp_path / "out")
    rows = {json.loads(line)["id"]: json.loads(line)
            for line in (tmp_path / "out" / "masked.jsonl").read_text().splitlines()}
    total = 0
    for split in ("train", "val"):
        with contextlib.redirect_stdout(io.StringIO()):
            coco = COCO(str(tmp_path / "out" / f"{split}.json"))
        assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == list(GARMENT_CLASSES)
        root = coco.dataset["info"]["images_root"]
        for image in coco.loadImgs(coco.getImgIds()):
            assert os.path.isfile(os.path.join(root, image["file_name"]))
            row = rows[f"ccp-{image['id']:04d}"]
            assert len(coco.getAnnIds(imgIds=image["id"])) == len(row["objects"])
        total += len(coco.getAnnIds())
    assert total == sum(len(r["objects"]) for r in rows.values())


def test_ccp_folds_are_disjoint_and_cover_every_photo(ccp_copy, tmp_path):
    vals = []
    for fold in range(2):
        ccp.convert(ccp_copy, tmp_path / f"f{fold}", fold=fold, folds=2)
        vals.append({i["id"] for i in json.loads((tmp_path / f"f{fold}" / "val.json").read_text())["images"]})
    assert vals[0] and vals[1] and not vals[0] & vals[1] and vals[0] | vals[1] == {1, 2, 3, 4, 5}
    with pytest.raises(ValueError, match="--fold 2 of --folds 2"):
        ccp.convert(ccp_copy, tmp_path / "bad", fold=2, folds=2)


def test_ccp_products_are_the_training_split_garments(ccp_copy, tmp_path):
    from PIL import Image

    from lens.boxes import Box
    from lens.datasets.ccp_products import PAD

    report = ccp.convert(ccp_copy, tmp_path / "out")
    out = tmp_path / "out"
    masked = {r["id"]: r for r in map(json.loads, (out / "masked.jsonl").read_text().splitlines())}
    val = [json.loads(line) for line in (out / "masked-val.jsonl").read_text().splitlines()]
    assert [r["id"] for r in val] == [i for i, r in masked.items() if r["split"] == "val"] == ["ccp-0005"]
    train = [json.loads(line)["id"] for line in (out / "masked-train.jsonl").read_text().splitlines()]
    assert train == [i for i, r in masked.items() if r["split"] == "train"] and "ccp-0005" not in train
    products = [json.loads(line) for line in (out / "products.jsonl").read_text().splitlines()]
    assert report["products"] == len(products) >= 10
    assert {p["source_photo"] for p in products} == {"ccp-0001", "ccp-0002", "ccp-0003", "ccp-0004"}
    for p in products:
        obj = next(o for o in masked[p["source_photo"]]["objects"] if o["box"] == p["box"])
        assert p["kind"] == "product" and p["category"] == obj["category"] and p["title"] == ", ".join(obj["parts"])
        row = masked[p["source_photo"]]
        x1, y1, x2, y2 = Box(*p["box"]).pad(PAD).clip(row["width"], row["height"]).to_int()
        with Image.open(out / p["image"]) as im:
            assert im.size == (x2 - x1, y2 - y1)


def test_weak_label_loop_on_real_photos(ccp_copy, tmp_path, capsys):
    """lens data ccp -> index the products -> label-crops -> eval labels --truth (and --compare)."""
    from tests.conftest import isolated

    out = tmp_path / "out"
    ccp.convert(ccp_copy, out)
    config = [a for o in isolated(tmp_path) for a in ("--set", o)]
    assert main([*config, "index", str(out / "products.jsonl")]) == 0
    for name in ("masked-val", "tagged"):
        assert main([*config, "label-crops", str(out / f"{name}.jsonl"), "--out", str(tmp_path / name),
                     "--images-root", str(ccp_copy)]) == 0
    coco = read_coco_file(tmp_path / "tagged" / "coco.json")
    assert {c["name"] for c in coco["categories"]} <= set(GARMENT_CLASSES) and coco["annotations"]
    assert all(a["iscrowd"] or a["crop_id"] for a in coco["annotations"])
    capsys.readouterr()
    figures = tmp_path / "labels.json"
    assert main([*config, "eval", "labels", "--truth", str(out / "masked-val.jsonl"), "--labels",
                 str(tmp_path / "masked-val"), "--compare", str(CCP_CHECKPOINT), "--val", str(out / "val.json"),
                 "--images", str(ccp_copy), "--json", str(figures)]) == 0
    f = json.loads(figures.read_text())
    assert f["scenes"] == 1 and f["matched crops"] >= 1 and f["agreement"] >= 0.5, f   # 20 products vote
    assert f["truth mAP@0.5"] == f["weak mAP@0.5"] > 0.2 and f["mAP@0.5 gap"] == 0.0


def test_bench_runs_the_weak_label_loop_end_to_end_and_resumes(ccp_copy, tmp_path, monkeypatch):
    """make bench's real-photos part: index, label-crops twice, train on weak boxes, compare."""
    from detection.rcnn import load_checkpoint
    from lens.config import load_config
    from lens.pipeline.bundle import ModelBundle
    from tests.conftest import isolated

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "bench"))
    import weak_labels

    work = tmp_path / "work"
    ccp.convert(ccp_copy, work / "ccp")
    models = ModelBundle(load_config("default", isolated(tmp_path)))
    f = weak_labels.bench_weak_labels(tmp_path, work, models)
    assert f["tag-only photos: boxes"] > 0 and f["scenes"] == 1 and f["matched crops"] >= 1
    assert f["input long side"] == load_checkpoint(CCP_CHECKPOINT).max_size and f["truth mAP@0.5"] > 0.2 and 0 <= f["weak mAP@0.5"] <= 1
    assert f["mAP@0.5 gap"] == pytest.approx(f["truth mAP@0.5"] - f["weak mAP@0.5"], abs=1e-4)
    assert (work / "ccp-weak" / "train" / "detector.pt").is_file()
    again = weak_labels.bench_weak_labels(tmp_path, work, models)     # resumed: nothing retrained
    assert again["weak mAP@0.5"] == f["weak mAP@0.5"] and again["train seconds"] < 5


def read_coco_file(path):
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(path)).dataset


def test_ccp_refuses_a_folder_that_is_not_ccp(tmp_path):
    with pytest.raises(ValueError, match="no label_list.mat in it"):
        ccp.convert(tmp_path, tmp_path / "out")
    (tmp_path / "label_list.mat").write_bytes(b"nonsense")
    with pytest.raises(ValueError, match="label_list.mat: not a CCP label list"):
        ccp.convert(tmp_path, tmp_path / "out")


# --- Grocery and clothing on real photos ----------------------------------------------------

@pytest.fixture
def grocery_copy(tmp_path):
    """Three products with their catalog images, a few photos each, and bad lines."""
    real = real_dataset("grocery") / "dataset"
    src = tmp_path / "grocery" / "dataset"
    lines = (real / "classes.csv").read_text().splitlines()
    header, chosen = lines[0], lines[1:4]          # Golden-Delicious, Granny-Smith, Pink-Lady
    (src).mkdir(parents=True)
    (src / "classes.csv").write_text("\n".join([header, *chosen, "broken,line"]) + "\n")
    for line in chosen:
        cells = line.split(",")
        for column in (4, 5):
            _link(real / cells[column].lstrip("/"), src / cells[column].lstrip("/"))
        info = cells[5].replace("_Description.txt", "_Information.txt").lstrip("/")
        if (real / info).is_file():
            _link(real / info, src / info)
    for split in ("train", "val"):
        kept = [line for line in (real / f"{split}.txt").read_text().splitlines()
                if int(line.split(",")[1]) < 3][::20]
        for line in kept:
            _link(real / line.split(",")[0], src / line.split(",")[0])
        extra = ["train/Fruit/Apple/missing.jpg, 0, 0", "val/x.jpg, 77, 0", "nonsense"] if split == "val" else []
        (src / f"{split}.txt").write_text("\n".join(kept + extra) + "\n")
    return src.parent


def test_grocery_catalog_and_queries(grocery_copy, tmp_path):
    report = grocery.convert(grocery_copy, tmp_path / "out")
    assert report["products"] == 3 and report["skipped"]["total"] == 4, report["skipped"]
    catalog = [json.loads(line) for line in (tmp_path / "out" / "catalog.jsonl").read_text().splitlines()]
    assert {p["id"] for p in catalog} == {"Golden-Delicious", "Granny-Smith", "Pink-Lady"}
    for p in catalog:
        assert p["kind"] == "product" and p["category"] == "Apple" and p["department"] == "Fruit"
        assert p["title"] and len(p["description"]) > 20 and os.path.isfile(p["image"])
    queries = [json.loads(line) for line in (tmp_path / "out" / "queries-val.jsonl").read_text().splitlines()]
    assert queries and {q["product"] for q in queries} <= {p["id"] for p in catalog}
    assert report["queries"]["val"] == len(queries) and report["queries"]["train"] > 0
    from lens.manifest import read_items
    assert len(read_items(tmp_path / "out" / "catalog.jsonl")) == 3


def test_clothing_category_manifest(tmp_path):
    real = real_dataset("clothing")
    src = tmp_path / "clothing"
    for split in ("train", "validation"):
        for category in ("dress", "hat"):
            for photo in sorted((real / split / category).iterdir())[:3]:
                _link(photo, src / split / category / photo.name)
    (src / "train" / "capes").mkdir()
    shutil.copy(sorted((real / "train" / "dress").iterdir())[0], src / "train" / "capes" / "a.jpg")
    (src / "train" / "hat" / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    report = clothing.convert(src, tmp_path / "out")
    assert report["photos"] == 13 and report["skipped"]["total"] == 2
    rows = [json.loads(line) for line in (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()]
    assert {(r["category"], r["garment"]) for r in rows} == {("dress", "dress"), ("hat", "hat"), ("capes", None)}
    val = [json.loads(line) for line in (tmp_path / "out" / "val.jsonl").read_text().splitlines()]
    assert len(val) == 6 and {r["split"] for r in val} == {"val"}


def test_the_data_command(grocery_copy, tmp_path, capsys):
    assert main(["data", "grocery", str(grocery_copy), str(tmp_path / "out")]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["products"] == 3 and json.loads(out)["skipped"] == 4
    assert "skipped 1: class 77 has no catalog product" in err
    assert main(["data", "ccp", str(tmp_path / "nowhere"), str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip().endswith("no such folder")


def test_a_category_head_on_real_clothing_photos_judged_on_their_val_split(tmp_path, capsys):
    """`lens train-categories --manifest train.jsonl --val val.jsonl`: every train photo trains, the
    validation photos judge it, overall and per class."""
    real = real_dataset("clothing")
    src = tmp_path / "clothing"
    for split, n in (("train", 12), ("validation", 5)):
        for category in ("dress", "pants", "shoes"):
            for photo in sorted((real / split / category).iterdir())[:n]:
                _link(photo, src / split / category / photo.name)
    clothing.convert(src, tmp_path / "out")
    head = tmp_path / "category.pt"
    assert main(["--set", f"models.category_head={head}", "train-categories", "--fields", "category",
                 "--manifest", str(tmp_path / "out" / "train.jsonl"), "--val", str(tmp_path / "out" / "val.jsonl")]) == 0
    rows = dict(line.strip().rsplit(None, 1) for line in capsys.readouterr().out.splitlines()[1:])
    assert rows["category train"] == "36" and rows["category held_out"] == "15"
    assert {f"category accuracy {c}" for c in ("dress", "pants", "shoes")} <= set(rows)
    assert float(rows["category held_out_accuracy"]) >= 0.6 and head.is_file()

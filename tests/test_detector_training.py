"""COCO reading, synthetic -> COCO, train-detector (steps, resume, metrics), the committed checkpoint."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from detection.coco import CocoDataset, read_coco
from lens.boxes import Box
from lens.synth.coco import PERSON, write_coco

ROOT = Path(__file__).resolve().parent.parent
CHECKPOINT = ROOT / "detection" / "checkpoints" / "synthetic_mnv2_fpn.pt"


def _write(path: Path, data) -> Path:
    path.write_text(json.dumps(data))
    return path


GOOD = {"images": [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 3, "bbox": [1, 2, 10, 20]}],
        "categories": [{"id": 3, "name": "hat"}]}


@pytest.mark.parametrize("change, field", [
    (lambda d: d.pop("images"), "images"),
    (lambda d: d["annotations"][0].update(bbox=[1, 2, 0, 5]), "annotations[0].bbox"),
    (lambda d: d["annotations"][0].update(bbox="1,2,3,4"), "annotations[0].bbox"),
    (lambda d: d["annotations"][0].update(image_id=9), "annotations[0].image_id"),
    (lambda d: d["annotations"][0].update(category_id=1), "annotations[0].category_id"),
    (lambda d: d["images"][0].update(width=0), "images[0].width"),
    (lambda d: d["images"].append(dict(d["images"][0])), "images[1].id"),
    (lambda d: d["categories"][0].pop("name"), "categories[0].name"),
])
def test_coco_reader_errors_name_file_and_field(tmp_path, change, field):
    data = json.loads(json.dumps(GOOD))
    change(data)
    path = _write(tmp_path / "bad.json", data)
    with pytest.raises(ValueError) as err:
        read_coco(path)
    message = str(err.value)
    assert str(path) in message and field in message and "\n" not in message


def test_coco_reader_reads_good_file_and_bad_json(tmp_path):
    coco = read_coco(_write(tmp_path / "ok.json", GOOD))
    assert coco.labels == ["__background__", "hat"] and coco.label_of(3) == 1
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ValueError, match="broken.json"):
        read_coco(tmp_path / "broken.json")


@pytest.fixture(scope="module")
def coco_files(small_catalog, tmp_path_factory):
    return write_coco(small_catalog, tmp_path_factory.mktemp("coco"))


def test_synth_to_coco_is_valid(small_catalog, coco_files):
    train_json, val_json = coco_files
    train, val = read_coco(train_json), read_coco(val_json)
    assert train.labels == val.labels and train.labels[-1] == PERSON
    val_ids = {img["id"] for img in val.data["images"]}
    assert val_ids and all(i % 5 == 4 for i in val_ids)
    assert not val_ids & {img["id"] for img in train.data["images"]}
    ds = CocoDataset(train, small_catalog)
    image, target = ds[0]
    assert image.shape == (3, 480, 640) and 0.0 <= float(image.min()) and float(image.max()) <= 1.0
    b = target["boxes"]
    assert len(b) and (b[:, 2] > b[:, 0]).all() and (b[:, 3] > b[:, 1]).all()
    assert (b[:, 2] <= 640).all() and (b[:, 3] <= 480).all()
    assert (target["labels"] >= 1).all() and (target["labels"] < len(train.labels)).all()


def _subset(src: Path, dst: Path, n: int) -> Path:
    data = json.loads(src.read_text())
    keep = {img["id"] for img in data["images"][:n]}
    data["images"] = [img for img in data["images"] if img["id"] in keep]
    data["annotations"] = [a for a in data["annotations"] if a["image_id"] in keep]
    return _write(dst, data)


def test_train_steps_checkpoint_resume_and_metrics(small_catalog, coco_files, tmp_path):
    from cli.main import main

    train_json = _subset(coco_files[0], tmp_path / "train.json", 4)
    val_json = _subset(coco_files[1], tmp_path / "val.json", 2)
    out = tmp_path / "run"
    args = ["--set", "detection.device=cpu", "train-detector", "--data", str(train_json),
            "--images", str(small_catalog), "--val", str(val_json), "--batch-size", "2",
            "--max-size", "128", "--checkpoint-every", "1", "--out", str(out)]
    assert main([*args, "--epochs", "1"]) == 0
    last = torch.load(out / "last.pt", weights_only=True)
    assert (last["epoch"], last["step"]) == (1, 2)
    assert not any(k.startswith("backbone.body.") for k in last["model"])
    assert main([*args, "--epochs", "2", "--resume"]) == 0
    last = torch.load(out / "last.pt", weights_only=True)
    assert (last["epoch"], last["step"]) == (2, 4)                # continued, not restarted
    history = json.loads((out / "metrics.json").read_text())
    epochs = [row for row in history if "epoch" in row]
    assert [row["epoch"] for row in epochs] == [1, 2] and all("map_50" in row for row in epochs)
    final = torch.load(out / "detector.pt", weights_only=True)
    assert final["labels"][-1] == PERSON and "map_50" in final["metrics"]
    assert all(v.dtype == torch.float16 for v in final["model"].values() if v.is_floating_point())


def test_train_blocks_fine_tunes_and_stores_the_last_blocks(small_catalog, coco_files, tmp_path):
    """--train-blocks 2: blocks 17 and 18 train (at a tenth of the lr) and travel in the checkpoint;
    the rest of the body stays the pip package's ImageNet weights."""
    from cli.main import main
    from detection.rcnn import ObjectDetector, backbone_state, load_checkpoint
    from lens.models import ModelStore

    train_json = _subset(coco_files[0], tmp_path / "train.json", 4)
    out = tmp_path / "run"
    assert main(["train-detector", "--data", str(train_json), "--images", str(small_catalog), "--batch-size", "2",
                 "--max-size", "128", "--epochs", "1", "--train-blocks", "2", "--fp32", "--out", str(out)]) == 0
    final = torch.load(out / "detector.pt", weights_only=True)
    body = {k.split(".")[2] for k in final["model"] if k.startswith("backbone.body.")}
    assert body == {"17", "18"} and final["trained_blocks"] == 2
    imagenet = backbone_state(ModelStore())
    key = "features.18.0.weight"
    assert not torch.equal(final["model"]["backbone.body.18.0.weight"], imagenet[key])   # it trained
    spec = load_checkpoint(out / "detector.pt")
    det = ObjectDetector(spec, imagenet)
    loaded = det.model.state_dict()
    assert torch.equal(loaded["backbone.body.18.0.weight"], spec.state["backbone.body.18.0.weight"])
    assert torch.equal(loaded["backbone.body.3.conv.0.0.weight"], imagenet["features.3.conv.0.0.weight"])
    assert main(["train-detector", "--data", str(train_json), "--images", str(small_catalog),
                 "--train-blocks", "20", "--out", str(tmp_path / "bad")]) == 2


def test_cached_features_equal_the_backbone_with_and_without_trained_blocks():
    from detection.backbones import MNV2, DetectorSpec, build_model
    from detection.cache import FeatureCache

    torch.manual_seed(0)
    model = build_model(DetectorSpec(MNV2, ["__background__", "a"], 96, 128))
    body = model.backbone.body
    batch = torch.rand(2, 3, 96, 128)
    with torch.no_grad():
        direct = body(batch)
        for blocks in (0, 3):
            cache = FeatureCache(blocks)
            for _ in range(2):                                    # computed, then from the cache
                got = cache.body(body, batch, [(0, False), (1, False)])
                assert list(got) == list(direct)
                assert all(torch.allclose(got[n], direct[n], atol=2e-2, rtol=1e-2) for n in direct)
            assert len(cache.entries) == 2


def test_coco_from_synth_command(small_catalog, tmp_path, capsys):
    from cli.main import main

    assert main(["coco-from-synth", str(small_catalog), str(tmp_path / "c")]) == 0
    assert read_coco(tmp_path / "c" / "train.json").labels[-1] == PERSON
    assert main(["coco-from-synth", str(tmp_path / "nowhere"), str(tmp_path / "d")]) == 2


def test_committed_checkpoint_finds_objects_in_fresh_scenes(small_catalog, coco_files):
    """``small_catalog`` is seed 3; the checkpoint was trained on seed-0 scenes."""
    from detection.rcnn import ObjectDetector, backbone_state, load_checkpoint
    from lens.models import ModelStore

    spec = load_checkpoint(CHECKPOINT)
    det = ObjectDetector(spec, backbone_state(ModelStore()), score_threshold=0.5, max_detections=20)
    ds = CocoDataset(read_coco(coco_files[1]), small_catalog)
    names = ds.coco.labels
    assert names == spec.labels
    found = total = false = 0
    images = [ds.load_rgb(i) for i in range(6)]
    for i, dets in enumerate(det.detect_batch(images)):
        target = ds.target(i)
        total += len(target["boxes"])
        for box, label in zip(target["boxes"].tolist(), target["labels"].tolist()):
            found += any(d.label == names[label] and d.box.iou(Box(*box)) >= 0.5 for d in dets)
        false += sum(all(d.box.iou(Box(*b)) < 0.5 for b in target["boxes"].tolist()) for d in dets)
    assert total >= 10
    assert found / total >= 0.75, f"recall {found}/{total}"
    assert false <= 0.25 * total, f"{false} detections match no object"



def test_crowd_boxes_are_ignore_regions_in_training(small_catalog, coco_files, tmp_path):
    """COCO crowd boxes (the labelling job's unsure crops) are neither objects nor background."""
    import torchvision
    from torchvision.ops import box_iou

    from detection.coco import IGNORE
    from detection.train import _losses, ignore_regions

    data = json.loads(Path(coco_files[0]).read_text())
    first = data["images"][0]["id"]
    crowd = next(a for a in data["annotations"] if a["image_id"] == first)
    crowd["iscrowd"] = 1
    coco = read_coco(_write(tmp_path / "crowd.json", data))
    plain, ignoring = CocoDataset(coco, small_catalog), CocoDataset(coco, small_catalog, crowd_as_ignore=True)
    assert plain.ignore_regions == 0 and ignoring.ignore_regions == 1
    assert (plain.target(0)["labels"] >= 1).all()
    target = ignoring.target(0)
    assert (target["labels"] == IGNORE).sum() == 1 and len(target["labels"]) == len(plain.target(0)["labels"]) + 1

    torch.manual_seed(0)
    model = torchvision.models.detection.fasterrcnn_mobilenet_v3_large_320_fpn(
        weights=None, weights_backbone=None, num_classes=len(coco.labels))
    ignore_regions(model)
    x, y, w, h = crowd["bbox"]
    region = torch.tensor([[x, y, x + w, y + h]])
    real = torch.tensor([[0.0, 0.0, 40.0, 40.0]])
    far = torch.tensor([[600.0, 440.0, 630.0, 470.0]]) if x + w < 560 else torch.tensor([[45.0, 45.0, 60.0, 60.0]])
    anchors = torch.cat([region, real, far])
    targets = [{"boxes": torch.cat([real, region]), "labels": torch.tensor([1, IGNORE])}]
    labels, _ = model.rpn.assign_targets_to_anchors([anchors], targets)
    assert labels[0].tolist() == [-1.0, 1.0, 0.0]            # ignored, object, background

    proposals = [torch.cat([region + 2, region - 2, real, far])]
    sampled, _, roi_labels, _ = model.roi_heads.select_training_samples(proposals, targets)
    assert (roi_labels[0] >= 0).all()                          # the sampler never draws -1 ...
    background = sampled[0][roi_labels[0] == 0]
    assert len(background) >= 1 and box_iou(background, region).max() < 0.5   # ... nor the region as background
    assert box_iou(sampled[0][roi_labels[0] == 1], real).min() >= 0.5
    model.train()
    image, target = ignoring[0]
    losses = _losses(model, [image], [target], [(0, False)], None)
    assert all(torch.isfinite(v) for v in losses.values())


def test_val_is_scored_by_category_name_when_numbered_differently(small_catalog, coco_files, tmp_path):
    """Weak labels number categories by name, a converter by its taxonomy: --val is matched by name."""
    from detection.coco import evaluate
    from detection.rcnn import ObjectDetector, backbone_state, load_checkpoint
    from detection.train import TrainSettings, _check_val
    from lens.models import ModelStore

    spec = load_checkpoint(CHECKPOINT)
    det = ObjectDetector(spec, backbone_state(ModelStore()))
    val = _subset(coco_files[1], tmp_path / "val.json", 6)
    data = json.loads(val.read_text())
    flip = {c["id"]: len(data["categories"]) + 1 - c["id"] for c in data["categories"]}
    data["categories"] = [{**c, "id": flip[c["id"]]} for c in data["categories"]]
    data["annotations"] = [{**a, "category_id": flip[a["category_id"]]} for a in data["annotations"]]
    renumbered = CocoDataset(read_coco(_write(tmp_path / "flip.json", data)), small_catalog)
    by_name = evaluate(det.model, renumbered, labels=spec.labels)
    assert by_name["map_50"] == evaluate(det, CocoDataset(read_coco(val), small_catalog))["map_50"] > 0.5
    assert evaluate(det.model, renumbered)["map_50"] < by_name["map_50"]     # by position: wrong classes
    other = {"images": data["images"][:1], "annotations": [], "categories": [{"id": 1, "name": "zebra"}]}
    settings = TrainSettings(str(val), str(small_catalog), val=str(tmp_path / "hat.json"))
    with pytest.raises(ValueError, match="no category in common"):
        _check_val(CocoDataset(read_coco(_write(tmp_path / "hat.json", other)), small_catalog),
                   renumbered, settings)

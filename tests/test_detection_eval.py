"""`lens eval detection`: garment boxes of real CCP photos found by the crops, and the R-CNN's AP.

Runs on a few real photos converted by `lens data ccp` into tmp_path (skipped when
../shared/data is absent).
"""
from __future__ import annotations

import json

import pytest

from cli.main import main
from lens.evaluation.detection import detection_eval
from lens.taxonomy import GARMENT_CLASSES
from tests.conftest import ROOT, ccp_converted


def _ccp_fold(tmp_path_factory, photos: int):
    """CCP photos 1..``photos`` converted (conftest's ``ccp_converted``): val.json and the photos."""
    out, src = ccp_converted(tmp_path_factory, photos)
    return out / "val.json", src


@pytest.fixture(scope="module")
def ccp_val(tmp_path_factory):
    """Photos 0001-0010 converted, 0005 and 0010 as the validation fold."""
    return _ccp_fold(tmp_path_factory, 10)


@pytest.fixture(scope="module")
def ccp_val_30(tmp_path_factory):
    """Photos 0001-0150 converted: 30 validation photos (an mAP that two photos cannot pin down)."""
    return _ccp_fold(tmp_path_factory, 150)


def test_found_rates_and_timings_per_class(models, ccp_val):
    coco, images = ccp_val
    figures = detection_eval(models, str(coco), str(images), progress=False)
    assert figures["photos"] == 2
    truth = json.loads(coco.read_text())
    for name in GARMENT_CLASSES:
        n = sum(a["category_id"] == GARMENT_CLASSES.index(name) + 1 for a in truth["annotations"])
        assert figures[f"{name}: boxes"] == n
        if n:
            assert 0.0 <= figures[f"{name}: found by rcnn"] <= figures[f"{name}: found"] <= 1.0
        else:
            assert figures[f"{name}: found"] is None
    # the session's bundle has no Faster R-CNN: no AP, and every find is the people detector's
    assert "mAP@0.5" not in figures and figures["upper_body: found by rcnn"] in (0.0, None)
    assert figures["upper_body: found"] is not None and figures["upper_body: found"] > 0   # pose garments
    assert figures["detect ms median"] > 0


def test_the_command_with_the_real_photo_detector(ccp_val, tmp_path, capsys):
    coco, images = ccp_val
    out = tmp_path / "figures.json"
    assert main(["--config", "default", "eval", "detection", "--coco", str(coco), "--images", str(images),
                 "--limit", "1", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures["photos"] == 1 and "detect ms median" in capsys.readouterr().out
    assert 0.0 <= figures["mAP@0.5"] <= 1.0        # configs/default.yaml's garment checkpoint
    assert set(f"{n}: AP@0.5" for n in GARMENT_CLASSES) <= set(figures)


def test_a_coco_file_that_is_not_one_is_one_line(tmp_path, capsys):
    bad = tmp_path / "val.json"
    bad.write_text('{"images": []}')
    assert main(["eval", "detection", "--coco", str(bad), "--images", str(tmp_path)]) == 2
    assert "COCO file" in capsys.readouterr().err


def test_the_committed_real_photo_checkpoint_finds_garments_in_a_held_out_photo(ccp_val):
    """detection/checkpoints/ccp_mnv2_fpn.pt loads with weights_only=True and finds garments in the
    validation photos (fold 0: 0005 and 0010, never trained on)."""
    import torch

    from detection.coco import CocoDataset, read_coco
    from detection.rcnn import ObjectDetector, backbone_state, load_checkpoint
    from lens.boxes import Box
    from lens.models import ModelStore

    path = ROOT / "detection" / "checkpoints" / "ccp_mnv2_fpn.pt"
    raw = torch.load(path, weights_only=True)
    assert raw["labels"][1:] == list(GARMENT_CLASSES) and raw["trained_blocks"] > 0
    spec = load_checkpoint(path)
    detector = ObjectDetector(spec, backbone_state(ModelStore()))
    coco, images = ccp_val
    dataset = CocoDataset(read_coco(coco), images)
    names = dataset.coco.labels
    hits = []
    for index in range(len(dataset)):                       # 0005 and 0010
        dets = detector(dataset.load_rgb(index))
        target = dataset.target(index)
        found = [(names[label], any(d.label == names[label] and d.box.iou(Box(*box)) >= 0.5 for d in dets))
                 for box, label in zip(target["boxes"].tolist(), target["labels"].tolist())]
        assert any(ok for name, ok in found if name in ("upper_body", "lower_body", "dress")), found
        hits += [ok for name, ok in found if name in ("upper_body", "lower_body", "dress", "footwear", "bag")]
    assert len(hits) >= 4 and sum(hits) >= 0.5 * len(hits), hits


def test_the_onnx_runtime_keeps_the_real_photo_detectors_map(ccp_val_30, tmp_path):
    """detection.runtime onnx (its int8 box head, one RoIAlign sample a bin) against torch on
    held-out CCP photos: mAP@0.5 within 0.01 (issue 22.1)."""
    from detection.coco import CocoDataset, evaluate, read_coco
    from detection.rcnn import ObjectDetector, backbone_state, load_checkpoint
    from lens.models import ModelStore

    spec = load_checkpoint(ROOT / "detection" / "checkpoints" / "ccp_mnv2_fpn.pt")
    coco, images = ccp_val_30
    dataset = CocoDataset(read_coco(coco), images)
    runs = (("torch", "none", 0), ("onnx", "none", 0), ("onnx", "head", 0), ("onnx", "head", 1))
    figures = {(rt, q, r): evaluate(ObjectDetector(spec, backbone_state(ModelStore()), runtime=rt, quantize=q,
                                                   roi_sampling=r, cache_dir=str(tmp_path)), dataset)
               for rt, q, r in runs}
    reference = figures[runs[0]]["map_50"]
    assert reference > 0.2
    for key in runs[1:]:        # int8 box head (detection.quantize), one RoIAlign sample (roi_sampling)
        assert abs(figures[key]["map_50"] - reference) <= 0.01, {k: v["map_50"] for k, v in figures.items()}

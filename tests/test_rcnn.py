"""detection.rcnn / detection.backbones: every architecture, thresholds, checkpoints, auto-off."""
from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from detection import rcnn
from detection.backbones import ARCHITECTURES, COCO_ARCHS, MNV2, DetectorSpec, coco_spec
from detection.rcnn import ObjectDetector, checkpoint_dict, load_checkpoint, save_checkpoint
from lens.config import DetectionConfig, ModelsConfig
from lens.models import ModelStore
from lens.types import Detection

LABELS = ["__background__", "bag", "hat", "person"]


def _image(h=96, w=128, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), 200, np.uint8)
    img[20:70, 30:90] = rng.integers(0, 255, 3)
    return img


def _detector(spec: DetectorSpec, backbone=None, **kw) -> ObjectDetector:
    """A detector whose model keeps every box (random weights score ~1/classes)."""
    torch.manual_seed(0)
    det = ObjectDetector(spec, backbone, **{"score_threshold": 0.0, "max_detections": 100, **kw})
    det.model.roi_heads.score_thresh = 0.0
    return det


@pytest.fixture(scope="module")
def mnv2_backbone():
    return rcnn.backbone_state(ModelStore())


def _check(dets, w, h):
    assert dets, "a model that keeps every box found nothing"
    for d in dets:
        assert isinstance(d, Detection) and d.source == "rcnn" and isinstance(d.label, str)
        assert 0 <= d.box.x1 < d.box.x2 <= w and 0 <= d.box.y1 < d.box.y2 <= h
        assert 0.0 <= d.score <= 1.0


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_every_architecture_runs_random_weights(arch):
    if arch in COCO_ARCHS:
        spec = coco_spec(arch)
        spec.min_size, spec.max_size = 96, 128   # small input: the test is about the code path
    else:
        spec = DetectorSpec(arch, LABELS, 96, 128)
    det = _detector(spec)
    img = _image()
    dets = det(img)
    _check(dets, 128, 96)
    valid = set(spec.labels) - rcnn.SKIP_LABELS
    assert {d.label for d in dets} <= valid


def test_threshold_nms_and_cap_follow_config():
    det = _detector(DetectorSpec(MNV2, LABELS, 96, 128), score_threshold=0.3, nms_iou=0.5,
                    max_detections=2)
    out = {"boxes": torch.tensor([[10., 10., 50., 50.], [12., 10., 52., 50.], [10., 10., 50., 50.],
                                  [60., 60., 90., 90.], [0., 0., 200., 200.]]),
           "labels": torch.tensor([1, 1, 2, 3, 3]),
           "scores": torch.tensor([0.9, 0.8, 0.7, 0.2, 0.6])}
    dets = det._detections(out, 128, 96)
    # 0.8 is suppressed by 0.9 (same label, IoU 0.9); 0.2 is under the threshold;
    # the cap of 2 keeps the best two; the last box is clipped to the image.
    assert [(d.label, round(d.score, 2)) for d in dets] == [("bag", 0.9), ("hat", 0.7)]
    det.max_detections = 5
    dets = det._detections(out, 128, 96)
    assert [d.label for d in dets] == ["bag", "hat", "person"]
    assert dets[-1].box.as_list() == [0.0, 0.0, 128.0, 96.0]


def test_uncertain_objects_pool_their_class_hypotheses():
    det = _detector(DetectorSpec(MNV2, LABELS, 96, 128), score_threshold=0.5)
    # one object read 0.31 bag / 0.16 hat / 0.15 person; one sure hat; one lone 0.3 guess
    out = {"boxes": torch.tensor([[10., 10., 50., 50.], [11., 10., 50., 51.], [10., 11., 51., 50.],
                                  [60., 10., 100., 50.], [60., 60., 90., 90.]]),
           "labels": torch.tensor([1, 2, 3, 2, 1]),
           "scores": torch.tensor([0.31, 0.16, 0.15, 0.9, 0.3])}
    pooled = rcnn.object_scores(out["boxes"], out["scores"], 0.5)
    assert pooled.tolist() == pytest.approx([0.62, 0.16, 0.15, 0.9, 0.3])
    dets = det._detections(out, 128, 96)
    assert [(d.label, round(d.score, 2)) for d in dets] == [("hat", 0.9), ("bag", 0.62)]
    # a sure class is left as it is, and the pooled mass never passes 1
    sure = rcnn.object_scores(out["boxes"][:3], torch.tensor([0.7, 0.5, 0.4]), 0.5)
    assert sure.tolist() == pytest.approx([0.7, 0.5, 0.4])
    assert rcnn.object_scores(out["boxes"][:3], torch.tensor([0.45, 0.4, 0.3]), 0.5)[0] == 1.0
    assert len(rcnn.object_scores(torch.zeros((0, 4)), torch.zeros(0), 0.5)) == 0


def test_class_thresholds_override_the_default_for_their_classes():
    det = _detector(DetectorSpec(MNV2, LABELS, 96, 128), score_threshold=0.5, class_thresholds={"bag": 0.25})
    out = {"boxes": torch.tensor([[10., 10., 50., 50.], [60., 10., 100., 50.], [60., 60., 90., 90.]]),
           "labels": torch.tensor([1, 2, 1]), "scores": torch.tensor([0.3, 0.3, 0.2])}
    dets = det._detections(out, 128, 96)
    assert [(d.label, round(d.score, 2)) for d in dets] == [("bag", 0.3)]     # the hat at 0.3 stays under 0.5
    assert det.thresholds.tolist() == pytest.approx([0.5, 0.25, 0.5, 0.5])


@pytest.mark.parametrize("bad, match", [({"shoe": 0.3}, r"\['shoe'\] not among this detector's labels"),
                                        ({"bag": 1.5}, r"class_thresholds.bag 1.5: expected 0..1")])
def test_bad_class_thresholds_name_the_class(bad, match):
    with pytest.raises(ValueError, match=match):
        ObjectDetector(DetectorSpec(MNV2, LABELS, 96, 128), class_thresholds=bad)


def test_class_thresholds_config_is_a_mapping_of_numbers():
    from lens.config import load_config

    config = load_config("default", ["detection.class_thresholds={bag: 0.25}"])
    assert config.detection.class_thresholds == {"bag": 0.25}
    with pytest.raises(ValueError, match=r"detection.class_thresholds.bag: expected a number"):
        load_config("default", ["detection.class_thresholds={bag: low}"])
    with pytest.raises(ValueError, match=r"detection.class_thresholds: expected a mapping"):
        load_config("default", ["detection.class_thresholds=0.3"])


def test_real_model_respects_config():
    det = _detector(DetectorSpec(MNV2, LABELS, 96, 128), score_threshold=0.2, nms_iou=0.3,
                    max_detections=3)
    dets = det(_image())
    assert len(dets) <= 3 and all(d.score >= 0.2 for d in dets)
    for i, a in enumerate(dets):
        assert all(a.label != b.label or a.box.iou(b.box) <= 0.3 + 1e-6 for b in dets[i + 1:])


def test_unknown_architecture_names_valid_ones():
    with pytest.raises(ValueError, match="fasterrcnn_mobilenet_v2_fpn") as err:
        rcnn.choose(DetectionConfig(detector="yolo"), ModelStore())
    assert "yolo" in str(err.value) and "fasterrcnn_resnet50_fpn_v2" in str(err.value)


def test_auto_without_weights_is_none_and_logs_once(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))          # an empty hub cache
    monkeypatch.setattr(rcnn, "_OFF_LOGGED", False)
    models = ModelStore(ModelsConfig(coco_detector="", detector_checkpoint=""))
    with caplog.at_level(logging.INFO, logger="detection.rcnn"):
        assert ObjectDetector.from_config(DetectionConfig(detector="auto"), models) is None
        assert ObjectDetector.from_config(DetectionConfig(detector="auto"), models) is None
    lines = [r.getMessage() for r in caplog.records if r.name == "detection.rcnn"]
    assert len(lines) == 1 and "faces" in lines[0] and "lens models fetch" in lines[0]
    assert "off" in rcnn.describe_detector(DetectionConfig(), models)
    assert ObjectDetector.from_config(DetectionConfig(detector="none"), models) is None
    with pytest.raises(ValueError, match="lens models fetch"):   # named but absent: how to get it
        ObjectDetector.from_config(DetectionConfig(detector="fasterrcnn_mobilenet_v3_large_fpn"), models)


def test_cuda_requested_without_cuda_is_an_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="CUDA"):
        ObjectDetector(DetectorSpec(MNV2, LABELS, 96, 128), device="cuda")


@pytest.mark.parametrize("arch", [MNV2, "fasterrcnn_mobilenet_v3_large_320_fpn"])
def test_proposals_set_the_rpn_at_inference_and_bad_ones_name_the_key(arch):
    """detection.proposals: the RPN keeps that many proposals at inference (0: the architecture's
    own); the box head then sees no more; training is untouched."""
    spec = DetectorSpec(arch, LABELS, 96, 128)
    own = _detector(spec).model.rpn
    fewer = _detector(spec, proposals=7).model
    assert fewer.rpn._post_nms_top_n == {**own._post_nms_top_n, "testing": 7}
    found = []
    fewer.roi_heads.register_forward_pre_hook(lambda mod, args: found.append(len(args[1][0])))
    with torch.inference_mode():
        fewer([torch.rand(3, 96, 128)])
    assert found and found[0] <= 7
    with pytest.raises(ValueError, match="detection.proposals -1"):
        ObjectDetector(spec, proposals=-1)


def test_checkpoint_round_trip_and_from_config(tmp_path, mnv2_backbone):
    det = _detector(DetectorSpec(MNV2, LABELS, 96, 128, frozen_backbone=True), mnv2_backbone)
    path = save_checkpoint(checkpoint_dict(det.model, det.spec), tmp_path / "d.pt")
    data = torch.load(path, weights_only=True)
    assert not any(k.startswith("backbone.body.") for k in data["model"])   # trained part only
    assert path.stat().st_size < 12e6
    spec = load_checkpoint(path)
    assert spec.labels == LABELS and spec.frozen_backbone
    again = _detector(spec, mnv2_backbone)
    img = _image()
    a, b = det.raw([rcnn.to_tensor(img)])[0], again.raw([rcnn.to_tensor(img)])[0]
    assert torch.equal(a["labels"], b["labels"]) and torch.allclose(a["boxes"], b["boxes"])
    models = ModelStore(ModelsConfig(detector_checkpoint=str(path)))
    loaded = ObjectDetector.from_config(DetectionConfig(detector="auto"), models)
    assert loaded is not None and loaded.labels == LABELS
    assert "checkpoint" in rcnn.describe_detector(DetectionConfig(), models)


def test_auto_runs_a_checkpoint_and_coco_weights_together(tmp_path, mnv2_backbone, monkeypatch):
    """configs/default.yaml: the real-photo garment checkpoint, plus COCO's classes when a user has
    COCO weights; the pipeline then merges both by class-aware NMS."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))          # no hub cache
    det = _detector(DetectorSpec(MNV2, LABELS, 96, 128, frozen_backbone=True), mnv2_backbone)
    ckpt = save_checkpoint(checkpoint_dict(det.model, det.spec), tmp_path / "d.pt")
    coco = tmp_path / "coco.pth"
    arch = "fasterrcnn_mobilenet_v3_large_320_fpn"
    torch.save(ARCHITECTURES[arch](91, 320, 640).state_dict(), coco)
    both = ModelStore(ModelsConfig(detector_checkpoint=str(ckpt), coco_detector=str(coco)))
    assert [c.kind for c in rcnn.choices(DetectionConfig(detector="auto"), both)] == ["checkpoint", "coco"]
    found = ObjectDetector.all_from_config(DetectionConfig(detector="auto"), both)
    assert [d.labels == LABELS for d in found] == [True, False] and "person" in found[1].labels
    assert " + " in rcnn.describe_detector(DetectionConfig(), both)
    named = DetectionConfig(detector=MNV2)                   # a named architecture runs alone
    assert [c.kind for c in rcnn.choices(named, both)] == ["checkpoint"]
    alone = ModelStore(ModelsConfig(detector_checkpoint=str(ckpt), coco_detector=""))
    assert len(ObjectDetector.all_from_config(DetectionConfig(detector="auto"), alone)) == 1
    assert rcnn.choices(DetectionConfig(detector="none"), both) == []


def test_batched_equals_one_by_one():
    det = _detector(DetectorSpec(MNV2, LABELS, 96, 128), batch_size=2, max_detections=10_000)
    det.model.roi_heads.detections_per_img = 10_000   # no top-k cut among near-tied random scores
    images = [_image(seed=s) for s in range(3)]
    batched = det.detect_batch(images)
    assert len(batched) == len(images) and all(batched)     # random heads keep boxes on every image
    for img, dets in zip(images, batched):
        single = det(img)
        # random heads score many boxes alike: near-ties may swap places, and of two anchors with the
        # very same score NMS may keep either or, once the batch's padding moves a score by 1e-7, both
        # (measured: one box of 535, its twin 8 px lower; 534 boxes one by one and 535 batched on a
        # 2-thread machine), so each detection is matched to one of the same label and score that
        # overlaps it, not zipped, and a tie or two may differ
        assert abs(len(single) - len(dets)) <= max(1, 0.01 * len(dets))
        labels = np.array([b.label for b in dets])
        scores = np.array([b.score for b in dets])
        matched = sum(any(dets[i].box.iou(a.box) >= 0.5
                          for i in np.flatnonzero((labels == a.label) & (np.abs(scores - a.score) < 1e-4)))
                      for a in single)
        assert matched >= 0.99 * len(single)
        exact = sum(any(abs(b.score - a.score) < 1e-4 and b.box.iou(a.box) > 0.99 for b in dets) for a in single)
        assert exact >= 0.98 * len(single)                      # all but a tie or two are the same box


def test_bad_input_is_a_value_error():
    det = _detector(DetectorSpec(MNV2, LABELS, 96, 128))
    with pytest.raises(ValueError, match="uint8"):
        det(np.zeros((10, 10), np.float32))


def test_the_onnx_runtime_gives_torch_detections(tmp_path, mnv2_backbone):
    """detection.runtime onnx: the backbone exported into the cache folder, the same raw output."""
    from detection.export import compare
    from detection.rcnn import to_tensor

    spec = DetectorSpec(MNV2, LABELS, 96, 128)
    torch_det = _detector(spec, mnv2_backbone)
    fast = _detector(spec, mnv2_backbone, runtime="onnx", cache_dir=str(tmp_path))
    fast.model.load_state_dict(torch_det.model.state_dict())          # the same random head
    for seed in range(3):
        x = to_tensor(_image(seed=seed))
        ref, out = torch_det.raw([x])[0], fast.raw([x])[0]
        report = compare({k: v.numpy() for k, v in ref.items()}, {k: v.numpy() for k, v in out.items()}, 0.0)
        assert report["ok"] and report["compared"] > 0, report
    assert len(list(tmp_path.glob("detector-*-head-*.onnx"))) == 1       # the box head's graph, float
    assert len(list(tmp_path.glob("detector-*.onnx"))) == 2               # ... and the backbone's
    assert (fast.runtime, torch_det.runtime) == ("onnx", "torch")


def test_the_int8_box_head_is_a_quantized_graph_close_to_torch(tmp_path, mnv2_backbone):
    """detection.quantize head: the box head's graph holds int8 weights; its raw output stays
    close to the float model's (the real detector's mAP: tests/test_detection_eval.py)."""
    import onnx

    from detection.rcnn import to_tensor

    spec = DetectorSpec(MNV2, LABELS, 96, 128)
    torch_det = _detector(spec, mnv2_backbone)
    int8 = _detector(spec, mnv2_backbone, runtime="onnx", cache_dir=str(tmp_path), quantize="head")
    int8.model.load_state_dict(torch_det.model.state_dict())
    x = to_tensor(_image(seed=1))
    ref, out = torch_det.raw([x])[0], int8.raw([x])[0]
    assert len(out["boxes"]) and abs(len(out["boxes"]) - len(ref["boxes"])) <= 0.1 * len(ref["boxes"])
    assert abs(float(out["scores"].mean()) - float(ref["scores"].mean())) < 0.02
    (graph,) = tmp_path.glob("detector-*-head-int8-*.onnx")
    ops = {node.op_type for node in onnx.load(str(graph)).graph.node}
    assert "MatMulInteger" in ops or "DynamicQuantizeMatMul" in ops, ops
    assert not list(tmp_path.glob("*-float.onnx"))                       # the float export is not kept


def test_roi_sampling_sets_roialigns_samples_and_a_bad_one_names_the_key():
    spec = DetectorSpec(MNV2, LABELS, 96, 128)
    assert ObjectDetector(spec).model.roi_heads.box_roi_pool.sampling_ratio == 2      # the architecture's
    assert ObjectDetector(spec, roi_sampling=1).model.roi_heads.box_roi_pool.sampling_ratio == 1
    with pytest.raises(ValueError, match=r"detection.roi_sampling -1: expected 0"):
        ObjectDetector(spec, roi_sampling=-1)


def test_an_unknown_quantize_setting_names_the_key():
    with pytest.raises(ValueError, match=r"detection.quantize 'int4': expected one of head, none"):
        ObjectDetector(DetectorSpec(MNV2, LABELS, 96, 128), runtime="onnx", quantize="int4")


def test_an_unknown_detector_runtime_names_the_key():
    with pytest.raises(ValueError, match=r"detection.runtime 'tensorrt': expected one of onnx, torch"):
        ObjectDetector(DetectorSpec(MNV2, LABELS, 96, 128), runtime="tensorrt")


def test_the_onnx_graphs_fall_back_to_torch_once_when_they_cannot_be_exported(tmp_path, mnv2_backbone, caplog):
    """An unwritable models.root: the backbone and box head graphs fail, each says so once, and
    torch gives the same detections from then on (lens.onnxrun.OnnxModel.run)."""
    from detection.rcnn import to_tensor

    (tmp_path / "root").write_text("a file where the graph folder should be")
    spec = DetectorSpec(MNV2, LABELS, 96, 128)
    torch_det = _detector(spec, mnv2_backbone)
    fast = _detector(spec, mnv2_backbone, runtime="onnx", cache_dir=str(tmp_path / "root"), quantize="head")
    fast.model.load_state_dict(torch_det.model.state_dict())
    x = to_tensor(_image(seed=2))
    for _ in range(2):
        out, ref = fast.raw([x])[0], torch_det.raw([x])[0]
        assert torch.equal(out["labels"], ref["labels"]) and torch.allclose(out["boxes"], ref["boxes"])
    assert caplog.text.count("detector backbone on onnxruntime failed") == 1
    assert fast.runtime == "torch"

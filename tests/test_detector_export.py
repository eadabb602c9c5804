"""ONNX export (legacy exporter) of the trained detector; onnxruntime agrees with torch."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from detection.export import BOX_ATOL, SCORE_ATOL, compare, export_onnx, onnx_vs_torch, run_onnx
from detection.rcnn import ObjectDetector, backbone_state, load_checkpoint
from lens.models import ModelStore

CHECKPOINT = Path(__file__).resolve().parent.parent / "detection" / "checkpoints" / "synthetic_mnv2_fpn.pt"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    spec = load_checkpoint(CHECKPOINT)
    spec.min_size, spec.max_size = 240, 320     # a smaller input keeps the test quick
    det = ObjectDetector(spec, backbone_state(ModelStore()))
    path = export_onnx(det, tmp_path_factory.mktemp("onnx") / "det.onnx", sample_size=(240, 320))
    return det, path


def test_onnx_matches_torch_on_a_scene(exported, small_catalog):
    from lens.imageio import load_image

    det, path = exported
    rgb = load_image(small_catalog / "scenes" / "s00004.jpg")
    report = onnx_vs_torch(det, path, rgb)
    assert report["ok"], report
    assert report["compared"] >= 1      # the scene's objects are found, so something is compared
    assert report["max_box_abs_diff"] <= BOX_ATOL and report["max_score_abs_diff"] <= SCORE_ATOL
    out = run_onnx(path, rgb[:200, :300].copy())   # another size: the input axes are dynamic
    assert out["boxes"].shape[1] == 4 and len(out["labels"]) == len(out["scores"])


def test_compare_catches_differences():
    a = {"boxes": np.array([[10., 10., 50., 50.]]), "labels": np.array([1]), "scores": np.array([0.9])}
    moved = {**a, "boxes": a["boxes"] + 2.0}
    relabeled = {**a, "labels": np.array([2])}
    assert compare(a, a)["ok"]
    assert not compare(a, moved)["ok"] and not compare(a, relabeled)["ok"]


def test_export_command_needs_a_detector(tmp_path, monkeypatch):
    from cli.main import main

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    code = main(["--set", "models.detector_checkpoint=", "--set", "models.coco_detector=",
                 "export-detector", "--onnx", str(tmp_path / "x.onnx")])
    assert code == 2 and not (tmp_path / "x.onnx").exists()

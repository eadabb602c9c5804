"""``lens export-detector``: a Faster R-CNN to ONNX, checked against torch with onnxruntime.

The ONNX graph (torch's legacy TorchScript exporter, ``dynamo=False``, opset
>= 11 as torchvision documents for its detection models) takes one input
``image``: ``3 x H x W`` float32 RGB in 0..1, any H and W, and returns
``boxes`` ``(N, 4)`` pixel x1y1x2y2 of that image, ``labels`` ``(N,)`` int64
(index into the detector's label names) and ``scores`` ``(N,)`` in 0..1 --
the model's raw output (score >= 0.05, at most 100 boxes); apply the
configured threshold, NMS and cap as :class:`detection.rcnn.ObjectDetector` does.

:func:`onnx_vs_torch` runs both on one image and compares every detection
scoring at least ``min_score`` (away from the 0.05 cut-off, where a 1e-6
difference may keep or drop a box): matched by label and score, boxes must
agree within ``BOX_ATOL`` px or ``BOX_RTOL`` of the coordinate, scores within
``SCORE_ATOL``.

Tested in ``tests/test_detector_export.py``.
"""
from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from detection.backbones import COCO_ARCHS, check_arch, coco_spec
from detection.rcnn import HOW_TO, ObjectDetector, backbone_state, load_checkpoint, to_tensor
from lens.config import DetectionConfig
from lens.imageio import load_image
from lens.models import ModelStore, load_state_dict

log = logging.getLogger(__name__)
BOX_ATOL = 0.5      # px: half a pixel is below what any crop or hotspot can show
BOX_RTOL = 1e-3     # of the coordinate, for large images
SCORE_ATOL = 1e-3   # float32 kernels differ between torch and onnxruntime around 1e-6..1e-4
MIN_OPSET = 11      # torchvision's detection models need opset 11+ (dynamic RoIAlign, NMS)


def load_detector(config: DetectionConfig, models: ModelStore, checkpoint: str | None = None,
                  arch: str | None = None) -> ObjectDetector:
    """The detector to export: a checkpoint, a COCO architecture, or the configured one."""
    settings = (config.score_threshold, config.nms_iou, config.max_detections, config.batch_size, "cpu")
    if checkpoint:
        spec = load_checkpoint(checkpoint)
        return ObjectDetector(spec, backbone_state(models) if spec.frozen_backbone else None, *settings)
    if arch:
        if check_arch(arch) not in COCO_ARCHS:
            raise ValueError(f"--arch {arch} has no COCO weights; export a trained one with --checkpoint")
        path = models.resolve(arch)
        return ObjectDetector(coco_spec(arch, load_state_dict(path), f"COCO weights {path}"), None, *settings)
    detector = ObjectDetector.from_config(config, models)
    if detector is None:
        raise ValueError(f"no detector configured to export: pass --checkpoint or --arch, or {HOW_TO}")
    return detector


def export_onnx(detector: ObjectDetector, path: str | Path, opset: int = 17,
                sample_size: tuple[int, int] = (480, 640)) -> Path:
    """Write ``detector``'s model to ``path`` (ONNX); see the module docstring for its I/O."""
    if opset < MIN_OPSET:
        raise ValueError(f"--opset {opset}: torchvision detection models need opset >= {MIN_OPSET}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = detector.model.cpu().eval()
    sample = torch.rand(3, *sample_size, generator=torch.Generator().manual_seed(0))
    with warnings.catch_warnings():   # tracer warnings about shape-dependent Python ints
        warnings.simplefilter("ignore")
        torch.onnx.export(model, ([sample],), str(path), dynamo=False, opset_version=opset,
                          input_names=["image"], output_names=["boxes", "labels", "scores"],
                          dynamic_axes={"image": {1: "height", 2: "width"},
                                        "boxes": {0: "n"}, "labels": {0: "n"}, "scores": {0: "n"}})
    detector.model.to(detector.device)
    log.info("wrote %s (%.1f MB, opset %d)", path, path.stat().st_size / 1e6, opset)
    return path


def run_onnx(path: str | Path, rgb: np.ndarray) -> dict[str, np.ndarray]:
    """onnxruntime (CPU) on ``rgb`` (``H x W x 3`` uint8): ``boxes``, ``labels``, ``scores``."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    boxes, labels, scores = session.run(None, {"image": to_tensor(rgb).numpy()})
    return {"boxes": boxes, "labels": labels, "scores": scores}


def _sample_image() -> np.ndarray:
    """A deterministic 480x640 test picture: coloured rectangles on a gradient."""
    rng = np.random.default_rng(0)
    img = np.tile(np.linspace(80, 200, 640, dtype=np.float32)[None, :, None], (480, 1, 3))
    for _ in range(6):
        x, y = rng.integers(0, 520), rng.integers(0, 360)
        img[y:y + rng.integers(40, 120), x:x + rng.integers(40, 120)] = rng.integers(0, 255, 3)
    return img.astype(np.uint8)


def compare(torch_out: dict, onnx_out: dict, min_score: float = 0.2) -> dict:
    """Match torch detections scoring >= ``min_score`` to ONNX ones; see the module docstring."""
    t_boxes, t_labels, t_scores = (np.asarray(torch_out[k]) for k in ("boxes", "labels", "scores"))
    o_boxes, o_labels, o_scores = (np.asarray(onnx_out[k]) for k in ("boxes", "labels", "scores"))
    box_diff, score_diff, unmatched = 0.0, 0.0, 0
    for box, label, score in zip(t_boxes, t_labels, t_scores):
        if score < min_score:
            continue
        same = np.flatnonzero((o_labels == label) & (np.abs(o_scores - score) <= SCORE_ATOL))
        if same.size == 0:
            unmatched += 1
            continue
        diffs = np.abs(o_boxes[same] - box).max(axis=1)
        best = same[int(np.argmin(diffs))]
        box_diff = max(box_diff, float(diffs.min()))
        score_diff = max(score_diff, float(abs(o_scores[best] - score)))
    compared = int((t_scores >= min_score).sum())
    extra = int((o_scores >= min_score + SCORE_ATOL).sum()) - compared
    box_tol = max(BOX_ATOL, BOX_RTOL * float(np.abs(t_boxes).max(initial=0.0)))
    ok = unmatched == 0 and extra <= 0 and box_diff <= box_tol and score_diff <= SCORE_ATOL
    return {"ok": bool(ok), "compared": compared, "unmatched": unmatched, "extra_onnx": max(0, extra),
            "max_box_abs_diff": round(box_diff, 6), "max_score_abs_diff": round(score_diff, 7),
            "box_tolerance_px": box_tol, "score_tolerance": SCORE_ATOL, "min_score": min_score}


def onnx_vs_torch(detector: ObjectDetector, onnx_path: str | Path, image: str | np.ndarray | None = None,
                  min_score: float = 0.2) -> dict:
    """Run torch and onnxruntime on one image (a path, an RGB array, or a built-in sample)."""
    if isinstance(image, (str, Path)):
        rgb = load_image(image)
    else:
        rgb = _sample_image() if image is None else image
    torch_out = {k: v.numpy() for k, v in detector.raw([to_tensor(rgb)])[0].items()}
    return compare(torch_out, run_onnx(onnx_path, rgb), min_score)

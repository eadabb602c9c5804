"""Faster R-CNN object detection behind one interface: :class:`ObjectDetector`.

Input: an RGB image, ``H x W x 3`` uint8.  Output: :class:`Detection` objects
with pixel boxes ``(x1, y1, x2, y2)`` of that image (see :mod:`lens.boxes`),
``label`` = the class NAME, ``score`` in 0..1, ``source="rcnn"``.  An object
whose class is uncertain is kept with its class hypotheses pooled
(:func:`object_scores`): on 150 bench scenes this finds 98.3 % of the objects
instead of 95.9 % at a 0.5 threshold, for 0.772 box precision instead of 0.785.

Which weights (``detection.detector``): ``auto`` = the checkpoint of ``lens
train-detector`` named by ``models.detector_checkpoint`` if set, else the
first COCO architecture whose weights are on disk (``models.coco_detector``
or the torch hub cache), else none -- logged once, the rest of detection
(faces, people/garments, regions) still works.  Under ``auto`` a checkpoint and
COCO weights on disk are *both* used (:func:`choices`): the checkpoint's classes
(the garments of real street fashion in ``configs/default.yaml``) and COCO's,
merged by the detection pipeline's class-aware NMS.  ``none`` = off.  An
architecture name (:data:`detection.backbones.ARCHITECTURES`) = that one alone.

Checkpoints (:func:`save_checkpoint`) are plain dicts readable with
``torch.load(weights_only=True)``: ``arch``, ``labels``, ``min_size``,
``max_size``, ``frozen_backbone``, ``trained_blocks``, ``model`` (the trained
tensors only when the backbone is the pip-package MobileNetV2: all but its
frozen blocks), ``metrics``.

Tested in ``tests/test_rcnn.py``.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from detection.backbones import (ARCHITECTURES, COCO_ARCHS, MNV2, DetectorSpec, build_model,
                                 check_arch, coco_spec, trainable_state)
from detection.fast import FastForward
from lens.boxes import Box
from lens.config import DetectionConfig
from lens.files import atomic_write
from lens.models import ModelStore, load_state_dict
from lens.onnxrun import check_runtime
from lens.types import Detection

log = logging.getLogger(__name__)
FORMAT = "lens-detector/1"
SKIP_LABELS = {"__background__", "N/A"}   # COCO's background and unused ids
# Boxes of different classes overlapping this much are one object's class hypotheses
# (object_scores); two distinct objects of the synthetic scenes overlap at most 0.12.
LOCATION_IOU = 0.7
_OFF_LOGGED = False                        # the "detector off" line is logged once a process
HOW_TO = ("get COCO weights with `lens models fetch fasterrcnn_mobilenet_v3_large_fpn` "
          "(needs a network) or set models.coco_detector, or train one with `lens train-detector`")


@dataclass
class Choice:
    """Which weights ``detection.detector`` resolves to, without loading them."""

    kind: str           # "checkpoint" | "coco" | "none"
    arch: str = ""
    path: str = ""
    reason: str = ""


def choose(config: DetectionConfig, models: ModelStore) -> Choice:
    """Resolve ``config.detector`` against what is on disk; ``ValueError`` if impossible."""
    name, ckpt = config.detector, models.config.detector_checkpoint
    if name == "none":
        return Choice("none", reason="detection.detector is none")
    if name != "auto":
        check_arch(name)
    if ckpt and name in ("auto", _checkpoint_arch_hint(ckpt, name)):
        if not Path(ckpt).is_file():
            raise ValueError(f"models.detector_checkpoint {ckpt}: no such file")
        return Choice("checkpoint", name, ckpt, "models.detector_checkpoint")
    if name == MNV2:
        raise ValueError(f"detection.detector {MNV2} needs a trained checkpoint: run `lens "
                         f"train-detector` and set models.detector_checkpoint")
    for arch in ([name] if name != "auto" else list(COCO_ARCHS)):
        path = models.find(arch)
        if path is not None:
            return Choice("coco", arch, str(path), "COCO weights on disk")
        if name != "auto":
            raise models.missing(arch)
    return Choice("none", reason="detection.detector is auto and neither "
                                 "models.detector_checkpoint nor COCO weights exist")


def _coco_on_disk(models: ModelStore) -> Choice | None:
    for arch in COCO_ARCHS:
        path = models.find(arch)
        if path is not None:
            return Choice("coco", arch, str(path), "COCO weights on disk")
    return None


def choices(config: DetectionConfig, models: ModelStore) -> list[Choice]:
    """Every Faster R-CNN to run: :func:`choose`'s, plus COCO weights on disk beside an ``auto``
    checkpoint (module docstring); ``[]`` when off."""
    first = choose(config, models)
    if first.kind == "none":
        return []
    companion = _coco_on_disk(models) if first.kind == "checkpoint" and config.detector == "auto" else None
    return [first] + ([companion] if companion else [])


def _checkpoint_arch_hint(path: str, name: str) -> str:
    """A named architecture uses the checkpoint when the checkpoint is of that architecture."""
    if not Path(path).is_file():
        return name   # let choose() report the missing file
    return str(load_state_dict(path).get("arch", ""))


def describe_detector(config: DetectionConfig, models: ModelStore) -> str:
    """One line for ``lens models``: which Faster R-CNN is active and why."""
    try:
        c, found = choose(config, models), choices(config, models)
    except ValueError as exc:
        return f"object detector: error: {exc}"
    if c.kind == "none":
        return f"object detector: off ({c.reason}); {HOW_TO}"
    return "object detector: " + " + ".join(f"{d.arch or 'auto'} from {d.path} ({d.reason})" for d in found) + \
        f", device {config.device}"


def load_checkpoint(path: str | Path) -> DetectorSpec:
    """A :class:`DetectorSpec` from a ``lens train-detector`` checkpoint (fp16 is widened)."""
    data = load_state_dict(path)
    for key in ("arch", "labels", "min_size", "max_size", "model"):
        if key not in data:
            raise ValueError(f"checkpoint {path}: missing key '{key}' (not a lens detector checkpoint)")
    check_arch(str(data["arch"]))
    state = {k: v.float() if v.is_floating_point() else v for k, v in data["model"].items()}
    return DetectorSpec(str(data["arch"]), list(data["labels"]), int(data["min_size"]),
                        int(data["max_size"]), state, bool(data.get("frozen_backbone", False)),
                        f"checkpoint {path}", dict(data.get("metrics", {})), int(data.get("trained_blocks", 0)))


def checkpoint_dict(model: torch.nn.Module, spec: DetectorSpec, half: bool = False, **extra) -> dict:
    """The checkpoint of ``model`` (see the module docstring); ``half`` stores fp16."""
    state = trainable_state(model, spec.frozen_backbone, spec.trained_blocks)
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    return {"format": FORMAT, "arch": spec.arch, "labels": list(spec.labels),
            "min_size": spec.min_size, "max_size": spec.max_size,
            "frozen_backbone": spec.frozen_backbone, "trained_blocks": spec.trained_blocks, "model": state,
            "metrics": dict(spec.metrics), **extra}


def save_checkpoint(data: dict, path: str | Path) -> Path:
    """Write atomically (temp file + rename), so a killed run never leaves half a file."""
    return atomic_write(path, lambda fh: torch.save(data, fh))


def backbone_state(models: ModelStore) -> dict:
    """The ImageNet MobileNetV2 state dict from the model store (pip package)."""
    return load_state_dict(models.resolve("mobilenet_v2"))


def _log_off(reason: str) -> None:
    global _OFF_LOGGED
    if not _OFF_LOGGED:
        _OFF_LOGGED = True
        log.warning("Faster R-CNN object detection is off (%s); faces, people/garments and "
                    "regions still work. To turn it on, %s.", reason, HOW_TO)


class ObjectDetector:
    """A Faster R-CNN with thresholds; see the module docstring."""

    runs_alone = True       # needs no other detector's output: the pipeline runs it beside the rest

    def __init__(self, spec: DetectorSpec, backbone: dict | None = None, score_threshold: float = 0.5,
                 nms_iou: float = 0.5, max_detections: int = 20, batch_size: int = 4,
                 device: str = "cpu", class_thresholds: dict[str, float] | None = None,
                 runtime: str = "torch", cache_dir: str = "", threads: int = 0, proposals: int = 0,
                 quantize: str = "none", roi_sampling: int = 0):
        """``runtime``: ``onnx`` runs the backbone (with its FPN) on onnxruntime, the graph exported
        once into ``cache_dir`` (:mod:`detection.fast`); the rest, and training, stay in torch.
        ``proposals``: the RPN's proposals kept at inference (:func:`build_model`; 0: the architecture's).
        ``quantize``: ``head`` gives the onnxruntime box head int8 weights (:mod:`detection.fast`).
        ``roi_sampling``: RoIAlign's samples per bin side at inference (0: the architecture's)."""
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"detection.device '{device}': CUDA is not available on this machine")
        if batch_size < 1 or max_detections < 0 or not 0 <= score_threshold <= 1:
            raise ValueError("detection: batch_size >= 1, max_detections >= 0 and "
                             "0 <= score_threshold <= 1 required")
        self.spec, self.device = spec, device
        self.score_threshold, self.nms_iou = score_threshold, nms_iou
        self.thresholds = label_thresholds(spec.labels, score_threshold, class_thresholds or {})
        self.max_detections, self.batch_size = max_detections, batch_size
        self.model = build_model(spec, backbone, proposals).to(device)
        if roi_sampling < 0:
            raise ValueError(f"detection.roi_sampling {roi_sampling}: expected 0 (the architecture's own) or more")
        if roi_sampling:
            self.model.roi_heads.box_roi_pool.sampling_ratio = roi_sampling
        self._lock = threading.Lock()   # torch modules are not re-entrant across threads
        self._fast = FastForward.build(self.model, spec.arch, check_runtime(runtime, "detection.runtime"),
                                       device, cache_dir, threads, quantize)

    @classmethod
    def from_config(cls, config: DetectionConfig, models: ModelStore) -> "ObjectDetector | None":
        """The configured detector, or ``None`` when off (see the module docstring)."""
        c = choose(config, models)
        if c.kind == "none":
            if config.detector == "auto":
                _log_off(c.reason)
            return None
        return cls._build(c, config, models)

    @classmethod
    def all_from_config(cls, config: DetectionConfig, models: ModelStore) -> list["ObjectDetector"]:
        """Every configured detector (:func:`choices`): the first is :meth:`from_config`'s."""
        first = cls.from_config(config, models)
        if first is None:
            return []
        return [first] + [cls._build(c, config, models) for c in choices(config, models)[1:]]

    @classmethod
    def _build(cls, c: Choice, config: DetectionConfig, models: ModelStore) -> "ObjectDetector":
        settings = (config.score_threshold, config.nms_iou, config.max_detections,
                    config.batch_size, config.device)
        fast = {"runtime": config.runtime, "cache_dir": models.config.root, "threads": config.threads,
                "proposals": config.proposals, "quantize": config.quantize, "roi_sampling": config.roi_sampling}
        if c.kind == "checkpoint":
            spec = load_checkpoint(c.path)
            return cls(spec, backbone_state(models) if spec.frozen_backbone else None, *settings,
                       class_thresholds=config.class_thresholds, **fast)
        # models.coco_detector names one file for every COCO architecture: under
        # "auto" the architecture its tensors fit is the one.
        state = load_state_dict(c.path)
        others = [a for a in COCO_ARCHS if a != c.arch] if config.detector == "auto" else []
        error = None
        for arch in [c.arch, *others]:
            try:
                return cls(coco_spec(arch, state, f"COCO weights {c.path}"), None, *settings, **fast)
            except ValueError as exc:
                error = error or exc
        raise error

    @property
    def runtime(self) -> str:
        """What runs the model now: ``onnx`` (its backbone, :mod:`detection.fast`) or ``torch``."""
        return self._fast.runtime if self._fast is not None else "torch"

    @property
    def labels(self) -> list[str]:
        return self.spec.labels

    def __call__(self, rgb: np.ndarray) -> list[Detection]:
        """Detections in ``rgb`` (``H x W x 3`` uint8), best first."""
        return self.detect_batch([rgb])[0]

    def detect_batch(self, images: Sequence[np.ndarray]) -> list[list[Detection]]:
        """One list of detections per image, run in chunks of ``batch_size``."""
        tensors = [to_tensor(im, f"image {i}") for i, im in enumerate(images)]
        found: list[list[Detection]] = []
        for start in range(0, len(tensors), self.batch_size):
            outputs = self.raw(tensors[start:start + self.batch_size])
            for out, t in zip(outputs, tensors[start:start + self.batch_size]):
                found.append(self._detections(out, t.shape[2], t.shape[1]))
        return found

    def raw(self, tensors: Sequence[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        """The model's own outputs for ``3 x H x W`` float 0..1 tensors (on CPU):
        ``boxes`` ``(N, 4)`` pixel x1y1x2y2, ``labels`` ``(N,)`` int64, ``scores`` ``(N,)``."""
        with self._lock, torch.inference_mode():
            images = [t.to(self.device) for t in tensors]
            outs = self._fast(images) if self._fast is not None else self.model(images)
        return [{k: v.cpu() for k, v in o.items()} for o in outs]

    def _detections(self, out: dict, width: int, height: int) -> list[Detection]:
        # deferred: torchvision costs as much again as torch; `lens models` imports this only to describe it
        from torchvision.ops import batched_nms

        labels = out["labels"].clamp(max=len(self.thresholds) - 1)
        thresholds = self.thresholds[labels]
        scores = object_scores(out["boxes"], out["scores"], thresholds)
        keep = scores >= thresholds
        boxes, scores, labels = out["boxes"][keep], scores[keep], out["labels"][keep]
        order = batched_nms(boxes, scores, labels, self.nms_iou)[:self.max_detections]
        dets = []
        for i in order.tolist():
            name = self.labels[int(labels[i])] if int(labels[i]) < len(self.labels) else str(int(labels[i]))
            box = Box(*(float(v) for v in boxes[i])).clip(width, height)
            if name not in SKIP_LABELS and box.area > 0:
                dets.append(Detection(box, name, float(scores[i]), "rcnn"))
        return dets


def label_thresholds(labels: list[str], default: float, per_class: dict[str, float]) -> torch.Tensor:
    """``(len(labels),)`` score thresholds by label index: ``default``, or the class's own.

    ``per_class`` names labels of this detector (``detection.class_thresholds``); another name or a
    value outside 0..1 raises ``ValueError`` naming it."""
    unknown = sorted(set(per_class) - set(labels[1:]))
    if unknown:
        raise ValueError(f"detection.class_thresholds: {unknown} not among this detector's labels "
                         f"({', '.join(labels[1:])})")
    for name, value in per_class.items():
        if not 0 <= value <= 1:
            raise ValueError(f"detection.class_thresholds.{name} {value}: expected 0..1")
    return torch.tensor([per_class.get(name, default) for name in labels], dtype=torch.float32)


def object_scores(boxes: torch.Tensor, scores: torch.Tensor, threshold) -> torch.Tensor:
    """Scores with each uncertain object's class hypotheses pooled (``(N,)``, 0..1).

    ``boxes`` ``(N, 4)`` pixel x1y1x2y2 and ``scores`` ``(N,)`` are the model's
    raw output: softmax class probabilities, one box per class and location
    (torchvision's per-class NMS at 0.5 leaves at most one box of a class
    within ``LOCATION_IOU`` of another).  Where no class reaches ``threshold``
    but the classes together do (a chair read 0.31 chair, 0.16 top, 0.15 hat:
    surely an object, unsure which), the likeliest class's box gets the
    location's summed probability, about 1 - P(background); the other
    hypotheses keep their own low scores and fall under the threshold.
    Scores at or over the threshold are unchanged.  ``threshold``: one number, or ``(N,)``, each
    box's class threshold (:func:`label_thresholds`).
    """
    # deferred: torchvision costs as much again as torch; `lens models` imports this only to describe it
    from torchvision.ops import box_iou

    if len(scores) == 0:
        return scores
    same = box_iou(boxes, boxes) >= LOCATION_IOU
    mass = (same.float() * scores[None, :]).sum(1).clamp(max=1.0)
    likeliest = ~(same & (scores[None, :] > scores[:, None])).any(1)
    return torch.where((scores < threshold) & likeliest, mass, scores)


def to_tensor(rgb: np.ndarray, name: str = "image") -> torch.Tensor:
    """``H x W x 3`` uint8 RGB -> ``3 x H x W`` float32 in 0..1; ``ValueError`` otherwise."""
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        shape = getattr(rgb, "shape", None)
        raise ValueError(f"{name}: expected an H x W x 3 uint8 RGB array, got "
                         f"{getattr(rgb, 'dtype', type(rgb).__name__)} {shape}")
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))).float().div_(255.0)


__all__ = ["ARCHITECTURES", "ObjectDetector", "DetectorSpec", "choose", "choices", "describe_detector",
           "load_checkpoint", "save_checkpoint", "checkpoint_dict", "to_tensor"]

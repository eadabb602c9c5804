"""A Faster R-CNN's inference with its backbone on onnxruntime (``detection.runtime: onnx``).

The backbone with its FPN is most of a detection on the CPU: on a 550 x 832 street photo
(resized to 512 x 352) the CCP detector spends 85 ms there in torch, 15 ms in the RPN and 30 ms
in the box head.  On onnxruntime the backbone takes 36 ms with the same features (within 1e-4),
while the whole model exported (:mod:`detection.export`) gains little (95 -> 78 ms): its RPN,
NMS and RoIAlign run slower there.  So only the backbone goes to onnxruntime, exported once
with dynamic batch, height and width into ``models.root`` (named by the architecture and a
digest of the backbone's weights), and :meth:`FastForward.__call__` runs torchvision's own
inference steps around it (``GeneralizedRCNN.forward`` in eval mode: transform, backbone, RPN,
box head, postprocess).  Training and ``lens export-detector`` use the torch model untouched.
A failing export or session falls back to the torch backbone with a warning naming the reason.

Tested in ``tests/test_rcnn.py`` (the same detections, mAP within 0.01 of torch's).
"""
from __future__ import annotations

import logging
from collections import OrderedDict

import numpy as np
import torch

from lens.onnxrun import OnnxModel, graph_path

log = logging.getLogger(__name__)
SAMPLE = (1, 3, 384, 512)     # an export input: any size divisible by 32 (the transform pads to it)


class FastForward:
    """``model``'s inference on a list of ``3 x H x W`` float 0..1 tensors, backbone on onnxruntime."""

    def __init__(self, model: torch.nn.Module, graph: OnnxModel, names: list[str]):
        self.model, self.graph, self.names = model, graph, names

    @classmethod
    def build(cls, model: torch.nn.Module, arch: str, runtime: str, device: str, cache_dir: str,
              threads: int = 0) -> "FastForward | None":
        """None where torch runs it all: ``runtime`` torch, or a device other than the CPU."""
        if runtime != "onnx" or device != "cpu":
            return None
        with torch.inference_mode():
            names = list(model.eval().backbone(torch.zeros(SAMPLE)).keys())
        graph = OnnxModel(graph_path(cache_dir, f"detector-{arch}", model.backbone), lambda: _Features(model.backbone),
                          lambda: np.zeros(SAMPLE, np.float32),
                          [f"features_{n}" for n in names], threads, spatial=True)
        return cls(model, graph, names)

    @property
    def runtime(self) -> str:
        """``onnx`` while the backbone runs there, ``torch`` after a fallback."""
        return "onnx" if self.graph is not None else "torch"

    def __call__(self, images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        m = self.model
        sizes = [tuple(im.shape[-2:]) for im in images]
        batch, _ = m.transform(images)
        features = self._features(batch.tensors)
        proposals, _ = m.rpn(batch, features)
        found, _ = m.roi_heads(features, proposals, batch.image_sizes)
        return m.transform.postprocess(found, batch.image_sizes, sizes)

    def _features(self, x: torch.Tensor) -> OrderedDict:
        if self.graph is not None:
            try:
                return OrderedDict((n, torch.from_numpy(f)) for n, f in zip(self.names, self.graph(x.numpy())))
            except Exception as exc:   # export or runtime trouble: torch still gives the features
                log.warning("detector backbone on onnxruntime failed (%s: %s); using torch from now on",
                            type(exc).__name__, exc)
                self.graph = None
        return self.model.backbone(x)


class _Features(torch.nn.Module):
    """The backbone's feature maps as a tuple (what an ONNX graph returns)."""

    def __init__(self, backbone: torch.nn.Module):
        super().__init__()
        self.backbone = backbone

    def forward(self, x):
        return tuple(self.backbone(x).values())

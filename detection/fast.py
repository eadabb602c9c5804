"""A Faster R-CNN's inference with its backbone on onnxruntime (``detection.runtime: onnx``).

The backbone with its FPN is most of a detection on the CPU: on a 550 x 832 street photo
(resized to 512 x 352) the CCP detector spends 85 ms there in torch, 15 ms in the RPN and 30 ms
in the box head.  On onnxruntime the backbone takes 36 ms with the same features (within 1e-4),
while the whole model exported (:mod:`detection.export`) gains little (95 -> 78 ms): its RPN,
NMS and RoIAlign run slower there.  So the backbone goes to onnxruntime with the RPN's
convolutional head (its objectness and box deltas per level: 6.6 ms of torch), exported once
with dynamic batch, height and width into ``models.root`` (named by the architecture and a
digest of their weights), and so does the box head with its predictor (the two
fully-connected layers and the class and box layers over the RoIAlign-pooled features: 11 ->
5 ms for 300 proposals on one thread; with ``quantize="head"`` int8 weights, 1.4 ms, held-out
CCP mAP@0.5 0.7246 -> 0.7222).  :meth:`FastForward.__call__` runs torchvision's own inference
steps around them (``GeneralizedRCNN.forward``, ``RegionProposalNetwork.forward`` and
``RoIHeads.forward`` in eval mode: transform, backbone, RPN head, anchors, proposal decoding and
filtering, RoIAlign, box head, box postprocessing, postprocess).  Training and
``lens export-detector`` use the torch model untouched.  A failing export or session falls
back to torch for that part with a warning naming the reason.

Tested in ``tests/test_rcnn.py`` (the same detections, mAP within 0.01 of torch's).
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
from torchvision.models.detection.rpn import concat_box_prediction_layers

from lens.onnxrun import OnnxModel, graph_path

SAMPLE = (1, 3, 384, 512)     # an export input: any size divisible by 32 (the transform pads to it)
QUANTIZE = ("head", "none")   # detection.quantize: int8 weights in the box head, or none


class FastForward:
    """``model``'s inference on a list of ``3 x H x W`` float 0..1 tensors, backbone on onnxruntime."""

    def __init__(self, model: torch.nn.Module, graph: OnnxModel, names: list[str], head: OnnxModel | None = None):
        self.model, self.graph, self.names, self.head = model, graph, names, head

    @classmethod
    def build(cls, model: torch.nn.Module, arch: str, runtime: str, device: str, cache_dir: str,
              threads: int = 0, quantize: str = "none") -> "FastForward | None":
        """None where torch runs it all: ``runtime`` torch, or a device other than the CPU.
        ``quantize``: one of ``QUANTIZE``."""
        if quantize not in QUANTIZE:
            raise ValueError(f"detection.quantize '{quantize}': expected one of {', '.join(QUANTIZE)}")
        if runtime != "onnx" or device != "cpu":
            return None
        with torch.inference_mode():
            names = list(model.eval().backbone(torch.zeros(SAMPLE)).keys())
        module = _Features(model.backbone, model.rpn.head)
        outputs = [f"{kind}_{n}" for kind in ("features", "objectness", "deltas") for n in names]
        graph = OnnxModel(graph_path(cache_dir, f"detector-{arch}-rpn", module), lambda: module,
                          lambda: np.zeros(SAMPLE, np.float32), outputs, threads, spatial=True)
        return cls(model, graph, names, _head_graph(model, arch, cache_dir, threads, quantize == "head"))

    @property
    def runtime(self) -> str:
        """``onnx`` while the backbone runs there, ``torch`` after a fallback."""
        return self.graph.runtime

    def __call__(self, images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        m = self.model
        sizes = [tuple(im.shape[-2:]) for im in images]
        batch, _ = m.transform(images)
        features, objectness, deltas = self._features(batch.tensors)
        proposals = self._proposals(batch, list(features.values()), objectness, deltas)
        found = self._boxes(features, proposals, batch.image_sizes)
        return m.transform.postprocess(found, batch.image_sizes, sizes)

    def _proposals(self, batch, features: list, objectness: list, deltas: list) -> list[torch.Tensor]:
        """``RegionProposalNetwork.forward`` at inference, after its head: anchors, decoding, filtering."""
        rpn = self.model.rpn
        anchors = rpn.anchor_generator(batch, features)
        per_level = [o[0].shape[0] * o[0].shape[1] * o[0].shape[2] for o in objectness]
        objectness, deltas = concat_box_prediction_layers(objectness, deltas)
        proposals = rpn.box_coder.decode(deltas, anchors).view(len(anchors), -1, 4)
        return rpn.filter_proposals(proposals, objectness, batch.image_sizes, per_level)[0]

    def _boxes(self, features: OrderedDict, proposals: list[torch.Tensor], image_sizes) -> list[dict]:
        """``RoIHeads.forward`` at inference, its box head and predictor on onnxruntime."""
        heads = self.model.roi_heads
        if self.head is not None and not self.head.failed:
            pooled = heads.box_roi_pool(features, proposals, image_sizes)
            out = self.head.run(pooled.numpy(), "detector box head")
            if out is not None:
                logits, deltas = (torch.from_numpy(a) for a in out)
                boxes, scores, labels = heads.postprocess_detections(logits, deltas, proposals, image_sizes)
                return [{"boxes": b, "scores": s, "labels": c} for b, s, c in zip(boxes, scores, labels)]
        return heads(features, proposals, image_sizes)[0]

    def _features(self, x: torch.Tensor) -> tuple[OrderedDict, list[torch.Tensor], list[torch.Tensor]]:
        """The backbone's feature maps by name, and the RPN head's objectness and box deltas per level."""
        out = self.graph.run(x.numpy(), "detector backbone")
        if out is not None:
            out, k = [torch.from_numpy(a) for a in out], len(self.names)
            return OrderedDict(zip(self.names, out[:k])), out[k:2 * k], out[2 * k:]
        features = self.model.backbone(x)
        return (features, *self.model.rpn.head(list(features.values())))


def _head_graph(model: torch.nn.Module, arch: str, cache_dir: str, threads: int, int8: bool) -> OnnxModel | None:
    """The box head and predictor as one graph (pooled ``N x C x 7 x 7`` -> class logits, box
    deltas), or None for a head torchvision's RoIHeads would not run the plain way (masks, keypoints)."""
    heads = model.roi_heads
    if heads.has_mask() or heads.has_keypoint():
        return None
    head = _BoxHead(heads.box_head, heads.box_predictor)
    sample = heads.box_roi_pool.output_size
    shape = (2, model.backbone.out_channels, *((sample, sample) if isinstance(sample, int) else sample))
    return OnnxModel(graph_path(cache_dir, f"detector-{arch}-head{'-int8' if int8 else ''}", head), lambda: head,
                     lambda: np.zeros(shape, np.float32), ["logits", "deltas"], threads, int8=int8)


class _BoxHead(torch.nn.Module):
    """A Faster R-CNN's box head and predictor in one module (what the head graph holds)."""

    def __init__(self, box_head: torch.nn.Module, box_predictor: torch.nn.Module):
        super().__init__()
        self.box_head, self.box_predictor = box_head, box_predictor

    def forward(self, x):
        return self.box_predictor(self.box_head(x))


class _Features(torch.nn.Module):
    """The backbone's feature maps, then the RPN head's objectness and box deltas for each of
    them, as one flat tuple (what an ONNX graph returns)."""

    def __init__(self, backbone: torch.nn.Module, rpn_head: torch.nn.Module):
        super().__init__()
        self.backbone, self.rpn_head = backbone, rpn_head

    def forward(self, x):
        features = list(self.backbone(x).values())
        objectness, deltas = self.rpn_head(features)
        return (*features, *objectness, *deltas)

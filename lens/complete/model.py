"""The style embedding of Complete The Look (Kang et al., CVPR 2019), on a frozen ImageNet backbone.

:class:`Features` runs the offline ImageNet MobileNetV2 once per image and keeps three of its
layers, as the paper keeps intermediate layers (style lives below the object classes): each
image's global descriptor is the average of block 13 (96 channels, 14 x 14 at 224 px), block 17
(320, 7 x 7) and the last 1 x 1 convolution (1,280), concatenated (``CNN`` = 1,696 values), then
a 40-bin colour histogram of the image (:func:`colour_histogram`; ``GLOBAL`` = 1,736 values); a
scene also keeps its 7 x 7 block-17 cells as ``REGIONS`` = 49 region descriptors of 320.  Images
are letterboxed to 224 x 224 on white as the embedders do (:func:`lens.embeddings.imagenet_batch`).

:class:`CompatNet` (trained, ~2 M parameters) projects scenes, scene regions and products into
one ``dim``-d space (a layer norm, then a hidden layer of ``HIDDEN`` for scenes and products, or a
linear map for regions, then L2).  For a scene ``s`` with regions ``r_i`` and a
product ``p`` of category ``c``:

* global distance ``d_g = |s - p|^2``;
* local distance ``d_l = sum_i a_i |r_i - p|^2`` with ``a = softmax_i(<r_i, q_c> / ATTENTION_T)``,
  ``q_c`` a learned vector per category: the attention over region-category affinity (which scene
  regions a shoe should be judged against);
* compatibility distance ``d = (d_g + d_l) / 2`` (the paper's hybrid; lower goes better).

Checkpoints (:func:`save_checkpoint`, loaded with ``weights_only=True``) hold the net's state,
``categories``, ``dim`` and the training ``history``; :func:`load` gives a :class:`Compatibility`
that scores raw pixels.  Tested in ``tests/test_complete.py``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from lens.complete.outfits import BLANK
from lens.models import load_state_dict, save_state

FORMAT = "lens-compat-3"     # 2: the colour histogram in the global descriptor; 3: a hidden layer
CHECKPOINT = Path(__file__).parent / "checkpoints" / "ccp_compat.pt"     # the committed one (its README)
SIDE = 224                  # the backbone's input, as the embedders use it
BLOCKS = (13, 17, 18)       # MobileNetV2 feature blocks kept: 96 ch @ 14 x 14, 320 @ 7 x 7, 1280 @ 7 x 7
CNN = 96 + 320 + 1280       # the three blocks averaged, concatenated
HUES, SATS, GREYS = 12, 3, 4    # the colour histogram: hue sectors x saturation levels, and grey levels
GREY_SAT = 38               # HSV saturation (0-255) under which a pixel counts as grey (~0.15)
COLOURS = HUES * SATS + GREYS
GLOBAL = CNN + COLOURS      # a global descriptor: the CNN's part and the colour histogram
REGION_BLOCK = 17           # the scene's regions: block 17's cells (320 ch; 1,280 would be 4x the cache)
REGIONS = 49                # 7 x 7 cells at 224 px
REGION_DIM = 320
DIM = 128                   # the style space; the paper's 128
HIDDEN = 512                # the scene and product projections' hidden layer (styled synthetic split: 0.82 -> 0.86)
ATTENTION_T = 0.1           # softmax temperature of the region-category affinity (cosines in -1..1)
BATCH = 32                  # images a backbone pass: ~0.4 s on 2 cores


def _torch():
    import torch  # deferred: torch takes seconds; only training, evaluation and serving need it
    return torch


class Features:
    """The frozen backbone: images -> global descriptors ``(N, GLOBAL)`` float32 and, for scenes,
    region descriptors ``(N, REGIONS, REGION_DIM)`` float32."""

    def __init__(self, weights_path: str | Path):
        torch = _torch()
        import torchvision  # deferred with torch

        net = torchvision.models.mobilenet_v2()
        net.load_state_dict(load_state_dict(weights_path))
        self.blocks = net.features[:max(BLOCKS) + 1].eval()
        self._torch = torch

    def __call__(self, images: Sequence[np.ndarray], regions: bool = False):
        """``images``: H x W x 3 uint8 RGB.  ``(globals, regions or None)``."""
        from lens.embeddings import imagenet_batch  # deferred: the embedders' module pulls in onnxruntime

        torch = self._torch
        globals_, cells = [], []
        for i in range(0, len(images), BATCH):
            x = torch.from_numpy(imagenet_batch(list(images[i:i + BATCH]), SIDE))
            kept = []
            with torch.inference_mode():
                for k, block in enumerate(self.blocks):
                    x = block(x)
                    if k in BLOCKS:
                        kept.append(x)
                        if k == REGION_BLOCK and regions:
                            cells.append(x.flatten(2).transpose(1, 2).numpy().copy())
                globals_.append(torch.cat([m.mean((2, 3)) for m in kept], 1).numpy())
            globals_[-1] = np.concatenate([globals_[-1], np.stack([colour_histogram(im) for im in
                                                                   images[i:i + BATCH]])], 1)
        empty = np.zeros((0, GLOBAL), np.float32)
        g = np.concatenate(globals_) if globals_ else empty
        r = (np.concatenate(cells) if cells else np.zeros((0, REGIONS, REGION_DIM), np.float32)) if regions else None
        return g, r


def colour_histogram(rgb: np.ndarray) -> np.ndarray:
    """``(COLOURS,)`` float32: the square root of the share of an image's pixels in each hue sector x
    saturation level, and each grey level (a blank's ``BLANK`` pixels left out).  ImageNet's deep
    features are trained to ignore colour; style is much of it (a monochrome outfit, two
    complementary hues), so the descriptor carries it explicitly."""
    import cv2  # deferred: OpenCV, with the backbone

    h, w = rgb.shape[:2]
    s = min(1.0, 64 / max(h, w, 1))
    small = cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA) \
        if s < 1 else rgb
    px = small.reshape(-1, 3)
    px = px[~(px == np.array(BLANK, np.uint8)).all(1)]
    out = np.zeros(COLOURS, np.float32)
    if len(px):
        hsv = cv2.cvtColor(px[None], cv2.COLOR_RGB2HSV_FULL)[0].astype(np.int32)
        grey = hsv[:, 1] < GREY_SAT
        colour = hsv[~grey]
        bins = colour[:, 0] * HUES // 256 * SATS + np.minimum(SATS - 1, (colour[:, 1] - GREY_SAT) * SATS // (256 - GREY_SAT))
        out[:HUES * SATS] = np.bincount(bins, minlength=HUES * SATS)
        out[HUES * SATS:] = np.bincount(hsv[grey, 2] * GREYS // 256, minlength=GREYS)
        out = np.sqrt(out / len(px))
    return out


def _net_class(torch):
    nn, F = torch.nn, torch.nn.functional

    class CompatNet(nn.Module):
        """See the module docstring; inputs are :class:`Features` outputs as float32 tensors."""

        def __init__(self, categories: Sequence[str], dim: int = DIM):
            super().__init__()
            self.categories = list(categories)
            self.scene = nn.Sequential(nn.LayerNorm(GLOBAL), nn.Linear(GLOBAL, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, dim))
            self.product = nn.Sequential(nn.LayerNorm(GLOBAL), nn.Linear(GLOBAL, HIDDEN), nn.ReLU(),
                                         nn.Linear(HIDDEN, dim))
            self.region = nn.Sequential(nn.LayerNorm(REGION_DIM), nn.Linear(REGION_DIM, dim))
            self.affinity = nn.Embedding(len(self.categories), dim)

        def scenes(self, g, r):
            """``(s (N, dim), r (N, REGIONS, dim))``, unit rows."""
            return F.normalize(self.scene(g), dim=-1), F.normalize(self.region(r), dim=-1)

        def products(self, g):
            return F.normalize(self.product(g), dim=-1)

        def attention(self, r, category):
            """``(N, REGIONS)``: softmax over each scene's regions of their affinity to ``category``."""
            q = F.normalize(self.affinity(category), dim=-1)
            return torch.softmax((r @ q[:, :, None]).squeeze(-1) / ATTENTION_T, dim=1)

        def distances(self, s, r, p, category):
            """``(d, d_g, d_l, attention (N, REGIONS))`` for N scene-product pairs; ``category``
            (N,) long: each product's category index."""
            d_g = ((s - p) ** 2).sum(-1)
            attention = self.attention(r, category)
            d_l = (attention * ((r - p[:, None]) ** 2).sum(-1)).sum(1)
            return (d_g + d_l) / 2, d_g, d_l, attention

    return CompatNet


def build_net(categories: Sequence[str], dim: int = DIM):
    """A fresh :class:`CompatNet` (seeded by the caller's ``torch.manual_seed``)."""
    return _net_class(_torch())(categories, dim)


def save_checkpoint(path: str | Path, net, meta: dict, extra: dict | None = None) -> Path:
    """The net and ``meta`` atomically; ``extra`` (the optimizer's state) for ``--resume``."""
    return save_state(path, {"format": FORMAT, "categories": net.categories, **meta, "state": net.state_dict(),
                             **(extra or {})})


def load_checkpoint(path: str | Path) -> dict:
    """A :func:`save_checkpoint` file; ``ValueError`` names it when it is not one."""
    state = load_state_dict(path)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path}: not a Complete The Look checkpoint (lens train-compat writes one)")
    return state


def net_from(state: dict):
    """The :class:`CompatNet` of a loaded checkpoint, in eval mode."""
    net = build_net(state["categories"], int(state.get("dim", DIM)))
    net.load_state_dict(state["state"])
    return net.eval()

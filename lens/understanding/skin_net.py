"""Skin tone from the face crop: a small CNN trained on re-toned real faces (issue 20.2).

The skin tone seed's lesson: an end-to-end CNN on the face replaced a detector -> pixels
pipeline.  :class:`SkinToneNet` reads a face crop (the face box padded by ``CROP_PAD`` of its
size on every side, so hair, collar and background tell it the light; ``SIDE`` x ``SIDE`` RGB,
0..1) and gives 10 logits, one per Monk Skin Tone value.  Its first layer (:class:`ContextExposure`,
architecture ``context-exposure``, the default) scales each crop so the ring around the face box
has a fixed median luminance: the skin is read against its surroundings, not the camera's exposure
(issue 20.3).  Trained by :func:`train` on CCP's
training-fold people re-toned to every MST under five lightings
(:mod:`lens.evaluation.retoned_ccp`), with soft labels (a Gaussian of ``LABEL_SIGMA`` MST steps
around the true value: a neighbour is a smaller error than a far value), flips, shifts and (for
``context-exposure``) exposure changes with the camera's clipping.
``lens train-skin-tone --real DATA`` trains it; ``lens/understanding/checkpoints/skin_tone_net.pt``
is the committed result (see that folder's README for the command and its figures).

:class:`SkinToneModel` loads a checkpoint (``weights_only=True``) and answers ``(MST, the
probability of its range)`` per face box; the estimator abstains under ``MIN_CONFIDENCE``.

Tested in ``tests/test_skin_net.py``.
"""
from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from lens.boxes import Box
from lens.files import atomic_write
from lens.onnxrun import OnnxModel, check_runtime, graph_path
from lens.palette import MST_RANGES

log = logging.getLogger(__name__)
CROP_PAD = 0.6          # of the face box on each side: the light around the face, not just the skin
SIDE = 64               # px: the crop the network reads (CCP faces: 61-76 px wide, 5th-95th percentile)
LABEL_SIGMA = 0.75      # MST steps: the soft label's width
MIN_CONFIDENCE = 0.5    # the predicted range's probability under which the estimate abstains
CHECKPOINT = Path(__file__).parent / "checkpoints" / "skin_tone_net.pt"    # the committed network
RANGE_OF = np.array([MST_RANGES[m] for m in range(1, 11)])
ARCHS = ("context-exposure", "plain")    # plain: the first network (no exposure layer), still loadable
RING_LUMA = 0.45        # the ring's median luminance after scaling: CCP's median ring is ~0.45
SCALE_RANGE = (0.5, 2.0)    # the exposure layer's factor: a ring of white wall or black coat is not the light
EXPOSURE_AUG = (0.65, 1.4)  # training exposure factors (sRGB, clipped): ~ +-1/2 stop, the 20.3 test's +-30 %


def _context_exposure():
    """:class:`ContextExposure`, built on first use (its base class is torch's)."""
    import torch  # deferred: torch takes seconds; understanding loads it only with a checkpoint

    class ContextExposure(torch.nn.Module):
        """N x 3 x SIDE x SIDE (0..1) -> the same, scaled per crop so the median luminance of the
        ring outside the face box (the ``CROP_PAD`` margin) is ``RING_LUMA``; the factor is
        clamped to ``SCALE_RANGE``.  No parameters: the checkpoint's keys are the layers after it."""

        def __init__(self):
            super().__init__()
            a = int(round(SIDE * CROP_PAD / (1 + 2 * CROP_PAD)))        # the face box's edge in the crop
            ring = torch.ones(SIDE, SIDE, dtype=torch.bool)
            ring[a:SIDE - a, a:SIDE - a] = False
            self.register_buffer("ring", ring.flatten().nonzero()[:, 0], persistent=False)   # pixel indices
            self.rank = (len(self.ring) + 1) // 2          # torch.median's: the lower middle value

        def forward(self, x):
            luma = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).flatten(1).index_select(1, self.ring)
            # the median as the rank-th smallest (torch.median has no ONNX form, TopK has)
            median = luma.topk(self.rank, dim=1, largest=False).values[:, -1]
            scale = (RING_LUMA / median.clamp_min(1e-3)).clamp(*SCALE_RANGE)
            return x * scale[:, None, None, None]

    return ContextExposure()


def build_net(arch: str = "context-exposure"):
    """The network: (for ``context-exposure``, the exposure layer, then) six 3x3 conv-BN-ReLU
    blocks (32-32-64-64-128-128 channels, four of stride 2), global average pooling, dropout and a
    10-way linear layer.  ~300k parameters.  ``arch``: one of ``ARCHS``."""
    import torch.nn as nn   # deferred: torch takes seconds; understanding loads it only with a checkpoint

    if arch not in ARCHS:
        raise ValueError(f"skin tone network architecture {arch!r}: expected one of {', '.join(ARCHS)}")

    def block(i: int, o: int, stride: int) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(i, o, 3, stride, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))

    body = nn.Sequential(block(3, 32, 1), block(32, 32, 2), block(32, 64, 1), block(64, 64, 2),
                         block(64, 128, 2), block(128, 128, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Dropout(0.2), nn.Linear(128, 10))
    return body if arch == "plain" else nn.Sequential(_context_exposure(), body)


def face_crop(rgb: np.ndarray, box: Box) -> np.ndarray:
    """``SIDE`` x ``SIDE`` x 3 uint8: the face box of ``rgb`` (H x W x 3 uint8) padded by ``CROP_PAD``."""
    x1, y1, x2, y2 = box.pad(CROP_PAD).clip(rgb.shape[1], rgb.shape[0]).to_int()
    if x2 - x1 < 2 or y2 - y1 < 2:
        raise ValueError(f"face box {box.as_list()}: too small to crop")
    return cv2.resize(rgb[y1:y2, x1:x2], (SIDE, SIDE), interpolation=cv2.INTER_AREA)


def to_tensor(crops: np.ndarray):
    """N x SIDE x SIDE x 3 uint8 -> N x 3 x SIDE x SIDE float tensor in 0..1."""
    import torch  # deferred: torch takes seconds to load; only a configured network needs it

    return torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2).float() / 255.0


class SkinToneModel:
    """A trained :func:`build_net` on CPU: face boxes -> ``(MST 1..10, range probability)``.
    ``graph``: the same network on onnxruntime (:meth:`load`'s default); torch runs it otherwise."""

    def __init__(self, net, graph: OnnxModel | None = None):
        self.net, self.graph = net.eval(), graph

    @classmethod
    def load(cls, path, cache_dir: str = "", runtime: str = "onnx") -> "SkinToneModel":
        """The checkpoint at ``path``; with ``runtime`` onnx its graph is exported once into
        ``cache_dir`` and run on one onnxruntime thread: a face and its mirror image take ~0.3 ms
        there, 2-4 ms in torch on a quiet machine and ~16 ms beside a query's other steps (torch's
        thread pool wakes for each of its ~20 small operations)."""
        import torch  # deferred: as above

        path = Path(path)
        if not path.is_file():
            raise ValueError(f"skin tone checkpoint {path}: no such file")
        state = torch.load(path, map_location="cpu", weights_only=True)
        try:
            net = build_net(state.get("arch", "plain"))     # a checkpoint without "arch" predates the exposure layer
            net.load_state_dict(state["net"] if "net" in state else state)
        except (RuntimeError, KeyError, ValueError, AttributeError) as exc:
            raise ValueError(f"skin tone checkpoint {path}: not a skin tone network ({type(exc).__name__})") from exc
        net = net.float().eval()
        graph = None
        if check_runtime(runtime, "skin tone runtime") == "onnx":
            graph = OnnxModel(graph_path(cache_dir, f"skin-tone-{state.get('arch', 'plain')}", net), lambda: net,
                              lambda: np.zeros((2, 3, SIDE, SIDE), np.float32), ["logits"], threads=1)
        return cls(net, graph)

    def probabilities(self, crops: np.ndarray, mirror: bool = True) -> np.ndarray:
        """N x 10 MST probabilities of N face crops (N x SIDE x SIDE x 3 uint8); with ``mirror``,
        the mean over each crop and its mirror image (the same skin: a borderline face's answer
        no longer hangs on one pass's noise; CCP people's range unchanged under JPEG, half size
        and +-30 % exposure 0.94-0.95 -> 0.96-0.98, issue 20.3; one more pass of ~1 ms)."""
        import torch  # deferred: as above

        if not len(crops):
            return np.zeros((0, 10), np.float32)
        x = to_tensor(crops)
        if mirror:
            x = torch.cat([x, x.flip(3)])          # one pass over both
        logits = self._logits(x)
        probs = np.exp(logits - logits.max(1, keepdims=True))
        probs /= probs.sum(1, keepdims=True)
        return (probs[:len(crops)] + probs[len(crops):]) / 2 if mirror else probs

    def _logits(self, x) -> np.ndarray:
        import torch  # deferred: as above

        out = self.graph.run(x.numpy(), "skin tone network") if self.graph is not None else None
        if out is not None:
            return out[0]
        with torch.inference_mode():
            return self.net(x).numpy()

    def __call__(self, rgb: np.ndarray, boxes: list[Box]) -> list[tuple[int, float]]:
        """``(MST, probability of its range)`` per face box of ``rgb``."""
        probs = self.probabilities(np.stack([face_crop(rgb, b) for b in boxes]) if boxes else np.zeros((0,)))
        out = []
        for p in probs:
            mst = int(p.argmax()) + 1
            out.append((mst, float(p[RANGE_OF == RANGE_OF[mst - 1]].sum())))
        return out


def _soft_labels(mst: np.ndarray):
    """N x 10 targets: a Gaussian of ``LABEL_SIGMA`` steps around each true MST (1..10)."""
    import torch  # deferred: as above

    grid = torch.arange(1, 11, dtype=torch.float32)
    soft = torch.exp(-0.5 * ((grid[None] - torch.as_tensor(mst, dtype=torch.float32)[:, None]) / LABEL_SIGMA) ** 2)
    return soft / soft.sum(1, keepdim=True)


def range_recall(probs: np.ndarray, mst: np.ndarray) -> dict[int, float]:
    """Per true range: the share whose most likely MST lies in it."""
    pred = RANGE_OF[probs.argmax(1)]
    true = RANGE_OF[np.asarray(mst) - 1]
    return {int(r): round(float((pred[true == r] == r).mean()), 4) for r in np.unique(true)}


def _augment(xb, rng: np.random.Generator, exposure: bool):
    """A batch (N x 3 x SIDE x SIDE, 0..1) as the detector and camera might give it: mirrored,
    shifted by the box's jitter and, with ``exposure``, each crop brighter or darker by a factor of
    ``EXPOSURE_AUG`` clipped at 1 (the label stays: the same skin under another exposure)."""
    import torch  # deferred: as above

    if rng.random() < 0.5:
        xb = xb.flip(3)
    dy, dx = (int(v) for v in rng.integers(-4, 5, 2))
    xb = torch.roll(xb, (dy, dx), (2, 3))
    if exposure:
        factor = torch.from_numpy(rng.uniform(*EXPOSURE_AUG, len(xb)).astype(np.float32))
        xb = (xb * factor[:, None, None, None]).clamp(0, 1)
    return xb


def train(x: np.ndarray, mst: np.ndarray, val: tuple[np.ndarray, np.ndarray], out, epochs: int = 10,
          batch: int = 128, resume: bool = False, seed: int = 0, progress=None,
          arch: str = "context-exposure") -> list[dict]:
    """Train :func:`build_net` (``arch``) on face crops ``x`` (N x SIDE x SIDE x 3 uint8) with true
    ``mst`` (N, 1..10); after each epoch, the held-out ``val`` crops' range recall and an atomic
    checkpoint at ``out`` (``{"net", "arch", "epoch", "history"}``, plus ``"optimizer"`` until the
    last epoch); ``resume`` goes on from an unfinished one.  Exposure augmentation only where the
    network normalises exposure (the plain one cannot tell a darker skin from a darker photo).
    ``progress``: an iterable wrapper (a progress bar).  Returns the per-epoch history."""
    import torch  # deferred: as above
    import torch.nn.functional as F  # deferred: as above

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net, out = build_net(arch), Path(out)
    opt = torch.optim.AdamW(net.parameters(), 2e-3, weight_decay=1e-4)
    history, start, per_epoch = [], 0, -(-len(x) // batch)
    if resume and out.is_file():
        state = torch.load(out, map_location="cpu", weights_only=True)
        if state.get("arch", "plain") != arch:
            raise ValueError(f"--resume {out}: a {state.get('arch', 'plain')} network, not {arch}")
        net.load_state_dict(state["net"])
        history, start = list(state["history"]), int(state["epoch"])
        if start >= epochs:
            return history
        if "optimizer" not in state:     # a finished run's file keeps the network only
            raise ValueError(f"--resume {out}: finished at epoch {start}; ask for fewer epochs or a new --out")
        opt.load_state_dict(state["optimizer"])      # holds the schedule's initial_lr
    sched = torch.optim.lr_scheduler.OneCycleLR(    # warm-up, then anneal, over every epoch asked for
        opt, 3e-3, total_steps=max(epochs, start + 1) * per_epoch, last_epoch=start * per_epoch - 1)
    targets, wrap = _soft_labels(mst), progress or (lambda it, **_: it)
    for epoch in range(start, epochs):
        net.train()
        order, total = rng.permutation(len(x)), 0.0
        for i in wrap(range(0, len(x), batch), desc=f"epoch {epoch + 1}/{epochs}"):
            idx = order[i:i + batch]
            xb = _augment(to_tensor(x[idx]), rng, exposure=arch != "plain")
            loss = -(targets[idx] * F.log_softmax(net(xb), 1)).sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        model = SkinToneModel(net)
        history.append({"epoch": epoch + 1, "loss": round(total / len(x), 4),
                        "val range recall": range_recall(model.probabilities(val[0], mirror=False), val[1])})
        net.train()
        state = {"net": net.state_dict(), "arch": arch, "epoch": epoch + 1, "history": history}
        if epoch + 1 < epochs:                      # the last epoch's file is the network alone (1.2 MB)
            state["optimizer"] = opt.state_dict()
        atomic_write(out, lambda f, state=state: torch.save(state, f))
        log.info("skin tone net epoch %d: %s", epoch + 1, history[-1])
    return history

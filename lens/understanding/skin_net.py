"""Skin tone from the face crop: a small CNN trained on re-toned real faces (issue 20.2).

The skin tone seed's lesson: an end-to-end CNN on the face replaced a detector -> pixels
pipeline.  :class:`SkinToneNet` reads a face crop (the face box padded by ``CROP_PAD`` of its
size on every side, so hair, collar and background tell it the light; ``SIDE`` x ``SIDE`` RGB,
0..1) and gives 10 logits, one per Monk Skin Tone value.  Trained by :func:`train` on CCP's
training-fold people re-toned to every MST under five lightings
(:mod:`lens.evaluation.retoned_ccp`), with soft labels (a Gaussian of ``LABEL_SIGMA`` MST steps
around the true value: a neighbour is a smaller error than a far value), flips and shifts.
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
from lens.palette import MST_RANGES

log = logging.getLogger(__name__)
CROP_PAD = 0.6          # of the face box on each side: the light around the face, not just the skin
SIDE = 64               # px: the crop the network reads (CCP faces: 61-76 px wide, 5th-95th percentile)
LABEL_SIGMA = 0.75      # MST steps: the soft label's width
MIN_CONFIDENCE = 0.5    # the predicted range's probability under which the estimate abstains
CHECKPOINT = Path(__file__).parent / "checkpoints" / "skin_tone_net.pt"    # the committed network
RANGE_OF = np.array([MST_RANGES[m] for m in range(1, 11)])


def build_net():
    """The network: six 3x3 conv-BN-ReLU blocks (32-32-64-64-128-128 channels, four of stride 2),
    global average pooling, dropout and a 10-way linear layer.  ~300k parameters."""
    import torch.nn as nn   # deferred: torch takes seconds; understanding loads it only with a checkpoint

    def block(i: int, o: int, stride: int) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(i, o, 3, stride, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))

    return nn.Sequential(block(3, 32, 1), block(32, 32, 2), block(32, 64, 1), block(64, 64, 2),
                         block(64, 128, 2), block(128, 128, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Dropout(0.2), nn.Linear(128, 10))


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
    """A trained :func:`build_net` on CPU: face boxes -> ``(MST 1..10, range probability)``."""

    def __init__(self, net):
        self.net = net.eval()

    @classmethod
    def load(cls, path) -> "SkinToneModel":
        import torch  # deferred: as above

        path = Path(path)
        if not path.is_file():
            raise ValueError(f"skin tone checkpoint {path}: no such file")
        state = torch.load(path, map_location="cpu", weights_only=True)
        net = build_net()
        try:
            net.load_state_dict(state["net"] if "net" in state else state)
        except (RuntimeError, KeyError) as exc:
            raise ValueError(f"skin tone checkpoint {path}: not a skin tone network ({type(exc).__name__})") from exc
        return cls(net.float())

    def probabilities(self, crops: np.ndarray) -> np.ndarray:
        """N x 10 MST probabilities of N face crops (N x SIDE x SIDE x 3 uint8)."""
        import torch  # deferred: as above

        if not len(crops):
            return np.zeros((0, 10), np.float32)
        with torch.inference_mode():
            return torch.softmax(self.net(to_tensor(crops)), 1).numpy()

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


def train(x: np.ndarray, mst: np.ndarray, val: tuple[np.ndarray, np.ndarray], out, epochs: int = 6,
          batch: int = 128, resume: bool = False, seed: int = 0, progress=None) -> list[dict]:
    """Train :func:`build_net` on face crops ``x`` (N x SIDE x SIDE x 3 uint8) with true ``mst``
    (N, 1..10); after each epoch, the held-out ``val`` crops' range recall and an atomic checkpoint
    at ``out`` (``{"net", "epoch", "history"}``, plus ``"optimizer"`` until the last epoch);
    ``resume`` goes on from an unfinished one.
    ``progress``: an iterable wrapper (a progress bar).  Returns the per-epoch history."""
    import torch  # deferred: as above
    import torch.nn.functional as F  # deferred: as above

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net, out = build_net(), Path(out)
    opt = torch.optim.AdamW(net.parameters(), 2e-3, weight_decay=1e-4)
    history, start, per_epoch = [], 0, -(-len(x) // batch)
    if resume and out.is_file():
        state = torch.load(out, map_location="cpu", weights_only=True)
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
            xb = to_tensor(x[idx])
            if rng.random() < 0.5:
                xb = xb.flip(3)                                    # a mirrored face: the same skin
            dy, dx = (int(v) for v in rng.integers(-4, 5, 2))
            xb = torch.roll(xb, (dy, dx), (2, 3))                  # the detector's box jitters
            loss = -(targets[idx] * F.log_softmax(net(xb), 1)).sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        model = SkinToneModel(net)
        history.append({"epoch": epoch + 1, "loss": round(total / len(x), 4),
                        "val range recall": range_recall(model.probabilities(val[0]), val[1])})
        net.train()
        state = {"net": net.state_dict(), "epoch": epoch + 1, "history": history}
        if epoch + 1 < epochs:                      # the last epoch's file is the network alone (1.2 MB)
            state["optimizer"] = opt.state_dict()
        atomic_write(out, lambda f, state=state: torch.save(state, f))
        log.info("skin tone net epoch %d: %s", epoch + 1, history[-1])
    return history

"""``lens train-detector``: fine-tune a Faster R-CNN on COCO-format boxes.

Writes into ``--out``: ``last.pt`` (resumable: trainable weights, optimizer,
epoch, step; written atomically every ``--checkpoint-every`` steps and after
each epoch), ``metrics.json`` (COCO mAP@0.5 and mAP@[.5:.95] on ``--val``
after each epoch) and ``detector.pt`` (the final checkpoint for
``models.detector_checkpoint``, see :mod:`detection.rcnn`; fp16 by default,
its ``metrics`` measured on the stored fp16 weights).

Deterministic given ``--seed``: the image order and flips of an epoch come
from a generator seeded by ``(seed, epoch)`` and the global RNG (RPN / RoI
sampling) is re-seeded before every step from ``(seed, step)``, so a resumed
run takes the same steps as an uninterrupted one.

Tested in ``tests/test_detector_training.py``.
"""
from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torchvision.ops import box_iou

from detection.backbones import COCO_ARCHS, MNV2, DetectorSpec, build_model, check_arch, trained_block_names
from detection.cache import FeatureCache
from detection.coco import IGNORE, CocoDataset, evaluate, read_coco
from detection.rcnn import backbone_state, checkpoint_dict, load_checkpoint, save_checkpoint
from lens.console import progress as progress_bar
from lens.files import atomic_write_text
from lens.models import ModelStore, load_state_dict

log = logging.getLogger(__name__)


@dataclass
class TrainSettings:
    data: str                       # COCO JSON of the training boxes
    images: str                     # folder the file_names are relative to
    val: str = ""                   # COCO JSON evaluated after each epoch; empty = none
    arch: str = MNV2                # the one architecture with an offline backbone
    epochs: int = 10                # 240 synthetic scenes: mAP@0.5 0.98 after 10 (checkpoints/README.md)
    batch_size: int = 4             # ~1 s a step at 480 px on 2 cores
    lr: float = 1e-3                # AdamW on a from-scratch head: stable without tuning
    weight_decay: float = 1e-4      # torchvision's detection recipes
    warmup_steps: int = 50          # linear warm-up, then cosine decay to 0
    out: str = "runs/detector"
    resume: bool = False
    checkpoint_every: int = 100     # steps; ~2 minutes of work at most is lost
    max_size: int = 480             # long side px; min_size = 3/4 of it (4:3 scenes)
    seed: int = 0
    half: bool = True               # store detector.pt in fp16 (half the size, same mAP)
    train_blocks: int = 0           # MobileNetV2 blocks fine-tuned from the end (0: frozen; CCP: see checkpoints/README.md)
    backbone_lr_scale: float = 0.1  # their lr relative to --lr: ImageNet weights need small steps


def _lr(s: TrainSettings, step: int, total: int) -> float:
    if step < s.warmup_steps:
        return s.lr * (step + 1) / s.warmup_steps
    progress = (step - s.warmup_steps) / max(1, total - s.warmup_steps)
    return s.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def _model(s: TrainSettings, labels: list[str], models: ModelStore) -> tuple[torch.nn.Module, DetectorSpec]:
    """The model to train: frozen ImageNet MobileNetV2, or a COCO architecture (COCO weights if present)."""
    max_size = int(s.max_size)
    spec = DetectorSpec(s.arch, labels, max(32, max_size * 3 // 4), max_size,
                        frozen_backbone=s.arch == MNV2, source="lens train-detector",
                        trained_blocks=s.train_blocks if s.arch == MNV2 else 0)
    if s.arch == MNV2:
        model = build_model(spec, backbone_state(models))
        for name in trained_block_names(spec.trained_blocks):
            model.backbone.body[name].requires_grad_(True)
        return model, spec
    model = build_model(spec)
    coco = models.find(s.arch) if s.arch in COCO_ARCHS else None
    if coco is not None:   # start from COCO, all but the class-specific predictor
        state = {k: v for k, v in load_state_dict(coco).items() if "box_predictor" not in k}
        model.load_state_dict(state, strict=False)
    model.backbone.body.requires_grad_(False)
    return model, spec


def _param_groups(model, s: TrainSettings) -> list[dict]:
    """The trained parameters: the backbone's fine-tuned blocks at ``backbone_lr_scale`` x the lr."""
    body = [p for n, p in model.named_parameters() if p.requires_grad and n.startswith("backbone.body.")]
    rest = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith("backbone.body.")]
    return [{"params": rest, "scale": 1.0}] + ([{"params": body, "scale": s.backbone_lr_scale}] if body else [])


def _batches(n: int, s: TrainSettings, epoch: int) -> list[list[tuple[int, bool]]]:
    """The epoch's batches of ``(index, flip)``, a pure function of ``(seed, epoch)``."""
    gen = torch.Generator().manual_seed(s.seed * 1_000_003 + epoch)
    order = torch.randperm(n, generator=gen).tolist()
    flips = (torch.rand(n, generator=gen) < 0.5).tolist()
    pairs = [(i, flips[i]) for i in order]
    return [pairs[k:k + s.batch_size] for k in range(0, n, s.batch_size)]


def _sample(ds: CocoDataset, index: int, flip: bool):
    image, target = ds[index]
    if flip:   # horizontal flip: x -> W - x, so x1/x2 swap
        image = image.flip(-1)
        b = target["boxes"]
        target["boxes"] = torch.stack([image.shape[2] - b[:, 2], b[:, 1],
                                       image.shape[2] - b[:, 0], b[:, 3]], dim=1)
    return image, target


def ignore_regions(model) -> None:
    """Make boxes labelled ``IGNORE`` (-1) ignore regions for the RPN as well.

    The RoI heads need nothing: a proposal matched to a -1 box gets label -1,
    which torchvision's sampler never draws.  The RPN matches anchors to every
    box regardless of label, so this wraps its ``assign_targets_to_anchors``:
    anchors are matched to the real boxes only, and background anchors
    overlapping an ignore region (IoU >= the RPN's background threshold, 0.3)
    become -1 (skipped by its sampler) instead of negatives.
    """
    rpn = model.rpn
    assign = rpn.assign_targets_to_anchors
    near = rpn.proposal_matcher.low_threshold

    def assign_ignoring(anchors, targets):
        real = [{**t, "boxes": t["boxes"][t["labels"] != IGNORE]} for t in targets]
        labels, matched = assign(anchors, real)
        for lab, anc, t in zip(labels, anchors, targets):
            ignore = t["boxes"][t["labels"] == IGNORE]
            if len(ignore):
                lab[(lab == 0) & (box_iou(anc, ignore).max(1).values >= near)] = -1.0
        return labels, matched

    rpn.assign_targets_to_anchors = assign_ignoring


def _losses(model, images, targets, keys, cache: FeatureCache | None) -> dict[str, torch.Tensor]:
    """The training losses; with a cache, torchvision's GeneralizedRCNN.forward, body features cached."""
    if cache is None:
        return model(list(images), list(targets))
    batch, targets = model.transform(list(images), list(targets))
    features = model.backbone.fpn(cache.body(model.backbone.body, batch.tensors, keys))
    proposals, rpn_losses = model.rpn(batch, features, targets)
    _, det_losses = model.roi_heads(features, proposals, batch.image_sizes, targets)
    return {**rpn_losses, **det_losses}


def _resume(path: Path, model, optimizer, s: TrainSettings) -> tuple[int, int]:
    data = load_state_dict(path)
    if data.get("arch") != s.arch:
        raise ValueError(f"--resume {path}: checkpoint is {data.get('arch')}, not --arch {s.arch}")
    spec = load_checkpoint(path)
    model.load_state_dict(spec.state, strict=not spec.frozen_backbone)
    optimizer.load_state_dict(data["optimizer"])
    log.info("resumed from %s at epoch %d, step %d", path, data["epoch"], data["step"])
    return int(data["epoch"]), int(data["step"])


def _save_last(out: Path, model, spec, optimizer, epoch: int, step: int, s: TrainSettings) -> None:
    save_checkpoint(checkpoint_dict(model, spec, optimizer=optimizer.state_dict(), epoch=epoch,
                                    step=step, settings=asdict(s)), out / "last.pt")


def _evaluate(model, val: CocoDataset | None, epoch: int, step: int, labels: list[str]) -> dict:
    if val is None:
        return {"epoch": epoch, "step": step}
    metrics = evaluate(model, val, labels=labels)
    model.train()
    log.info("epoch %d: mAP@0.5 %.3f, mAP@[.5:.95] %.3f", epoch, metrics["map_50"], metrics["map_50_95"])
    return {"epoch": epoch, "step": step, **metrics}


def _check_val(val: CocoDataset, data: CocoDataset, s: TrainSettings) -> None:
    """``--val`` is scored by category name (weak labels number their categories by name, a
    converter by its taxonomy); it must share one with ``--data``.  Validation classes the
    training data lacks are logged: they score 0."""
    missing = [n for n in val.coco.labels[1:] if n not in data.coco.labels]
    if len(missing) == len(val.coco.labels) - 1:
        raise ValueError(f"--val {s.val}: no category in common with --data {s.data} "
                         f"({', '.join(data.coco.labels[1:])})")
    if missing:
        log.warning("train-detector: --val categories %s are not in --data %s: their AP is 0",
                    ", ".join(missing), s.data)


def train(s: TrainSettings, models: ModelStore, progress: bool = True) -> dict:
    """Train per ``s``; returns ``{"checkpoint", "metrics", "history", "seconds"}``."""
    check_arch(s.arch)
    if s.epochs < 1 or s.batch_size < 1 or s.checkpoint_every < 1 or s.max_size < 64 or s.lr <= 0:
        raise ValueError("train-detector: --epochs, --batch-size, --checkpoint-every >= 1, "
                         "--max-size >= 64 and --lr > 0 required")
    started, cpu_started = time.perf_counter(), time.process_time()
    train_ds = CocoDataset(read_coco(s.data), s.images, crowd_as_ignore=True)
    val_ds = CocoDataset(read_coco(s.val), s.images) if s.val else None
    if val_ds is not None:
        _check_val(val_ds, train_ds, s)
    torch.manual_seed(s.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    model, spec = _model(s, train_ds.coco.labels, models)
    if train_ds.ignore_regions:
        log.info("train-detector: %d crowd boxes of %s are ignore regions", train_ds.ignore_regions, s.data)
        ignore_regions(model)
    optimizer = torch.optim.AdamW(_param_groups(model, s), lr=s.lr, weight_decay=s.weight_decay)
    out = Path(s.out)
    out.mkdir(parents=True, exist_ok=True)
    epoch, step = _resume(out / "last.pt", model, optimizer, s) if s.resume and (out / "last.pt").is_file() else (0, 0)
    if s.resume and step == 0:
        log.warning("--resume: no %s yet, starting from scratch", out / "last.pt")
    history = _read_history(out / "metrics.json") if step else []
    per_epoch = math.ceil(len(train_ds) / s.batch_size)
    total = per_epoch * s.epochs
    cache = FeatureCache(spec.trained_blocks) if spec.frozen_backbone else None
    model.train()
    bar = progress_bar(total=total, initial=step, desc="train-detector", unit="step", disable=not progress)
    while epoch < s.epochs:
        done_in_epoch = step - epoch * per_epoch
        for batch in _batches(len(train_ds), s, epoch)[done_in_epoch:]:
            torch.manual_seed(s.seed * 1_000_003 + step)
            images, targets = zip(*(_sample(train_ds, i, f) for i, f in batch))
            losses = _losses(model, images, targets, batch, cache)
            loss = sum(losses.values())
            for group in optimizer.param_groups:
                group["lr"] = _lr(s, step, total) * group.get("scale", 1.0)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}")
            if step % s.checkpoint_every == 0:
                _save_last(out, model, spec, optimizer, epoch, step, s)
        epoch += 1
        history.append(_evaluate(model, val_ds, epoch, step, train_ds.coco.labels))
        _save_last(out, model, spec, optimizer, epoch, step, s)
        _write_json(out / "metrics.json", history)
    bar.close()
    return _finish(model, spec, s, val_ds, history, out, time.perf_counter() - started,
                   time.process_time() - cpu_started)


def _finish(model, spec: DetectorSpec, s: TrainSettings, val_ds, history: list, out: Path,
            seconds: float, cpu_seconds: float) -> dict:
    """Write ``detector.pt``; with ``half``, its metrics are measured on the fp16-rounded weights."""
    if s.half:
        with torch.no_grad():
            for p in model.parameters():
                if p.requires_grad:
                    p.copy_(p.half().float())
    final = dict(history[-1]) if history else {}
    if s.half and val_ds is not None:
        final = {**_evaluate(model, val_ds, s.epochs, final.get("step", 0), spec.labels),
                 "weights": "fp16"}
    # wall time depends on what else runs; CPU time (all threads) is the comparable figure
    spec.metrics = {**final, "train_seconds": round(seconds, 1), "cpu_seconds": round(cpu_seconds, 1),
                    "threads": torch.get_num_threads(), "seed": s.seed,
                    "data": s.data, "val": s.val}
    path = save_checkpoint(checkpoint_dict(model, spec, half=s.half), out / "detector.pt")
    _write_json(out / "metrics.json", history + ([{"final": spec.metrics}] if s.half else []))
    return {"checkpoint": str(path), "metrics": spec.metrics, "history": history,
            "seconds": round(seconds, 1)}


def _read_history(path: Path) -> list:
    if not path.is_file():
        return []
    return [row for row in json.loads(path.read_text()) if "final" not in row]


def _write_json(path: Path, data) -> None:
    atomic_write_text(path, json.dumps(data, indent=1))

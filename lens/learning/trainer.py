"""The one metric-learning trainer: the training loop, and its losses (normalized softmax over cosine
proxies for several tasks at once; a triplet margin for Complete The Look).

:func:`fit` is the loop every Lens model trains with: ``batches(rng)`` yields one epoch's batches,
``loss(net, batch)`` scores one.  :func:`proxy_task` gives both for normalized softmax; a model
with its own loss (Complete The Look's triplets, :mod:`lens.complete.train`) passes its own.

Normalized softmax, Zhai & Wu (BMVC 2019): each task's classes are proxies on the unit sphere; a sample's loss is
the cross-entropy of its cosine similarities to them over a temperature (about 0.05).  Batches
are class-balanced over one task (``balance``, the product: ``classes_per_batch`` classes x
``per_class`` views each), so a product with 3 photos weighs as much as one with 300.  The
loss is the weighted sum over the tasks each sample is labelled for.

:func:`proxy_task` takes any module with ``forward(inputs) -> unit embeddings`` and
``logits(embeddings, task, temperature)`` (the unified embedding; brands reuse it).  :func:`fit`:
AdamW with a one-cycle schedule (the tail at ``lr``, the new layers at
``head_lr``), a progress bar per epoch, an ``evaluate`` callback after each epoch and an atomic
checkpoint after each (``save(net, history, resume_state)``), so ``resume`` goes on from the
last finished epoch.

Tested in ``tests/test_learning.py``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from lens.console import progress as progress_bar
from lens.models import load_state_dict

log = logging.getLogger(__name__)


@dataclass
class TrainSettings:
    epochs: int = 6                 # Grocery's held-out top-1 levels off after 5 (0.81 at 6)
    classes_per_batch: int = 16     # 16 x 4 = 64 views a step: ~0.6 s on 2 cores for the tail
    per_class: int = 4
    lr: float = 1e-3                # the fine-tuned ImageNet blocks
    head_lr: float = 1e-2           # new layers and proxies start from nothing
    weight_decay: float = 1e-4
    temperature: float = 0.05       # Zhai & Wu
    # the product is what retrieval ranks by; the other tasks shape the space around it
    task_weights: dict = field(default_factory=lambda: {"product": 1.0})
    other_weight: float = 0.5
    seed: int = 0

    def weight(self, task: str) -> float:
        return float(self.task_weights.get(task, self.other_weight))


def balanced_batches(labels: np.ndarray, settings: TrainSettings, rng: np.random.Generator):
    """Index arrays of one epoch: ``classes_per_batch`` classes x ``per_class`` rows each.

    ``labels`` ``(V,)`` class per row (-1: unlabelled, never drawn).  An epoch has as many steps
    as the rows fill; a class with fewer rows than ``per_class`` repeats some.
    """
    rows = {c: np.flatnonzero(labels == c) for c in np.unique(labels[labels >= 0])}
    if len(rows) < 2:
        raise ValueError(f"class-balanced batches need at least 2 classes, got {len(rows)}")
    p = min(settings.classes_per_batch, len(rows))
    steps = max(1, int((labels >= 0).sum()) // (p * settings.per_class))
    keys = np.array(sorted(rows))
    for _ in range(steps):
        chosen = rng.choice(keys, p, replace=False)
        yield np.concatenate([rng.choice(rows[c], settings.per_class, replace=len(rows[c]) < settings.per_class)
                              for c in chosen])


def _optimizer(torch, net, settings: TrainSettings, total_steps: int):
    new = [p for n, p in net.named_parameters() if p.requires_grad and not n.startswith("tail.")]
    tail = [p for n, p in net.named_parameters() if p.requires_grad and n.startswith("tail.")]
    groups = [(params, lr) for params, lr in ((tail, settings.lr), (new, settings.head_lr)) if params]
    opt = torch.optim.AdamW([{"params": params, "lr": lr} for params, lr in groups],
                            weight_decay=settings.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[lr for _, lr in groups],
                                                total_steps=total_steps, pct_start=0.2)
    return opt, sched


def _loss(torch, net, x, targets: dict, settings: TrainSettings):
    emb = net(x)
    loss = emb.new_zeros(())
    for task, y in targets.items():
        known = y >= 0
        if known.any():
            logits = net.logits(emb[known], task, settings.temperature)
            loss = loss + settings.weight(task) * torch.nn.functional.cross_entropy(logits, y[known])
    return loss


def proxy_task(inputs: np.ndarray, labels: dict[str, np.ndarray], balance: str,
               settings: TrainSettings) -> tuple[Callable, Callable]:
    """``(batches, loss)`` for :func:`fit`: normalized softmax on ``inputs`` ``(V, ...)``, whose
    ``labels[task]`` ``(V,)`` are class ids (-1: none), in batches balanced over ``balance``'s
    classes; the loss is the weighted sum over the tasks each row is labelled for."""
    import torch  # deferred: torch takes seconds; only training needs it

    targets_all = {t: torch.from_numpy(np.asarray(y, np.int64)) for t, y in labels.items()}

    def batches(rng: np.random.Generator):
        return balanced_batches(labels[balance], settings, rng)

    def loss(net, idx: np.ndarray):
        x = torch.from_numpy(inputs[idx].astype(np.float32))
        return _loss(torch, net, x, {t: y[idx] for t, y in targets_all.items()}, settings)
    return batches, loss


def resumed(out: str | Path, resume: bool) -> dict | None:
    """With ``resume``, the state :func:`epoch_saver` left at ``OUT.resume`` (``ValueError`` when there is
    none: the last run finished or never started); else None."""
    path = Path(f"{out}.resume")
    if not resume:
        return None
    if not path.is_file():
        raise ValueError(f"--resume: no {path} (the last run finished or never started)")
    return load_state_dict(path)


def epoch_saver(write: Callable, out: str | Path, meta: dict, epochs: int) -> Callable:
    """:func:`fit`'s ``save``: ``write(path, net, meta, extra)`` puts the net and its history at
    ``out`` after every epoch and, until the last, the optimizer's state at ``OUT.resume`` (what
    ``--resume`` goes on from; removed once the run has finished)."""
    out, resume_path = Path(out), Path(f"{out}.resume")

    def save(net, history, resume_state):
        write(out, net, {**meta, "history": history})
        if resume_state["epoch"] < epochs:
            write(resume_path, net, meta, resume_state)
        else:
            resume_path.unlink(missing_ok=True)
    return save


def fit(net, batches: Callable, loss: Callable, settings: TrainSettings, save: Callable,
        evaluate: Callable | None = None, resume: dict | None = None, progress: bool = True,
        on_epoch: Callable[[dict], None] | None = None) -> list[dict]:
    """Train ``net``: each epoch, ``loss(net, batch)`` (a scalar tensor) minimised over the
    batches ``batches(rng)`` yields (the same count every epoch; ``rng`` seeded per epoch).

    ``save(net, history, resume_state)`` is called after every epoch; ``resume`` is the last
    ``resume_state`` (optimizer, schedule, epoch, history).  Returns the history: one dict per
    epoch (``epoch``, ``loss``, and what ``evaluate(net)`` returned), each also passed to
    ``on_epoch`` as it is made (the command prints it).
    """
    import torch  # deferred: torch takes seconds; only training needs it

    torch.manual_seed(settings.seed)
    per_epoch = sum(1 for _ in batches(np.random.default_rng(0)))
    opt, sched = _optimizer(torch, net, settings, settings.epochs * per_epoch)
    history, start = [], 0
    if resume:
        opt.load_state_dict(resume["optimizer"])
        sched.load_state_dict(resume["schedule"])
        history, start = list(resume["history"]), int(resume["epoch"])
    for epoch in range(start, settings.epochs):
        net.train()
        rng, total, steps = np.random.default_rng(settings.seed + epoch), 0.0, 0
        for batch in progress_bar(batches(rng), total=per_epoch, desc=f"epoch {epoch + 1}/{settings.epochs}",
                                  disable=not progress):
            value = loss(net, batch)
            opt.zero_grad()
            value.backward()
            opt.step()
            sched.step()
            total, steps = total + value.item(), steps + 1
        net.eval()
        row = {"epoch": epoch + 1, "loss": round(total / max(steps, 1), 4), **(evaluate(net) if evaluate else {})}
        history.append(row)
        log.info("epoch %d: %s", epoch + 1, row)
        if on_epoch:
            on_epoch(row)
        save(net, history, {"optimizer": opt.state_dict(), "schedule": sched.state_dict(),
                            "epoch": epoch + 1, "history": history})
    return history

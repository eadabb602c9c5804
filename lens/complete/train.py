"""``lens train-compat`` and ``lens eval complete``: the style embedding trained and measured (issue 23).

:func:`encode` turns :mod:`lens.complete.outfits` questions into backbone features once (each
photo decoded once; the blanked scene's global and region descriptors, the positive crop's global
descriptor; float16); training sees each question twice, as is and mirrored (on a second split of
CCP, training fold 1 held out, FITB 0.56-0.59 over three seeds without, 0.61-0.62 with).
Training (:func:`train_compat`) runs :func:`lens.learning.trainer.fit`, the project's one
training loop, with a triplet loss: for each question in a shuffled epoch, a
negative of its class from another scene, ``max(0, margin + d(scene, positive) - d(scene,
negative))`` on the hybrid distance (Kang et al. train theirs the same way).  After each epoch the
held-out scenes' fill-in-the-blank accuracy and pairwise AUC (:func:`figures`), and an atomic
checkpoint (plus ``OUT.resume`` until the last epoch, for ``--resume``).

:func:`figures` scores a model and, in the same run, the visual-similarity baseline the issue
names: the candidate whose ImageNet features (the backbone's pooled last layer, what the
``mobilenet_v2`` embedder serves) lie nearest the blanked scene's.  Tested in ``tests/test_complete.py``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from lens.complete.model import CNN, Features, build_net, load_checkpoint, net_from, save_checkpoint
from lens.boxes import Box
from lens.complete.outfits import PAD, Question, blank_box, compatibility, fitb, pixels, questions, scenes
from lens.console import progress as progress_bar
from lens.imageio import load_image
from lens.learning.trainer import TrainSettings, epoch_saver, fit, resumed

MARGIN = 0.2            # triplet margin on the hybrid squared distance (unit vectors: 0..4)
LR = 3e-3               # AdamW's one-cycle peak for the projections (there is no fine-tuned tail)
EPOCHS = 30             # over the scenes and their mirror images, with the hidden layer: a split of the
                        # styled synthetic training scenes 0.852 at 20, 0.861 at 30 (CCP ~2 s an epoch)
BATCH = 64              # triplets a step
LAST = slice(CNN - 1280, CNN)     # the global descriptor's last-layer part: the baseline's features


@dataclass
class Encoded:
    """Backbone features of questions, row ``i`` for ``questions[i]``."""

    questions: list[Question]
    scene: np.ndarray       # (N, GLOBAL) float16: the blanked scene
    regions: np.ndarray     # (N, REGIONS, REGION_DIM) float16
    product: np.ndarray     # (N, GLOBAL) float16: the positive's crop
    category: np.ndarray    # (N,) int: index into ``categories``
    categories: list[str]
    compatible: Callable | None = None      # outfits.compatibility: known-compatible pairs are never negatives


def encode(qs: list[Question], features, categories: list[str] | None = None, progress: bool = True,
           desc: str = "scenes", mirror: bool = False) -> Encoded:
    """Features of every question (photos decoded once each); ``categories``: the class order
    (default: the questions' own, sorted); ``mirror``: of the mirrored scene and crop (the same
    outfit, another view: training sees both)."""
    categories = categories or sorted({q.category for q in qs})
    qs = [q for q in qs if q.category in categories]      # a class the model never learnt is not asked
    by_scene: dict[str, list[int]] = {}
    for i, q in enumerate(qs):
        by_scene.setdefault(q.scene.id, []).append(i)
    scene_g, regions, product = [None] * len(qs), [None] * len(qs), [None] * len(qs)
    for rows in progress_bar(list(by_scene.values()), desc=desc, disable=not progress):
        rgb = load_image(qs[rows[0]].scene.image)
        made = [pixels(qs[i], rgb) for i in rows]
        if mirror:
            made = [(np.ascontiguousarray(a[:, ::-1]), np.ascontiguousarray(b[:, ::-1])) for a, b in made]
        g, r = features([m[0] for m in made], regions=True)
        p, _ = features([m[1] for m in made])
        for k, i in enumerate(rows):
            scene_g[i], regions[i], product[i] = g[k], r[k], p[k]
    index = {c: k for k, c in enumerate(categories)}
    return Encoded(qs, np.stack(scene_g).astype(np.float16), np.stack(regions).astype(np.float16),
                   np.stack(product).astype(np.float16), np.array([index.get(q.category, -1) for q in qs]),
                   categories)


def joined(a: Encoded, b: Encoded) -> Encoded:
    """``a``'s rows, then ``b``'s (the same categories)."""
    return Encoded(a.questions + b.questions, *(np.concatenate([x, y]) for x, y in (
        (a.scene, b.scene), (a.regions, b.regions), (a.product, b.product), (a.category, b.category))), a.categories,
        a.compatible)


def _tensors(enc: Encoded, rows):
    import torch  # deferred: torch takes seconds

    def t(a):
        return torch.from_numpy(a[rows].astype(np.float32))
    return t(enc.scene), t(enc.regions), t(enc.product), torch.from_numpy(enc.category[rows].astype(np.int64))


def distances(net, enc: Encoded, scene_rows: np.ndarray, product_rows: np.ndarray) -> np.ndarray:
    """Hybrid distance between each scene row and product row (pairs), in batches."""
    import torch  # deferred: as above

    out = []
    with torch.inference_mode():
        for i in range(0, len(scene_rows), 512):
            g, r, _, _ = _tensors(enc, scene_rows[i:i + 512])
            _, _, p, c = _tensors(enc, product_rows[i:i + 512])
            s, rr = net.scenes(g, r)
            out.append(net.distances(s, rr, net.products(p), c)[0].numpy())
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def _baseline(enc: Encoded, scene_rows: np.ndarray, product_rows: np.ndarray) -> np.ndarray:
    """1 - cosine of the ImageNet features: the visual-similarity baseline's distance."""
    a = enc.scene[scene_rows, LAST].astype(np.float32)
    b = enc.product[product_rows, LAST].astype(np.float32)
    a /= np.linalg.norm(a, axis=1, keepdims=True) + 1e-9
    b /= np.linalg.norm(b, axis=1, keepdims=True) + 1e-9
    return 1.0 - (a * b).sum(1)


def _aspect(box: Box, rect) -> float:
    x1, y1, x2, y2 = rect
    return float(np.log(max(x2 - x1, 1) / max(y2 - y1, 1)))


def _geometry(enc: Encoded, scene_rows: np.ndarray, product_rows: np.ndarray) -> np.ndarray:
    """A check on the ground truth, not a model: how far the hole's aspect ratio is from each
    candidate crop's (a hole of the crop's own shape would make this answer every question)."""
    def hole(q: Question) -> float:
        b = q.positive
        return _aspect(b, blank_box(b, (q.scene_size[1], q.scene_size[0], 3)))

    def cut(q: Question) -> float:
        return _aspect(q.positive, q.positive.pad(PAD).to_int())
    return np.array([abs(hole(enc.questions[s]) - cut(enc.questions[p])) for s, p in zip(scene_rows, product_rows)])


def figures(enc: Encoded, net=None, seed: int = 0) -> dict:
    """Fill in the blank (``outfits.fitb``) and pairwise AUC (positive nearer than each of its
    question's negatives) for ``net`` and the baseline, overall and per class."""
    tests = fitb(enc.questions, seed, compatible=enc.compatible)
    if not tests:
        return {"fill in the blank: questions": 0}
    asked = np.array([c[a] for a, c in tests])             # the question each test asks (its positive)
    scene_rows = np.repeat(asked, [len(c) for _, c in tests])
    product_rows = np.concatenate([c for _, c in tests])
    answers = np.array([a for a, _ in tests])
    out = {"fill in the blank: questions": len(tests)}
    scorers = [("baseline (visual similarity)", lambda: _baseline(enc, scene_rows, product_rows)),
               ("geometry alone (hole vs crop aspect)", lambda: _geometry(enc, scene_rows, product_rows))]
    if net is not None:
        scorers.insert(0, ("style embedding", lambda: distances(net, enc, scene_rows, product_rows)))
    for name, score in scorers:
        d = score().reshape(len(tests), -1)
        right = d.argmin(1) == answers
        pos = d[np.arange(len(tests)), answers]
        neg = np.delete(d, answers + np.arange(len(tests)) * d.shape[1], None).reshape(len(tests), -1)
        out[f"{name}: FITB"] = round(float(right.mean()), 4)
        out[f"{name}: AUC"] = round(float((pos[:, None] < neg).mean() + 0.5 * (pos[:, None] == neg).mean()), 4)
        cats = np.array([enc.questions[i].category for i in asked])
        out[f"{name}: FITB by class"] = {str(c): round(float(right[cats == c].mean()), 3) for c in sorted(set(cats))}
    return out


def _triplets(enc: Encoded, rng: np.random.Generator, batch: int = BATCH):
    """One epoch: ``(2, B)`` arrays of (question, negative question of its class from another scene)."""
    same = {c: np.flatnonzero(enc.category == c) for c in np.unique(enc.category)}
    scene_ids = np.array([q.scene.id for q in enc.questions])
    order = rng.permutation(len(enc.questions))
    for i in range(0, len(order), batch):
        anchors = order[i:i + batch]
        negatives = []
        for a in anchors:
            pool = same[enc.category[a]]
            pick = pool[rng.integers(len(pool))]
            for _ in range(8):          # another scene's, not known to go with it (else the last drawn)
                if scene_ids[pick] != scene_ids[a] and (
                        enc.compatible is None or not enc.compatible(enc.questions[a], enc.questions[pick])):
                    break
                pick = pool[rng.integers(len(pool))]
            negatives.append(pick)
        yield np.stack([anchors, np.array(negatives)])


def triplet_loss(enc: Encoded, margin: float = MARGIN):
    """``loss(net, batch)`` for :func:`fit` over :func:`_triplets` batches."""
    import torch  # deferred: as above

    def loss(net, batch: np.ndarray):
        g, r, p, c = _tensors(enc, batch[0])
        _, _, n, _ = _tensors(enc, batch[1])
        s, rr = net.scenes(g, r)
        d_pos = net.distances(s, rr, net.products(p), c)[0]
        d_neg = net.distances(s, rr, net.products(n), c)[0]
        return torch.relu(margin + d_pos - d_neg).mean()
    return loss


@dataclass
class CompatJob:
    manifest: str               # boxed scenes to train on (lens data ccp's masked-train.jsonl)
    val: str                    # boxed scenes held out (masked-val.jsonl): the per-epoch figures
    out: str
    settings: TrainSettings
    margin: float = MARGIN


def train_compat(job: CompatJob, weights_path: str | Path, resume: bool = False, progress: bool = True,
                 on_epoch=None) -> dict:
    """Encode, train, save and report (see the module docstring)."""
    import torch  # deferred: as above

    train_q, val_q = questions(scenes(job.manifest)), questions(scenes(job.val))
    out, state = Path(job.out), resumed(job.out, resume)
    features = Features(weights_path)
    train = encode(train_q, features, progress=progress, desc="training scenes")
    train = joined(train, encode(train_q, features, train.categories, progress, "mirrored", mirror=True))
    val = encode(val_q, features, train.categories, progress=progress, desc="held-out scenes")
    train.compatible, val.compatible = compatibility(job.manifest), compatibility(job.val)
    torch.manual_seed(job.settings.seed)
    net = build_net(train.categories)
    if state is not None:
        net.load_state_dict(state["state"])
    meta = {"margin": job.margin, "manifest": job.manifest, "val": job.val}

    def evaluate(net_) -> dict:
        f = figures(val, net_)
        return {k: v for k, v in f.items() if k.startswith("style") and "by class" not in k}

    history = fit(net, lambda rng: _triplets(train, rng), triplet_loss(train, job.margin), job.settings,
                  epoch_saver(save_checkpoint, out, meta, job.settings.epochs), evaluate, state, progress, on_epoch)
    final = figures(val, net.eval())
    return {"training questions": len(train_q), "held-out questions": len(val_q), "epochs": len(history),
            "checkpoint": str(out), **final}


def eval_compat(manifest: str, checkpoint: str | None, weights_path: str | Path, progress: bool = True) -> dict:
    """``lens eval complete``: the checkpoint (if any) and the baseline on ``manifest``'s scenes."""
    state = load_checkpoint(checkpoint) if checkpoint else None
    enc = encode(questions(scenes(manifest)), Features(weights_path), state["categories"] if state else None,
                 progress=progress)
    enc.compatible = compatibility(manifest)
    return figures(enc, net_from(state) if state else None)

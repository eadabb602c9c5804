"""Linear heads over the embeddings for the catalog's own labels (category, pattern).

As Pinterest trained its skin tone classifier on precomputed visual
embeddings, this head is one softmax layer ``W x + b`` over the embedder's
unit vectors ``x`` (shape ``(dim,)``), trained with L2 regularisation.  It
saves to a small checkpoint (``weight``, ``bias``, ``classes``, embedder
settings) that loads with ``weights_only=True`` and refuses vectors of a
different embedder.

``lens train-categories --manifest M`` embeds the manifest's products once (and
their mirror images: a left-right flip is the same garment, so each training
photo counts twice; :data:`FLIP`), and for each labelled field (``category``,
``pattern``; :data:`HEAD_FIELDS`) holds out ``holdout`` of them (stratified by
label), trains on the rest and reports held-out accuracy (on unflipped photos).
Tested in ``tests/test_category_head.py``.
"""
from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lens.console import progress as progress_bar
from lens.files import atomic_write_bytes
from lens.imageio import load_image
from lens.manifest import read_items
from lens.models import load_state_dict

log = logging.getLogger(__name__)
HEAD_FIELDS = {"category": "category_head", "pattern": "pattern_head"}  # field -> ModelsConfig key
EPOCHS = 300          # full-batch L-BFGS converges in well under 300 steps at 1k x 1280
# Weight decay and mirrored training photos, chosen by 5-fold cross-validation on the clothing
# *train* photos (1,023, 10 classes): L2 1e-3 / 3e-4 / 1e-4 / 3e-5 / 1e-5 / 0 gave accuracy 0.758 /
# 0.779 / 0.797 / 0.800 / - / - unflipped, and with flips 0.758 / 0.783 / 0.799 / 0.804 / 0.808 / 0.798
# (1e-5 and flips also best on mean per-class accuracy, 0.785).  1280-d features and ~1k photos: a
# lighter decay lets the head use more of them, none at all overfits.
L2 = 1e-5
FLIP = True


@dataclass
class CategoryHead:
    weight: np.ndarray      # (C, dim)
    bias: np.ndarray        # (C,)
    classes: list[str]
    embedder: dict
    field: str = "category"

    def predict_proba(self, vectors: np.ndarray) -> np.ndarray:
        """``(N, dim)`` unit vectors -> ``(N, C)`` class probabilities."""
        logits = np.asarray(vectors, np.float32) @ self.weight.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, vector: np.ndarray, top_k: int = 3) -> list[dict]:
        """The top-k catalog categories of one vector, each with a probability."""
        probs = self.predict_proba(vector[None, :])[0]
        order = np.argsort(-probs)[:top_k]
        return [{"kind": self.field, "name": self.classes[i], "score": round(float(probs[i]), 4)}
                for i in order]

    def save(self, path: str | Path) -> None:
        # deferred: torch takes seconds; lens.understanding imports this module, and applying a head is numpy
        import torch

        buf = io.BytesIO()
        torch.save({"weight": torch.from_numpy(self.weight), "bias": torch.from_numpy(self.bias),
                    "classes": list(self.classes), "embedder": dict(self.embedder),
                    "field": self.field}, buf)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(Path(path), buf.getvalue())

    @classmethod
    def load(cls, path: str | Path, expect_embedder: dict | None = None) -> "CategoryHead":
        state = load_state_dict(path)
        missing = {"weight", "bias", "classes", "embedder"} - set(state)
        if missing:
            raise ValueError(f"category head {path}: missing {sorted(missing)}")
        if expect_embedder is not None and state["embedder"] != expect_embedder:
            raise ValueError(f"category head {path}: trained on embedder {state['embedder']}, "
                             f"but the config gives {expect_embedder}; retrain with `lens train-categories`")
        return cls(state["weight"].numpy(), state["bias"].numpy(), list(state["classes"]),
                   dict(state["embedder"]), str(state.get("field", "category")))


def train_head(vectors: np.ndarray, labels: list[str], embedder: dict, seed: int = 0,
               field: str = "category") -> CategoryHead:
    """Fit a softmax layer on ``(N, dim)`` vectors and their string labels."""
    import torch  # deferred: torch takes seconds; only training needs it (see CategoryHead.save)

    classes = sorted(set(labels))
    if len(classes) < 2:
        raise ValueError(f"category head: need at least 2 categories, got {classes}")
    y = torch.tensor([classes.index(label) for label in labels])
    x = torch.from_numpy(np.asarray(vectors, np.float32))
    # Class-balanced loss: each class weighs as much as the others, however many photos it has.  On
    # the clothing photos (37 skirts, 265 t-shirts) it raised the mean per-class accuracy of a split
    # held out of the train photos from 0.73 to 0.78 (skirts 0.25 -> 0.33 on the validation photos).
    counts = torch.bincount(y, minlength=len(classes)).float()
    weight = len(labels) / (len(classes) * counts)
    torch.manual_seed(seed)
    layer = torch.nn.Linear(x.shape[1], len(classes))
    opt = torch.optim.LBFGS(layer.parameters(), max_iter=EPOCHS, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(layer(x), y, weight=weight) + L2 * layer.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return CategoryHead(layer.weight.detach().numpy().copy(), layer.bias.detach().numpy().copy(),
                        classes, embedder, field)


def stratified_split(labels: list[str], holdout: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, held-out), holding out ``holdout`` of each label."""
    if not 0.0 < holdout < 1.0:
        raise ValueError(f"holdout {holdout}: expected a fraction in (0, 1)")
    rng = np.random.default_rng(seed)
    train, held = [], []
    labels_arr = np.asarray(labels)
    for label in sorted(set(labels)):
        idx = rng.permutation(np.flatnonzero(labels_arr == label))
        cut = max(1, int(round(len(idx) * holdout))) if len(idx) > 1 else 0
        held.extend(idx[:cut])
        train.extend(idx[cut:])
    return np.sort(train), np.sort(held)


def _embed_products(manifest: str | Path, embedder, progress: bool, flip: bool = False
                    ) -> tuple[list[dict], np.ndarray, np.ndarray | None]:
    """The manifest's products, their vectors ``(N, dim)`` and, with ``flip``, their mirror images' vectors."""
    items = [i for i in read_items(manifest) if i.get("kind", "product") == "product"]
    if len(items) < 4:
        raise ValueError(f"{manifest}: needs at least 4 products to train on")
    vectors, mirrored = [], []
    for start in progress_bar(range(0, len(items), 32), desc="embedding", disable=not progress):
        images = [load_image(i["image"]) for i in items[start:start + 32]]
        vectors.append(embedder.embed(images))
        if flip:
            mirrored.append(embedder.embed([np.ascontiguousarray(im[:, ::-1]) for im in images]))
    return items, np.concatenate(vectors), np.concatenate(mirrored) if flip else None


def _labelled(items: list[dict], field: str, manifest) -> tuple[np.ndarray, list[str]]:
    rows = [k for k, item in enumerate(items) if isinstance(item.get(field), str) and item[field]]
    if len(rows) < 4:
        raise ValueError(f"{manifest}: fewer than 4 products have a '{field}' field")
    return np.asarray(rows), [items[k][field] for k in rows]


def _accuracy(head: CategoryHead, x: np.ndarray, labels: list[str]) -> dict:
    """Held-out accuracy overall and per class (a class is never judged only in aggregate)."""
    right = np.array([head.classes[j] == y for j, y in zip(head.predict_proba(x).argmax(1), labels)])
    per = {c: round(float(right[[y == c for y in labels]].mean()), 4) for c in sorted(set(labels))}
    return {"held_out_accuracy": round(float(right.mean()), 4), "per_class": per}


def train_from_manifest(manifest: str | Path, embedder, outs: dict[str, str | Path],
                        holdout: float = 0.2, seed: int = 0, progress: bool = True,
                        val: str | Path | None = None) -> dict:
    """Embed a manifest's products once; train, evaluate and save one head per field.

    ``outs`` maps a field (``category``, ``pattern``) to its checkpoint path.  ``val``: a
    manifest to evaluate on (then every product of ``manifest`` trains); else ``holdout`` of
    ``manifest`` is held out.  Returns figures per field: sizes, held-out accuracy, per class.
    """
    items, x, x_flipped = _embed_products(manifest, embedder, progress, FLIP)
    val_items, val_x, _ = _embed_products(val, embedder, progress) if val else (None, None, None)
    figures: dict = {"products": len(items)}
    for field, out in outs.items():
        rows, labels = _labelled(items, field, manifest)
        if val_items is None:
            train, held = stratified_split(labels, holdout, seed)
            test_x, test_labels = x[rows[held]], [labels[i] for i in held]
        else:
            train = np.arange(len(rows))
            val_rows, test_labels = _labelled(val_items, field, val)
            test_x = val_x[val_rows]
        train_x, train_labels = x[rows[train]], [labels[i] for i in train]
        if x_flipped is not None:
            train_x, train_labels = np.concatenate([train_x, x_flipped[rows[train]]]), train_labels * 2
        head = train_head(train_x, train_labels, embedder.settings(), seed, field)
        head.save(out)
        figures[field] = {"train": len(train), "held_out": len(test_labels), "classes": len(head.classes),
                          **_accuracy(head, test_x, test_labels), "saved": str(out)}
    return figures


def head_paths(config, fields: list[str]) -> dict[str, str]:
    """Where each field's head goes: ``models.<field>_head``, else ``data/models/<field>.pt``."""
    unknown = [f for f in fields if f not in HEAD_FIELDS]
    if unknown:
        raise ValueError(f"--fields {unknown}: unknown (valid: {', '.join(HEAD_FIELDS)})")
    return {f: getattr(config.models, HEAD_FIELDS[f]) or f"data/models/{f}.pt" for f in fields}

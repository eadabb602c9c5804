"""Compatibility ground truth from scenes whose objects are boxed (issue 23.1).

After Kang et al. (CVPR 2019), who built theirs from Shop The Look: a scene is a worn, compatible
outfit.  One of its garment classes blanked out of the scene, paired with that garment's crop, is
a positive; a garment of the same class from another scene is a negative.

* :func:`scenes` reads a manifest of boxed scenes (``lens data ccp``'s ``masked-train.jsonl`` /
  ``masked-val.jsonl``: each row's ``objects`` hold a ``category`` and a pixel ``box``) and keeps
  those with garments of at least ``MIN_CLASSES`` classes (a blank needs something left to match).
* :func:`questions`: one :class:`Question` per (scene, class it shows): the scene with *every*
  box of that class blanked (both shoes, so the visible twin cannot give the answer away), and the
  positive, the class's largest box.  A crop is the box padded by ``PAD``; the hole is the square
  around that padded box (:func:`blank_box`), so no pixel of the positive's crop is left in its
  scene, and the hole's shape does not match the crop's.
* :func:`fitb`: fill in the blank: each question's positive among ``CANDIDATES - 1`` negatives of
  its class from other scenes, drawn with a seed (random choice is right 1 time in 4); in a styled
  synthetic catalog (``lens synth --styles``) only negatives its scene's style does not admit
  (:func:`compatibility`: the manifest says which products each style admits).

Boxes are pixel x1, y1, x2, y2 (:mod:`lens.boxes`).  Nothing is written: the pixels are made on the
fly from the photos the manifest names.  Tested in ``tests/test_complete.py``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lens.boxes import Box
from lens.imageio import load_image
from lens.manifest import read_items

PAD = 0.08              # the detector crops' context (detection.crop_pad, lens data ccp's products)
MIN_SIDE = 16           # px: a smaller crop says nothing (detection.crop_min_side)
MIN_CLASSES = 2         # garment classes a scene must show: one blanked, at least one to match it to
CANDIDATES = 4          # fill in the blank: the positive and three negatives (the paper's protocol)
BLANK = (124, 116, 104)     # ImageNet's mean colour: a blank the backbone reads as nothing in particular


@dataclass(frozen=True)
class Scene:
    """One boxed scene: ``objects`` are ``(category, box)``, boxes in the photo's pixels."""

    id: str
    image: str
    objects: tuple[tuple[str, tuple[float, float, float, float]], ...]
    size: tuple[int, int] = (0, 0)      # width, height (the manifest's; 0 when it gives none)
    products: tuple[str | None, ...] = ()   # each object's catalog product id (synthetic scenes)
    style: dict | None = None           # a styled synthetic scene's style (lens.synth.styles)
    product_images: tuple[str | None, ...] = ()     # those products' catalog photos, when the manifest has them

    def classes(self) -> list[str]:
        return sorted({c for c, _ in self.objects})

    def boxes(self, category: str) -> list[Box]:
        return [Box(*b) for c, b in self.objects if c == category]


@dataclass(frozen=True)
class Question:
    """A scene with ``category`` blanked; its positive is the class's largest box there."""

    scene: Scene
    category: str

    @property
    def positive(self) -> Box:
        return max(self.scene.boxes(self.category), key=lambda b: b.area)

    @property
    def product(self) -> str | None:
        """The positive's catalog product id, when the manifest names it."""
        return self._largest(self.scene.products)

    @property
    def product_image(self) -> str | None:
        """The positive's catalog photo, when the manifest holds its product."""
        return self._largest(self.scene.product_images)

    def _largest(self, values: tuple):
        found = [(Box(*b).area, v) for (c, b), v in zip(self.scene.objects, values) if c == self.category]
        return max(found, key=lambda t: t[0])[1] if found else None

    @property
    def scene_size(self) -> tuple[int, int]:
        """The scene's width, height (unknown sides as large as any box: nothing clipped)."""
        w, h = self.scene.size
        return (w or 1 << 20, h or 1 << 20)


def scenes(manifest: str | Path) -> list[Scene]:
    """The manifest's boxed scenes showing at least ``MIN_CLASSES`` classes of object large enough
    to crop; ``ValueError`` naming the manifest when it holds none."""
    out, rows = [], read_items(manifest)
    photos = {r["id"]: r["image"] for r in rows if r.get("kind") == "product"}
    for row in rows:
        kept = [o for o in row.get("objects") or [] if o.get("category") and len(o.get("box") or ()) == 4
                and min(o["box"][2] - o["box"][0], o["box"][3] - o["box"][1]) >= MIN_SIDE]
        objects = tuple((str(o["category"]), tuple(float(v) for v in o["box"])) for o in kept)
        if len({c for c, _ in objects}) >= MIN_CLASSES:
            out.append(Scene(str(row["id"]), str(row["image"]), objects,
                             (int(row.get("width") or 0), int(row.get("height") or 0)),
                             tuple(o.get("product_id") for o in kept), row.get("style"),
                             tuple(photos.get(o.get("product_id")) for o in kept)))
    if not out:
        raise ValueError(f"{manifest}: no scene with boxed objects of {MIN_CLASSES} classes or more "
                         "(e.g. lens data ccp's masked-train.jsonl)")
    return out


def compatibility(manifest: str | Path):
    """For a styled synthetic catalog's manifest (``lens synth --styles``), ``compatible(q, c)``:
    does question ``c``'s positive product go with ``q``'s scene (the manifest lists, per product,
    the styles that admit it, and per scene its style)?  None for a manifest without styles (CCP:
    only a scene's own garments are known to go with it)."""
    rows = read_items(manifest)
    fits = {r["id"]: set(r.get("styles") or ()) for r in rows if r.get("kind") == "product"}
    if not any(r.get("style") for r in rows):
        return None

    def compatible(q: Question, c: Question) -> bool:
        return q.scene.style is not None and q.scene.style.get("name") in fits.get(c.product, ())
    return compatible


def questions(found: list[Scene], categories: set[str] | None = None) -> list[Question]:
    """One question per scene and class it shows (``categories``: only these classes)."""
    return [Question(s, c) for s in found for c in s.classes() if categories is None or c in categories]


def _rect(box: Box, shape: tuple) -> tuple[int, int, int, int]:
    return box.pad(PAD).clip(shape[1], shape[0]).to_int()


def blank_box(box: Box, shape: tuple) -> tuple[int, int, int, int]:
    """The region blanked for ``box``: the square around its padded box, clipped to the image.
    Square, so the hole's shape does not give away the answer: a hole of the crop's own aspect
    ratio matched its crop's letterbox 100 % of the time on CCP's held-out questions."""
    padded = box.pad(PAD)
    half = max(padded.width, padded.height) / 2
    cx, cy = (padded.x1 + padded.x2) / 2, (padded.y1 + padded.y2) / 2
    return Box(cx - half, cy - half, cx + half, cy + half).clip(shape[1], shape[0]).to_int()


def crop(rgb: np.ndarray, box: Box) -> np.ndarray:
    """The box padded by ``PAD``: a garment's crop as the detection pipeline cuts one."""
    x1, y1, x2, y2 = _rect(box, rgb.shape)
    return rgb[y1:y2, x1:x2]


def blanked(rgb: np.ndarray, boxes: list[Box]) -> np.ndarray:
    """A copy of ``rgb`` (H x W x 3 uint8) with each box's :func:`blank_box` filled with ``BLANK``
    (it holds the box padded as :func:`crop` pads it)."""
    out = rgb.copy()
    for box in boxes:
        x1, y1, x2, y2 = blank_box(box, rgb.shape)
        out[y1:y2, x1:x2] = BLANK
    return out


def pixels(question: Question, rgb: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(the scene with the question's class blanked, the positive)``: the positive is its catalog
    photo when the manifest holds the product (a synthetic catalog: candidates look as the catalog
    serves them, as in the paper), else its crop; ``rgb``: the scene's photo when already decoded."""
    rgb = load_image(question.scene.image) if rgb is None else rgb
    photo = question.product_image
    positive = load_image(photo) if photo else crop(rgb, question.positive)
    return blanked(rgb, question.scene.boxes(question.category)), positive


def fitb(qs: list[Question], seed: int = 0, candidates: int = CANDIDATES,
         compatible=None) -> list[tuple[int, list[int]]]:
    """Fill in the blank: per question, ``(index of the answer in its candidates, candidates)`` where
    candidates index ``qs`` (a question stands for its positive): its own and ``candidates - 1``
    others of its class from other scenes (``compatible(q, c)`` given: only ones that do not go with
    the scene), in a seeded random order.  Questions whose class has too few are left out."""
    rng = np.random.default_rng(seed)
    by_class: dict[str, list[int]] = {}
    for i, q in enumerate(qs):
        by_class.setdefault(q.category, []).append(i)
    out = []
    for i, q in enumerate(qs):
        others = [j for j in by_class[q.category] if qs[j].scene.id != q.scene.id
                  and (compatible is None or not compatible(q, qs[j]))]
        if len(others) < candidates - 1:
            continue
        chosen = [i] + [int(j) for j in rng.choice(others, candidates - 1, replace=False)]
        order = rng.permutation(candidates)
        out.append((int(np.flatnonzero(order == 0)[0]), [chosen[k] for k in order]))
    return out

"""Complete The Look at query time (issue 23.3): the catalog's products that go with a scene.

:meth:`Completer.__call__` takes the query photo, its detected regions and the catalog:

1. **What the scene lacks**: the model's classes (``CompatNet.categories``, garment classes for the
   committed CCP checkpoint) minus those the detector found (its labels mapped as catalog
   categories are, :func:`class_of`) (a dress stands for a top and a bottom,
   and either of those for a dress).  With a user's box, that region is blanked out of the scene
   (as the training questions were) and the class asked for is the detected class the box overlaps
   most, else every class.  A photo with no garment and no person found gets no suggestions and a
   reason, not an error.
2. **Candidates**: the catalog's products whose ``category`` names one of those classes
   (:data:`CLASS_OF`: the class names themselves, the coarse categories and common garment words).
   Their style vectors are computed once per catalog item and checkpoint, kept in
   ``<catalog>/index/compat-<checkpoint digest>.npz`` and topped up when items are added
   (:meth:`Completer.styles`).
3. **Ranked by compatibility**: the hybrid distance of each candidate to the scene, the nearest
   ``POOL`` per class, then the DPP (:func:`blender.dpp.dpp_rerank`, ``blend.lens.theta``) over the
   z-scored closeness with the style vectors and colour families as the diversity dimensions, so
   the page is not ten near-identical sneakers.
4. **Attention**: per class asked, the softmax attention over the 7 x 7 scene cells in the photo's
   pixels (the letterbox undone), for the UI's heat map.

Boxes are pixel x1, y1, x2, y2 of the photo.  Tested in ``tests/test_complete.py``.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

from blender.dpp import DiversityFeatures, dpp_rerank
from lens.boxes import Box
from lens.complete.model import CHECKPOINT, REGIONS, SIDE, Features, load_checkpoint, net_from
from lens.complete.outfits import blanked
from lens.console import progress as progress_bar
from lens.files import atomic_write
from lens.imageio import load_image
from lens.models import file_sha256

log = logging.getLogger(__name__)
POOL = 30               # nearest candidates kept per class before the DPP (a page is 10)
GRID = int(REGIONS ** 0.5)
# A catalog category -> the model's class (lower-case; the class names map to themselves).
CLASS_OF = {**{w: "upper_body" for w in ("top", "tops", "shirt", "t-shirt", "blouse", "jacket", "coat",
                                          "sweater", "hoodie", "cardigan", "blazer")},
            **{w: "lower_body" for w in ("bottoms", "trousers", "pants", "jeans", "skirt", "shorts", "leggings")},
            **{w: "dress" for w in ("dress", "dresses", "romper")},
            **{w: "footwear" for w in ("shoe", "shoes", "boots", "sneakers", "heels", "sandals")},
            **{w: "bag" for w in ("bag", "bags", "handbag", "purse", "backpack")},
            "hat": "hat", "hats": "hat", "cap": "hat", "sunglasses": "sunglasses", "glasses": "sunglasses",
            "belt": "belt", "belts": "belt"}
COVERS = {"dress": ("upper_body", "lower_body"), "upper_body": ("dress",), "lower_body": ("dress",)}
PEOPLE = ("person", "face")


def class_of(category, classes) -> str | None:
    """The model class a catalog ``category`` names, or None."""
    name = str(category or "").strip().lower()
    cls = name if name in classes else CLASS_OF.get(name)
    return cls if cls in classes else None


class Completer:
    """A trained style embedding and its frozen backbone, ready for queries; see the module docstring."""

    def __init__(self, features: Features, state: dict, digest: str):
        self.features, self.net, self.digest = features, net_from(state), digest
        self.classes = list(self.net.categories)
        self._styles: dict[str, tuple] = {}      # catalog directory -> (version, ids, classes, vectors)
        self._lock = threading.Lock()

    @classmethod
    def load(cls, weights_path: str | Path, checkpoint: str | Path = "") -> "Completer":
        """``checkpoint``: a ``lens train-compat`` file ("" = the committed one)."""
        path = Path(checkpoint or CHECKPOINT)
        return cls(Features(weights_path), load_checkpoint(path), file_sha256(path)[:12])

    def styles(self, catalog) -> tuple[list[str], list[str], np.ndarray]:
        """``(item ids, their classes, style vectors (N, dim))`` of the catalog's products of the
        model's classes; computed for items not seen yet, persisted beside the catalog's index."""
        import torch  # deferred: torch takes seconds; only a complete-the-look query needs it here

        with self._lock:
            held = self._styles.get(str(catalog.directory))
            if held is not None and held[0] == catalog.version:
                return held[1:]
            wanted = [(item["id"], c, item["image"]) for item in catalog.store
                      if item.get("kind", "product") == "product" and item.get("image")
                      and (c := class_of(item.get("category"), self.classes))]
            path = Path(catalog.directory) / "index" / f"compat-{self.digest}.npz"
            known = dict(zip(*_read(path)))
            todo = [(i, p) for i, _, p in wanted if i not in known]
            for start in progress_bar(range(0, len(todo), 64), desc="complete the look: products",
                                      disable=len(todo) < 256):
                batch = todo[start:start + 64]
                g, _ = self.features([load_image(p) for _, p in batch])
                with torch.inference_mode():
                    vectors = self.net.products(torch.from_numpy(g)).numpy()
                known.update(zip((i for i, _ in batch), vectors))
            if todo:
                _write(path, known)
            ids = [i for i, _, _ in wanted]
            vectors = np.stack([known[i] for i in ids]) if ids else np.zeros((0, self.net.affinity.embedding_dim))
            self._styles[str(catalog.directory)] = (catalog.version, ids, [c for _, c, _ in wanted], vectors)
            return ids, [c for _, c, _ in wanted], vectors

    def __call__(self, rgb: np.ndarray, regions: list, catalog, k: int, box: Box | None = None,
                 theta: float = 0.7) -> dict:
        """Suggestions for the scene ``rgb`` (H x W x 3 uint8) whose detections are ``regions``
        (``lens.types.Detection``, pixels of ``rgb``); see the module docstring."""
        present = {c for r in regions if (c := class_of(r.label, self.classes))}
        if box is None and not present and not any(r.label in PEOPLE for r in regions):
            return {"items": [], "asked": [], "present": [], "attention": {},
                    "reason": "no outfit in the photo: no garment or person was detected"}
        asked = self._asked(present, regions, box)
        scene = blanked(rgb, [box]) if box is not None else rgb
        ids, classes, vectors = self.styles(catalog)
        found = [i for i, c in enumerate(classes) if c in asked]
        if not found:
            return {"items": [], "asked": asked, "present": sorted(present), "attention": {},
                    "reason": f"the catalog holds no products of {_words(asked)}"}
        distance, attention = self._score(scene, vectors[found], [classes[i] for i in found], asked)
        picks = self._page(distance, found, classes, vectors, catalog, ids, k, theta)
        items = [{"id": ids[j], "class": classes[j], "distance": round(float(d), 4)} for j, d in picks]
        return {"items": items, "asked": asked, "present": sorted(present),
                "attention": {c: _cells(a, rgb.shape) for c, a in attention.items()},
                "reason": f"products of {_words(asked)}, nearest the scene's style"}

    def _asked(self, present: set, regions: list, box: Box | None) -> list[str]:
        if box is not None:
            overlaps = [(r.box.iou(box), class_of(r.label, self.classes)) for r in regions
                        if class_of(r.label, self.classes)]
            best = max(overlaps, default=(0.0, None))
            return [best[1]] if best[0] > 0.3 else list(self.classes)
        covered = present | {c for p in present for c in COVERS.get(p, ())}
        return [c for c in self.classes if c not in covered] or list(self.classes)

    def _score(self, scene: np.ndarray, vectors: np.ndarray, classes: list[str], asked: list[str]):
        """Hybrid distance of each candidate to the scene, and the attention per class asked."""
        import torch  # deferred: as above

        g, r = self.features([scene], regions=True)
        index = {c: n for n, c in enumerate(self.classes)}
        with torch.inference_mode():
            s, rr = self.net.scenes(torch.from_numpy(g), torch.from_numpy(r))
            cat = torch.tensor([index[c] for c in classes])
            d = self.net.distances(s.expand(len(classes), -1), rr.expand(len(classes), -1, -1),
                                   torch.from_numpy(vectors.astype(np.float32)), cat)[0].numpy()
            att = self.net.attention(rr.expand(len(asked), -1, -1), torch.tensor([index[c] for c in asked])).numpy()
        return d, dict(zip(asked, att))

    @staticmethod
    def _page(distance, rows, classes, vectors, catalog, ids, k: int, theta: float) -> list[tuple[int, float]]:
        """The nearest ``POOL`` per class, re-ranked by the DPP: ``(catalog row, distance)``."""
        keep = []
        for c in sorted({classes[j] for j in rows}):
            mine = [n for n, j in enumerate(rows) if classes[j] == c]
            keep += sorted(mine, key=lambda n: distance[n])[:POOL]
        d = distance[keep]
        relevance = -(d - d.mean()) / (d.std() + 1e-9)
        items = catalog.items([ids[rows[n]] for n in keep])
        colours = [(item or {}).get("color") for item in items]
        features = DiversityFeatures.from_items(vectors[[rows[n] for n in keep]], [None] * len(keep),
                                                [None] * len(keep), colours)
        order = dpp_rerank(relevance, features, k, theta, {"visual": 1.0, "color": 1.0})
        return [(rows[keep[n]], float(d[n])) for n in order]


def _words(classes: list[str]) -> str:
    return ", ".join(c.replace("_", " ") for c in classes)


def _cells(attention: np.ndarray, shape: tuple) -> list[list[float]]:
    """The 7 x 7 attention as ``[x1, y1, x2, y2, weight]`` cells in the photo's pixels (cells over the
    letterbox's padding left out; weights scaled so the largest is 1)."""
    h, w = shape[:2]
    scale = SIDE / max(h, w)
    x0, y0 = (SIDE - round(w * scale)) // 2, (SIDE - round(h * scale)) // 2
    step, top = SIDE / GRID, float(attention.max()) or 1.0
    out = []
    for n, a in enumerate(attention):
        cy, cx = divmod(n, GRID)
        cell = Box((cx * step - x0) / scale, (cy * step - y0) / scale,
                   ((cx + 1) * step - x0) / scale, ((cy + 1) * step - y0) / scale).clip(w, h)
        if cell.area > 0:
            out.append([*cell.as_list(), round(float(a) / top, 3)])
    return out


def _read(path: Path) -> tuple[list[str], list]:
    if not path.is_file():
        return [], []
    try:
        with np.load(path, allow_pickle=False) as f:
            return [str(i) for i in f["ids"]], list(f["vectors"])
    except (OSError, ValueError, KeyError) as exc:     # a damaged cache is rebuilt, not trusted
        log.warning("%s: unreadable (%s); computing the style vectors again", path, type(exc).__name__)
        return [], []


def _write(path: Path, known: dict) -> None:
    ids = sorted(known)
    atomic_write(path, lambda fh: np.savez(fh, ids=np.array(ids), vectors=np.stack([known[i] for i in ids])))

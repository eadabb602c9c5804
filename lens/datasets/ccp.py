"""``lens data ccp SRC OUT``: Clothing Co-Parsing masks → COCO garment boxes and manifests.

CCP (github: bearpaw/clothing-co-parsing) holds street-fashion photos
(``photos/NNNN.jpg``, 550 x 832), pixel masks for some (``annotations/pixel-level/NNNN.mat``:
``groundtruth``, H x W label ids, 0 = background), image-level tags for others
(``annotations/image-level/NNNN.mat``: ``tags``) and ``label_list.mat`` (the 59 names).

Boxes (pixel x1, y1, x2, y2, :mod:`lens.boxes`; ``[x, y, w, h]`` in the COCO files) over
:data:`lens.taxonomy.GARMENT_CLASSES`, from :data:`CCP_GARMENT`:

* each shoe is its own box: the footwear mask's components (leaving out specks under
  ``SPECK_SHARE`` of the largest) are grouped into people (boxes within ``GROUP_GAP`` of the
  largest component's longer side; a group under ``SHOE_SHARE`` of the largest component is
  left out), and each group is split once into a left and a right shoe
  at the column that best separates its pixels (Otsu over the columns), when both sides hold at
  least ``SHOE_SHARE`` of its pixels and the columns near the cut dip under ``VALLEY`` of the
  smaller side's peak (the gap between two feet; one shoe seen from the side has no such dip).
  Components alone would cut a sandal into its straps and join two touching shoes;
* a bag's box is its body: the bag pixels left after an opening by a disk ``STRAP`` of the
  photo's longer side across, so a shoulder strap does not stretch it over the torso (the
  strap is not what a shopper looks for, nor what a crop of it shows), and a bag seen only by
  its strap (the body behind the person) is no box;
* every other class is one box per photo (CCP shows one person): the union of its
  components, leaving out specks under ``SPECK_SHARE`` of the largest one, which would
  otherwise stretch a box across the photo;
* boxes whose shorter side is under ``MIN_SIDE`` px are left out;
* skin, hair and the labels in :data:`NOT_GARMENTS` are no objects; a label name that is in
  neither table is logged once, counted, and treated as background.

Writes into OUT: ``train.json`` and ``val.json`` (COCO; ``file_name`` relative to SRC, whose
absolute path is ``info.images_root``: pass it as ``lens train-detector --images``),
``masked.jsonl`` (every masked photo: ``kind`` scene, ``split``, ``tags``, ``objects`` with
category and box; ``masked-train.jsonl`` and ``masked-val.jsonl`` its two splits' rows), ``tagged.jsonl`` (the tagged-only
photos: ``tags``, no boxes), ``products.jsonl`` with ``products/*.jpg`` (the training split's
garments as a product catalog, :mod:`lens.datasets.ccp_products`) and ``report.json`` (counts,
what was skipped and why). The split is by photo number (``number % folds == fold`` is
validation), so another ``--fold`` gives another split.

Tested in ``tests/test_datasets.py``.
"""
from __future__ import annotations

import functools
import itertools
import logging
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
from scipy.io import loadmat
from scipy.io.matlab import MatReadError

from lens.datasets.ccp_products import write_products
from lens.datasets.common import (Skipped, check_fold, checked_image, in_val, source_folder,
                                  write_json, write_jsonl)
from lens.taxonomy import GARMENT_CLASSES

log = logging.getLogger("lens.datasets")

_GROUPS = {
    "upper_body": ("blazer", "blouse", "bodysuit", "cape", "cardigan", "coat", "hoodie", "jacket",
                   "jumper", "shirt", "suit", "sweater", "sweatshirt", "t-shirt", "top", "vest"),
    "lower_body": ("jeans", "leggings", "pants", "shorts", "skirt"),
    "dress": ("dress", "romper"),
    "footwear": ("boots", "clogs", "flats", "heels", "loafers", "pumps", "sandals", "shoes",
                 "sneakers", "wedges"),
    "bag": ("bag", "purse", "wallet"),
    "hat": ("hat",),
    "sunglasses": ("sunglasses", "glasses"),    # one eyewear class
    "belt": ("belt",),
}
CCP_GARMENT: dict[str, str] = {name: g for g, names in _GROUPS.items() for name in names}
# Known CCP labels that are not objects for the detector: the body, underwear, legwear and
# small accessories that a garment box or the person crop already covers.
NOT_GARMENTS = frozenset({"null", "skin", "hair", "accessories", "bra", "bracelet", "earrings",
                          "gloves", "intimate", "necklace", "panties", "ring", "scarf", "socks",
                          "stockings", "swimwear", "tie", "tights", "watch"})
UNION = frozenset(GARMENT_CLASSES) - {"footwear"}
MIN_SIDE = 8          # px; below the detector's smallest anchor at its input size
SHOE_SHARE = 0.15     # of a person's footwear pixels: a smaller side of a cut is a strap or a heel
SPECK_SHARE = 0.05    # smaller components of a class are label noise
STRAP = 0.013         # of the longer side (11 px of CCP's 832): straps are thinner, bag bodies wider
GROUP_GAP = 1.0       # x the largest footwear component's longer side: farther pieces are another person's
VALLEY = 0.35         # x the smaller shoe's tallest column: between two feet the columns thin out


def read_labels(path: Path) -> list[str]:
    """The label names of ``label_list.mat`` (index = label id; 0 is ``null``)."""
    try:
        return [str(x[0]) for x in loadmat(path)["label_list"][0]]
    except (MatReadError, KeyError, ValueError, IndexError, TypeError, OSError) as exc:
        raise ValueError(f"{path}: not a CCP label list ({type(exc).__name__}: {exc})") from None


def label_map(names: list[str], skipped: Skipped) -> dict[int, str]:
    """``label id -> garment class`` for the ids that are garments; unknown names recorded once."""
    out = {}
    for i, name in enumerate(names):
        if name in CCP_GARMENT:
            out[i] = CCP_GARMENT[name]
        elif name not in NOT_GARMENTS:
            skipped(f"label_list.mat: label '{name}' (id {i})",
                    "unknown label name, its pixels are background")
    return out


def _components(mask: np.ndarray) -> list[tuple[int, list[int]]]:
    """``(area, [x1, y1, x2, y2])`` of each connected component of a boolean mask, largest first."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    return sorted(((int(a), [int(x), int(y), int(x + w), int(y + h)]) for x, y, w, h, a in stats[1:n]),
                  key=lambda c: -c[0])


def _union(a: list[int], b: list[int]) -> list[int]:
    return [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]


def _body(mask: np.ndarray) -> np.ndarray:
    """A bag's pixels without its straps (module docstring)."""
    side = max(3, round(STRAP * max(mask.shape)) | 1)
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
    return cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, disk) > 0


def _box(mask: np.ndarray) -> list[int]:
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max() + 1), int(ys.max() + 1)]


def _people(labels: np.ndarray, stats: np.ndarray) -> list[np.ndarray]:
    """The footwear pixels of each person: the non-speck components grouped by box distance."""
    keep = [i for i in range(1, len(stats)) if stats[i, 4] >= SPECK_SHARE * stats[1:, 4].max()]
    gap = GROUP_GAP * stats[max(keep, key=lambda i: stats[i, 4]), 2:4].max()
    group = {i: i for i in keep}
    for a, b in itertools.combinations(keep, 2):
        (xa, ya, wa, ha), (xb, yb, wb, hb) = stats[a, :4], stats[b, :4]
        if xa - gap <= xb + wb and xb <= xa + wa + gap and ya - gap <= yb + hb and yb <= ya + ha + gap:
            old, new = group[b], group[a]
            group = {k: new if g == old else g for k, g in group.items()}
    return [np.isin(labels, [k for k in keep if group[k] == g]) for g in sorted(set(group.values()))]


def _feet(mask: np.ndarray) -> list[np.ndarray]:
    """A person's footwear pixels as one shoe or a left and a right shoe (module docstring)."""
    cols = mask.sum(0).astype(float)
    x0, x1 = np.flatnonzero(cols)[[0, -1]]
    c = cols[x0:x1 + 1]
    if len(c) < 4:
        return [mask]
    w, pos = c / c.sum(), np.arange(len(c))
    cw, cm = np.cumsum(w)[:-1], np.cumsum(w * pos)[:-1]       # left side = columns [0, t)
    t = int(np.argmax((float((w * pos).sum()) * cw - cm) ** 2 / np.maximum(cw * (1 - cw), 1e-12))) + 1
    left, right, k = c[:t], c[t:], max(1, len(c) // 10)
    if (min(left.sum(), right.sum()) < SHOE_SHARE * max(left.sum(), right.sum())
            or c[max(0, t - k):t + k].min() > VALLEY * min(left.max(), right.max())):
        return [mask]
    left_side = np.arange(mask.shape[1]) < x0 + t
    return [mask & left_side, mask & ~left_side]


def _shoes(mask: np.ndarray) -> list[list[int]]:
    """One box per shoe of a boolean footwear mask (module docstring)."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n < 2:
        return []
    return [_box(shoe) for person in _people(labels, stats) for shoe in _feet(person)]


def garment_boxes(mask: np.ndarray, garments: dict[int, str]) -> list[dict]:
    """``[{category, box, parts}]`` of a ``H x W`` label-id mask (see the module docstring); ``parts``:
    the label ids the class's pixels carry."""
    out = []
    for garment in GARMENT_CLASSES:
        ids = [i for i, g in garments.items() if g == garment]
        present = [i for i in ids if (mask == i).any()]
        if not present:
            continue
        pixels = np.isin(mask, present)
        if garment == "bag":
            pixels = _body(pixels)
        if not pixels.any():
            continue
        if garment in UNION:
            comps = _components(pixels)
            keep = [functools.reduce(_union, (b for a, b in comps if a >= SPECK_SHARE * comps[0][0]))]
        else:
            keep = _shoes(pixels)
        out += [{"category": garment, "box": box, "parts": present}
                for box in keep if min(box[2] - box[0], box[3] - box[1]) >= MIN_SIDE]
    return out


def _load(path: Path, key: str, skipped: Skipped):
    try:
        value = loadmat(path).get(key)
    except (MatReadError, ValueError, TypeError, OSError, IndexError) as exc:
        skipped(path, f"corrupt .mat ({type(exc).__name__})")
        return None
    if value is None:
        skipped(path, f"no '{key}' in it")
    return value


def _tag_names(tags, names: list[str], path: Path, skipped: Skipped) -> list[str] | None:
    ids = np.asarray(tags).ravel()
    if ids.size and (ids.min() < 0 or ids.max() >= len(names)):
        skipped(path, f"label id {int(ids.max())} is not in label_list.mat")
        return None
    return sorted({names[int(i)] for i in ids} - {"null", "skin", "hair"})


def read_mask(src: Path, number: int, skipped: Skipped, labels: int | None = None) -> tuple[Path, np.ndarray] | None:
    """``(photo path, H x W label-id mask, 0 = background)`` of CCP's masked photo ``number``
    under ``src``, or None (the reason recorded in ``skipped``); ``labels``: how many names
    ``label_list.mat`` holds (a larger id is an error)."""
    mat = src / "annotations" / "pixel-level" / f"{number:04d}.mat"
    photo = src / "photos" / f"{number:04d}.jpg"
    size = checked_image(photo, skipped, mat)
    mask = None if size is None else _load(mat, "groundtruth", skipped)
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.ndim != 2 or (mask.shape[1], mask.shape[0]) != size:
        skipped(mat, f"mask of shape {mask.shape} does not fit its {size[0]} x {size[1]} photo")
        return None
    if labels is not None and mask.max() >= labels:
        skipped(mat, f"label id {int(mask.max())} is not in label_list.mat")
        return None
    if not mask.any():
        skipped(mat, "empty mask (background only)")
        return None
    return photo, mask


def _masked_row(number: int, src: Path, names: list[str], garments: dict[int, str],
                skipped: Skipped) -> dict | None:
    """The manifest row of masked photo ``number``, or None (recorded in ``skipped``)."""
    found = read_mask(src, number, skipped, len(names))
    if found is None:
        return None
    photo, mask = found
    size = (mask.shape[1], mask.shape[0])
    objects = garment_boxes(mask, garments)
    for o in objects:
        o["parts"] = sorted(names[i] for i in o["parts"])
    tags = sorted({names[int(i)] for i in np.unique(mask)} - {"null", "skin", "hair"})
    return _row(number, photo, size, tags) | {"objects": objects}


def _row(number: int, photo: Path, size: tuple[int, int], tags: list[str]) -> dict:
    return {"id": f"ccp-{number:04d}", "image": str(photo), "kind": "scene",
            "width": size[0], "height": size[1], "tags": tags,
            "description": "street fashion photo: " + ", ".join(tags)}


def _tagged_row(number: int, src: Path, names: list[str], skipped: Skipped) -> dict | None:
    mat = src / "annotations" / "image-level" / f"{number:04d}.mat"
    photo = src / "photos" / f"{number:04d}.jpg"
    size = checked_image(photo, skipped, mat)
    tags = None if size is None else _load(mat, "tags", skipped)
    tags = None if tags is None else _tag_names(tags, names, mat, skipped)
    return None if tags is None else _row(number, photo, size, tags)


def _numbers(folder: Path) -> list[int]:
    return sorted(int(p.stem) for p in folder.glob("*.mat") if p.stem.isdigit()) if folder.is_dir() else []


def coco_dict(rows: list[dict], split: str, src: Path) -> dict:
    """The COCO dict of ``rows`` (their ``objects``), ``file_name`` relative to ``src``."""
    cats = [{"id": i, "name": n, "supercategory": "garment"} for i, n in enumerate(GARMENT_CLASSES, 1)]
    cat_id = {c["name"]: c["id"] for c in cats}
    images, anns = [], []
    for row in rows:
        number = int(row["id"].split("-")[1])
        images.append({"id": number, "file_name": str(Path(row["image"]).relative_to(src)),
                       "width": row["width"], "height": row["height"]})
        for o in row["objects"]:
            x1, y1, x2, y2 = o["box"]
            anns.append({"id": len(anns) + 1, "image_id": number, "category_id": cat_id[o["category"]],
                         "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": 0})
    return {"info": {"description": f"CCP garment boxes, {split} (lens data ccp)",
                     "images_root": str(src)}, "images": images, "annotations": anns, "categories": cats}


def convert(src, out, fold: int = 0, folds: int = 5, progress=lambda xs, **_: xs) -> dict:
    """Convert the CCP folder ``src`` into ``out`` (module docstring); returns the report."""
    check_fold(fold, folds)
    src = source_folder(src, "label_list.mat", "CCP")
    out = Path(out)
    skipped = Skipped()
    names = read_labels(src / "label_list.mat")
    garments = label_map(names, skipped)
    masked = [r for n in progress(_numbers(src / "annotations" / "pixel-level"), desc="ccp masks")
              if (r := _masked_row(n, src, names, garments, skipped)) is not None]
    tagged = [r for n in progress(_numbers(src / "annotations" / "image-level"), desc="ccp tags")
              if (r := _tagged_row(n, src, names, skipped)) is not None]
    if not masked and not tagged:
        raise ValueError(f"CCP source {src}: no usable photo ({skipped.total} skipped)")
    for row in masked:
        row["split"] = "val" if in_val(int(row["id"][4:]), fold, folds) else "train"
    splits = {s: [r for r in masked if r["split"] == s] for s in ("train", "val")}
    for split, rows in splits.items():
        write_json(out / f"{split}.json", coco_dict(rows, split, src))
    write_jsonl(out / "masked.jsonl", masked)
    write_jsonl(out / "masked-train.jsonl", splits["train"])  # fitting photos (e.g. `lens eval floor --foreign`)
    write_jsonl(out / "masked-val.jsonl", splits["val"])     # what `lens eval labels --truth` scores
    write_jsonl(out / "tagged.jsonl", tagged)
    products = write_products(splits["train"], out, progress)
    boxes = Counter(o["category"] for r in masked for o in r["objects"])
    report = {"dataset": "ccp", "source": str(src), "out": str(out), "fold": fold, "folds": folds,
              "masked_photos": len(masked), "tagged_photos": len(tagged),
              "train_photos": len(splits["train"]), "val_photos": len(splits["val"]), "products": products,
              "boxes": {g: boxes.get(g, 0) for g in GARMENT_CLASSES}, "skipped": skipped.report()}
    write_json(out / "report.json", report)
    return report

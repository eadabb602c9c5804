"""COCO-format box data: a checked reader, a torch Dataset, and mAP with pycocotools.

A COCO JSON holds ``images`` (``id``, ``file_name``, ``width``, ``height``),
``annotations`` (``id``, ``image_id``, ``category_id``, ``bbox`` =
``[x, y, w, h]`` in pixels, optional ``iscrowd``) and ``categories`` (``id``,
``name``).  :func:`read_coco` checks all of it and raises a one-line
``ValueError`` naming the file and the offending field and index.

Model labels are contiguous: ``1..K`` in the order of category ids, ``0`` is
background; :attr:`CocoData.labels` are their names.

Tested in ``tests/test_detector_training.py``.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from torch.utils.data import Dataset


IGNORE = -1         # the label of an ignore region (a crowd box, with crowd_as_ignore)


@dataclass
class CocoData:
    """A checked COCO file: the raw dict plus label mappings."""

    path: str
    data: dict
    cat_ids: list[int]          # category id of model label i + 1

    @property
    def labels(self) -> list[str]:
        names = {c["id"]: c["name"] for c in self.data["categories"]}
        return ["__background__", *(names[i] for i in self.cat_ids)]

    def label_of(self, category_id: int) -> int:
        return self.cat_ids.index(category_id) + 1


def _fail(path, where: str, problem: str):
    raise ValueError(f"COCO file {path}: {where}: {problem}")


def _int(path, where: str, value, positive: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or (positive and value <= 0):
        _fail(path, where, f"expected a{' positive' if positive else 'n'} integer, got {value!r}")
    return value


def _check_images(path, images: list) -> set[int]:
    ids: set[int] = set()
    for i, img in enumerate(images):
        if not isinstance(img, dict):
            _fail(path, f"images[{i}]", "expected an object")
        ident = _int(path, f"images[{i}].id", img.get("id"))
        if ident in ids:
            _fail(path, f"images[{i}].id", f"duplicate id {ident}")
        ids.add(ident)
        if not isinstance(img.get("file_name"), str) or not img["file_name"]:
            _fail(path, f"images[{i}].file_name", f"expected a file name, got {img.get('file_name')!r}")
        for key in ("width", "height"):
            _int(path, f"images[{i}].{key}", img.get(key), positive=True)
    return ids


def _check_annotations(path, anns: list, image_ids: set[int], cat_ids: set[int]) -> None:
    for i, ann in enumerate(anns):
        if not isinstance(ann, dict):
            _fail(path, f"annotations[{i}]", "expected an object")
        if _int(path, f"annotations[{i}].image_id", ann.get("image_id")) not in image_ids:
            _fail(path, f"annotations[{i}].image_id", f"no image with id {ann['image_id']}")
        if _int(path, f"annotations[{i}].category_id", ann.get("category_id")) not in cat_ids:
            _fail(path, f"annotations[{i}].category_id", f"no category with id {ann['category_id']}")
        bbox = ann.get("bbox")
        ok = (isinstance(bbox, list) and len(bbox) == 4
              and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                      for v in bbox))
        if not ok or bbox[2] <= 0 or bbox[3] <= 0:
            _fail(path, f"annotations[{i}].bbox", f"expected [x, y, w, h] with w, h > 0, got {bbox!r}")


def read_coco(path: str | Path) -> CocoData:
    """Read and check a COCO JSON; ``ValueError`` naming file + field on any problem."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"COCO file {path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"COCO file {path}: not readable JSON ({exc})") from None
    if not isinstance(data, dict):
        _fail(path, "top level", "expected an object with images, annotations, categories")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            _fail(path, key, f"expected a list, got {type(data.get(key)).__name__}")
    cats: set[int] = set()
    for i, cat in enumerate(data["categories"]):
        if not isinstance(cat, dict) or not isinstance(cat.get("name"), str):
            _fail(path, f"categories[{i}].name", "expected a string")
        cats.add(_int(path, f"categories[{i}].id", cat.get("id")))
    if not cats:
        _fail(path, "categories", "empty: at least one category is needed")
    _check_annotations(path, data["annotations"], _check_images(path, data["images"]), cats)
    return CocoData(str(path), data, sorted(cats))


class CocoDataset(Dataset):
    """``(image, target)`` pairs from a COCO file and its image folder.

    ``image``: ``3 x H x W`` float32 in 0..1 (RGB).  ``target``: ``boxes``
    ``(N, 4)`` float32 pixel ``x1, y1, x2, y2``; ``labels`` ``(N,)`` int64 in
    ``1..K``; ``image_id`` (the COCO id).  Crowd annotations are left out,
    or with ``crowd_as_ignore`` kept as ignore regions: label ``IGNORE`` (-1),
    which training neither learns as an object nor as background
    (torchvision's samplers skip -1; :func:`detection.train.ignore_regions`).
    """

    def __init__(self, coco: CocoData | str | Path, images_dir: str | Path, crowd_as_ignore: bool = False):
        self.coco = coco if isinstance(coco, CocoData) else read_coco(coco)
        self.images_dir = Path(images_dir)
        self.images = list(self.coco.data["images"])
        self.crowd_as_ignore = crowd_as_ignore
        self._anns: dict[int, list[dict]] = {img["id"]: [] for img in self.images}
        for ann in self.coco.data["annotations"]:
            if crowd_as_ignore or not ann.get("iscrowd", 0):
                self._anns[ann["image_id"]].append(ann)

    @property
    def ignore_regions(self) -> int:
        """How many ignore regions the targets hold (0 unless ``crowd_as_ignore``)."""
        return sum(bool(a.get("iscrowd", 0)) for anns in self._anns.values() for a in anns)

    def __len__(self) -> int:
        return len(self.images)

    def load_rgb(self, index: int) -> np.ndarray:
        path = self.images_dir / self.images[index]["file_name"]
        try:
            with Image.open(path) as im:
                return np.asarray(im.convert("RGB"))
        except OSError as exc:
            raise ValueError(f"image {path} (images[{index}] of {self.coco.path}): cannot read "
                             f"({exc})") from None

    def target(self, index: int) -> dict[str, torch.Tensor]:
        anns = self._anns[self.images[index]["id"]]
        boxes = [[x, y, x + w, y + h] for x, y, w, h in (a["bbox"] for a in anns)]
        return {"boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                "labels": torch.tensor([IGNORE if a.get("iscrowd", 0) else self.coco.label_of(a["category_id"])
                                        for a in anns], dtype=torch.int64),
                "image_id": torch.tensor(self.images[index]["id"])}

    def __getitem__(self, index: int):
        rgb = self.load_rgb(index)
        image = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))).float().div_(255.0)
        return image, self.target(index)


def predict(model, images: Sequence[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
    """Raw outputs of an ObjectDetector (``.raw``) or a torchvision detection model."""
    if hasattr(model, "raw"):
        return model.raw(images)
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        outs = model(list(images))
    model.train(was_training)
    return [{k: v.cpu() for k, v in o.items()} for o in outs]


def _category_of_label(model, dataset: CocoDataset, labels: Sequence[str] | None = None) -> dict[int, int]:
    """Model label -> COCO category id: by class name when the model names its labels (an
    ObjectDetector trained on other data, or ``labels`` given), else by position (a model
    trained on ``dataset``)."""
    names = labels if labels is not None else getattr(model, "labels", None)
    if names is None:
        return {i + 1: c for i, c in enumerate(dataset.coco.cat_ids)}
    cat_of_name = {n: c for n, c in zip(dataset.coco.labels[1:], dataset.coco.cat_ids)}
    return {i: cat_of_name[n] for i, n in enumerate(names) if i and n in cat_of_name}


def _results(model, dataset: CocoDataset, batch_size: int, labels=None) -> list[dict]:
    rows = []
    category = _category_of_label(model, dataset, labels)
    for start in range(0, len(dataset), batch_size):
        idx = range(start, min(start + batch_size, len(dataset)))
        outs = predict(model, [dataset[i][0] for i in idx])
        for i, out in zip(idx, outs):
            for box, label, score in zip(out["boxes"].tolist(), out["labels"].tolist(),
                                         out["scores"].tolist()):
                if label in category:
                    rows.append({"image_id": dataset.images[i]["id"], "score": float(score),
                                 "category_id": category[label],
                                 "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]]})
    return rows


def evaluate(model, dataset: CocoDataset, batch_size: int = 4, labels: Sequence[str] | None = None) -> dict:
    """COCO box mAP of ``model`` (an ObjectDetector or torchvision model) on ``dataset``.

    ``labels``: the names of a raw model's labels (index = label, 0 background) when its
    training data numbered the categories differently from ``dataset``; matched by name.

    Returns ``map_50_95`` (mAP@[.5:.95]), ``map_50``, ``map_75``, ``ar_100``
    and ``ap50_per_class`` (name -> AP@0.5, -1 where a class has no ground truth).
    Use the model's low internal score threshold (0.05): mAP needs the low-score tail.
    """
    rows = _results(model, dataset, batch_size, labels)
    names = dataset.coco.labels[1:]
    if not rows:
        return {"map_50_95": 0.0, "map_50": 0.0, "map_75": 0.0, "ar_100": 0.0,
                "ap50_per_class": {n: 0.0 for n in names}, "images": len(dataset)}
    with contextlib.redirect_stdout(io.StringIO()):   # pycocotools prints progress
        gt = COCO()
        gt.dataset = {**dataset.coco.data, "images": dataset.images}
        gt.createIndex()
        ev = COCOeval(gt, gt.loadRes(rows), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    prec = ev.eval["precision"][0, :, :, 0, 2]            # IoU 0.5, all areas, 100 dets
    per_class = {n: round(float(np.mean(p[p > -1])), 4) if (p > -1).any() else -1.0
                 for n, p in zip(names, prec.T)}
    s = ev.stats
    return {"map_50_95": round(float(s[0]), 4), "map_50": round(float(s[1]), 4),
            "map_75": round(float(s[2]), 4), "ar_100": round(float(s[8]), 4),
            "ap50_per_class": per_class, "images": len(dataset)}

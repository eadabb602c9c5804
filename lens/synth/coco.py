"""COCO-format box annotations from a synthetic catalog's scenes (for ``lens train-detector``).

:func:`write_coco` reads ``CATALOG/manifest.jsonl`` and writes
``OUT/train.json`` and ``OUT/val.json``.  Image ``file_name`` values are the
manifest's paths relative to the catalog folder (``scenes/s00000.jpg``), so
the catalog folder is the ``--images`` folder.

* Categories: the product categories that occur in the scenes, sorted by
  name, then ``person`` (from ``people[].box``); ids from 1.
* Left out: objects less than half visible (``visible < MIN_VISIBLE``: mostly
  hidden garments teach the detector to fire on other things) and boxes
  whose shorter side is under ``MIN_SIDE`` px after clipping to the image.
* Split: deterministic by scene number -- every ``val_every``-th scene
  (``s00004``, ``s00009``, ... with the default 5) goes to validation.

Tested in ``tests/test_detector_training.py``.
"""
from __future__ import annotations

import json
from pathlib import Path

from lens.files import atomic_write_text

MIN_VISIBLE = 0.5   # the fraction of an object that must be unoccluded
MIN_SIDE = 8        # px at 640x480; ~6 px at the detector's 480-px input, below its smallest anchor
PERSON = "person"


def read_scenes(catalog_dir: str | Path) -> list[dict]:
    """The scene rows of ``catalog_dir/manifest.jsonl``; ``ValueError`` naming the line."""
    path = Path(catalog_dir) / "manifest.jsonl"
    if not path.is_file():
        raise ValueError(f"catalog {catalog_dir}: no manifest.jsonl (make one with `lens synth`)")
    scenes = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from None
            if row.get("kind") == "scene":
                for key in ("id", "image", "width", "height", "objects", "people"):
                    if key not in row:
                        raise ValueError(f"{path}:{number}: scene without '{key}'")
                scenes.append(row)
    return scenes


def _clipped(box, width: int, height: int) -> list[float] | None:
    x1, y1 = max(0.0, float(box[0])), max(0.0, float(box[1]))
    x2, y2 = min(float(width), float(box[2])), min(float(height), float(box[3]))
    if min(x2 - x1, y2 - y1) < MIN_SIDE:
        return None
    return [round(x1, 2), round(y1, 2), round(x2 - x1, 2), round(y2 - y1, 2)]


def scene_boxes(scene: dict) -> list[tuple[str, list[float]]]:
    """``(category, [x, y, w, h])`` for every kept object and person of a scene."""
    w, h = scene["width"], scene["height"]
    found = [(o["category"], _clipped(o["box"], w, h)) for o in scene["objects"]
             if o.get("visible", 1.0) >= MIN_VISIBLE]
    found += [(PERSON, _clipped(p["box"], w, h)) for p in scene["people"] if p.get("box")]
    return [(name, box) for name, box in found if box is not None]


def _scene_number(scene: dict) -> int:
    digits = "".join(ch for ch in str(scene["id"]) if ch.isdigit())
    if not digits:
        raise ValueError(f"scene id {scene['id']!r}: expected a number in it (s00012)")
    return int(digits)


def coco_dicts(scenes: list[dict], val_every: int = 5) -> tuple[dict, dict]:
    """The train and val COCO dicts of ``scenes`` (see the module docstring)."""
    if val_every < 2:
        raise ValueError(f"val_every must be >= 2, got {val_every}")
    names = sorted({name for s in scenes for name, _ in scene_boxes(s)} - {PERSON}) + [PERSON]
    categories = [{"id": i, "name": n, "supercategory": "person" if n == PERSON else "product"}
                  for i, n in enumerate(names, 1)]
    cat_id = {c["name"]: c["id"] for c in categories}
    out = {split: {"info": {"description": f"lens synthetic scenes, {split}"}, "images": [],
                   "annotations": [], "categories": categories} for split in ("train", "val")}
    ann_id = 1
    for scene in sorted(scenes, key=_scene_number):
        number = _scene_number(scene)
        split = out["val" if number % val_every == val_every - 1 else "train"]
        split["images"].append({"id": number, "file_name": scene["image"],
                                "width": scene["width"], "height": scene["height"]})
        for name, box in scene_boxes(scene):
            split["annotations"].append({"id": ann_id, "image_id": number, "category_id": cat_id[name],
                                         "bbox": box, "area": round(box[2] * box[3], 2),
                                         "iscrowd": 0})
            ann_id += 1
    return out["train"], out["val"]


def _write_json(data: dict, path: Path) -> None:
    atomic_write_text(path, json.dumps(data), durable=False)     # rebuilt from the catalog by re-running


def write_coco(catalog_dir: str | Path, out_dir: str | Path, val_every: int = 5) -> tuple[Path, Path]:
    """Write ``train.json`` and ``val.json`` for the catalog's scenes; returns their paths."""
    scenes = read_scenes(catalog_dir)
    if not scenes:
        raise ValueError(f"catalog {catalog_dir}: no scenes in manifest.jsonl (use --scenes N)")
    train, val = coco_dicts(scenes, val_every)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = out / "train.json", out / "val.json"
    for data, path in zip((train, val), paths):
        _write_json(data, path)
    return paths

"""Catalog items on disk: manifests and image folders, item ids and crop ids.

:func:`read_items` reads a JSONL manifest (or a folder holding
``manifest.jsonl``) or a folder of images into item dicts with ``id`` and an
absolute ``image`` path, validated line by line (``ValueError`` names the file
and line).  A crop's id is ``"<item id>#<n>"`` (:func:`crop_id`,
:func:`parent_id`), so item ids must not contain ``#``.

Tested in ``tests/test_indexing.py``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from lens.imageio import is_image_path

REQUIRED_FIELDS = ("id", "image")
CROP_SEP = "#"      # crop ids are "<item id>#<n>"; item ids must not contain it


def crop_id(item_id: str, n: int) -> str:
    return f"{item_id}{CROP_SEP}{n}"


def parent_id(crop: str) -> str:
    """The item id of a crop id (``"s1#2"`` -> ``"s1"``)."""
    return crop.rsplit(CROP_SEP, 1)[0]


def _manifest_items(path: Path) -> Iterator[dict]:
    base = path.parent
    with path.open() as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise ValueError(f"{path}:{lineno}: expected a JSON object")
            for key in REQUIRED_FIELDS:
                if not isinstance(record.get(key), str) or not record[key]:
                    raise ValueError(f"{path}:{lineno}: missing field '{key}'")
            record["image"] = str((base / record["image"]).resolve())
            yield record


def read_items(path: str | Path) -> list[dict]:
    """Items to index from a manifest or an image folder; ``ValueError`` names the problem."""
    path = Path(path)
    if path.is_dir() and (path / "manifest.jsonl").is_file():
        path = path / "manifest.jsonl"
    if path.is_file() and path.suffix in (".jsonl", ".json"):
        items = list(_manifest_items(path))
        if not items:
            raise ValueError(f"{path}: the manifest holds no items")
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and is_image_path(p))
        if not files:
            raise ValueError(f"{path}: no images in this folder")
        items = [{"id": p.relative_to(path).with_suffix("").as_posix(), "image": str(p.resolve()),
                  "title": p.stem.replace("_", " ")} for p in files]
    elif path.is_file():
        raise ValueError(f"{path}: expected a folder of images or a .jsonl manifest")
    else:
        raise ValueError(f"{path}: no such file or folder")
    seen: set[str] = set()
    for item in items:
        if CROP_SEP in str(item["id"]):
            raise ValueError(f"{path}: item id '{item['id']}' must not contain '{CROP_SEP}' "
                             f"(it separates crop ids); rename the file or the id")
        if item["id"] in seen:
            raise ValueError(f"{path}: duplicate item id '{item['id']}'")
        seen.add(item["id"])
    return items

"""Opt-in log of the boxes users search with: candidate regions for ``lens label-crops``.

Off unless ``labeling.log_user_crops`` is on.  Each line of
``labeling.user_crops_path`` is ``{"image_hash", "box", "timestamp"}`` (box in
the image's pixels, x1, y1, x2, y2); the pixels are kept (a PNG beside the
log, named by hash, ``"image"`` in the line) only when
``labeling.keep_user_images`` is on too.  Appends are one ``write`` of a whole
line under a lock, so concurrent requests never interleave.

Tested in ``tests/test_labeling.py``.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

log = logging.getLogger(__name__)
_LOCK = threading.Lock()


def _settings(config):
    """A LabelingConfig from a LensConfig or a LabelingConfig."""
    return getattr(config, "labeling", config)


def log_user_crop(config, image_rgb: np.ndarray, box, digest: str) -> dict | None:
    """Append one user box to the log when configured; returns the line written (None: logging off)."""
    settings = _settings(config)
    if not settings.log_user_crops or box is None:
        return None
    coords = box.as_list() if hasattr(box, "as_list") else [float(v) for v in box]
    row = {"image_hash": digest, "box": [round(v, 1) for v in coords], "timestamp": round(time.time(), 3)}
    path = Path(settings.user_crops_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if settings.keep_user_images:
        image = path.parent / "user_images" / f"{digest}.png"
        if not image.exists():
            image.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.ascontiguousarray(image_rgb)).save(image)
        row["image"] = str(image)
    line = json.dumps(row) + "\n"
    with _LOCK, path.open("a", encoding="utf-8") as fh:
        fh.write(line)
    return row


def read_user_crops(path) -> dict[str, list[list[float]]]:
    """``image_hash -> [box, ...]`` from a log (duplicates once); ``ValueError`` naming the line."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"--user-crops {path}: no such file")
    boxes: dict[str, list[list[float]]] = {}
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                digest, box = str(row["image_hash"]), [float(v) for v in row["box"]]
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                raise ValueError(f"{path}:{number}: expected {{\"image_hash\", \"box\": [x1, y1, x2, y2]}}") from None
            if len(box) != 4 or box[2] <= box[0] or box[3] <= box[1]:
                raise ValueError(f"{path}:{number}: box {box} is not x1, y1, x2, y2 with x2 > x1, y2 > y1")
            if box not in boxes.setdefault(digest, []):
                boxes[digest].append(box)
    return boxes

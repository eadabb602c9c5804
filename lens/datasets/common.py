"""What every converter shares: skipped-input accounting, JSONL output, folds, image headers.

A converter never stops on one bad input (a corrupt ``.mat``, a line naming a
missing image, an unknown label): :class:`Skipped` logs one line naming it,
counts it by reason, and the converter's report carries the counts.  Outputs
are written atomically (:mod:`lens.files`), so a failed run leaves the last
good output in place.

Tested in ``tests/test_datasets.py``.
"""
from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from lens.files import atomic_write_text

log = logging.getLogger("lens.datasets")
EXAMPLES = 5        # skipped inputs named in the report per reason: enough to find the pattern


class Skipped:
    """Inputs left out, by reason; each one logged once as ``<what>: <reason>; skipped``."""

    def __init__(self):
        self.counts: Counter = Counter()
        self.examples: dict[str, list[str]] = {}

    def __call__(self, what, reason: str) -> None:
        self.counts[reason] += 1
        self.examples.setdefault(reason, [])
        if len(self.examples[reason]) < EXAMPLES:
            self.examples[reason].append(str(what))
        log.warning("%s: %s; skipped", what, reason)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def report(self) -> dict:
        return {"total": self.total, "by_reason": dict(self.counts.most_common()),
                "examples": self.examples}


def image_size(path: Path) -> tuple[int, int] | None:
    """``(width, height)`` from the image header (nothing decoded), or None if it is no image."""
    try:
        with Image.open(path) as im:
            return im.size
    except (OSError, UnidentifiedImageError, ValueError):
        return None


def checked_image(path: Path, skipped: Skipped, what) -> tuple[int, int] | None:
    """The size of ``path``, or None after recording why it cannot be used."""
    if not path.is_file():
        skipped(what, f"no image file {path}")
        return None
    size = image_size(path)
    if size is None:
        skipped(what, f"{path} is not a readable image")
    return size


def in_val(number: int, fold: int, folds: int) -> bool:
    """Whether item ``number`` is in validation fold ``fold`` of ``folds`` (by number, so stable)."""
    return number % folds == fold


def check_fold(fold: int, folds: int) -> None:
    if folds < 2 or not 0 <= fold < folds:
        raise ValueError(f"--fold {fold} of --folds {folds}: expected folds >= 2 and 0 <= fold < folds")


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    """One JSON object a line, written atomically."""
    return atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def write_json(path: Path, data) -> Path:
    return atomic_write_text(path, json.dumps(data, indent=1, ensure_ascii=False))


def source_folder(src, marker: str, dataset: str) -> Path:
    """``src`` as a folder holding ``marker``; ``ValueError`` naming what is missing."""
    src = Path(src)
    if not src.is_dir():
        raise ValueError(f"{dataset} source {src}: no such folder")
    if not (src / marker).exists():
        raise ValueError(f"{dataset} source {src}: no {marker} in it (is this the {dataset} folder?)")
    return src.resolve()

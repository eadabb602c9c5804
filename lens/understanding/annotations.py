"""Annotations: weak text labels with scores, for text search and the blender.

Built from the rest of an understanding, strongest evidence first:

* ``category`` / ``pattern``: the catalog heads' labels with probability >= 0.2
  (below that a label is a guess, not evidence);
* ``coarse``: coarse taxonomy categories with probability >= 0.15;
* ``color``: salient colour names with weight >= 0.1 (a 10 % accent is
  worth a word; a speck is not);
* ``imagenet``: the first synonym of the top ImageNet classes with
  probability >= 0.2;
* ``ocr``: words read in the image, scored by recognition confidence.

Each annotation is ``{"text", "kind", "score"}``; the same text keeps its best
score.  Tested in ``tests/test_annotations.py``.
"""
from __future__ import annotations

MIN_SCORE = {"category": 0.2, "pattern": 0.2, "coarse": 0.15, "imagenet": 0.2}
MIN_COLOR_WEIGHT = 0.1


def annotations(colors: list, categories: list[dict], patterns: list[dict], text: list[dict]) -> list[dict]:
    """Weak labels from an understanding's parts; see the module docstring."""
    found: dict[str, dict] = {}

    def add(label: str, kind: str, score: float) -> None:
        label = label.strip().lower()
        if label and (label not in found or found[label]["score"] < score):
            found[label] = {"text": label, "kind": kind, "score": round(float(score), 4)}

    for entry in [*categories, *patterns]:
        kind = entry.get("kind", "")
        if entry["score"] >= MIN_SCORE.get(kind, 1.1):
            add(entry["name"].split(",")[0], kind, entry["score"])
    for color in colors:
        weight = color["weight"] if isinstance(color, dict) else color.weight
        if weight >= MIN_COLOR_WEIGHT:
            add(color["name"] if isinstance(color, dict) else color.name, "color", weight)
    for word in text:
        add(word["text"], "ocr", word["score"])
    return sorted(found.values(), key=lambda a: (-a["score"], a["text"]))

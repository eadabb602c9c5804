"""Adaptive blending ratios from query understanding: documented rules, first match wins.

:func:`plan` looks at the query (its understanding, its object crops, whether
the user drew a box) and returns a :class:`BlendPlan`: a weight per source
(summing to 1 over the sources in use), the rule that fired and a reason in
words.  Both appear in the response, so a surprising page can be explained.

Rules, in order (weights are visual / object / text before renormalising over
the sources actually queried):

1. ``box``: the user chose a region -> the object results for that box first:
   0.3 / 0.6 / 0.1.
2. ``text``: low image quality (score < ``LOW_QUALITY``) or strong OCR text
   (an ``ocr`` annotation scoring >= ``STRONG_TEXT``) -> pixels say less,
   words more: 0.3 / 0.2 / 0.5.
3. ``objects``: at least ``MANY_OBJECTS`` confident crops (score >=
   ``CONFIDENT``) -> a scene with several things: 0.3 / 0.5 / 0.2.
4. ``product``: one object on a clean background (at most one crop and a
   plain backdrop) -> the whole image is the product: 0.7 / 0.2 / 0.1.
5. ``default``: 0.5 / 0.3 / 0.2.

Tested in ``tests/test_blend.py``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

LOW_QUALITY = 0.35      # the quality score below which a photo is blurry/noisy/blocky (quality.py)
STRONG_TEXT = 0.8       # OCR confidence of a line worth searching for
CONFIDENT = 0.7         # a detection score the hotspots also trust
MANY_OBJECTS = 2
RULES = {"box": (0.3, 0.6, 0.1), "text": (0.3, 0.2, 0.5), "objects": (0.3, 0.5, 0.2),
         "product": (0.7, 0.2, 0.1), "default": (0.5, 0.3, 0.2)}
SOURCES = ("visual", "object", "text")


@dataclass
class BlendPlan:
    ratios: dict[str, float]
    rule: str
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


def _rule(understanding: dict, crops: list[dict], box: bool, plain: bool) -> tuple[str, str]:
    if box:
        return "box", "you chose a region: objects like it first"
    quality = (understanding.get("quality") or {}).get("score")
    ocr = [a for a in understanding.get("annotations") or [] if a.get("kind") == "ocr"]
    if quality is not None and quality < LOW_QUALITY:
        return "text", f"low image quality ({quality:.2f} < {LOW_QUALITY}): more text results"
    if any(a.get("score", 0) >= STRONG_TEXT for a in ocr):
        return "text", f"the photo shows text ('{ocr[0].get('text', '')[:40]}'): more text results"
    confident = [c for c in crops if c.get("score", 0) >= CONFIDENT]
    if len(confident) >= MANY_OBJECTS:
        return "objects", f"{len(confident)} confident objects: more object results"
    if len(crops) <= 1 and plain:
        return "product", "one product on a clean background: more visual results"
    return "default", "no rule fired: the default mix"


def plan(understanding: dict, crops: list[dict], box: bool, sources: list[str],
         plain_background: bool = False) -> BlendPlan:
    """The ratios for ``sources`` (a subset of visual, object, text); see the module docstring.

    ``crops``: the query's object crops as dicts with a ``score``;
    ``plain_background``: the photo has a uniform border (the region proposer
    found its objects on a backdrop).
    """
    rule, reason = _rule(understanding or {}, crops or [], box, plain_background)
    raw = {name: weight for name, weight in zip(SOURCES, RULES[rule]) if name in sources}
    raw.update({name: 1.0 / len(sources) for name in sources if name not in raw})   # other sources
    total = sum(raw.values()) or 1.0
    return BlendPlan({name: round(w / total, 4) for name, w in raw.items()}, rule, reason)

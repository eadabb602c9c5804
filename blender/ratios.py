"""Adaptive blending ratios from query understanding: documented rules, first match wins.

:func:`plan` looks at the query (its understanding, its object crops, whether
the user drew a box) and returns a :class:`BlendPlan`: a weight per source
(summing to 1 over the sources in use), the rule that fired and a reason in
words.  Both appear in the response, so a surprising page can be explained.

Rules, in order (weights are visual / object / text before renormalising over
the sources actually queried):

1. ``box``: the user chose a region -> that object's own product photos (visual)
   and the scenes holding one like it (object): 0.5 / 0.4 / 0.1.  At 0.3 / 0.6 /
   0.1 the scenes filled the page: the boxed object's product was among the
   first 10 for 0.35 and 0.43 of the scenes of two synthetic catalogs never
   trained on (seeds 3 and 7, 20 and 40 scenes, the unified embedding; ImageNet
   MobileNetV2 0.55 and 0.38); at 0.5 / 0.4 / 0.1 for 0.70 and 0.68 (0.85 and
   0.83), the boxed scene itself still among the first 3 for 0.95 and 0.75
   (was 1.00 and 0.85; MobileNetV2 0.70 and 0.63, was 0.80 and 0.73).
2. ``text``: low image quality (score < ``LOW_QUALITY``) or strong OCR text
   (an ``ocr`` annotation scoring >= ``STRONG_TEXT``) -> pixels say less,
   words more: 0.3 / 0.2 / 0.5.
3. ``objects``: at least ``MANY_OBJECTS`` distinct confident crops (score >=
   ``CONFIDENT``) -> a scene with several things: 0.3 / 0.5 / 0.2.
4. ``product``: one object on a clean background (at most one distinct crop
   and a plain backdrop) -> the whole image is the product: 0.7 / 0.2 / 0.1.

A crop lying ``NESTED`` or more inside a surer one is the same thing seen again,
not another: the demo's own sample query (one sweater on white) had a "top" box,
a second "top" box inside it and the region proposer's box around both, so it
counted as a scene of several things and its page filled with scenes whose
crops looked like the sweater, the product itself 5th; counted once, it is
first.
5. ``default``: 0.5 / 0.3 / 0.2.

Then, once the sources have answered, :func:`weigh_text`: when the text
source searched the photo's own annotations (no words from the user), its
weight is multiplied by :func:`text_agreement`, the share of its best
``AGREE_TEXT`` items that are also among the visual source's best
``AGREE_VISUAL``.  Annotations are a second reading of the same pixels (a
classifier's labels, colours); where that reading points elsewhere than the
pixels' own neighbours, it is usually a wrong label (a Golden Delicious
photo labelled "Granny Smith"), and a rank-calibrated text score would
otherwise weigh as much as a close visual match.  Measured on real in-store
photos (Grocery, 81 products, 600 train-split queries) the text source's
first hit is right 3 % of the time at agreement under 0.3, 16 % at 0.3-0.6
and 25-27 % above; scaled so, the whole lens is no longer behind its visual
source (``lens eval retrieval``; lens/evaluation/README.md).

And times :func:`text_lead`'s share: the text source's calibrated lead of
its best item over its second, over ``blend.text_lead`` (capped at 1; 0 =
off).  Words that tie several products ("apple olive melon") do not pick
one of them, yet their small differences reorder close visual hits.  On
Grocery's validation photos the text source's wrong first hits lead by a
median 0.016 (unified embedding) and its right ones by 0.43-0.55; with
ImageNet MobileNetV2 the right ones it adds lead by 0.07.  Measured effect:
lens/config.py.  The user's own words keep their weight.

Tested in ``tests/test_blend.py``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from lens.boxes import Box
from lens.types import Candidate

LOW_QUALITY = 0.35      # the quality score below which a photo is blurry/noisy/blocky (quality.py)
STRONG_TEXT = 0.8       # OCR confidence of a line worth searching for
CONFIDENT = 0.7         # a detection score the hotspots also trust
MANY_OBJECTS = 2
NESTED = 0.7            # share of a crop's area inside a surer crop that makes it the same object
AGREE_TEXT = 10         # the text hits judged: a page's worth of words
AGREE_VISUAL = 20       # against a page of visual neighbours (calibration's TOP_K)
RULES = {"box": (0.5, 0.4, 0.1), "text": (0.3, 0.2, 0.5), "objects": (0.3, 0.5, 0.2),
         "product": (0.7, 0.2, 0.1), "default": (0.5, 0.3, 0.2)}
SOURCES = ("visual", "object", "text")


@dataclass
class BlendPlan:
    ratios: dict[str, float]
    rule: str
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


def distinct(crops: list[dict]) -> list[dict]:
    """``crops`` (dicts with a ``score`` and a pixel ``box``), surest first, without those lying
    ``NESTED`` or more inside a surer one kept before them; a crop without a box counts on its own."""
    kept: list[dict] = []
    for crop in sorted(crops, key=lambda c: -c.get("score", 0)):
        box = Box(*crop["box"]) if crop.get("box") else None
        if box is None or all(box.overlap(Box(*k["box"])) < NESTED for k in kept if k.get("box")):
            kept.append(crop)
    return kept


def _rule(understanding: dict, crops: list[dict], box: bool, plain: bool) -> tuple[str, str]:
    if box:
        return "box", "you chose a region: objects like it first"
    quality = (understanding.get("quality") or {}).get("score")
    ocr = [a for a in understanding.get("annotations") or [] if a.get("kind") == "ocr"]
    if quality is not None and quality < LOW_QUALITY:
        return "text", f"low image quality ({quality:.2f} < {LOW_QUALITY}): more text results"
    if any(a.get("score", 0) >= STRONG_TEXT for a in ocr):
        return "text", f"the photo shows text ('{ocr[0].get('text', '')[:40]}'): more text results"
    confident = distinct([c for c in crops if c.get("score", 0) >= CONFIDENT])
    if len(confident) >= MANY_OBJECTS:
        return "objects", f"{len(confident)} confident objects: more object results"
    if len(distinct(crops)) <= 1 and plain:
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


def _scores(candidates: list[Candidate], source: str) -> dict[str, float]:
    """Each distinct item's best raw score from one source."""
    scores: dict[str, float] = {}
    for c in candidates:
        if c.source == source:
            scores[c.item_id] = max(scores.get(c.item_id, c.score), c.score)
    return scores


def _best(candidates: list[Candidate], source: str, n: int) -> list[str]:
    """The ``n`` best distinct items of one source by raw score (ties by id)."""
    scores = _scores(candidates, source)
    return sorted(scores, key=lambda i: (-scores[i], i))[:n]


def text_agreement(candidates: list[Candidate]) -> float | None:
    """Share (0-1) of the text source's best ``AGREE_TEXT`` items among the visual source's best
    ``AGREE_VISUAL``; ``None`` when either source found nothing."""
    text, visual = _best(candidates, "text", AGREE_TEXT), set(_best(candidates, "visual", AGREE_VISUAL))
    if not text or not visual:
        return None
    return sum(i in visual for i in text) / len(text)


def check_text_lead(lead: float) -> None:
    """``ValueError`` naming ``blend.text_lead`` when it is negative."""
    if lead < 0:
        raise ValueError(f"blend.text_lead {lead}: expected >= 0 (0 = off)")


def text_lead(candidates: list[Candidate], calibration, lead: float) -> float | None:
    """The text source's calibrated lead of its best distinct item over its second, over
    ``lead`` and capped at 1 (0-1); ``None`` when ``lead`` is 0 (off) or the text source found
    fewer than two items.  ``calibration``: a :class:`blender.calibrate.Calibration` or ``None``
    (raw scores)."""
    check_text_lead(lead)
    scores = sorted(_scores(candidates, "text").values(), reverse=True)[:2]
    if lead == 0 or len(scores) < 2:
        return None
    first, second = calibration.scores("text", scores) if calibration else scores
    return float(min(1.0, max(0.0, first - second) / lead))


def weigh_text(mix: BlendPlan, agreement: float | None, lead: float | None = None) -> BlendPlan:
    """``mix`` with the text weight times ``agreement`` and ``lead`` (:func:`text_lead`) and the
    ratios renormalised; a factor that is ``None`` counts 1; unchanged when both are ``None`` or
    there is no text ratio.  See the module docstring."""
    if (agreement is None and lead is None) or "text" not in mix.ratios:
        return mix
    for name, value in (("agreement", agreement), ("lead", lead)):
        if value is not None and not 0.0 <= value <= 1.0:
            raise ValueError(f"text {name} {value}: expected 0..1")
    factor = (1.0 if agreement is None else agreement) * (1.0 if lead is None else lead)
    raw = {**mix.ratios, "text": mix.ratios["text"] * factor}
    total = sum(raw.values()) or 1.0
    said = ([f"the photo's labels agree {agreement:.0%} with its visual neighbours"] if agreement is not None
            else []) + ([f"its words single out one item at {lead:.0%} of the lead asked"] if lead is not None else [])
    reason = "; ".join([mix.reason, *said])
    return replace(mix, ratios={k: round(v / total, 4) for k, v in raw.items()}, reason=reason)

"""Weak-label aggregation: a crop's category from its catalog neighbours' categories.

Given the crop's ``k`` nearest catalog products ``(cosine s_i, category c_i,
annotations a_i)``:

* weights ``w_i = softmax(s_i / T)`` (``labeling.temperature`` T = 0.05: a
  neighbour 0.05 more similar counts e times more);
* category scores ``p(c) = sum_i w_i [c_i = c]``; the label is ``argmax p``;
* ``confidence = p(label) * g(s_max)`` where the similarity gate
  ``g(s) = clip((s - floor) / (ceil - floor), 0, 1)`` (``labeling.sim_floor``,
  ``labeling.sim_ceil``) is 0 for a crop like nothing in the catalog (a patch
  of wall the region proposer found) and 1 for a close match;
* annotations: every neighbour annotation ``text`` scored ``sum_i w_i * score``;
* the image's own text (``named``: the categories its title and description
  name, :mod:`lens.labeling.textprior`): when it names at least one category,
  every category it does not name (among those some word can name:
  ``nameable``) has its score multiplied by ``labeling.unnamed_weight`` and
  the scores are renormalised before the argmax and the confidence.  A soft
  prior: it reorders categories the neighbours already proposed, it never
  adds one, and a vote made only of unnamed categories is unchanged.  1.0
  turns it off.

A neighbour without a ``category`` falls back to its strongest ``coarse``
annotation (the coarse taxonomy, :mod:`lens.taxonomy`); one with neither is
left out of the vote.  Tested in ``tests/test_labeling.py``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WeakLabelSettings:
    temperature: float = 0.05   # see the module docstring
    sim_floor: float = 0.3
    sim_ceil: float = 0.6
    top_annotations: int = 8    # annotation words kept per crop: the strong ones, not the long tail
    unnamed_weight: float = 0.25  # labeling.unnamed_weight; 1.0: the image's text is not used

    def __post_init__(self):
        if not 0 < self.unnamed_weight <= 1:
            raise ValueError(f"labeling.unnamed_weight: expected 0 < w <= 1, got {self.unnamed_weight}")

    @classmethod
    def from_config(cls, config) -> WeakLabelSettings:
        """From a :class:`lens.config.LabelingConfig`."""
        if config.temperature <= 0 or config.sim_ceil <= config.sim_floor:
            raise ValueError("labeling.temperature must be > 0 and labeling.sim_ceil > labeling.sim_floor")
        return cls(config.temperature, config.sim_floor, config.sim_ceil, unnamed_weight=config.unnamed_weight)


def category_of(record: dict) -> str | None:
    """A product's category: its ``category`` field, else its best ``coarse`` annotation."""
    if record.get("category"):
        return str(record["category"])
    coarse = [a for a in record.get("understanding", {}).get("annotations", []) if a.get("kind") == "coarse"]
    return max(coarse, key=lambda a: a["score"])["text"] if coarse else None


def _apply_text(scores: dict[str, float], named: set[str] | None, weight: float,
                nameable: set[str] | None) -> dict[str, float]:
    """``scores`` with unnamed (but nameable) categories down-weighted and renormalised."""
    if not named or weight >= 1.0:
        return scores
    scaled = {c: p * (weight if c not in named and (nameable is None or c in nameable) else 1.0)
              for c, p in scores.items()}
    total = sum(scaled.values())
    return {c: p / total for c, p in scaled.items()}


def weak_label(neighbours: list[tuple[float, dict]], settings: WeakLabelSettings = WeakLabelSettings(),
               named: set[str] | None = None, nameable: set[str] | None = None) -> dict:
    """``neighbours``: ``(cosine, product record)`` pairs; ``named``: the categories the image's own text
    names (or None); ``nameable``: the categories any text could name (None: all; a coarse fallback
    such as "footwear" has no words, so no text leaves it unnamed)
    -> ``{label, confidence, similarity, scores, annotations}``."""
    voting = [(float(s), category_of(r), r) for s, r in neighbours]
    voting = [v for v in voting if v[1] is not None]
    if not voting:
        return {"label": None, "confidence": 0.0, "similarity": 0.0, "scores": {}, "annotations": []}
    sims = np.array([s for s, _, _ in voting])
    w = np.exp((sims - sims.max()) / settings.temperature)
    w /= w.sum()
    scores: dict[str, float] = {}
    words: dict[tuple[str, str], float] = {}
    for weight, (_, cat, record) in zip(w, voting):
        scores[cat] = scores.get(cat, 0.0) + float(weight)
        for a in record.get("understanding", {}).get("annotations", []):
            key = (a["text"], a.get("kind", ""))
            words[key] = words.get(key, 0.0) + float(weight) * float(a.get("score", 1.0))
    scores = _apply_text(scores, named, settings.unnamed_weight, nameable)
    label = max(scores, key=scores.get)
    gate = float(np.clip((sims.max() - settings.sim_floor) / (settings.sim_ceil - settings.sim_floor), 0, 1))
    top = sorted(words.items(), key=lambda kv: -kv[1])[:settings.top_annotations]
    return {"label": label, "confidence": round(scores[label] * gate, 4),
            "similarity": round(float(sims.max()), 4),
            "scores": {c: round(p, 4) for c, p in sorted(scores.items(), key=lambda kv: -kv[1])},
            "annotations": [{"text": t, "kind": k, "score": round(v, 4)} for (t, k), v in top]}

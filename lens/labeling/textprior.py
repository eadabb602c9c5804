"""Which catalog categories an image's own text names: a prior for its crops' weak labels.

A scene's title and description usually say what it shows ("a person ...
wears a red slip dress and white sneakers").  The neighbour vote
(:mod:`lens.labeling.weak`) cannot tell a dress cut at the waist by the frame
from a top -- the pixels *are* a bodice -- but the scene's text can.

The words come from the catalog, not from a hand-written list:
:meth:`CategoryWords.from_products` reads the annotated products' titles and
keeps each word and adjacent word pair (:func:`lens.text.tokenize`: lower
case, stemmed) that at least ``min_products`` products use and at least
``purity`` of them share one category ("dress", "sneaker", "table>lamp"; not
"red", which every category uses).  The category names themselves name their
category.  :meth:`CategoryWords.named` returns the categories a text names.

How the prior is used (``labeling.unnamed_weight``) is in
:func:`lens.labeling.weak.weak_label`.  A catalog without titles, or an image
without text, gives no prior and the plain vote.  Tested in
``tests/test_labeling.py``.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from lens.text.terms import tokenize

MIN_PRODUCTS = 3     # a word three products share is vocabulary, not one title's accident
PURITY = 0.9         # "table" (coffee table, table lamp) names no single category; "lamp" does


def _terms(text: str) -> set[str]:
    words = tokenize(text)
    return set(words) | {f"{a}>{b}" for a, b in zip(words, words[1:])}


@dataclass
class CategoryWords:
    words: dict[str, str] = field(default_factory=dict)    # term -> the category it names

    @classmethod
    def from_products(cls, products: list[dict], min_products: int = MIN_PRODUCTS,
                      purity: float = PURITY) -> CategoryWords:
        """From ``{category, title}`` product records; see the module docstring."""
        counts: dict[str, Counter] = defaultdict(Counter)
        categories = set()
        for record in products:
            category = record.get("category")
            if not category:
                continue
            categories.add(str(category))
            for term in _terms(record.get("title") or ""):
                counts[term][str(category)] += 1
        words = {}
        for term, per in counts.items():
            category, n = per.most_common(1)[0]
            if sum(per.values()) >= min_products and n / sum(per.values()) >= purity:
                words[term] = category
        for category in categories:          # a category's own name names it, whatever titles say
            terms = tokenize(category)
            if len(terms) == 1:
                words[terms[0]] = category
        return cls(words)

    @property
    def categories(self) -> set[str]:
        """The categories some word names: only these can be named, or left unnamed, by a text."""
        return set(self.words.values())

    def named(self, *texts: str | None) -> set[str]:
        """The categories that ``texts`` (title, description, ...) name."""
        found = set()
        for text in texts:
            if text:
                found.update(self.words[t] for t in _terms(text) if t in self.words)
        return found
